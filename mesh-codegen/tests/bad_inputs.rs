//! Malformed interface files: each gets a precise, located, typed error, never a panic.
//! One case (at least) per rule in GRAMMAR-FACTS.md sections A-H.

use std::path::Path;

use mesh_codegen::model::Kind;
use mesh_codegen::parser::parse_interface;

struct Case {
    rule: &'static str,
    kind: Kind,
    text: &'static [u8],
    line: u32,
    col: u32,
    needle: &'static str,
}

const fn msg(
    rule: &'static str,
    text: &'static str,
    line: u32,
    col: u32,
    needle: &'static str,
) -> Case {
    Case {
        rule,
        kind: Kind::Msg,
        text: text.as_bytes(),
        line,
        col,
        needle,
    }
}

const fn of(
    kind: Kind,
    rule: &'static str,
    text: &'static str,
    line: u32,
    col: u32,
    needle: &'static str,
) -> Case {
    Case {
        rule,
        kind,
        text: text.as_bytes(),
        line,
        col,
        needle,
    }
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    msg("A.4 field name uppercase", "int32 Foo\n", 1, 7, "invalid field name `Foo`"),
    msg("A.4 field name with __", "int32 ok\nint32 foo__bar\n", 2, 7, "invalid field name `foo__bar`"),
    msg("A.4 field name ending in _", "int32 foo_\n", 1, 7, "invalid field name `foo_`"),
    msg("A.3 type name with underscore", "Foo_Bar x\n", 1, 1, "invalid type `Foo_Bar`"),
    msg("A.2 package name in reference", "Bad__pkg/Foo x\n", 1, 1, "package name `Bad__pkg` is invalid"),
    msg("A.5 constant name lowercase", "int32 aB=1\n", 1, 7, "invalid constant name `aB`"),
    msg("A.5 constant name ending in _", "int32 A_B_=1\n", 1, 7, "invalid constant name `A_B_`"),
    msg("A.5 constant name with __", "int32 A__B=1\n", 1, 7, "invalid constant name `A__B`"),
    msg("C.15 `=` makes a constant", "int32 x=5\n", 1, 7, "invalid constant name `x`"),
    msg("C.15 `=` inside a string default", "string s \"a=b\"\n", 1, 8, "invalid constant name `s \"a`"),
    msg("A.6 duplicate field", "int32 a\n# doc\nint32 a\n", 3, 1, "duplicate field name `a`"),
    msg("A.6 duplicate constant", "int32 A=1\nint32 A=2\n", 2, 1, "duplicate constant name `A`"),
    msg("B.10 indented definition", "# ok\n  int32 x\n", 2, 1, "must start in column 1"),
    msg("C.14 type without name", "int32\n", 1, 1, "expected `TYPE NAME`"),
    msg("D.19 string<=0", "string<=0 s\n", 1, 1, "invalid string bound in `string<=0`"),
    msg("D.19 bound not a number", "string<=x s\n", 1, 1, "invalid string bound"),
    msg("D.19 bound on a number type", "int32<=5 x\n", 1, 1, "only `string` and `wstring` take a `<=N` bound"),
    msg("D.20 fixed array of 0", "int32[0] x\n", 1, 1, "array size must be at least 1"),
    msg("D.20 bounded sequence of 0", "int32[<=0] x\n", 1, 1, "array size must be at least 1"),
    msg("D.20 array size not a number", "int32[abc] x\n", 1, 1, "invalid array suffix `int32[abc]`"),
    msg("D.20 two array suffixes", "int32[2][3] x\n", 1, 1, "invalid array suffix"),
    msg("D.21 a/b/C reference", "a/b/C x\n", 1, 1, "more than one `/`"),
    msg("G.36 ROS 1 time", "time t\n", 1, 1, "use `builtin_interfaces/Time`"),
    msg("G.36 ROS 1 duration", "duration d\n", 1, 1, "use `builtin_interfaces/Duration`"),
    msg("E.23 default on a message field", "geometry_msgs/Point p 1\n", 1, 23, "cannot have a default"),
    msg("E.24 int8 out of range (hex)", "int8 X=0x80\n", 1, 8, "out of range"),
    msg("G.34 byte is unsigned", "byte b -1\n", 1, 8, "out of range"),
    msg("G.35 char is unsigned", "char c 256\n", 1, 8, "out of range"),
    msg("E.24 not an integer", "int32 i 1__0\n", 1, 9, "not an integer"),
    msg("E.24 float literal for an integer", "uint8 i 1.5\n", 1, 9, "not an integer"),
    msg("E.25 not a float", "float64 f 1.0.0\n", 1, 11, "not a number"),
    msg("E.26 bool spelling", "bool b yes\n", 1, 8, "expected true, false, 1 or 0"),
    msg("E.28 trailing comma in a number array", "int32[] a [1,2,]\n", 1, 11, "not an integer"),
    msg("E.28 fixed array length", "int32[3] a [1, 2]\n", 1, 12, "needs exactly 3"),
    msg("E.28 bounded sequence over its bound", "int32[<=1] a [1, 2]\n", 1, 14, "the bound is 1"),
    msg("E.28 array default without brackets", "int32[] a 1, 2\n", 1, 11, "must start with `[`"),
    msg("E.28 `[ ]` is one empty element", "int32[] a [ ]\n", 1, 11, "not an integer"),
    msg("D.19 string default over its bound", "string<=3 s abcd\n", 1, 13, "the bound is 3"),
    msg("D.19 string array element over its bound", "string<=2[] s [\"abc\"]\n", 1, 15, "the bound is 2"),
    msg("E.27 unescaped inner quote", "string s 'it''s'\n", 1, 10, "must be escaped"),
    msg("E.28 unterminated quote in string array", "string[] s [\"a]\n", 1, 12, "unterminated quote"),
    msg("F.30 bounded string constant", "string<=5 FOO=\"x\"\n", 1, 1, "constant type must be"),
    msg("F.30 array constant", "int32[2] A=[1, 2]\n", 1, 1, "constant type must be"),
    msg("F.30 message constant", "geometry_msgs/Point P=1\n", 1, 1, "constant type must be"),
    msg("F.30 constant without value", "int32 A=\n", 1, 9, "has no value"),
    msg("F.30 constant out of range", "uint8 A=-1\n", 1, 9, "out of range"),
    of(Kind::Srv, "H.37 no separator", "int32 a\n", 1, 1, "exactly 1 `---`"),
    of(Kind::Srv, "H.37 two separators", "---\n---\n", 2, 1, "exactly 1 `---`"),
    of(Kind::Srv, "H.37 separator with spaces", "int32 a\n--- \nint32 b\n", 2, 1, "exactly `---`"),
    of(Kind::Action, "H.38 one separator", "int32 a\n---\n", 1, 1, "exactly 2 `---`"),
    msg("H.37 separator inside a .msg", "int32 a\n---\nint32 b\n", 2, 1, "exactly 0 `---`"),
    of(Kind::Srv, "H.37 error in the response section", "int32 a\n---\nint32 B\n", 3, 7, "invalid field name `B`"),
    Case { rule: "A.1 not UTF-8", kind: Kind::Msg, text: b"int32 a\nint32 \xff\n", line: 2, col: 7, needle: "not valid UTF-8" },
];

