//! Type-erased endpoints (what `omni-mesh topic echo|pub` use): a raw subscriber delivers
//! verified envelopes of any type with their type hash; a raw publisher's signed archives
//! reach typed subscribers; refused frames are counted, never delivered.

use std::time::Duration;

use mesh_core::identity::NodeKey;
use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::inproc::InProcTransport;
use omni_msgs::rt::Message as _;
use omni_msgs::std_msgs::msg::String as StringMsg;

#[test]
fn raw_endpoints_carry_any_type_verified() {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let node = Node::builder("tool", InProcTransport::new())
        .key(key)
        .security(SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        })
        .trust(trust)
        .build()
        .unwrap();
    let spec = node
        .channel_spec("/chatter", 4096, &node.default_qos())
        .unwrap();
    let mut raw_sub = node.raw_subscriber(&spec).unwrap();
    let mut typed_pub = node.publisher::<StringMsg>("/chatter", 4096).unwrap();
    typed_pub
        .publish(&StringMsg {
            data: "typed".into(),
        })
        .unwrap();
    let sample = raw_sub
        .recv_timeout(Duration::from_secs(1))
        .unwrap()
        .expect("delivered");
    assert_eq!(sample.type_hash(), StringMsg::TYPE_HASH.value);
    assert_eq!(sample.sender(), node.did());
    let t = omni_msgs::dynamic::by_hash(&sample.type_hash()).unwrap();
    assert_eq!(
        (t.decode)(sample.payload()).unwrap().to_json(),
        r#"{"data":"typed"}"#
    );

    // A raw publisher's archive reaches a typed subscriber.
    let mut typed_sub = node.subscriber::<StringMsg>("/chatter", 4096).unwrap();
    let mut raw_pub = node
        .raw_publisher(&spec, StringMsg::TYPE_HASH.value)
        .unwrap();
    let archive = (t.encode)(&omni_msgs::rt::value::Value::Struct(vec![(
        "data".into(),
        omni_msgs::rt::value::Value::String("raw".into()),
    )]))
    .unwrap();
    raw_pub.publish_archive(&archive).unwrap();
    let got = typed_sub
        .recv_timeout(Duration::from_secs(1))
        .unwrap()
        .expect("delivered");
    assert_eq!(got.data.as_str(), "raw");

    // An unknown signer is refused and counted.
    let stranger = Node::builder("stranger", node.transport().clone())
        .build()
        .unwrap();
    let mut forged = stranger.publisher::<StringMsg>("/chatter", 4096).unwrap();
    forged
        .publish(&StringMsg {
            data: "forged".into(),
        })
        .unwrap();
    while let Some(s) = raw_sub.recv_timeout(Duration::from_millis(100)).unwrap() {
        assert_eq!(s.sender(), node.did(), "only the trusted key is delivered");
    }
    assert_eq!(raw_sub.rejected(), 1);
}
