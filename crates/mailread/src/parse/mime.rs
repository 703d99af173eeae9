//! The MIME structure of a message: header fields, content types with their parameters, the
//! parts of a multipart body, and transfer decodings.
//!
//! Written here rather than taken from mail-parser because mail-parser converts every text part
//! to a `String` itself, with the charset shortcomings described in [`super::charset`], and
//! keeps no copy of the bytes before that conversion. Working on borrowed slices of the raw
//! message also keeps a 10,000-mail import from copying each body several times.

use std::borrow::Cow;

use memchr::memmem;

use super::words;

/// Multipart and message/rfc822 nesting deeper than this is treated as an opaque attachment:
/// no real mail nests this deep, and a hostile one must not exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 24;
/// More body parts than this in one message is an attack or a broken generator, not mail.
const MAX_PARTS: usize = 10_000;

/// One header field, its value unfolded and not yet decoded.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

/// The header fields of a message or body part, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Headers(pub Vec<Header>);

impl Headers {
    /// The raw value of the first field called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_slice())
    }

    /// The raw values of all fields called `name`.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.0.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_slice())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value of `name` as text: encoded words decoded, whitespace collapsed.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(words::decode_unstructured)
    }
}

/// Splits an entity into its header fields and its body.
///
/// With `strict` (the message itself), a first line that is not a header field makes the
/// message malformed. In a body part, such a line just means the part has no header fields,
/// which mailers do produce.
pub(crate) fn split_entity(raw: &[u8], strict: bool) -> Result<(Headers, &[u8]), String> {
    let mut headers: Vec<Header> = Vec::new();
    let mut pos = 0;
    // An mbox "From " line left in front of the headers.
    if strict && raw.starts_with(b"From ") {
        pos = line_end(raw, 0);
    }
    loop {
        if pos >= raw.len() {
            return finish(headers, &raw[raw.len()..], strict);
        }
        let end = line_end(raw, pos);
        let line = trim_eol(&raw[pos..end]);
        if line.is_empty() {
            return finish(headers, &raw[end..], strict);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            match headers.last_mut() {
                Some(last) => {
                    if last.value.len() < 64 * 1024 {
                        last.value.extend_from_slice(line);
                    }
                }
                None if strict => return Err("邮件头以续行开始".to_owned()),
                None => return Ok((Headers::default(), raw)),
            }
            pos = end;
            continue;
        }
        match field_name(line) {
            Some((name, value_start)) => {
                headers.push(Header { name, value: line[value_start..].to_vec() });
                pos = end;
            }
            None if headers.is_empty() && strict => {
                return Err("邮件开头不是邮件头".to_owned());
            }
            // A line that is neither a field nor a continuation ends the header section; what
            // follows is taken as body rather than lost.
            None => return finish(headers, &raw[pos..], strict),
        }
    }
}

fn finish(headers: Vec<Header>, body: &[u8], strict: bool) -> Result<(Headers, &[u8]), String> {
    let mut headers = headers;
    for header in &mut headers {
        let trimmed = trim_ascii(&header.value);
        if trimmed.len() != header.value.len() {
            header.value = trimmed.to_vec();
        }
    }
    if strict && headers.is_empty() {
        return Err("邮件没有邮件头".to_owned());
    }
    Ok((Headers(headers), body))
}

/// The field name of a header line and where its value starts.
fn field_name(line: &[u8]) -> Option<(String, usize)> {
    let colon = memchr::memchr(b':', line)?;
    // "Subject :" is obsolete syntax but still written by a few programs.
    let name = trim_ascii(&line[..colon]);
    if name.is_empty() || name.len() > 76 || !name.iter().all(|&b| b.is_ascii_graphic() && b != b':') {
        return None;
    }
    Some((String::from_utf8_lossy(name).into_owned(), colon + 1))
}

