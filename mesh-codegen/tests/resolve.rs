//! Resolution over several package roots: cross-package references, unknown types, cycles,
//! duplicate packages, and the CLI's exit codes and output format.

use std::path::{Path, PathBuf};
use std::process::Command;

use mesh_codegen::Generator;

/// A scratch directory of packages, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(tag: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("mesh-codegen-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn errors(roots: &[&Path]) -> Vec<String> {
    let generator = roots.iter().fold(Generator::new(), |g, r| g.root(r));
    match generator.load() {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn references_resolve_across_roots() {
    let base = Tree::new(
        "base",
        &[("base_msgs/msg/Point.msg", "float64 x\nfloat64 y\n")],
    );
    let app = Tree::new(
        "app",
        &[
            (
                "app_msgs/msg/Path.msg",
                "base_msgs/Point[] points\nLabel label\n",
            ),
            ("app_msgs/msg/Label.msg", "string<=16 text\n"),
        ],
    );
    assert_eq!(errors(&[&app.0, &base.0]), Vec::<String>::new());
    // Without the base root, the reference is unknown, reported at the field.
    let errs = errors(&[&app.0]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let expected = format!(
        "{}:1:1: error: unknown type `base_msgs/msg/Point`",
        app.path("app_msgs/msg/Path.msg").display()
    );
    assert!(errs[0].starts_with(&expected), "{errs:?}");
    // A root may also be a single package directory.
    assert_eq!(
        errors(&[&app.path("app_msgs"), &base.path("base_msgs")]),
        Vec::<String>::new()
    );
}

#[test]
fn unknown_same_package_type_is_reported() {
    let t = Tree::new("unknown", &[("p/msg/A.msg", "int32 ok\nMissing m\n")]);
    let errs = errors(&[&t.0]);
    assert!(
        errs[0].contains(
            ":2:1: error: unknown type `p/msg/Missing` (no such message in that package)"
        ),
        "{errs:?}"
    );
}

#[test]
fn cycles_are_reported_with_the_chain() {
    let t = Tree::new(
        "cycle",
        &[
            ("p/msg/A.msg", "B b\n"),
            ("p/msg/B.msg", "int32 x\nC[] c\n"),
            ("p/msg/C.msg", "A a\n"),
        ],
    );
    let errs = errors(&[&t.0]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("type cycle: p/msg/A -> p/msg/B -> p/msg/C -> p/msg/A"),
        "{errs:?}"
    );
    let self_ref = Tree::new("selfref", &[("p/msg/Node.msg", "Node[<=1] next\n")]);
    assert!(errors(&[&self_ref.0])[0].contains("type cycle: p/msg/Node -> p/msg/Node"));
}

#[test]
fn duplicate_packages_and_services_without_service_msgs() {
    let a = Tree::new("dup-a", &[("p/msg/A.msg", "int32 x\n")]);
    let b = Tree::new("dup-b", &[("p/msg/A.msg", "int32 x\n")]);
    let errs = errors(&[&a.0, &b.0]);
    assert!(
        errs[0].contains("package `p` is also defined in"),
        "{errs:?}"
    );
    let srv = Tree::new("srv", &[("p/srv/Ping.srv", "---\n")]);
    let errs = errors(&[&srv.0]);
    assert!(
        errs[0].contains("services need the service_msgs package"),
        "{errs:?}"
    );
    let empty = Tree::new("empty", &[("README", "nothing here")]);
    assert!(errors(&[&empty.0])[0].contains("no interface packages found"));
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mesh-codegen"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn cli_check_reports_located_errors_and_exit_codes() {
    let good = Tree::new(
        "cli-good",
        &[
            ("p/msg/A.msg", "int32 x\n"),
            ("p/srv/S.srv", "int32 a\n---\nbool ok\n"),
        ],
    );
    let (code, _, err) = cli(&["check", good.0.to_str().unwrap()]);
    // p/srv/S needs service_msgs: add a minimal one.
    assert_eq!(code, 1, "{err}");
    let with_svc = Tree::new(
        "cli-svc",
        &[
            ("service_msgs/msg/ServiceEventInfo.msg", "uint8 event_type\nbuiltin_interfaces/Time stamp\nchar[16] client_gid\nint64 sequence_number\n"),
            ("builtin_interfaces/msg/Time.msg", "int32 sec\nuint32 nanosec\n"),
        ],
    );
    let (code, _, err) = cli(&[
        "check",
        good.0.to_str().unwrap(),
        with_svc.0.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bad = Tree::new("cli-bad", &[("p/msg/A.msg", "int32 Bad\nint8 X=300\n")]);
    let (code, _, err) = cli(&["check", bad.0.to_str().unwrap()]);
    assert_eq!(code, 1);
    let file = bad.path("p/msg/A.msg");
    assert!(
        err.contains(&format!(
            "{}:1:7: error: invalid field name `Bad`",
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:2:8: error: invalid int8 value `300`",
            file.display()
        )),
        "{err}"
    );
    let (code, out, _) = cli(&[
        "hash",
        good.0.to_str().unwrap(),
        with_svc.0.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    for name in [
        "p/msg/A\tRIHS01_",
        "p/srv/S\tRIHS01_",
        "p/srv/S_Request\tRIHS01_",
        "p/srv/S_Event\tRIHS01_",
    ] {
        assert!(out.contains(name), "missing {name:?} in\n{out}");
    }
}

#[test]
fn cli_rust_and_schema_write_files() {
    let t = Tree::new(
        "cli-out",
        &[("p/msg/A.msg", "# An A.\nstring<=4 name\nint32 X=1\n")],
    );
    let out = t.path("out");
    let (code, _, err) = cli(&[
        "rust",
        t.0.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let src = std::fs::read_to_string(out.join("p.rs")).unwrap();
    assert!(src.contains("pub struct A {"));
    assert!(src.contains("pub const X: i32 = 1i32;"));
    assert!(std::fs::read_to_string(out.join("mod.rs"))
        .unwrap()
        .contains("pub mod p {"));
    let (code, _, err) = cli(&[
        "schema",
        t.0.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let schema = std::fs::read_to_string(out.join("p/msg/A.schema.json")).unwrap();
    assert!(schema.contains("\"maxLength\": 4"), "{schema}");
}
