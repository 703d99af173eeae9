//! Header text: RFC 2047 encoded words, addresses and message identifiers.
//!
//! mail-parser decodes each encoded word on its own. Mailers that split a long subject into
//! several words cut by bytes, not characters (Outlook and Foxmail do this with GBK and
//! UTF-8), so the halves of a character became two replacement characters. Here the bytes of
//! adjacent words in the same charset are joined before decoding.

use super::charset;
use super::mime::hex;

/// Decodes an unstructured header value (Subject and the like): encoded words decoded,
/// 8-bit bytes sniffed, whitespace collapsed, control characters dropped.
pub(crate) fn decode_unstructured(raw: &[u8]) -> String {
    collapse_whitespace(&decode_words(raw))
}

/// Decodes a parameter value (a filename): encoded words, else raw 8-bit bytes sniffed.
pub(crate) fn decode_parameter(raw: &[u8]) -> String {
    decode_words(raw)
}

/// Replaces runs of whitespace with one space, drops control characters, and trims.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else if c.is_control() {
            continue;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Decodes the encoded words in `raw` and the text between them.
///
/// Whitespace between two encoded words is dropped (RFC 2047 §6.2); adjacent words in the
/// same charset are decoded together. Encoded words are also recognised where RFC 2047 does
/// not allow them (inside quoted strings, glued to other text), as mail readers do.
fn decode_words(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    // The charset and bytes of the encoded words seen since the last other text.
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut run_start = 0;
    let mut i = 0;
    while i + 1 < raw.len() {
        if raw[i] == b'='
            && raw[i + 1] == b'?'
            && let Some(word) = encoded_word(raw, i)
        {
            let run = &raw[run_start..i];
            let only_space = run.iter().all(|b| b.is_ascii_whitespace());
            let after_word = pending.is_some();
            match &mut pending {
                Some((label, bytes)) if only_space && same_charset(label, word.charset) => {
                    bytes.extend_from_slice(&word.bytes);
                }
                _ => {
                    if let Some((label, bytes)) = pending.take() {
                        out.push_str(&charset::decode(&bytes, Some(&label)));
                    }
                    if !(only_space && after_word) {
                        out.push_str(&decode_raw(run));
                    }
                    pending = Some((word.charset.to_owned(), word.bytes));
                }
            }
            i = word.end;
            run_start = i;
            continue;
        }
        i += 1;
    }
    let run = &raw[run_start..];
    if let Some((label, bytes)) = pending.take() {
        out.push_str(&charset::decode(&bytes, Some(&label)));
    }
    out.push_str(&decode_raw(run));
    out
}

fn same_charset(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || matches!((charset::for_label(a), charset::for_label(b)), (Some(x), Some(y)) if x == y)
}

fn decode_raw(run: &[u8]) -> String {
    if run.is_ascii() { String::from_utf8_lossy(run).into_owned() } else { charset::decode_unlabelled(run) }
}

struct EncodedWord<'a> {
    charset: &'a str,
    bytes: Vec<u8>,
    end: usize,
}

/// Parses `=?charset?B|Q?text?=` starting at `start`.
fn encoded_word(raw: &[u8], start: usize) -> Option<EncodedWord<'_>> {
    let rest = &raw[start + 2..];
    let q1 = rest.iter().take(64).position(|b| *b == b'?')?;
    let label = std::str::from_utf8(&rest[..q1]).ok()?;
    // RFC 2231 §5 allows a language after the charset: =?utf-8*zh?B?…?=
    let label = label.split('*').next().unwrap_or(label);
    if label.is_empty() || label.bytes().any(|b| b.is_ascii_whitespace() || b == b'=') {
        return None;
    }
    let encoding = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_len = memchr::memmem::find(&rest[text_start..], b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    let bytes = match encoding {
        b'B' | b'b' => super::mime::decode_base64(text),
        b'Q' | b'q' => decode_q(text),
        _ => return None,
    };
    Some(EncodedWord { charset: label, bytes, end: start + 2 + text_start + text_len + 2 })
}

fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) =
                    (text.get(i + 1).and_then(|b| hex(*b)), text.get(i + 2).and_then(|b| hex(*b)))
                {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// One mailbox of an address header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mailbox {
    pub name: Option<String>,
    /// Lower-cased.
    pub address: Option<String>,
}

