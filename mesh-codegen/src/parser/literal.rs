//! Literal values for defaults and constants, accepting exactly the spellings ROS accepts
//! (GRAMMAR-FACTS E.24-28): Python `int()`/`int(x, 0)`, Python `float()`, case-insensitive
//! booleans, quoted or bare strings, and `[...]` arrays.

use crate::diagnostic::Problem;
use crate::model::{ArrayKind, BaseType, Primitive, Value};

/// Parses `text` as a value of `base` with array suffix `array`.
pub fn parse_value(base: &BaseType, array: ArrayKind, text: &str) -> Result<Value, Problem> {
    if array == ArrayKind::Single {
        return parse_scalar(base, text);
    }
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| Problem::ArrayLiteralSyntax(text.to_owned()))?;
    let elements: Vec<Value> = match base {
        BaseType::String { .. } | BaseType::WString { .. } => split_string_array(inner)?
            .into_iter()
            .map(|s| check_string_bound(base, s))
            .collect::<Result<_, _>>()?,
        _ if inner.is_empty() => Vec::new(),
        _ => inner
            .split(',')
            .map(|e| parse_scalar(base, e.trim()))
            .collect::<Result<_, _>>()?,
    };
    match array {
        ArrayKind::Fixed(n) if elements.len() != n as usize => Err(Problem::ArrayLengthMismatch {
            expected: n,
            found: elements.len(),
        }),
        ArrayKind::Bounded(n) if elements.len() > n as usize => Err(Problem::ArrayTooLong {
            max: n,
            found: elements.len(),
        }),
        _ => Ok(Value::Array(elements)),
    }
}

/// Parses one non-array value.
pub fn parse_scalar(base: &BaseType, text: &str) -> Result<Value, Problem> {
    match base {
        BaseType::Primitive(p) => parse_primitive(*p, text),
        BaseType::String { .. } | BaseType::WString { .. } => {
            check_string_bound(base, unquote(text)?)
        }
        BaseType::Named(name) => Err(Problem::DefaultOnNested(name.to_string())),
    }
}

fn check_string_bound(base: &BaseType, s: String) -> Result<Value, Problem> {
    if let BaseType::String { bound: Some(max) } | BaseType::WString { bound: Some(max) } = base {
        let len = s.chars().count();
        if len > *max as usize {
            return Err(Problem::StringTooLong { max: *max, len });
        }
    }
    Ok(Value::String(s))
}

fn invalid(p: Primitive, text: &str, reason: &'static str) -> Problem {
    Problem::InvalidValue {
        ty: p.keyword().to_owned(),
        value: text.to_owned(),
        reason,
    }
}

fn parse_primitive(p: Primitive, text: &str) -> Result<Value, Problem> {
    if p == Primitive::Bool {
        return match text.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(invalid(p, text, "expected true, false, 1 or 0")),
        };
    }
    if p.is_float() {
        return python_float(text)
            .map(Value::Float)
            .ok_or_else(|| invalid(p, text, "not a number"));
    }
    let (lo, hi) = p.int_range().unwrap_or((0, 0));
    let v = python_int(text).ok_or_else(|| invalid(p, text, "not an integer"))?;
    if v < lo || v > hi {
        return Err(invalid(p, text, "out of range for the type"));
    }
    Ok(Value::Int(v))
}

/// True when every `_` in `digits` sits between two digits valid for `radix`.
fn underscores_ok(digits: &str, radix: u32) -> bool {
    let b = digits.as_bytes();
    !digits.is_empty()
        && b.iter().enumerate().all(|(i, &c)| {
            if c == b'_' {
                i > 0
                    && i + 1 < b.len()
                    && char::from(b[i - 1]).is_digit(radix)
                    && char::from(b[i + 1]).is_digit(radix)
            } else {
                char::from(c).is_digit(radix)
            }
        })
}

/// Python `int(text)`, falling back to `int(text, 0)`.
#[must_use]
pub fn python_int(text: &str) -> Option<i128> {
    let t = text.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if underscores_ok(body, 10) {
        (10, body)
    } else if let Some(rest) = ["0x", "0o", "0b"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
    {
        let radix = match &lower[..2] {
            "0x" => 16,
            "0o" => 8,
            _ => 2,
        };
        // `int(x, 0)` allows one underscore right after the prefix.
        let rest = &body[body.len() - rest.len()..];
        let rest = rest.strip_prefix('_').unwrap_or(rest);
        if !underscores_ok(rest, radix) {
            return None;
        }
        (radix, rest)
    } else {
        return None;
    };
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let magnitude = i128::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -magnitude } else { magnitude })
}

/// Python `float(text)`: decimal with optional `_` between digits, exponent, `inf`,
/// `infinity` and `nan` in any case, with an optional sign.
#[must_use]
pub fn python_float(text: &str) -> Option<f64> {
    let t = text.trim();
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let valid_chars = body
        .bytes()
        .all(|c| c.is_ascii_digit() || b"._eE+-".contains(&c));
    if !valid_chars || !body.bytes().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let b = body.as_bytes();
    let underscores_between_digits = b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit())
    });
    if !underscores_between_digits {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    clean.parse::<f64>().ok().map(|v| sign * v)
}

