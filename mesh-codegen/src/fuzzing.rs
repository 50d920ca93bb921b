//! The body of the parser fuzz target (`mesh-codegen/fuzz`), shared with the test that replays
//! its corpus, so every corpus input is also an ordinary regression test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::Kind;
use crate::parser::parse_interface;
use crate::resolve::Registry;

/// Runs the whole pipeline on arbitrary input. The first byte picks the file kind; the rest is
/// the file. Valid input goes on through expansion, resolution, hashing and both emitters.
/// Must never panic.
pub fn parse_and_generate(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let kind = match selector % 3 {
        0 => Kind::Msg,
        1 => Kind::Srv,
        _ => Kind::Action,
    };
    let path = Path::new("fuzz").join(format!("Input.{}", kind.as_str()));
    let Ok(interface) = parse_interface(&path, "fuzz_pkg", kind, "Input", text) else {
        return;
    };
    let mut interfaces = support_interfaces();
    interfaces.push(interface);
    let packages: BTreeMap<String, PathBuf> = interfaces
        .iter()
        .map(|i| (i.name().package.clone(), PathBuf::from("fuzz")))
        .collect();
    let Ok(registry) = Registry::from_interfaces(packages, interfaces) else {
        return;
    };
    let hashes = crate::type_hashes(&registry);
    assert!(
        hashes.iter().all(|(_, h)| h.len() == 71),
        "RIHS01 text is 71 characters"
    );
    let files = crate::emit::rust::render_tree(&registry, &crate::RustOptions::default());
    assert!(files.is_ok(), "a valid interface always renders");
    for name in registry.structs.keys() {
        let schema = crate::emit::schema::schema_text(&registry, name);
        assert!(
            serde_json::from_str::<serde_json::Value>(&schema).is_ok(),
            "schema is JSON"
        );
    }
}

/// Minimal definitions that services and actions depend on, so fuzzed `.srv`/`.action` inputs
/// resolve.
fn support_interfaces() -> Vec<crate::model::Interface> {
    let defs = [
        ("builtin_interfaces", "Time", "int32 sec\nuint32 nanosec\n"),
        ("unique_identifier_msgs", "UUID", "uint8[16] uuid\n"),
        (
            "service_msgs",
            "ServiceEventInfo",
            "uint8 event_type\nbuiltin_interfaces/Time stamp\nchar[16] client_gid\nint64 sequence_number\n",
        ),
    ];
    defs.iter()
        .filter_map(|(pkg, name, text)| {
            parse_interface(Path::new("support"), pkg, Kind::Msg, name, text.as_bytes()).ok()
        })
        .collect()
}
