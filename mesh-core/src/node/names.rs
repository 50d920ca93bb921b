//! ROS 2 names: validation of node names and namespaces, and resolution of topic and service
//! names (absolute `/a/b`, relative `a/b` under the namespace, private `~/a` under the node).

use std::fmt;

/// A name is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct NameError {
    /// The name as given.
    pub name: String,
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub reason: NameProblem,
}

/// What is wrong with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// Empty name or empty token (`//`, trailing `/`).
    Empty,
    /// A character outside `[A-Za-z0-9_/~]`.
    BadCharacter,
    /// A token starts with a digit.
    LeadingDigit,
    /// `~` anywhere but at the start, or not followed by `/`.
    MisplacedTilde,
    /// A namespace must be absolute.
    NotAbsolute,
    /// A node name is a single token.
    NotAToken,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            NameProblem::Empty => "empty name or empty segment",
            NameProblem::BadCharacter => {
                "only letters, digits, `_`, `/` and a leading `~` are allowed"
            }
            NameProblem::LeadingDigit => "a segment must not start with a digit",
            NameProblem::MisplacedTilde => "`~` is only allowed as `~` or `~/...` at the start",
            NameProblem::NotAbsolute => "a namespace must start with `/`",
            NameProblem::NotAToken => "a node name is one segment of letters, digits and `_`",
        };
        write!(f, "invalid name `{}` at byte {}: {why}", self.name, self.at)
    }
}

fn err(name: &str, at: usize, reason: NameProblem) -> NameError {
    NameError {
        name: name.to_owned(),
        at,
        reason,
    }
}

/// Checks `/`-separated tokens starting at byte `offset` of `full`.
fn check_tokens(full: &str, body: &str, offset: usize) -> Result<(), NameError> {
    let mut at = offset;
    for token in body.split('/') {
        if token.is_empty() {
            return Err(err(full, at, NameProblem::Empty));
        }
        if token.as_bytes()[0].is_ascii_digit() {
            return Err(err(full, at, NameProblem::LeadingDigit));
        }
        if let Some(i) = token
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        {
            let reason = if token.as_bytes()[i] == b'~' {
                NameProblem::MisplacedTilde
            } else {
                NameProblem::BadCharacter
            };
            return Err(err(full, at + i, reason));
        }
        at += token.len() + 1;
    }
    Ok(())
}

/// Validates a node name (one token).
pub fn validate_node_name(name: &str) -> Result<(), NameError> {
    if name.contains('/') {
        return Err(err(
            name,
            name.find('/').unwrap_or(0),
            NameProblem::NotAToken,
        ));
    }
    check_tokens(name, name, 0)
}

/// Validates and normalises a namespace: absolute, `/` alone for the root.
pub fn normalize_namespace(ns: &str) -> Result<String, NameError> {
    if ns.is_empty() || ns == "/" {
        return Ok("/".to_owned());
    }
    let body = ns
        .strip_prefix('/')
        .ok_or_else(|| err(ns, 0, NameProblem::NotAbsolute))?;
    check_tokens(ns, body, 1)?;
    Ok(ns.to_owned())
}

/// Resolves a topic or service name for node `node` in namespace `ns` (already valid).
pub fn resolve(name: &str, ns: &str, node: &str) -> Result<String, NameError> {
    if name.is_empty() {
        return Err(err(name, 0, NameProblem::Empty));
    }
    let join = |base: &str, rest: &str| {
        if base == "/" {
            format!("/{rest}")
        } else {
            format!("{base}/{rest}")
        }
    };
    if let Some(rest) = name.strip_prefix('/') {
        check_tokens(name, rest, 1)?;
        return Ok(name.to_owned());
    }
    if name == "~" {
        return Ok(join(ns, node));
    }
    if let Some(rest) = name.strip_prefix("~/") {
        check_tokens(name, rest, 2)?;
        return Ok(join(&join(ns, node), rest));
    }
    if name.starts_with('~') {
        return Err(err(name, 1, NameProblem::MisplacedTilde));
    }
    check_tokens(name, name, 0)?;
    Ok(join(ns, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_follows_ros2() {
        assert_eq!(resolve("/abs/x", "/fleet", "n").unwrap(), "/abs/x");
        assert_eq!(
            resolve("cmd_vel", "/fleet/amr_1", "n").unwrap(),
            "/fleet/amr_1/cmd_vel"
        );
        assert_eq!(resolve("cmd_vel", "/", "n").unwrap(), "/cmd_vel");
        assert_eq!(
            resolve("~/status", "/fleet", "drive").unwrap(),
            "/fleet/drive/status"
        );
        assert_eq!(resolve("~", "/", "drive").unwrap(), "/drive");
        for (bad, at, why) in [
            ("a//b", 2, NameProblem::Empty),
            ("a/", 2, NameProblem::Empty),
            ("1abc", 0, NameProblem::LeadingDigit),
            ("a/b-c", 3, NameProblem::BadCharacter),
            ("a/~b", 2, NameProblem::MisplacedTilde),
            ("~x", 1, NameProblem::MisplacedTilde),
            ("", 0, NameProblem::Empty),
        ] {
            let e = resolve(bad, "/", "n").unwrap_err();
            assert_eq!((e.at, e.reason), (at, why), "{bad}: {e}");
        }
        assert_eq!(normalize_namespace("").unwrap(), "/");
        assert!(normalize_namespace("fleet").is_err());
        assert!(validate_node_name("robot_1").is_ok());
        assert!(validate_node_name("a/b").is_err());
    }
}
