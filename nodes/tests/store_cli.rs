//! `omni-mesh store stats`: a store written through `mesh_core::store` is shown as a table
//! and as JSON; a damaged or missing store gives a one-line error naming the file.

use mesh_core::envelope::TopicId;
use mesh_core::store::Store;

mod common;

fn omni(args: &[&str]) -> std::process::Output {
    common::run(env!("CARGO_BIN_EXE_omni-mesh"), args)
}

#[test]
fn store_stats_shows_epoch_history_and_cursors() {
    let dir = std::env::temp_dir().join(format!("omni-store-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("robot.redb");
    {
        let store = Store::open(&path).unwrap();
        store.next_epoch(41).unwrap();
        let mut txn = store.write().unwrap();
        for seq in 1..=5 {
            txn.append_history(&TopicId::of("/odom"), seq, &[1u8; 100])
                .unwrap();
        }
        let publisher = mesh_core::identity::NodeKey::from_seed(&[3; 32]).public();
        txn.set_cursor("logger", &publisher.to_bytes(), &TopicId::of("/odom"), 4)
            .unwrap();
        txn.commit().unwrap();
    }
    let p = path.to_str().unwrap();
    let out = omni(&["store", "stats", p]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("epoch    42"), "{text}");
    let odom: String = TopicId::of("/odom")
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(text.contains(&odom) && text.contains("500"), "{text}");
    assert!(
        text.contains("logger") && text.contains("processed up to 4"),
        "{text}"
    );
    assert!(
        text.contains("did:key:z"),
        "cursor publishers shown as DIDs: {text}"
    );

    assert!(text.contains("dtn      0 bundles"), "{text}");
    let out = omni(&["store", "stats", p, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["epoch"], 42);
    assert_eq!(v["history"][0]["messages"], 5);
    assert_eq!(v["cursors"][0]["sequence"], 4);

    // Damaged: cut short. Missing: said so.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 4]).unwrap();
    let out = omni(&["store", "stats", p]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("damaged") && err.contains(p), "{err}");
    assert_eq!(err.lines().count(), 1, "one line, no panic: {err}");
    let out = omni(&["store", "stats", "/nonexistent/x.redb"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));
    let _ = std::fs::remove_dir_all(&dir);
}
