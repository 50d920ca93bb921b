//! CDR bytes of corpus types, written out by hand from the classic CDR rules (GRAMMAR-FACTS
//! I.43-44): 4-byte header `00 01 00 00`, alignment counted after it, strings with length
//! including the NUL, sequences with a u32 count, fixed arrays bare, nested structs inline.

use mesh_msg_runtime::Message;

use crate::action_msgs::msg::GoalInfo;
use crate::builtin_interfaces::msg::Time;
use crate::geometry_msgs::msg::{Point, PointStamped};
use crate::sensor_msgs::msg::JointState;
use crate::std_msgs::msg::{Empty, Header, String as StringMsg};
use crate::std_srvs::srv::SetBoolResponse;
use crate::unique_identifier_msgs::msg::UUID;

const HDR: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

fn with_header(body: &[u8]) -> Vec<u8> {
    let mut v = HDR.to_vec();
    v.extend_from_slice(body);
    v
}

fn check<T: Message>(value: &T, body: &[u8]) {
    let expected = with_header(body);
    assert_eq!(
        value.to_cdr().unwrap(),
        expected,
        "{} encodes",
        T::TYPE_NAME
    );
    assert_eq!(
        &T::from_cdr(&expected).unwrap(),
        value,
        "{} decodes",
        T::TYPE_NAME
    );
}

#[test]
fn string_counts_its_nul() {
    let v = StringMsg { data: "hi".into() };
    check(&v, &[3, 0, 0, 0, b'h', b'i', 0]);
}

#[test]
fn empty_message_has_its_dummy_byte() {
    check(&Empty::default(), &[0]);
}

#[test]
fn nested_struct_pads_before_f64() {
    let v = PointStamped {
        header: Header {
            stamp: Time { sec: 1, nanosec: 2 },
            frame_id: "ab".into(),
        },
        point: Point {
            x: 1.0,
            y: -2.0,
            z: 0.5,
        },
    };
    #[rustfmt::skip]
    let body = [
        1, 0, 0, 0,                         // stamp.sec
        2, 0, 0, 0,                         // stamp.nanosec
        3, 0, 0, 0, b'a', b'b', 0,          // frame_id (len 3 incl. NUL)
        0,                                  // pad to 16 for f64
        0, 0, 0, 0, 0, 0, 0xf0, 0x3f,       // x = 1.0
        0, 0, 0, 0, 0, 0, 0x00, 0xc0,       // y = -2.0
        0, 0, 0, 0, 0, 0, 0xe0, 0x3f,       // z = 0.5
    ];
    check(&v, &body);
}

#[test]
fn sequences_of_strings_and_doubles() {
    let v = JointState {
        header: Header::default(),
        name: vec!["j1".into(), "knee".into()],
        position: vec![1.5],
        velocity: vec![],
        effort: vec![],
    };
    #[rustfmt::skip]
    let body = [
        0, 0, 0, 0, 0, 0, 0, 0,             // stamp
        1, 0, 0, 0, 0,                      // frame_id "" (len 1, NUL)
        0, 0, 0,                            // pad to 16
        2, 0, 0, 0,                         // name: 2 elements
        3, 0, 0, 0, b'j', b'1', 0,          // "j1"
        0,                                  // pad to 28
        5, 0, 0, 0, b'k', b'n', b'e', b'e', 0, // "knee"
        0, 0, 0,                            // pad to 40
        1, 0, 0, 0,                         // position: 1 element
        0, 0, 0, 0,                         // pad to 48 for f64
        0, 0, 0, 0, 0, 0, 0xf8, 0x3f,       // 1.5
        0, 0, 0, 0,                         // velocity: empty, no padding
        0, 0, 0, 0,                         // effort: empty
    ];
    check(&v, &body);
}

#[test]
fn fixed_array_is_bare_and_signed_ints_are_twos_complement() {
    let mut uuid = [0u8; 16];
    for (i, b) in uuid.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap();
    }
    let v = GoalInfo {
        goal_id: UUID { uuid },
        stamp: Time {
            sec: -1,
            nanosec: 5,
        },
    };
    let mut body: Vec<u8> = (0..16).collect();
    body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0]);
    check(&v, &body);
}

#[test]
fn bool_then_string_pads_to_four() {
    let v = SetBoolResponse {
        success: true,
        message: "ok".into(),
    };
    check(&v, &[1, 0, 0, 0, 3, 0, 0, 0, b'o', b'k', 0]);
}

#[test]
fn big_endian_input_decodes_to_the_same_value() {
    let be = [0x00, 0x00, 0x00, 0x00, 0, 0, 0, 3, b'h', b'i', 0];
    assert_eq!(
        StringMsg::from_cdr(&be).unwrap(),
        StringMsg { data: "hi".into() }
    );
}

#[test]
fn corrupt_inputs_are_typed_errors() {
    use mesh_msg_runtime::cdr::CdrDecodeError as E;
    // Length larger than the input.
    let r = StringMsg::from_cdr(&with_header(&[0xff, 0, 0, 0, b'h']));
    assert!(
        matches!(
            r,
            Err(E::LengthTooLarge {
                offset: 4,
                count: 255,
                ..
            })
        ),
        "{r:?}"
    );
    // Missing NUL.
    let r = StringMsg::from_cdr(&with_header(&[2, 0, 0, 0, b'h', b'i']));
    assert!(matches!(r, Err(E::MissingNul { .. })), "{r:?}");
    // Invalid UTF-8.
    let r = StringMsg::from_cdr(&with_header(&[2, 0, 0, 0, 0xff, 0]));
    assert!(matches!(r, Err(E::InvalidUtf8 { .. })), "{r:?}");
    // Bool byte 2.
    let r = SetBoolResponse::from_cdr(&with_header(&[2, 0, 0, 0, 1, 0, 0, 0, 0]));
    assert!(
        matches!(
            r,
            Err(E::InvalidBool {
                value: 2,
                offset: 4
            })
        ),
        "{r:?}"
    );
    // Trailing garbage.
    let r = StringMsg::from_cdr(&with_header(&[1, 0, 0, 0, 0, 9, 9, 9, 9]));
    assert!(matches!(r, Err(E::TrailingBytes { .. })), "{r:?}");
    // Wrong encapsulation (XCDR2).
    let r = StringMsg::from_cdr(&[0x00, 0x07, 0, 0, 1, 0, 0, 0, 0]);
    assert!(
        matches!(r, Err(E::UnsupportedEncapsulation { .. })),
        "{r:?}"
    );
}
