//! Replays the parser fuzz target's corpus (and every real interface file we have) through the
//! same function the fuzzer calls, so each saved input is a regression test on stable Rust.

use std::path::{Path, PathBuf};

use mesh_codegen::fuzzing::parse_and_generate;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn fuzz_corpus_replays_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_interface");
    let mut files = Vec::new();
    files_under(&root, &mut files);
    assert!(
        files.len() >= 10,
        "seed corpus missing at {}",
        root.display()
    );
    for file in &files {
        parse_and_generate(&std::fs::read(file).unwrap());
    }
}

#[test]
fn real_interface_files_replay_as_fuzz_inputs() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    files_under(&workspace.join("msg"), &mut files);
    files_under(&workspace.join("../shared/ros2-interfaces"), &mut files);
    let mut replayed = 0;
    for file in files {
        let selector = match file.extension().and_then(|e| e.to_str()) {
            Some("msg") => 0u8,
            Some("srv") => 1,
            Some("action") => 2,
            _ => continue,
        };
        let mut data = vec![selector];
        data.extend(std::fs::read(&file).unwrap());
        parse_and_generate(&data);
        replayed += 1;
    }
    assert!(replayed > 300, "replayed only {replayed}");
}