/// The index just past the line starting at `pos` (past its `\n`, or the end of input).
fn line_end(raw: &[u8], pos: usize) -> usize {
    match memchr::memchr(b'\n', &raw[pos..]) {
        Some(i) => pos + i + 1,
        None => raw.len(),
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

pub(crate) fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// A parsed Content-Type (or Content-Disposition) value.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContentType {
    /// Lower-cased, e.g. `text/plain`, or `attachment` for a disposition.
    pub value: String,
    /// Parameter names lower-cased; values decoded (RFC 2231 and, for the many mailers that
    /// use it there, RFC 2047).
    pub params: Vec<(String, String)>,
}

impl ContentType {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn main_type(&self) -> &str {
        self.value.split('/').next().unwrap_or("")
    }

    pub fn is_multipart(&self) -> bool {
        self.main_type() == "multipart"
    }
}

/// Parses `type/subtype; name=value; …` including RFC 2231 continuations and charsets.
pub(crate) fn parse_content_type(raw: &[u8]) -> ContentType {
    let items = split_params(raw);
    let mut iter = items.into_iter();
    let value = iter
        .next()
        .map(|(first, _)| {
            String::from_utf8_lossy(strip_comments(&first).trim_ascii())
                .to_ascii_lowercase()
                .replace(|c: char| c.is_ascii_whitespace(), "")
        })
        .unwrap_or_default();

    // name -> (plain value, rfc2231 segments (index, extended, bytes))
    struct Pending {
        name: String,
        plain: Option<Vec<u8>>,
        segments: Vec<(u32, bool, Vec<u8>)>,
    }
    let mut pending: Vec<Pending> = Vec::new();
    for (name, value) in iter {
        let Some(value) = value else { continue };
        let name = String::from_utf8_lossy(name.trim_ascii()).to_ascii_lowercase();
        let (base, segment) = match name.split_once('*') {
            Some((base, rest)) => {
                let extended = rest.ends_with('*') || rest.is_empty();
                let index = rest.trim_end_matches('*');
                let index = if index.is_empty() {
                    0
                } else {
                    match index.parse::<u32>() {
                        Ok(i) if i < 1000 => i,
                        _ => continue,
                    }
                };
                (base.to_owned(), Some((index, extended)))
            }
            None => (name, None),
        };
        let entry = match pending.iter_mut().position(|p| p.name == base) {
            Some(i) => &mut pending[i],
            None => {
                pending.push(Pending { name: base, plain: None, segments: Vec::new() });
                let last = pending.len() - 1;
                &mut pending[last]
            }
        };
        match segment {
            None => {
                if entry.plain.is_none() {
                    entry.plain = Some(value);
                }
            }
            Some((index, extended)) => {
                if !entry.segments.iter().any(|(i, _, _)| *i == index) {
                    entry.segments.push((index, extended, value));
                }
            }
        }
    }

    let params = pending
        .into_iter()
        .map(|p| {
            let value = if p.segments.is_empty() {
                words::decode_parameter(p.plain.as_deref().unwrap_or_default())
            } else {
                decode_rfc2231(p.segments)
            };
            (p.name, value)
        })
        .collect();
    ContentType { value, params }
}

fn decode_rfc2231(mut segments: Vec<(u32, bool, Vec<u8>)>) -> String {
    segments.sort_by_key(|(i, _, _)| *i);
    let mut charset: Option<String> = None;
    let mut bytes = Vec::new();
    for (n, (_, extended, value)) in segments.into_iter().enumerate() {
        if extended {
            let mut value = value.as_slice();
            if n == 0 {
                // charset'language'value
                let mut quotes = value.iter().enumerate().filter(|(_, b)| **b == b'\'');
                if let (Some((a, _)), Some((b, _))) = (quotes.next(), quotes.next()) {
                    charset = Some(String::from_utf8_lossy(&value[..a]).into_owned());
                    value = &value[b + 1..];
                }
            }
            bytes.extend(percent_decode(value));
        } else {
            bytes.extend_from_slice(&value);
        }
    }
    let text = match charset.as_deref().filter(|c| !c.is_empty()) {
        Some(label) => super::charset::decode(&bytes, Some(label)),
        None => super::charset::decode_unlabelled(&bytes),
    };
    if text.contains("=?") { words::decode_unstructured(text.as_bytes()) } else { text }
}

fn percent_decode(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%'
            && let (Some(h), Some(l)) = (value.get(i + 1).and_then(|b| hex(*b)), value.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(value[i]);
        i += 1;
    }
    out
}

pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits `value; a=b; c="d;e"` into `[(value, None), (a, Some(b)), (c, Some(d;e))]`, quoted
/// strings unquoted.
fn split_params(raw: &[u8]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut items = Vec::new();
    let mut current = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for &b in raw {
        if in_quotes {
            if escaped {
                current.push(b);
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
                current.push(0);
            } else {
                current.push(b);
            }
            continue;
        }
        match b {
            b'"' => {
                in_quotes = true;
                current.push(0);
            }
            b';' => items.push(std::mem::take(&mut current)),
            _ => current.push(b),
        }
    }
    items.push(current);

    // The NUL bytes mark quoted stretches, so "a=b" inside quotes is not mistaken for a
    // parameter and whitespace inside quotes survives trimming.
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| {
            if i == 0 {
                return Some((item.into_iter().filter(|b| *b != 0).collect(), None));
            }
            let eq = item.iter().position(|b| *b == b'=')?;
            let name: Vec<u8> = item[..eq].iter().copied().filter(|b| *b != 0).collect();
            let raw_value = item[eq + 1..].trim_ascii();
            let value = if raw_value.first() == Some(&0) {
                // Quoted: keep exactly what was inside the quotes.
                let inner = &raw_value[1..];
                let end = inner.iter().rposition(|b| *b == 0).unwrap_or(inner.len());
                inner[..end].iter().copied().filter(|b| *b != 0).collect()
            } else {
                raw_value.iter().copied().filter(|b| *b != 0).collect()
            };
            if name.trim_ascii().is_empty() {
                return None;
            }
            Some((name, Some(value)))
        })
        .collect()
}

