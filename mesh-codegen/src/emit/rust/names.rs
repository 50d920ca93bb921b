//! Rust spellings of ROS names: keywords escaped, generated names joined.

/// Words that cannot be raw identifiers, renamed by appending `_` (ROS names never end in `_`,
/// so the result cannot collide with another field).
const NOT_RAW: [&str; 4] = ["self", "Self", "super", "crate"];

/// Rust keywords (all editions, including reserved ones) that need `r#`.
const KEYWORDS: [&str; 47] = [
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try",
];

/// An identifier for a field or module name.
#[must_use]
pub fn ident(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) || name == "gen" {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

/// The Rust type name of a ROS type name: `AddTwoInts_Request` -> `AddTwoIntsRequest`.
#[must_use]
pub fn type_ident(ros_name: &str) -> String {
    let joined: String = ros_name.split('_').collect();
    if joined == "Self" {
        "Self_".to_owned()
    } else {
        joined
    }
}

/// A string literal usable inside `r##"..."##` with enough `#`s.
#[must_use]
pub fn raw_string(text: &str) -> String {
    let mut hashes = 1;
    while text.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    format!("r{h}\"{text}\"{h}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_keywords() {
        assert_eq!(ident("type"), "r#type");
        assert_eq!(ident("self"), "self_");
        assert_eq!(ident("data"), "data");
        assert_eq!(
            type_ident("Fibonacci_SendGoal_Request"),
            "FibonacciSendGoalRequest"
        );
        assert_eq!(raw_string("a\"#b"), "r##\"a\"#b\"##");
    }
}
