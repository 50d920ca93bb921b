//! Type tokens: `int32`, `string<=10`, `pkg/Type`, `float64[36]`, `Point[<=3]`, `uint8[]`.

use crate::diagnostic::Problem;
use crate::model::{ArrayKind, BaseType, FieldType, Kind, Primitive, TypeName};
use crate::names::{is_valid_snake, is_valid_type_name};

/// Parses a type token written in package `package`.
pub fn parse_type(token: &str, package: &str) -> Result<FieldType, Problem> {
    let (base, array) = match token.strip_suffix(']') {
        Some(head) => {
            let open = head
                .rfind('[')
                .ok_or_else(|| Problem::InvalidArraySuffix(token.to_owned()))?;
            let inner = &head[open + 1..];
            let array = if inner.is_empty() {
                ArrayKind::Unbounded
            } else if let Some(n) = inner.strip_prefix("<=") {
                ArrayKind::Bounded(array_size(n, token)?)
            } else {
                ArrayKind::Fixed(array_size(inner, token)?)
            };
            (&head[..open], array)
        }
        None => (token, ArrayKind::Single),
    };
    if base.contains(['[', ']']) {
        return Err(Problem::InvalidArraySuffix(token.to_owned()));
    }
    Ok(FieldType {
        base: parse_base(base, package)?,
        array,
    })
}

fn array_size(text: &str, token: &str) -> Result<u32, Problem> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::InvalidArraySuffix(token.to_owned()));
    }
    match text.parse::<u32>() {
        Ok(0) => Err(Problem::ZeroArraySize(token.to_owned())),
        Ok(n) => Ok(n),
        Err(_) => Err(Problem::InvalidArraySuffix(token.to_owned())),
    }
}

fn parse_base(base: &str, package: &str) -> Result<BaseType, Problem> {
    if let Some((word, bound)) = base.split_once("<=") {
        let bound = match bound.parse::<u32>() {
            Ok(n) if n > 0 && bound.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(Problem::InvalidStringBound(base.to_owned())),
        };
        return match word {
            "string" => Ok(BaseType::String { bound }),
            "wstring" => Ok(BaseType::WString { bound }),
            _ => Err(Problem::BoundOnNonString(word.to_owned())),
        };
    }
    if let Some(p) = Primitive::from_keyword(base) {
        return Ok(BaseType::Primitive(p));
    }
    match base {
        "string" => return Ok(BaseType::String { bound: None }),
        "wstring" => return Ok(BaseType::WString { bound: None }),
        "time" => return Err(Problem::LegacyTime(base.to_owned(), "Time")),
        "duration" => return Err(Problem::LegacyTime(base.to_owned(), "Duration")),
        _ => {}
    }
    let (pkg, name) = match base.split_once('/') {
        Some((_, rest)) if rest.contains('/') => {
            return Err(Problem::TooManySlashes(base.to_owned()))
        }
        Some((pkg, name)) => (pkg, name),
        None => (package, base),
    };
    if !is_valid_snake(pkg) {
        return Err(Problem::InvalidPackageName(pkg.to_owned()));
    }
    if !is_valid_type_name(name) {
        return Err(Problem::InvalidType(base.to_owned()));
    }
    Ok(BaseType::Named(TypeName::new(pkg, Kind::Msg, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_suffix() {
        let t = parse_type("string<=10[<=5]", "p").unwrap();
        assert_eq!(t.base, BaseType::String { bound: Some(10) });
        assert_eq!(t.array, ArrayKind::Bounded(5));
        let t = parse_type("Point[3]", "geometry_msgs").unwrap();
        assert_eq!(
            t.base,
            BaseType::Named(TypeName::new("geometry_msgs", Kind::Msg, "Point"))
        );
        assert_eq!(t.array, ArrayKind::Fixed(3));
        assert_eq!(
            parse_type("uint8[]", "p").unwrap().array,
            ArrayKind::Unbounded
        );
        assert!(matches!(
            parse_type("int32[0]", "p"),
            Err(Problem::ZeroArraySize(_))
        ));
        assert!(matches!(
            parse_type("string<=0", "p"),
            Err(Problem::InvalidStringBound(_))
        ));
        assert!(matches!(
            parse_type("int32<=3", "p"),
            Err(Problem::BoundOnNonString(_))
        ));
        assert!(matches!(
            parse_type("a/b/C", "p"),
            Err(Problem::TooManySlashes(_))
        ));
        assert!(matches!(
            parse_type("int32[2][3]", "p"),
            Err(Problem::InvalidArraySuffix(_))
        ));
        assert!(matches!(
            parse_type("time", "p"),
            Err(Problem::LegacyTime(..))
        ));
    }
}
