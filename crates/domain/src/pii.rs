//! Sensitive personal information (个人敏感信息 under the PIPL) in newtypes that cannot leak by
//! accident.
//!
//! [`IdNumber`] and [`PhoneNumber`] print MASKED values only, through both `Debug` and
//! `Display`, so that a `tracing` field, a `{:?}` in a panic message or an error report never
//! carries the full value. Neither type implements `Serialize`: a response or a log line that
//! must show the value has to ask for it by name ([`IdNumber::expose`],
//! [`PhoneNumber::e164`], [`PhoneNumber::stored_form`]), which is easy to find in review.
//!
//! Both are built by [`crate::validate`] (checked) or from storage (not checked again).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The stars that stand for hidden digits.
const STARS: &str = "****";

/// A resident identity card number (居民身份证号码, GB 11643-1999), normalised: 18 ASCII
/// characters, 17 digits and a check character that is a digit or an upper-case `X`.
///
/// Prints as `210102********123X`: the six-digit region code and the last four characters kept.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    /// Wraps a value read back from storage, where it was written normalised. No checks.
    pub fn from_normalised(value: String) -> IdNumber {
        IdNumber(value)
    }

    /// The full number. Every call is a disclosure: use it to store or to show to staff who
    /// may see it, never to log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form, as `Display` prints it.
    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_id(&self.0))
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", mask_id(&self.0))
    }
}

/// Masks an identity number: for the 18-character number the first 6 and the last 4 characters
/// are kept, and 8 stars stand for the rest (`210102********123X`, which hides the birth date).
/// Any other length (a value that was never valid) is masked in proportion, and a value shorter
/// than 8 characters becomes stars only, so that nothing short is ever printed in full.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    if n < 8 {
        return STARS.to_owned();
    }
    let (head, tail) = if n >= 18 { (6, 4) } else { (n / 4, n / 4) };
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// A telephone number of mainland China, mobile or fixed line, in E.164 form
/// (`+8613800138000`, `+862422951510`), with the digits of an extension (分机) if any.
///
/// Prints masked: a mobile as `138****5678`, a fixed line as `024-****1510`, and an
/// extension as `转****`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    extension: Option<String>,
}

/// What separates the extension from the number in [`PhoneNumber::stored_form`] (RFC 3966).
const EXT_SEPARATOR: &str = ";ext=";

impl PhoneNumber {
    /// Builds a number from parts that [`crate::validate::phone`] has checked.
    pub(crate) fn new(e164: String, extension: Option<String>) -> PhoneNumber {
        PhoneNumber { e164, extension }
    }

    /// Reads back the [`stored_form`](Self::stored_form): the E.164 number, then
    /// `;ext=` and the extension if there is one. No checks: the value was checked when it
    /// was first stored.
    pub fn from_stored(stored: &str) -> PhoneNumber {
        match stored.split_once(EXT_SEPARATOR) {
            Some((e164, ext)) if !ext.is_empty() => {
                PhoneNumber { e164: e164.to_owned(), extension: Some(ext.to_owned()) }
            }
            Some((e164, _)) => PhoneNumber { e164: e164.to_owned(), extension: None },
            None => PhoneNumber { e164: stored.to_owned(), extension: None },
        }
    }

    /// The number in E.164 form, `+86` and the national significant number. A disclosure.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The extension's digits, if any. A disclosure.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }

    /// The form to store: the E.164 number, then `;ext=` and the extension if there is one
    /// (`+862422951510;ext=8001`). A disclosure.
    pub fn stored_form(&self) -> String {
        match &self.extension {
            Some(ext) => format!("{}{EXT_SEPARATOR}{ext}", self.e164),
            None => self.e164.clone(),
        }
    }

    /// Whether this is a mobile number (national number of 11 digits starting with 1).
    pub fn is_mobile(&self) -> bool {
        cn_national(&self.e164).is_some_and(is_cn_mobile)
    }