fn strip_comments(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'(') {
        return Cow::Borrowed(raw);
    }
    let mut depth = 0u32;
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        match b {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(b),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// A message or body part.
#[derive(Debug)]
pub(crate) struct Entity<'a> {
    pub headers: Headers,
    pub content_type: ContentType,
    /// The body as it stands in the message, still transfer-encoded.
    pub body: &'a [u8],
    /// For multipart entities, the parts (empty otherwise).
    pub parts: Vec<Entity<'a>>,
}

impl Entity<'_> {
    pub fn disposition(&self) -> Option<ContentType> {
        self.headers.get("Content-Disposition").map(parse_content_type)
    }

    /// The body with its Content-Transfer-Encoding undone.
    pub fn decoded_body(&self) -> Cow<'_, [u8]> {
        let encoding = self
            .headers
            .get("Content-Transfer-Encoding")
            .map(|v| String::from_utf8_lossy(strip_comments(v).trim_ascii()).to_ascii_lowercase());
        match encoding.as_deref() {
            Some("base64") => Cow::Owned(decode_base64(self.body)),
            Some("quoted-printable") => Cow::Owned(decode_quoted_printable(self.body)),
            _ => Cow::Borrowed(self.body),
        }
    }
}

/// Parses a message (`strict`) or body part into its MIME tree.
pub(crate) fn parse_entity(raw: &[u8], strict: bool) -> Result<Entity<'_>, String> {
    let mut count = 0;
    parse_entity_at(raw, strict, 0, "text/plain", &mut count)
}

fn parse_entity_at<'a>(
    raw: &'a [u8],
    strict: bool,
    depth: usize,
    default_type: &str,
    count: &mut usize,
) -> Result<Entity<'a>, String> {
    *count += 1;
    if *count > MAX_PARTS {
        return Err(format!("MIME 部件超过 {MAX_PARTS} 个"));
    }
    let (headers, body) = split_entity(raw, strict)?;
    let mut content_type = match headers.get("Content-Type") {
        Some(value) => parse_content_type(value),
        None => ContentType { value: default_type.to_owned(), params: Vec::new() },
    };
    if !content_type.value.contains('/') {
        // RFC 2045 §5.2: an unusable Content-Type means text/plain.
        content_type.value = "text/plain".to_owned();
    }
    let mut parts = Vec::new();
    if content_type.is_multipart() && depth < MAX_DEPTH {
        let boundary = content_type.param("boundary").map(str::to_owned).filter(|b| !b.trim().is_empty());
        let Some(boundary) = boundary else {
            return Err(format!("{} 缺少 boundary 参数", content_type.value));
        };
        let child_default = if content_type.value == "multipart/digest" { "message/rfc822" } else { "text/plain" };
        let bodies = split_multipart(body, boundary.as_bytes());
        if bodies.is_empty() {
            return Err(format!("{} 中找不到分隔线 --{boundary}", content_type.value));
        }
        for part in bodies {
            parts.push(parse_entity_at(part, false, depth + 1, child_default, count)?);
        }
    }
    Ok(Entity { headers, content_type, body, parts })
}