/// Removes one matching outer pair of quotes and resolves escaped quotes of that kind.
fn unquote(text: &str) -> Result<String, Problem> {
    for quote in ['"', '\''] {
        if text.starts_with(quote) && text.ends_with(quote) {
            let inner = if text.len() >= 2 {
                &text[1..text.len() - 1]
            } else {
                ""
            };
            let escaped = format!("\\{quote}");
            let mut prev = '\0';
            for c in inner.chars() {
                if c == quote && prev != '\\' {
                    return Err(Problem::UnescapedQuote(text.to_owned()));
                }
                prev = c;
            }
            return Ok(inner.replace(&escaped, &quote.to_string()));
        }
    }
    Ok(text.to_owned())
}

/// Splits the inside of a string-array default: elements quoted (commas kept, escaped quotes
/// resolved) or bare (up to the next comma, trimmed); a trailing comma is allowed.
fn split_string_array(inner: &str) -> Result<Vec<String>, Problem> {
    let mut out = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        if rest.starts_with(',') {
            return Err(Problem::StringArraySyntax(
                inner.to_owned(),
                "empty element before `,`",
            ));
        }
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
        if let Some(q) = quote {
            let body = &rest[1..];
            let mut end = None;
            let mut prev = '\0';
            for (i, c) in body.char_indices() {
                if c == q && prev != '\\' {
                    end = Some(i);
                    break;
                }
                prev = c;
            }
            let end = end.ok_or_else(|| {
                Problem::StringArraySyntax(inner.to_owned(), "unterminated quote")
            })?;
            out.push(body[..end].replace(&format!("\\{q}"), &q.to_string()));
            rest = body[end + 1..].trim_start();
            if !(rest.is_empty() || rest.starts_with(',')) {
                return Err(Problem::StringArraySyntax(
                    inner.to_owned(),
                    "expected `,` after a quoted element",
                ));
            }
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            out.push(rest[..end].trim().to_owned());
            rest = &rest[end..];
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_python() {
        assert_eq!(python_int("010"), Some(10));
        assert_eq!(python_int(" -0x10 "), Some(-16));
        assert_eq!(python_int("0b101"), Some(5));
        assert_eq!(python_int("0O17"), Some(15));
        assert_eq!(python_int("1_000"), Some(1000));
        assert_eq!(python_int("0x_ff"), Some(255));
        assert_eq!(
            python_int("18446744073709551615"),
            Some(18_446_744_073_709_551_615)
        );
        for bad in ["", "1__0", "_1", "1_", "0x", "1.0", "abc", "--1"] {
            assert_eq!(python_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn floats_follow_python() {
        assert_eq!(python_float("1"), Some(1.0));
        assert_eq!(python_float("1e3"), Some(1000.0));
        assert_eq!(python_float("1_000.5"), Some(1000.5));
        assert_eq!(python_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(python_float("NaN").unwrap().is_nan());
        assert_eq!(python_float(".5"), Some(0.5));
        for bad in ["", "1__0", "e3", "1.0.0", "0x10", "1_.5"] {
            assert_eq!(python_float(bad), None, "{bad}");
        }
    }

    #[test]
    fn strings_and_arrays() {
        let s = BaseType::String { bound: None };
        assert_eq!(
            parse_scalar(&s, r#""Hello\"world!""#),
            Ok(Value::String("Hello\"world!".into()))
        );
        assert_eq!(
            parse_scalar(&s, "'Hello\"world!'"),
            Ok(Value::String("Hello\"world!".into()))
        );
        assert_eq!(
            parse_scalar(&s, "hello world"),
            Ok(Value::String("hello world".into()))
        );
        assert!(parse_scalar(&s, "'it''s'").is_err());
        let arr = parse_value(&s, ArrayKind::Unbounded, r#"['x', "y,z",]"#).unwrap();
        assert_eq!(
            arr,
            Value::Array(vec![Value::String("x".into()), Value::String("y,z".into())])
        );
        let i = BaseType::Primitive(Primitive::Int32);
        assert_eq!(
            parse_value(&i, ArrayKind::Unbounded, "[]"),
            Ok(Value::Array(vec![]))
        );
        assert!(parse_value(&i, ArrayKind::Unbounded, "[1,2,]").is_err());
        assert!(parse_value(&i, ArrayKind::Fixed(3), "[1, 2]").is_err());
        assert!(parse_value(&i, ArrayKind::Bounded(1), "[1, 2]").is_err());
        let b = BaseType::Primitive(Primitive::Bool);
        assert_eq!(parse_scalar(&b, "TRUE"), Ok(Value::Bool(true)));
        let i8t = BaseType::Primitive(Primitive::Int8);
        assert!(parse_scalar(&i8t, "0x80").is_err());
        let byte = BaseType::Primitive(Primitive::Byte);
        assert!(parse_scalar(&byte, "-1").is_err());
    }
}