    /// The masked form, as `Display` prints it.
    pub fn masked(&self) -> String {
        let mut out = mask_e164(&self.e164);
        if self.extension.is_some() {
            out.push('转');
            out.push_str(STARS);
        }
        out
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// Masks a phone number in its stored form (see [`PhoneNumber::stored_form`]), for lists and
/// logs that hold the stored text rather than a [`PhoneNumber`].
pub fn mask_phone_stored(stored: &str) -> String {
    PhoneNumber::from_stored(stored).masked()
}

/// The national significant number of a `+86` number, if it is one and is all digits.
fn cn_national(e164: &str) -> Option<&str> {
    e164.strip_prefix("+86").filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_cn_mobile(national: &str) -> bool {
    national.len() == 11 && national.starts_with('1')
}

/// The length of the area code of a Chinese fixed-line national number (without the trunk
/// prefix 0): 2 digits for Beijing (10) and the 2x cities, 3 digits for everything else.
pub(crate) fn cn_area_code_len(national: &str) -> usize {
    if national.starts_with("10") || national.starts_with('2') { 2 } else { 3 }
}

fn mask_e164(e164: &str) -> String {
    if let Some(national) = cn_national(e164) {
        if is_cn_mobile(national) {
            return format!("{}{STARS}{}", &national[..3], &national[7..]);
        }
        let area = cn_area_code_len(national);
        // A fixed line has a 7- or 8-digit subscriber number: keep its last 4 digits (3 of a
        // 7-digit one). Anything shorter was never valid and is hidden entirely.
        let subscriber = &national[area.min(national.len())..];
        if subscriber.len() < 7 {
            return STARS.to_owned();
        }
        let keep = 4.min(subscriber.len() - 4);
        return format!("0{}-{STARS}{}", &national[..area], &subscriber[subscriber.len() - keep..]);
    }
    // Not a Chinese number (never produced by validation): keep the first 3 characters
    // (`+` and the start of the country code) and the last 2 when long enough.
    let chars: Vec<char> = e164.chars().collect();
    if chars.len() >= 9 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}{STARS}{tail}")
    } else {
        STARS.to_owned()
    }
}

/// The ISO 7064 MOD 11-2 check character of an identity number's first 17 ASCII digits.
pub(crate) fn id_check_character(first17: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

// ---------------------------------------------------------------------------------------------
// Numbers written into free text
// ---------------------------------------------------------------------------------------------

/// A citizen's own text in full (an opinion, a mail's text), with whatever ID and phone numbers
/// they wrote into it. Like the other newtypes here it prints MASKED through `Display` and
/// `Debug` ([`mask_sensitive`]); [`FullText::expose`] is the disclosure.
#[derive(Clone, PartialEq, Eq)]
pub struct FullText(String);

impl FullText {
    pub fn new(text: String) -> FullText {
        FullText(text)
    }

    /// The text as written. A disclosure: for an audited reveal or a personal-data export.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }

    /// The text with its numbers masked, as `Display` prints it.
    pub fn masked(&self) -> String {
        mask_sensitive(&self.0).into_owned()
    }
}

impl fmt::Display for FullText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_sensitive(&self.0))
    }
}

impl fmt::Debug for FullText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FullText({:?})", mask_sensitive(&self.0))
    }
}

/// What a number found in free text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensitiveKind {
    /// A resident identity number: 18 characters with a valid check character, or the old
    /// 15 digits with a valid birth date.
    IdNumber,
    /// A mainland mobile number: 11 digits, `1` and then `3` to `9`.
    MobilePhone,
}

/// A number found in free text: where it is (a byte range of the text, separators included,
/// a `+86`-style prefix not) and its masked form. The full value is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sensitive {
    pub range: Range<usize>,
    pub kind: SensitiveKind,
    masked: String,
}

impl Sensitive {
    /// What stands in the text's place: [`mask_id`]'s form for an ID number, `138****8000` for
    /// a mobile, as the ID and phone fields are shown.
    pub fn masked(&self) -> &str {
        &self.masked
    }
}

