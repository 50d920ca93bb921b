//! Bounds declared in interface files (`string<=N`, `wstring<=N`, `T[<=N]`) and the typed error
//! raised when a value breaks one.

use std::fmt;

/// What went over its bound.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BoundsViolation {
    /// A `string<=N` holds more than N bytes of UTF-8.
    StringTooLong {
        /// Bytes present.
        len: usize,
        /// Declared bound.
        max: usize,
    },
    /// A `wstring<=N` holds more than N UTF-16 code units.
    WStringTooLong {
        /// Code units present.
        len: usize,
        /// Declared bound.
        max: usize,
    },
    /// A `T[<=N]` holds more than N elements.
    SequenceTooLong {
        /// Elements present.
        len: usize,
        /// Declared bound.
        max: usize,
    },
}

/// A value breaks a bound declared in its interface file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{type_name}.{field}: {violation}")]
pub struct BoundsError {
    /// The interface type holding the field, e.g. `omni_msgs/msg/RobotState`.
    pub type_name: &'static str,
    /// Field path from that type, e.g. `active_faults[3]` or `name`.
    pub field: String,
    /// What went over its bound.
    pub violation: BoundsViolation,
}

impl fmt::Display for BoundsViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StringTooLong { len, max } => {
                write!(f, "string of {len} bytes exceeds its bound of {max}")
            }
            Self::WStringTooLong { len, max } => {
                write!(f, "wstring of {len} code units exceeds its bound of {max}")
            }
            Self::SequenceTooLong { len, max } => {
                write!(f, "sequence of {len} elements exceeds its bound of {max}")
            }
        }
    }
}

impl BoundsError {
    /// Prefixes the field path with an outer field, used when a nested value fails.
    #[must_use]
    pub fn within(mut self, type_name: &'static str, field: &str) -> Self {
        self.field = format!("{field}.{}", self.field);
        self.type_name = type_name;
        self
    }
}

/// Checks a `string<=max` field.
pub fn check_string(
    type_name: &'static str,
    field: &str,
    value: &str,
    max: usize,
) -> Result<(), BoundsError> {
    if value.len() > max {
        return Err(BoundsError {
            type_name,
            field: field.to_owned(),
            violation: BoundsViolation::StringTooLong {
                len: value.len(),
                max,
            },
        });
    }
    Ok(())
}

/// Checks a `wstring<=max` field.
pub fn check_wstring(
    type_name: &'static str,
    field: &str,
    value: &crate::WString,
    max: usize,
) -> Result<(), BoundsError> {
    let len = value.utf16_len();
    if len > max {
        return Err(BoundsError {
            type_name,
            field: field.to_owned(),
            violation: BoundsViolation::WStringTooLong { len, max },
        });
    }
    Ok(())
}

/// Checks a `T[<=max]` field.
pub fn check_sequence(
    type_name: &'static str,
    field: &str,
    len: usize,
    max: usize,
) -> Result<(), BoundsError> {
    if len > max {
        return Err(BoundsError {
            type_name,
            field: field.to_owned(),
            violation: BoundsViolation::SequenceTooLong { len, max },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_errors_name_the_full_path() {
        let err = check_string("a/msg/Inner", "name", "abcd", 3)
            .unwrap_err()
            .within("a/msg/Outer", "inner[2]");
        assert_eq!(err.field, "inner[2].name");
        assert_eq!(
            err.to_string(),
            "a/msg/Outer.inner[2].name: string of 4 bytes exceeds its bound of 3"
        );
        assert!(check_sequence("a/msg/T", "v", 3, 3).is_ok());
        assert!(check_sequence("a/msg/T", "v", 4, 3).is_err());
    }
}