/// The bodies between the delimiter lines of a multipart body. Empty when no delimiter was
/// found at all; a missing close delimiter is forgiven.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delimiter);

    let mut parts = Vec::new();
    // Where the current part's content starts, once the first delimiter was seen.
    let mut start: Option<usize> = None;
    let mut search = 0;
    while let Some(found) = finder.find(&body[search..]) {
        let at = search + found;
        search = at + delimiter.len();
        if at > 0 && body[at - 1] != b'\n' {
            continue;
        }
        let after = &body[at + delimiter.len()..];
        let is_close = after.starts_with(b"--");
        let rest_end = memchr::memchr(b'\n', after).unwrap_or(after.len());
        let rest = &after[if is_close { 2 } else { 0 }..rest_end];
        // A longer boundary that merely starts with ours is not our delimiter.
        if !rest.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if let Some(s) = start {
            // The line break before a delimiter belongs to the delimiter.
            let mut end = at;
            if end > s && body[end - 1] == b'\n' {
                end -= 1;
                if end > s && body[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            parts.push(&body[s..end.max(s)]);
        }
        if is_close {
            return parts;
        }
        let next = at + delimiter.len() + rest_end + 1;
        start = Some(next.min(body.len()));
        search = next.min(body.len());
    }
    if let Some(s) = start {
        parts.push(&body[s..]);
    }
    parts
}

/// Decodes base64, skipping line breaks and any other stray characters, and reading on past
/// padding in the middle (some mailers concatenate separately encoded chunks).
pub(crate) fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                acc = 0;
                bits = 0;
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decodes quoted-printable. Line breaks come out as `\n`; a malformed `=` stays as it is.
pub(crate) fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut pos = 0;
    while pos < input.len() {
        let end = line_end(input, pos);
        let has_newline = input[end - 1] == b'\n';
        let mut line = trim_eol(&input[pos..end]);
        // Trailing whitespace was added in transport (RFC 2045 §6.7 rule 3).
        while let [rest @ .., b' ' | b'\t'] = line {
            line = rest;
        }
        let soft_break = line.last() == Some(&b'=');
        if soft_break {
            line = &line[..line.len() - 1];
        }
        let mut i = 0;
        while i < line.len() {
            if line[i] == b'='
                && let (Some(h), Some(l)) =
                    (line.get(i + 1).and_then(|b| hex(*b)), line.get(i + 2).and_then(|b| hex(*b)))
            {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            out.push(line[i]);
            i += 1;
        }
        if has_newline && !soft_break {
            out.push(b'\n');
        }
        pos = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_unfolded_and_body_split() {
        let raw = b"Subject: a\r\n b\r\nX-Empty:\r\nFrom: x@y\r\n\r\nbody\r\n";
        let (headers, body) = split_entity(raw, true).unwrap();
        assert_eq!(headers.get("subject"), Some(&b"a b"[..]));
        assert_eq!(headers.get("x-empty"), Some(&b""[..]));
        assert_eq!(body, b"body\r\n");
    }

    #[test]
    fn a_message_that_does_not_start_with_headers_is_malformed() {
        assert!(split_entity(b"hello there\n\nbody", true).is_err());
        assert!(split_entity(b"", true).is_err());
        assert!(split_entity(b" folded: first\n\nx", true).is_err());
        // A body part may lack headers.
        let (headers, body) = split_entity(b"hello there\n", false).unwrap();
        assert!(headers.0.is_empty());
        assert_eq!(body, b"hello there\n");
    }

    #[test]
    fn content_type_parameters_quoted_and_rfc2231() {
        let ct = parse_content_type(
            b"Text/Plain; charset=\"GB2312\"; format=flowed; name*0*=UTF-8''%E6%84%8F; name*1*=%E8%A7%81.txt",
        );
        assert_eq!(ct.value, "text/plain");
        assert_eq!(ct.param("charset"), Some("GB2312"));
        assert_eq!(ct.param("format"), Some("flowed"));
        assert_eq!(ct.param("name"), Some("意见.txt"));
        let ct = parse_content_type(b"multipart/mixed;\tboundary=\"a;b=c\"");
        assert_eq!(ct.param("boundary"), Some("a;b=c"));
        let ct = parse_content_type(b"application/pdf; name=\"=?GBK?B?0uK8+y5wZGY=?=\"");
        assert_eq!(ct.param("name"), Some("意见.pdf"));
    }

    #[test]
    fn multipart_split_honours_line_starts_and_longer_boundaries() {
        let body =
            b"preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--bb\r\nnot a delimiter\r\n--b  \r\n\r\ntwo\r\n--b--\r\nepilogue";
        let parts = split_multipart(body, b"b");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], b"A: 1\r\n\r\none\r\n--bb\r\nnot a delimiter");
        assert_eq!(parts[1], b"\r\ntwo");
        assert!(split_multipart(b"no delimiters here", b"b").is_empty());
    }

    #[test]
    fn transfer_decodings_are_lenient() {
        assert_eq!(decode_base64(b"5oSP\r\n6KeB\r\n"), "意见".as_bytes());
        assert_eq!(decode_base64(b"5oSP6Q==\n6KeB"), b"\xE6\x84\x8F\xE9\xE8\xA7\x81"[..7]);
        assert_eq!(
            decode_quoted_printable(b"=E6=84=8F=\r\n=E8=A7=81  \r\n1+1=3D2 =ZZ\r\n"),
            "意见\n1+1=2 =ZZ\n".as_bytes()
        );
    }

    #[test]
    fn multipart_without_boundary_is_an_error() {
        let raw = b"Content-Type: multipart/mixed\r\nFrom: a@b\r\n\r\n--x\r\ngarbage";
        let err = parse_entity(raw, true).unwrap_err();
        assert!(err.contains("boundary"), "{err}");
    }
}