/// At most this many separators (spaces, dashes) may stand between two groups of digits of one
/// number: `138 - 0013 - 8000`.
const MAX_GAP: u8 = 3;

/// A maximal run of digits (ASCII or full-width) in the text.
struct Run {
    /// Byte range of the digits.
    start: usize,
    end: usize,
    /// Its digits in `Scan::digits`, as ASCII.
    digits: Range<usize>,
    /// Directly followed by `X` (any case or width): the end of that `X`.
    x_end: Option<usize>,
    /// Only separators (at most [`MAX_GAP`]) stand between it and the next run.
    joined: bool,
    /// Goes on as an `X` and more digits: part of some other code, never the end of a number.
    continued: bool,
}

fn digit_of(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8),
        '０'..='９' => Some(b'0' + (c as u32 - '０' as u32) as u8),
        _ => None,
    }
}

fn is_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{a0}' | '\u{3000}' | '－' | '‐' | '‑' | '–' | '—')
}

/// The runs of digits of `text`, in one pass.
fn digit_runs(text: &str) -> (Vec<Run>, Vec<u8>) {
    enum Gap {
        /// Something other than separators since the last run (or no run yet).
        Broken,
        Separators(u8),
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut digits: Vec<u8> = Vec::new();
    let mut in_run = false;
    let mut gap = Gap::Broken;
    for (i, c) in text.char_indices() {
        if let Some(d) = digit_of(c) {
            if in_run {
                let run = runs.last_mut().expect("in a run");
                run.end = i + c.len_utf8();
                run.digits.end += 1;
            } else {
                if let Some(last) = runs.last_mut() {
                    match gap {
                        Gap::Separators(1..=MAX_GAP) => last.joined = true,
                        _ if last.x_end == Some(i) => last.continued = true,
                        _ => {}
                    }
                }
                runs.push(Run {
                    start: i,
                    end: i + c.len_utf8(),
                    digits: digits.len()..digits.len() + 1,
                    x_end: None,
                    joined: false,
                    continued: false,
                });
                in_run = true;
            }
            digits.push(d);
        } else {
            if in_run {
                in_run = false;
                if is_x(c) {
                    runs.last_mut().expect("a run just ended").x_end = Some(i + c.len_utf8());
                    gap = Gap::Broken;
                    continue;
                }
                gap = Gap::Separators(0);
            }
            gap = match gap {
                Gap::Separators(n) if is_separator(c) => Gap::Separators(n.saturating_add(1)),
                _ => Gap::Broken,
            };
        }
    }
    (runs, digits)
}

fn is_mobile(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1])
}

/// A 15-digit (pre-1999) identity number: region, `YYMMDD` of a 19xx birth date, sequence.
fn is_id15(d: &[u8]) -> bool {
    let v = |r: Range<usize>| d[r].iter().fold(0i32, |acc, b| acc * 10 + i32::from(b - b'0'));
    d.len() == 15 && jiff::civil::Date::new(1900 + v(6..8) as i16, v(8..10) as i8, v(10..12) as i8).is_ok()
}

fn mask_mobile(d: &[u8]) -> String {
    let s = std::str::from_utf8(d).expect("ASCII digits");
    format!("{}{STARS}{}", &s[..3], &s[7..])
}

