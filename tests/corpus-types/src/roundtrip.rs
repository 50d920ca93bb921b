//! Every generated corpus type: a populated value survives CDR and rkyv round trips, its type
//! hash equals the generator's, and the published test vectors hold.

use std::collections::BTreeMap;

use mesh_msg_runtime::rkyv::{self, rancor::Error};
use mesh_msg_runtime::{Message, Sample};

fn generator_hashes() -> BTreeMap<String, String> {
    let reg = mesh_codegen::Generator::new()
        .root(crate::CORPUS_DIR)
        .load()
        .expect("corpus loads");
    mesh_codegen::type_hashes(&reg).into_iter().collect()
}

#[test]
fn every_type_round_trips_through_cdr_and_rkyv() {
    let hashes = generator_hashes();
    let mut checked = Vec::new();
    macro_rules! roundtrip {
        ($t:path) => {{
            type T = $t;
            let value = <T as Sample>::sample(11);
            assert_ne!(
                value,
                T::default(),
                "{}: sample is not populated",
                T::TYPE_NAME
            );
            value
                .validate()
                .unwrap_or_else(|e| panic!("{}: sample breaks bounds: {e}", T::TYPE_NAME));
            let cdr = value
                .to_cdr()
                .unwrap_or_else(|e| panic!("{}: {e}", T::TYPE_NAME));
            let back = T::from_cdr(&cdr).unwrap_or_else(|e| panic!("{}: {e}", T::TYPE_NAME));
            assert_eq!(back, value, "{}: CDR round trip", T::TYPE_NAME);
            // A truncated buffer is a typed error, never a panic.
            assert!(T::from_cdr(&cdr[..cdr.len() - 4]).is_err() || cdr.len() <= 8);
            let bytes = rkyv::to_bytes::<Error>(&value).unwrap();
            let archived = rkyv::access::<rkyv::Archived<T>, Error>(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", T::TYPE_NAME));
            let back: T = rkyv::deserialize::<T, Error>(archived).unwrap();
            assert_eq!(back, value, "{}: rkyv round trip", T::TYPE_NAME);
            assert_eq!(
                hashes.get(T::TYPE_NAME).map(String::as_str),
                Some(T::TYPE_HASH.to_string().as_str()),
                "{}: generated hash differs from the generator's",
                T::TYPE_NAME
            );
            checked.push(T::TYPE_NAME);
        }};
    }
    for_each_message!(roundtrip);
    let structs = hashes
        .keys()
        .filter(|n| !is_service_or_action(n, &hashes))
        .count();
    assert_eq!(
        checked.len(),
        structs,
        "every struct type is generated and checked"
    );
    assert!(checked.len() >= 340, "only {} types", checked.len());
}

/// Service and action names are in the hash list but are markers, not structs.
fn is_service_or_action(name: &str, hashes: &BTreeMap<String, String>) -> bool {
    let request = format!("{name}_Request");
    let goal = format!("{name}_Goal");
    hashes.contains_key(&request) || hashes.contains_key(&goal)
}

#[test]
fn published_hash_vectors_hold_in_generated_code() {
    use mesh_msg_runtime::{Action, Service};
    let cases = [
        (
            crate::std_msgs::msg::String::TYPE_HASH,
            "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
        ),
        (
            crate::std_msgs::msg::Empty::TYPE_HASH,
            "RIHS01_20b625256f32d5dbc0d04fee44f43c41e51c70d3502f84b4a08e7a9c26a96312",
        ),
        (
            crate::std_msgs::msg::Header::TYPE_HASH,
            "RIHS01_f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01",
        ),
        (
            <crate::example_interfaces::srv::AddTwoInts as Service>::TYPE_HASH,
            "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a",
        ),
        (
            <crate::example_interfaces::action::Fibonacci as Action>::TYPE_HASH,
            "RIHS01_9508051da1ea4658de144b09bd0690ff3de52104683d847aed764d2915906f51",
        ),
    ];
    for (hash, expected) in cases {
        assert_eq!(hash.to_string(), expected);
    }
}

#[test]
fn declared_defaults_and_constants_are_generated() {
    use crate::test_msgs::msg::{Arrays, Defaults, Strings};
    let d = Defaults::default();
    assert!(d.bool_value);
    assert_eq!(d.byte_value, 50);
    assert_eq!(d.char_value, 100);
    assert_eq!(d.float32_value, 1.125);
    assert_eq!(d.int8_value, -50);
    assert_eq!(d.uint64_value, 50_000_000);
    let s = Strings::default();
    assert_eq!(s.string_value_default1, "Hello world!");
    assert_eq!(s.string_value_default2, "Hello'world!");
    assert_eq!(s.string_value_default3, "Hello\"world!");
    assert_eq!(s.string_value_default4, "Hello'world!");
    assert_eq!(s.bounded_string_value_default5, "Hello\"world!");
    let a = Arrays::default();
    assert_eq!(a.uint64_values_default, [0, 1, 18_446_744_073_709_551_615]);
    assert_eq!(a.string_values_default, ["", "max value", "min value"]);
    assert_eq!(crate::sensor_msgs::msg::NavSatStatus::default().status, -2);
    assert_eq!(crate::sensor_msgs::msg::PointField::FLOAT32, 7);
    assert_eq!(crate::action_msgs::msg::GoalStatus::STATUS_UNKNOWN, 0);
    assert_eq!(crate::geometry_msgs::msg::Quaternion::default().w, 1.0);
    // `type` is a Rust keyword: the field is `r#type`.
    assert_eq!(crate::visualization_msgs::msg::Marker::default().r#type, 0);
}

#[test]
fn bounds_are_enforced_on_encode_and_decode() {
    use crate::test_msgs::msg::BoundedSequences;
    let v = BoundedSequences {
        int32_values: vec![1, 2, 3, 4],
        ..Default::default()
    };
    let err = v.to_cdr().unwrap_err();
    assert!(err.to_string().contains("int32_values"), "{err}");
    // Encode without the check, then decoding must refuse it.
    let mut w = mesh_msg_runtime::cdr::CdrWriter::new();
    mesh_msg_runtime::cdr::Cdr::encode(&v, &mut w);
    let bytes = w.finish().unwrap();
    assert!(matches!(
        BoundedSequences::from_cdr(&bytes),
        Err(mesh_msg_runtime::cdr::CdrDecodeError::Bounds(_))
    ));
}
