//! Turning collected `#` comment lines into [`Doc`]s (GRAMMAR-FACTS B.12).

use crate::model::Doc;

/// Builds a doc from raw comment texts (each starting at its `#`).
#[must_use]
pub fn build_doc(raw: &[String]) -> Doc {
    let stripped: Vec<&str> = raw
        .iter()
        .map(|l| l.trim_start_matches('#').trim_end())
        .collect();
    // Drop leading and trailing empty lines, collapse runs of empty lines.
    let mut lines: Vec<&str> = Vec::new();
    for line in stripped {
        let empty = line.trim().is_empty();
        if empty && lines.last().is_none_or(|l: &&str| l.trim().is_empty()) {
            continue;
        }
        lines.push(if empty { "" } else { line });
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut text: String = lines
        .iter()
        .map(|l| if l.is_empty() { "" } else { &l[indent..] })
        .collect::<Vec<_>>()
        .join("\n");
    let unit = extract_unit(&mut text);
    Doc { text, unit }
}

/// Pulls out a single `[unit]` annotation (exactly one bracket pair, no comma inside).
fn extract_unit(text: &mut String) -> Option<String> {
    let opens: Vec<usize> = text.match_indices('[').map(|(i, _)| i).collect();
    let [open] = opens.as_slice() else {
        return None;
    };
    let close = text[*open..].find(']')? + open;
    if text[close + 1..].contains(']') || text[..*open].contains(']') {
        return None;
    }
    let unit = text[open + 1..close].to_owned();
    if unit.contains(',') {
        return None;
    }
    text.replace_range(*open..=close, "");
    *text = text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    Some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(lines: &[&str]) -> Doc {
        build_doc(&lines.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn strips_markers_dedents_and_finds_units() {
        let d = doc(&[
            "## banner",
            "#",
            "#  start angle [rad]",
            "#",
            "#",
            "#  more",
        ]);
        // Dedent removes the common indent (one space); deeper indents stay.
        assert_eq!(d.text, "banner\n\n start angle\n\n more");
        assert_eq!(d.unit.as_deref(), Some("rad"));
        let d = doc(&["# range [0, 1] and [m]"]);
        assert_eq!(d.unit, None);
        let d = doc(&["#", "# x"]);
        assert_eq!(d.text, "x");
    }
}
