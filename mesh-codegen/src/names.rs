//! Naming rules for packages, types, fields and constants (GRAMMAR-FACTS A).

/// Package and field names: `[a-z][a-z0-9_]*`, no `__`, not ending in `_`.
#[must_use]
pub fn is_valid_snake(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && !name.contains("__")
        && !name.ends_with('_')
}

/// Message, service and action names: `[A-Z][A-Za-z0-9]*`, after ROS's validator strips one
/// leading `Sample_` and one generated suffix (`_Request`, `_Response`, `_Goal`, `_Result`,
/// `_Feedback`).
#[must_use]
pub fn is_valid_type_name(name: &str) -> bool {
    let mut name = name.strip_prefix("Sample_").unwrap_or(name);
    for suffix in ["_Request", "_Response", "_Goal", "_Result", "_Feedback"] {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped;
            break;
        }
    }
    let mut chars = name.chars();
    matches!(chars.next(), Some('A'..='Z')) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Constant names: `[A-Z]` then `[A-Z0-9_]`, no `__`, not ending in `_`.
#[must_use]
pub fn is_valid_constant_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('A'..='Z'))
        && chars.all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
        && !name.contains("__")
        && !name.ends_with('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_the_ros_validators() {
        for ok in ["foo", "foo1", "a_b", "geometry_msgs"] {
            assert!(is_valid_snake(ok), "{ok}");
        }
        for bad in ["Foo", "foo__bar", "foo_", "1a", "_a", ""] {
            assert!(!is_valid_snake(bad), "{bad}");
        }
        for ok in ["A", "Foo", "Foo2Bar", "Foo_Request", "Sample_Foo"] {
            assert!(is_valid_type_name(ok), "{ok}");
        }
        for bad in ["foo", "Foo_Bar", "", "Foo-Bar"] {
            assert!(!is_valid_type_name(bad), "{bad}");
        }
        for ok in ["A", "A_B", "STATUS_NO_FIX", "INT8", "A1_2"] {
            assert!(is_valid_constant_name(ok), "{ok}");
        }
        for bad in ["aB", "A_B_", "A__B", "_A", "1A", ""] {
            assert!(!is_valid_constant_name(bad), "{bad}");
        }
    }
}
