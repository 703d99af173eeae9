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

use std::fmt;

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
}
