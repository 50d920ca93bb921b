//! Every generated type survives archive -> value -> archive: the dynamic path tools use
//! (`omni-mesh topic echo|pub`) is lossless for defaults and for samples with every field
//! set, and wrong input is refused with the field path.

use omni_msgs::dynamic;
use omni_msgs::rt::value::Value;

#[test]
fn every_type_round_trips_through_values() {
    let types = dynamic::all();
    assert!(types.len() > 100, "{} types", types.len());
    for t in types {
        for value in [(t.default)(), (t.sample)(1), (t.sample)(7)] {
            let archive = (t.encode)(&value).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            let back = (t.decode)(&archive).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert_eq!(back, value, "{}", t.name);
        }
        assert_eq!(dynamic::by_hash(&t.hash).map(|x| x.name), Some(t.name));
    }
}

#[test]
fn bad_values_name_the_field() {
    let twist = dynamic::by_name("geometry_msgs/msg/Twist").unwrap();
    let bad = Value::Struct(vec![(
        "linear".into(),
        Value::Struct(vec![("x".into(), Value::String("fast".into()))]),
    )]);
    let err = (twist.encode)(&bad).unwrap_err();
    assert!(err.starts_with("linear.x: "), "{err}");
    let unknown = Value::Struct(vec![("linar".into(), Value::Struct(vec![]))]);
    let err = (twist.encode)(&unknown).unwrap_err();
    assert!(err.contains("no field `linar`"), "{err}");
    let state = dynamic::by_name("omni_msgs/msg/RobotState").unwrap();
    let long = Value::Struct(vec![("robot_id".into(), Value::String("x".repeat(65)))]);
    assert!((state.encode)(&long).is_err(), "string<=64 is enforced");
    let uuid = dynamic::by_name("unique_identifier_msgs/msg/UUID").unwrap();
    let short = Value::Struct(vec![("uuid".into(), Value::List(vec![Value::UInt(1)]))]);
    assert!((uuid.encode)(&short).unwrap_err().contains("exactly 16"));
    assert!(
        (twist.decode)(&[1, 2, 3]).is_err(),
        "garbage is not an archive"
    );
}