/// Parses an address list (From, Reply-To, or a `From:` line quoted in a forwarded mail).
///
/// Accepts the forms mailers write, standard or not: `Name <a@b>`, `"Name" <a@b>`,
/// `Name<a@b>`, `a@b (Name)`, bare `a@b`, `Name [mailto:a@b]` (Outlook's quoted headers),
/// groups, and encoded words inside quotes.
pub(crate) fn parse_addresses(raw: &[u8]) -> Vec<Mailbox> {
    let mut out = Vec::new();
    for item in split_top_level(raw) {
        if let Some(mailbox) = parse_mailbox(&item) {
            out.push(mailbox);
        }
    }
    out
}

/// Splits on commas and semicolons outside quotes, comments and angle brackets, and drops a
/// group's `name:` prefix.
fn split_top_level(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut items = Vec::new();
    let mut current = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut comment = 0u32;
    let mut angle = false;
    for &b in raw {
        if in_quotes {
            current.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
            continue;
        }
        match b {
            b'"' if comment == 0 => in_quotes = true,
            b'(' => comment += 1,
            b')' if comment > 0 => comment -= 1,
            b'<' if comment == 0 => angle = true,
            b'>' if comment == 0 => angle = false,
            b',' | b';' if comment == 0 && !angle => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            // "group: a@b, c@d;" — the group name is not a mailbox. "mailto:" is kept.
            b':' if comment == 0
                && !angle
                && !current.contains(&b'@')
                && !current.trim_ascii_end().to_ascii_lowercase().ends_with(b"mailto") =>
            {
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(b);
    }
    items.push(current);
    items.retain(|i| !i.trim_ascii().is_empty());
    items
}

fn parse_mailbox(item: &[u8]) -> Option<Mailbox> {
    let mut phrase = Vec::new();
    let mut comments = Vec::new();
    let mut angle: Option<Vec<u8>> = None;
    let mut bracket: Option<Vec<u8>> = None;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut comment = 0u32;
    let mut in_angle = false;
    let mut in_bracket = false;
    for &b in item {
        if in_quotes {
            if escaped {
                phrase.push(b);
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            } else {
                phrase.push(b);
            }
            continue;
        }
        if comment > 0 {
            match b {
                b'(' => comment += 1,
                b')' => comment -= 1,
                _ => {}
            }
            if comment > 0 {
                comments.push(b);
            } else {
                comments.push(b' ');
            }
            continue;
        }
        if in_angle {
            if b == b'>' {
                in_angle = false;
            } else if let Some(a) = angle.as_mut() {
                a.push(b);
            }
            continue;
        }
        if in_bracket {
            if b == b']' {
                in_bracket = false;
            } else if let Some(a) = bracket.as_mut() {
                a.push(b);
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'(' => comment = 1,
            b'<' if angle.is_none() => {
                in_angle = true;
                angle = Some(Vec::new());
            }
            b'[' if angle.is_none() && bracket.is_none() => {
                in_bracket = true;
                bracket = Some(Vec::new());
            }
            _ => phrase.push(b),
        }
    }

    let bracket_address = bracket.as_deref().map(clean_address).filter(|a| a.contains('@'));
    let (address, name_raw) = match (angle, bracket_address) {
        (Some(angle), _) => (clean_address(&angle), phrase),
        (None, Some(address)) => (address, phrase),
        (None, None) => {
            let text = phrase.trim_ascii();
            let looks_like_address =
                text.contains(&b'@') && !text.iter().any(|b| b.is_ascii_whitespace()) && !text.contains(&b'=');
            if looks_like_address { (clean_address(text), comments.clone()) } else { (String::new(), phrase) }
        }
    };
    let mut name = decode_unstructured(&name_raw);
    if name.is_empty() && !comments.is_empty() {
        name = decode_unstructured(&comments);
    }
    let name = name.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace()).to_owned();
    let name = (!name.is_empty() && !name.eq_ignore_ascii_case(&address)).then_some(name);
    let address = (!address.is_empty()).then_some(address);
    if name.is_none() && address.is_none() {
        return None;
    }
    Some(Mailbox { name, address })
}

fn clean_address(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut text = text.trim();
    if text.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("mailto:")) {
        text = &text[7..];
    }
    // An obsolete source route: <@relay:user@host>
    if text.starts_with('@')
        && let Some((_, rest)) = text.split_once(':')
    {
        text = rest;
    }
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .trim_matches(['"', '\''])
        .to_lowercase()
}

/// The message identifiers in a Message-ID, In-Reply-To or References value, without angle
/// brackets.
pub(crate) fn message_ids(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let id: String = after[..close].chars().filter(|c| !c.is_whitespace()).collect();
        if !id.is_empty() {
            ids.push(id);
        }
        rest = &after[close + 1..];
    }
    if ids.is_empty() {
        // Some mailers omit the brackets.
        ids.extend(
            text.split(|c: char| c.is_whitespace() || c == ',')
                .map(|t| t.trim_matches(['<', '>']))
                .filter(|t| !t.is_empty() && !t.starts_with('('))
                .map(str::to_owned),
        );
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacent_words_split_inside_a_character_are_joined() {
        // "意见" in UTF-8 is E6 84 8F E8 A7 81; split after the fourth byte.
        let b = b"=?UTF-8?B?5oSP6A==?= =?UTF-8?B?p4E=?=";
        assert_eq!(decode_unstructured(b), "意见");
        let q = b"=?utf-8?Q?=E6=84=8F=E8?=\r\n =?UTF-8?q?=A7=81_abc?=";
        assert_eq!(decode_unstructured(q), "意见 abc");
        // GBK "意见" is D2 E2 BC FB, split inside the second character, B then Q form.
        let gbk = b"=?gbk?B?0uK8?= =?GBK?Q?=FB?=";
        assert_eq!(decode_unstructured(gbk), "意见");
    }

    #[test]
    fn text_around_words_is_kept_and_space_between_words_dropped() {
        assert_eq!(decode_unstructured(b"Re: =?UTF-8?B?5oSP6KeB?= (2)"), "Re: 意见 (2)");
        assert_eq!(decode_unstructured(b"=?UTF-8?Q?a?= =?ISO-8859-1?Q?=E9?="), "aé");
        assert_eq!(decode_unstructured(b"=?UTF-8?Q?a?= b =?UTF-8?Q?c?="), "a b c");
        assert_eq!(decode_unstructured(b"plain =?broken"), "plain =?broken");
        assert_eq!(decode_unstructured("raw 意见\t\t x".as_bytes()), "raw 意见 x");
    }

    #[test]
    fn addresses_in_their_many_forms() {
        let one = |raw: &str| parse_addresses(raw.as_bytes()).into_iter().next().unwrap();
        let m = one("=?UTF-8?B?5byg5LiJ?= <ZhangSan@Example.CN>");
        assert_eq!(m.name.as_deref(), Some("张三"));
        assert_eq!(m.address.as_deref(), Some("zhangsan@example.cn"));
        let m = one("\"=?GBK?B?wO7LxA==?=\" <lisi@example.cn>");
        assert_eq!(m.name.as_deref(), Some("李四"));
        let m = one("\"Wang, Wu\"<wangwu@example.cn>");
        assert_eq!(m.name.as_deref(), Some("Wang, Wu"));
        let m = one("zhao@example.cn (赵六)");
        assert_eq!(m.name.as_deref(), Some("赵六"));
        assert_eq!(m.address.as_deref(), Some("zhao@example.cn"));
        let m = one("孙七 [mailto:sunqi@example.cn]");
        assert_eq!(m.name.as_deref(), Some("孙七"));
        assert_eq!(m.address.as_deref(), Some("sunqi@example.cn"));
        // A multi-byte character across byte 7, where "mailto:" would end.
        let m = one("意见 <意见反馈@example.cn>");
        assert_eq!(m.address.as_deref(), Some("意见反馈@example.cn"));
        let m = one("周八");
        assert_eq!(m.name.as_deref(), Some("周八"));
        assert_eq!(m.address, None);
        let list = parse_addresses(b"undisclosed-recipients:;");
        assert!(list.is_empty());
        let list = parse_addresses(b"team: a@x.cn, B <b@x.cn>;");
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].address.as_deref(), Some("b@x.cn"));
    }

    #[test]
    fn message_ids_with_and_without_brackets() {
        assert_eq!(message_ids(b" <a@b> <c@d>\r\n <e@f>"), ["a@b", "c@d", "e@f"]);
        assert_eq!(message_ids(b"x@y"), ["x@y"]);
        assert!(message_ids(b"  ").is_empty());
    }
}