/// The byte offset in `text` after its first `n` characters.
fn after_chars(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

/// Every valid resident ID number and mainland mobile number in `text`, in order, however the
/// writer spaced it: `11010519491231002X`, `110105 19491231 002x`, `138-0013-8000`,
/// `+86 138 0013 8000`, `(+86)13800138000`, `0086-13800138000`, full-width digits too.
///
/// A number is made of whole runs of digits joined by at most three spaces or dashes, so it is
/// never a piece of a longer run (`138001380001` is nothing); an 18-digit run whose check
/// character is wrong is not an ID number, and a 15-digit one needs a real birth date. Where
/// runs can be read more than one way, the longest reading wins. One linear pass over the text
/// and a bounded look at each run (a number has at most 18 digits): no backtracking.
pub fn find_sensitive(text: &str) -> Vec<Sensitive> {
    let mut found = Vec::new();
    // Most text has no long number at all: nothing is allocated for it.
    if !text.bytes().any(|b| b.is_ascii_digit() || b == 0xEF) {
        return found;
    }
    let (runs, digits) = digit_runs(text);
    let mut i = 0;
    let mut window: Vec<u8> = Vec::with_capacity(18);
    while i < runs.len() {
        let first = &runs[i];
        let own = &digits[first.digits.clone()];
        // A mobile number with its country code written against it: `+8613800138000`,
        // `008613800138000`. The code is not masked; the number is.
        let code = match own.len() {
            13 if own.starts_with(b"86") => Some(2),
            15 if own.starts_with(b"0086") => Some(4),
            _ => None,
        };
        if let Some(skip) = code
            && is_mobile(&own[skip..])
            && first.x_end.is_none()
        {
            let start = first.start + after_chars(&text[first.start..first.end], skip);
            found.push(Sensitive {
                range: start..first.end,
                kind: SensitiveKind::MobilePhone,
                masked: mask_mobile(&own[skip..]),
            });
            i += 1;
            continue;
        }
        window.clear();
        let mut best: Option<(usize, Sensitive)> = None;
        for (j, run) in runs.iter().enumerate().skip(i) {
            window.extend_from_slice(&digits[run.digits.clone()]);
            if window.len() > 18 {
                break;
            }
            if run.continued {
                break;
            }
            let start = first.start;
            let reading = match (window.len(), run.x_end) {
                (17, Some(x_end)) if id_check_character(&window) == b'X' => {
                    let mut id = String::from_utf8(window.clone()).expect("ASCII digits");
                    id.push('X');
                    Some((start..x_end, SensitiveKind::IdNumber, mask_id(&id)))
                }
                // Digits that go on as letters are a code of some other kind.
                (_, Some(_)) => None,
                (18, None) if id_check_character(&window[..17]) == window[17] => Some((
                    start..run.end,
                    SensitiveKind::IdNumber,
                    mask_id(std::str::from_utf8(&window).expect("ASCII digits")),
                )),
                (15, None) if is_id15(&window) => Some((
                    start..run.end,
                    SensitiveKind::IdNumber,
                    mask_id(std::str::from_utf8(&window).expect("ASCII digits")),
                )),
                (11, None) if is_mobile(&window) => {
                    Some((start..run.end, SensitiveKind::MobilePhone, mask_mobile(&window)))
                }
                _ => None,
            };
            if let Some((range, kind, masked)) = reading {
                best = Some((j, Sensitive { range, kind, masked }));
            }
            if !run.joined || run.x_end.is_some() {
                break;
            }
        }
        match best {
            Some((last, s)) => {
                found.push(s);
                i = last + 1;
            }
            None => i += 1,
        }
    }
    found
}

/// `text` with every number [`find_sensitive`] finds replaced by its mask; borrowed, and
/// nothing allocated, when there is none.
pub fn mask_sensitive(text: &str) -> Cow<'_, str> {
    let found = find_sensitive(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in &found {
        out.push_str(&text[at..s.range.start]);
        out.push_str(&s.masked);
        at = s.range.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_masks() {
        let cases: &[(&str, &str)] = &[
            ("11010519491231002X", "110105********002X"),
            ("210102198506151230", "210102********1230"),
            ("21010219850615123X", "210102********123X"),
            ("", "****"),
            ("1234567", "****"),
            ("12345678", "12****78"),
            ("110105491231002", "110*********002"), // a 15-digit number: 3 + 9 stars + 3
            ("1101051949123100211", "110105*********0211"),
            ("张三李四王五赵六钱七孙八", "张三李******七孙八"),
        ];
        for (raw, want) in cases {
            assert_eq!(mask_id(raw), *want, "mask_id({raw:?})");
        }
    }

    #[test]
    fn id_number_never_prints_in_full() {
        for raw in ["11010519491231002X", "210102198506151230", "1"] {
            let id = IdNumber::from_normalised(raw.to_owned());
            assert_eq!(id.expose(), raw);
            let shown = [
                format!("{id}"),
                format!("{id:?}"),
                format!("{:?}", vec![id.clone()]),
                format!("{:#?}", Some(&id)),
                id.masked(),
            ];
            for s in shown {
                assert!(!s.contains(raw), "{s}");
                assert!(s.contains(&mask_id(raw)), "{s}");
            }
        }
        let id = IdNumber::from_normalised("11010519491231002X".into());
        assert_eq!(format!("{id}"), "110105********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(110105********002X)");
        assert!(!format!("{id:?}").contains("19491231"));
    }

    #[test]
    fn phone_masks() {
        let cases: &[(&str, &str)] = &[
            ("+8613800138000", "138****8000"),
            ("+8615912345678", "159****5678"),
            ("+862422951510", "024-****1510"),
            ("+861065123456", "010-****3456"),
            ("+862162345678", "021-****5678"),
            ("+8675588888888", "0755-****8888"),
            ("+863988888888", "0398-****888"), // 7-digit subscriber: 3 kept
            ("+862422951510;ext=8001", "024-****1510转****"),
            ("+8613800138000;ext=", "138****8000"),
            ("+86", "****"),
            ("+862412345", "****"),
            ("+86abc", "****"),
            ("+85291234567", "+85****67"),
            ("+14155552671", "+14****71"),
            ("", "****"),
            ("12345", "****"),
        ];
        for (stored, want) in cases {
            assert_eq!(mask_phone_stored(stored), *want, "mask_phone_stored({stored:?})");
        }
    }

    #[test]
    fn phone_stored_form() {
        let cases: &[(&str, &str, Option<&str>, bool)] = &[
            ("+8613800138000", "+8613800138000", None, true),
            ("+862422951510;ext=8001", "+862422951510", Some("8001"), false),
            ("+862422951510;ext=", "+862422951510", None, false),
            ("+861065123456", "+861065123456", None, false),
        ];
        for (stored, e164, ext, mobile) in cases {
            let p = PhoneNumber::from_stored(stored);
            assert_eq!(p.e164(), *e164, "{stored}");
            assert_eq!(p.extension(), *ext, "{stored}");
            assert_eq!(p.is_mobile(), *mobile, "{stored}");
            assert_eq!(PhoneNumber::from_stored(&p.stored_form()), p, "{stored}");
        }
        let p = PhoneNumber::new("+862422951510".into(), Some("8001".into()));
        assert_eq!(p.stored_form(), "+862422951510;ext=8001");
    }

    #[test]
    fn phone_never_prints_in_full() {
        let cases: &[(&str, &str)] = &[
            ("+8613800138000", "13800138000"),
            ("+862422951510;ext=8001", "22951510"),
            ("+8675588888888", "88888888"),
            ("+861065123456", "65123456"),
        ];
        for (stored, secret) in cases {
            let p = PhoneNumber::from_stored(stored);
            let shown = [
                format!("{p}"),
                format!("{p:?}"),
                format!("{:?}", vec![p.clone()]),
                format!("{:#?}", Some(&p)),
                p.masked(),
            ];
            for s in shown {
                assert!(!s.contains(secret), "{s}");
                assert!(!s.contains(p.e164()), "{s}");
                assert!(!s.contains("8001"), "{s}");
                assert!(s.contains("****"), "{s}");
            }
        }
        let p = PhoneNumber::from_stored("+8613800138000");
        assert_eq!(format!("{p:?}"), "PhoneNumber(138****8000)");
        assert_eq!(format!("{p}"), "138****8000");
    }

    /// `text` masked, for the tests below.
    fn masked(text: &str) -> String {
        mask_sensitive(text).into_owned()
    }

    #[test]
    fn finds_id_numbers_however_spaced() {
        let cases: &[(&str, &str)] = &[
            ("11010519491231002X", "110105********002X"),
            ("身份证11010519491231002X。", "身份证110105********002X。"),
            ("110105 19491231 002X", "110105********002X"),
            ("110105-19491231-002x", "110105********002X"),
            ("１１０１０５１９４９１２３１００２Ｘ", "110105********002X"),
            ("210102198506151230", "210102********1230"),
            ("210102198506151231", "210102198506151231"), // check character wrong: kept
            ("21010219850615123X", "21010219850615123X"),
            ("2101 0219 8506 1512 31", "2101 0219 8506 1512 31"),
            ("110105491231002", "110*********002"), // 15 digits, 1949-12-31
            ("110105491332002", "110105491332002"), // 15 digits, no 13th month: kept
            ("110105194912310021X", "110105194912310021X"), // 18 digits then X: some other code
            ("911010519491231002X", "911010519491231002X"), // inside a longer run
            ("11010519491231002X1", "11010519491231002X1"),
        ];
        for (text, want) in cases {
            assert_eq!(masked(text), *want, "{text:?}");
        }
        let found = find_sensitive("号码：110105 19491231 002X，谢谢");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, SensitiveKind::IdNumber);
        assert_eq!(&"号码：110105 19491231 002X，谢谢"[found[0].range.clone()], "110105 19491231 002X");
    }

    #[test]
    fn finds_mobile_numbers_however_written() {
        let cases: &[(&str, &str)] = &[
            ("13800138000", "138****8000"),
            ("电话13800138000。", "电话138****8000。"),
            ("138 0013 8000", "138****8000"),
            ("138-0013-8000", "138****8000"),
            ("138 - 0013 - 8000", "138****8000"),
            ("+8613800138000", "+86138****8000"),
            ("+86 138 0013 8000", "+86 138****8000"),
            ("(+86)13800138000", "(+86)138****8000"),
            ("（+86）138-0013-8000", "（+86）138****8000"),
            ("0086-13800138000", "0086-138****8000"),
            ("008613800138000", "0086138****8000"),
            ("１３８００１３８０００", "138****8000"),
            ("第3条 13800138000", "第3条 138****8000"),
            ("2025 13800138000", "2025 138****8000"),
            ("12800138000", "12800138000"),   // 1 then 2: not a mobile
            ("138001380001", "138001380001"), // 12 digits in a run
            ("913800138000", "913800138000"),
            ("1380013800", "1380013800"),
            ("138  0013  8000", "138****8000"),
            ("138    0013 8000", "138    0013 8000"), // too far apart to be one number
            ("13800138000X", "13800138000X"),
        ];
        for (text, want) in cases {
            assert_eq!(masked(text), *want, "{text:?}");
        }
    }

    #[test]
    fn masks_every_number_in_a_mail_body() {
        let body = "我的身份证号 11010519491231002X，电话 138 0013 8000，另一个 139-1234-5678。订单号 123456789012。";
        assert_eq!(
            masked(body),
            "我的身份证号 110105********002X，电话 138****8000，另一个 139****5678。订单号 123456789012。"
        );
        let kinds: Vec<SensitiveKind> = find_sensitive(body).iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [SensitiveKind::IdNumber, SensitiveKind::MobilePhone, SensitiveKind::MobilePhone]);
        // Masking what is masked changes nothing.
        assert_eq!(masked(&masked(body)), masked(body));
    }

    #[test]
    fn text_without_numbers_is_borrowed() {
        for text in ["", "意见：第三条应当修改。", "2025年5月12日", "0755-88888888", "95588", "第 1 2 3 条"]
        {
            assert!(matches!(mask_sensitive(text), Cow::Borrowed(t) if t == text), "{text:?}");
        }
    }

    #[test]
    fn full_text_prints_masked() {
        let t = FullText::new("电话13800138000".into());
        assert_eq!(t.expose(), "电话13800138000");
        assert_eq!(t.to_string(), "电话138****8000");
        assert_eq!(format!("{t:?}"), "FullText(\"电话138****8000\")");
        assert_eq!(t.masked(), "电话138****8000");
    }
}
