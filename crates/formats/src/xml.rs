//! XML text helpers shared by the DOCX and SVG writers.
//!
//! Both build their XML by hand (the documents are small and fixed in shape, and an XML writer
//! crate would still leave us to drop the characters XML 1.0 forbids), so escaping lives in one
//! place that both test suites exercise.

/// Whether XML 1.0 can hold `c` at all, even escaped: a document containing U+0001 or U+FFFF is
/// rejected by every conforming parser, so such characters are dropped, not escaped.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` escaped for element content and attribute values alike (quotes included), with
/// characters XML cannot hold removed.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// [`push_escaped`] into a new string.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_characters_xml_cannot_hold() {
        assert_eq!(
            escaped("<a href=\"x\">&'\u{1}\u{b}\u{FFFF}\t\n中文😀"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\t\n中文😀"
        );
    }
}