#[test]
fn every_bad_input_gets_a_located_error() {
    assert!(CASES.len() >= 25);
    let mut failures = Vec::new();
    for case in CASES {
        let path = Path::new("pkg").join(format!("T.{}", case.kind.as_str()));
        let result = parse_interface(&path, "pkg", case.kind, "T", case.text);
        let Err(diags) = result else {
            failures.push(format!("{}: accepted", case.rule));
            continue;
        };
        let expected_prefix = format!("{}:{}:{}: error: ", path.display(), case.line, case.col);
        let hit = diags.iter().any(|d| {
            let text = d.to_string();
            text.starts_with(&expected_prefix) && text.contains(case.needle)
        });
        if !hit {
            let got: Vec<String> = diags.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "{}: wanted `{expected_prefix}...{}...`, got {got:?}",
                case.rule, case.needle
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn every_bad_line_is_reported_not_just_the_first() {
    let text = b"int32 Bad\nint32 ok\nfloat64 x nope\nint32[0] y\n";
    let diags = parse_interface(Path::new("m.msg"), "pkg", Kind::Msg, "M", text).unwrap_err();
    let lines: Vec<u32> = diags.iter().map(|d| d.span.line).collect();
    assert_eq!(lines, [1, 3, 4]);
}

#[test]
fn invalid_file_name_is_reported() {
    let diags = parse_interface(
        Path::new("p/msg/bad_name.msg"),
        "p",
        Kind::Msg,
        "bad_name",
        b"",
    )
    .unwrap_err();
    assert!(diags[0]
        .to_string()
        .contains("file name `bad_name` is not a valid type name"));
}

#[test]
fn accepted_spellings_from_the_grammar() {
    // Every literal form GRAMMAR-FACTS E lists as accepted, plus comment quirks of B.
    let text = "\
# file doc
int32 a 010
int32 b -0x10
int64 c 1_000
uint8 d 0b101
float32 e 1e3
float64 f inf
float64 g 1
bool h TRUE
string i hello world
string j 'Hello\\'world!'
string k \"a#b\"
string[] l ['x', \"y,z\",]
int32[] m [ 1 , 2 ]
int8 N =  -1
uint64 O=18446744073709551615
float64  spaced_name
string<=3[<=2] p [\"ab\", \"cd\"]
";
    let iface = parse_interface(Path::new("t.msg"), "pkg", Kind::Msg, "T", text.as_bytes())
        .unwrap_or_else(|d| {
            panic!(
                "{}",
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    let mesh_codegen::model::Interface::Message(s) = iface else {
        panic!("not a message")
    };
    assert_eq!(s.fields.len(), 15);
    assert_eq!(s.constants.len(), 2);
    use mesh_codegen::model::Value;
    let default = |name: &str| {
        s.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .default
            .clone()
    };
    assert_eq!(default("a"), Some(Value::Int(10)));
    assert_eq!(default("b"), Some(Value::Int(-16)));
    assert_eq!(default("i"), Some(Value::String("hello world".into())));
    assert_eq!(default("j"), Some(Value::String("Hello'world!".into())));
    // `#` starts a comment even inside quotes (B.9): the default is `"a`.
    assert_eq!(default("k"), Some(Value::String("\"a".into())));
    assert_eq!(s.doc.text, "file doc");
}
