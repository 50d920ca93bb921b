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

/// Records where primitive runs lie.
#[derive(Default)]
struct Runs(Vec<(usize, usize, &'static str)>);

impl omni_msgs::rt::visit::Visitor for Runs {
    fn prims(&mut self, items: omni_msgs::rt::visit::Prims<'_>) {
        self.0.push((items.addr(), items.len(), items.format()));
    }
    fn bool(&mut self, _: bool) {}
    fn int(&mut self, _: i64) {}
    fn uint(&mut self, _: u64) {}
    fn float(&mut self, _: f64) {}
    fn string(&mut self, _: &str) {}
    fn begin_list(&mut self, _: usize) {}
    fn end_list(&mut self) {}
    fn begin_struct(&mut self, _: &'static str, _: &'static [&'static str]) {}
    fn end_struct(&mut self) {}
}

#[test]
fn visits_report_primitive_runs_inside_the_archive() {
    let cloud = dynamic::by_name("sensor_msgs/msg/PointCloud2").unwrap();
    let data: Vec<Value> = (0..1000u64).map(|i| Value::UInt(i % 251)).collect();
    let value = Value::Struct(vec![("data".into(), Value::List(data))]);
    let archive = (cloud.encode)(&value).unwrap();
    // The archive as it would sit in a received frame: aligned.
    let mut aligned = omni_msgs::rt::rkyv::util::AlignedVec::<16>::new();
    aligned.extend_from_slice(&archive);
    let mut runs = Runs::default();
    (cloud.visit)(&aligned, &mut runs).unwrap();
    let base = aligned.as_ptr() as usize;
    let (addr, len, format) = *runs
        .0
        .iter()
        .find(|r| r.1 == 1000)
        .expect("the data run is reported whole");
    assert_eq!(format, "B");
    assert!(addr >= base && addr + len <= base + aligned.len());
    let start = addr - base;
    let expect: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(&aligned[start..start + len], expect.as_slice());

    // Not on a boundary: visiting in place is refused, decoding copies and works.
    let mut shifted = omni_msgs::rt::rkyv::util::AlignedVec::<16>::new();
    shifted.extend_from_slice(&[0]);
    shifted.extend_from_slice(&archive);
    let err = (cloud.visit)(&shifted[1..], &mut Runs::default()).unwrap_err();
    assert!(err.contains("8-byte boundary"), "{err}");
    assert_eq!(
        (cloud.decode)(&shifted[1..]).unwrap(),
        (cloud.decode)(&archive).unwrap()
    );

    // Float runs are reported as such.
    let scan = dynamic::by_name("sensor_msgs/msg/LaserScan").unwrap();
    let ranges = Value::List(
        (0..360)
            .map(|i| Value::Float(f64::from(i) / 10.0))
            .collect(),
    );
    let archive = (scan.encode)(&Value::Struct(vec![("ranges".into(), ranges)])).unwrap();
    let mut aligned = omni_msgs::rt::rkyv::util::AlignedVec::<16>::new();
    aligned.extend_from_slice(&archive);
    let mut runs = Runs::default();
    (scan.visit)(&aligned, &mut runs).unwrap();
    assert!(
        runs.0.iter().any(|r| r.1 == 360 && r.2 == "f"),
        "{:?}",
        runs.0
    );
}

#[test]
fn every_type_converts_between_archive_and_cdr() {
    use omni_msgs::rt::Message as _;
    for t in dynamic::all() {
        for value in [(t.default)(), (t.sample)(3)] {
            let archive = (t.encode)(&value).unwrap();
            let cdr = (t.to_cdr)(&archive).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert_eq!(&cdr[..2], &[0, 1], "{}: little-endian CDR header", t.name);
            let back = (t.from_cdr)(&cdr).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert_eq!((t.decode)(&back).unwrap(), value, "{}", t.name);
        }
    }
    // The bytes are the generated codec's, which the ROS 2 corpus tests pin down.
    let twist = omni_msgs::geometry_msgs::msg::Twist::default();
    let t = dynamic::by_name("geometry_msgs/msg/Twist").unwrap();
    let archive = (t.encode)(&omni_msgs::rt::value::ToValue::to_value(&twist)).unwrap();
    assert_eq!((t.to_cdr)(&archive).unwrap(), twist.to_cdr().unwrap());
    let err = (t.from_cdr)(&[0, 1, 0, 0, 1]).unwrap_err();
    assert!(err.starts_with("geometry_msgs/msg/Twist: "), "{err}");
}
