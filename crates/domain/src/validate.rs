//! Field validators for what citizens type.
//!
//! Each validator takes the raw text and returns the normalised value, or a stable error code
//! (`&'static str`) that [`crate::messages::field_message`] turns into words. The codes are part
//! of the API: clients may switch on them.
//!
//! | validator     | codes                                                                  |
//! |---------------|------------------------------------------------------------------------|
//! | [`name`]      | `required`, `name_too_long`, `name_invalid_character`                  |
//! | [`id_number`] | `required`, `id_number_legacy`, `id_number_format`, `id_number_region`, `id_number_birth_date`, `id_number_checksum` |
//! | [`phone`]     | `required`, `phone_invalid`, `phone_not_mainland`, `phone_service_number` |
//! | [`email`]     | `required`, `email_invalid`, `email_domain`, `email_too_long`          |
//! | [`opinion`]   | `required`, `opinion_control_character`, `opinion_too_long`            |

use jiff::civil::Date;
use phonenumber::Type;
use phonenumber::metadata::{DATABASE, Descriptor};
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::FieldCode;
use crate::pii::{IdNumber, PhoneNumber, cn_area_code_len, id_check_character};

/// The longest name accepted, in Unicode scalar values.
pub const NAME_MAX_CHARS: usize = 50;
/// The longest email address accepted, in octets (RFC 5321 path limit less the brackets).
pub const EMAIL_MAX_OCTETS: usize = 254;
/// The longest local part (before the `@`) accepted, in octets (RFC 5321).
pub const EMAIL_LOCAL_MAX_OCTETS: usize = 64;

const REQUIRED: FieldCode = FieldCode::Required;

// ---------------------------------------------------------------------------------------------
// Name
// ---------------------------------------------------------------------------------------------

/// Checks a person's name in any script.
///
/// After trimming, the name must be 1 to [`NAME_MAX_CHARS`] Unicode scalar values (counted after
/// normalisation) of letters (`char::is_alphabetic`), combining marks, spaces (ASCII or the
/// ideographic space U+3000; a run of them becomes one ASCII space) and the separators
/// `·` (U+00B7, as in 阿卜杜勒·克里木), `・` (U+30FB), `•` (U+2022), `.`, `-`, `'` and `’`
/// (U+2019, the apostrophe phones type). It must hold at least one letter. Returns the
/// trimmed name in NFC.
pub fn name(raw: &str) -> Result<String, FieldCode> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(REQUIRED);
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut in_space = false;
    let mut has_letter = false;
    for c in trimmed.chars() {
        if c == ' ' || c == '\u{3000}' {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        if c.is_alphabetic() {
            has_letter = true;
        } else if !(is_combining_mark(c) || NAME_SEPARATORS.contains(&c)) {
            return Err(FieldCode::NameInvalidCharacter);
        }
        out.push(c);
    }
    if !has_letter {
        return Err(FieldCode::NameInvalidCharacter);
    }
    let out: String = out.nfc().collect();
    if out.chars().count() > NAME_MAX_CHARS {
        return Err(FieldCode::NameTooLong);
    }
    Ok(out)
}

/// Separators allowed inside a name.
const NAME_SEPARATORS: [char; 7] = ['\u{00B7}', '\u{30FB}', '\u{2022}', '.', '-', '\'', '\u{2019}'];

// ---------------------------------------------------------------------------------------------
// Resident identity card number
// ---------------------------------------------------------------------------------------------

/// Checks an 18-character resident identity card number (GB 11643-1999).
///
/// The input is trimmed and NFKC-normalised (full-width digits and `Ｘ` become ASCII), and a
/// lower-case `x` becomes `X`. Then, in this order: a 15-digit number is refused as
/// `id_number_legacy`; anything but 17 digits and a digit or `X` is `id_number_format`; the
/// first two digits must be a province-level code (`id_number_region`); digits 7 to 14 must be
/// a real date from 1900-01-01 to `today` inclusive (`id_number_birth_date`); the last
/// character must be the ISO 7064 MOD 11-2 check character (`id_number_checksum`).
pub fn id_number(raw: &str, today: Date) -> Result<IdNumber, FieldCode> {
    let normalised: String = raw.trim().nfkc().collect::<String>().trim().replace('x', "X");
    if normalised.is_empty() {
        return Err(REQUIRED);
    }
    let b = normalised.as_bytes();
    if b.len() == 15 && b.iter().all(u8::is_ascii_digit) {
        return Err(FieldCode::IdNumberLegacy);
    }
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(FieldCode::IdNumberFormat);
    }
    let region = digits_value(&b[..2]);
    if !is_province_code(region) {
        return Err(FieldCode::IdNumberRegion);
    }
    let birth =
        Date::new(digits_value(&b[6..10]) as i16, digits_value(&b[10..12]) as i8, digits_value(&b[12..14]) as i8)
            .map_err(|_| FieldCode::IdNumberBirthDate)?;
    if birth < jiff::civil::date(1900, 1, 1) || birth > today {
        return Err(FieldCode::IdNumberBirthDate);
    }
    if b[17] != id_check_character(&b[..17]) {
        return Err(FieldCode::IdNumberChecksum);
    }
    Ok(IdNumber::from_normalised(normalised))
}

/// The value of a short run of ASCII digits (at most 4 here, so no overflow).
fn digits_value(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

/// Province-level division codes (GB/T 2260): the provinces, autonomous regions and
/// municipalities, 71 for Taiwan, and 81/82/83 for the residence permits of Hong Kong, Macao
/// and Taiwan residents.
fn is_province_code(code: u32) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

// ---------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------

const PHONE_INVALID: FieldCode = FieldCode::PhoneInvalid;
const PHONE_NOT_MAINLAND: FieldCode = FieldCode::PhoneNotMainland;
const PHONE_SERVICE: FieldCode = FieldCode::PhoneServiceNumber;

/// The longest input looked at; anything longer is not a phone number.
const PHONE_MAX_INPUT_CHARS: usize = 64;
/// The longest extension accepted, in digits.
const EXTENSION_MAX_DIGITS: usize = 6;

/// Words that introduce an extension, longest first where one is a prefix of another. Matched
/// case-insensitively on the NFKC-normalised input.
const EXTENSION_MARKERS: [&str; 7] = ["extension", "ext.", "ext", "分机号", "分机", "转", "x"];

/// Checks a mainland China mobile or fixed-line number and returns it in E.164 form with its
/// extension.
///
/// Accepted: `13800138000`, `+86 138 0013 8000`, `0086-13800138000`, `86 13800138000`,
/// `138-0013-8000`, `(024)22951510`, `（024）22951510`, `024-22951510`, `0755-8888 8888`,
/// `+86 10 6512 3456`, full-width digits; a fixed line may carry an extension: `-8001` after the
/// complete number, `转8001`, `分机8001`, `ext. 8001`, `ext8001`, `x8001`. A fixed line needs its
/// area code. Refused: 400/800 and other shared-cost, toll-free or premium numbers and short
/// service numbers such as 95588, 12345, 10086 or 110 (`phone_service_number`); valid numbers
/// of other countries and regions, Hong Kong, Macao and Taiwan included
/// (`phone_not_mainland`); everything else (`phone_invalid`).
pub fn phone(raw: &str) -> Result<PhoneNumber, FieldCode> {
    let text: String = raw.nfkc().collect();
    let text = text.trim();
    if text.is_empty() {
        return Err(REQUIRED);
    }
    if text.chars().count() > PHONE_MAX_INPUT_CHARS {
        return Err(PHONE_INVALID);
    }
    if let Some((main, extension)) = split_extension_marker(text)? {
        let (number, kind) = phone_main(main)?;
        return with_extension(number, kind, Some(extension));
    }
    match phone_main(text) {
        Ok((number, kind)) => with_extension(number, kind, None),
        // `024-22951510-8001`: the whole is too long to be a number, but what comes before the
        // last dash is a complete fixed line and what follows it is short. (The whole is tried
        // first so that `0755-8888888-8`, a complete number, stays one.)
        Err(PHONE_INVALID) => {
            let Some((head, tail)) = text.rsplit_once(is_dash) else {
                return Err(PHONE_INVALID);
            };
            let tail = tail.trim();
            if !is_extension_digits(tail) {
                return Err(PHONE_INVALID);
            }
            match phone_main(head) {
                Ok((number, PhoneKind::FixedLine)) => {
                    with_extension(number, PhoneKind::FixedLine, Some(tail.to_owned()))
                }
                _ => Err(PHONE_INVALID),
            }
        }
        Err(code) => Err(code),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhoneKind {
    Mobile,
    FixedLine,
}

/// Only a fixed line has extensions.
fn with_extension(e164: String, kind: PhoneKind, extension: Option<String>) -> Result<PhoneNumber, FieldCode> {
    if extension.is_some() && kind == PhoneKind::Mobile {
        return Err(PHONE_INVALID);
    }
    Ok(PhoneNumber::new(e164, extension))
}

fn is_dash(c: char) -> bool {
    // ASCII hyphen-minus (NFKC has already folded the full-width one), the Unicode hyphens and
    // dashes U+2010..U+2015, and the minus sign.
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

fn is_extension_digits(s: &str) -> bool {
    (1..=EXTENSION_MAX_DIGITS).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Finds an extension marker (`转`, `分机`, `ext.`, `x`, ...) and splits the input around it.
/// `Ok(None)` when there is none; `Err` when a marker is followed by something other than an
/// extension.
fn split_extension_marker(text: &str) -> Result<Option<(&str, String)>, FieldCode> {
    // ASCII case folding only, so that byte offsets in `lower` are those of `text`.
    let lower = text.to_ascii_lowercase();
    for (at, _) in lower.char_indices() {
        for marker in EXTENSION_MARKERS {
            if lower[at..].starts_with(marker) {
                let main = &text[..at];
                let rest = lower[at + marker.len()..].trim_start();
                let rest = rest.strip_prefix(':').unwrap_or(rest).trim();
                if main.trim().is_empty() || !is_extension_digits(rest) {
                    return Err(PHONE_INVALID);
                }
                return Ok(Some((main, rest.to_owned())));
            }
        }
    }
    Ok(None)
}

/// Checks the number without its extension; returns its E.164 form and kind.
fn phone_main(text: &str) -> Result<(String, PhoneKind), FieldCode> {
    let (plus, digits) = phone_digits(text)?;
    if plus || digits.starts_with("00") {
        let international = if plus { &digits[..] } else { &digits[2..] };
        return match international.strip_prefix("86") {
            Some(national) => cn_national(national),
            None => Err(foreign(international)),
        };
    }
    match cn_national(&digits) {
        // `86 13800138000` or `8613800138000`: the country code without `+` or `00`. A national
        // number is never 12 digits or more, so the two readings cannot both be valid.
        Err(PHONE_INVALID) if digits.len() >= 12 && digits.starts_with("86") => cn_national(&digits[2..]),
        other => other,
    }
}

/// The digits of the number, and whether it started with `+`. Allowed besides digits: a leading
/// `+`, spaces, dashes and one pair of brackets around a group of digits (the area code).
fn phone_digits(text: &str) -> Result<(bool, String), FieldCode> {
    let text = text.trim();
    // `(+86)13812345678`, `(+86) 138…`: the country code in brackets, which libphonenumber
    // reads as if the brackets were not there (NFKC has folded `（＋86）` to `(+86)`).
    if let Some((code, rest)) =
        text.strip_prefix('(').and_then(|r| r.trim_start().strip_prefix('+')).and_then(|r| r.split_once(')'))
        && let code = code.trim()
        && (1..=3).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
    {
        return match phone_digits(rest)? {
            (false, national) => Ok((true, format!("{code}{national}"))),
            (true, _) => Err(PHONE_INVALID),
        };
    }
    let (plus, body) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut digits = String::with_capacity(body.len());
    let mut brackets = 0; // 0: none yet, 1: open, 2: closed
    let mut digits_in_brackets = 0;
    for c in body.chars() {
        match c {
            '0'..='9' => {
                digits.push(c);
                if brackets == 1 {
                    digits_in_brackets += 1;
                }
            }
            ' ' => {}
            c if is_dash(c) => {}
            '(' if brackets == 0 => brackets = 1,
            ')' if brackets == 1 && digits_in_brackets > 0 => brackets = 2,
            _ => return Err(PHONE_INVALID),
        }
    }
    if brackets == 1 || digits.is_empty() {
        return Err(PHONE_INVALID);
    }
    Ok((plus, digits))
}

/// A number with a country code other than 86: of another country if it is valid there.
fn foreign(international: &str) -> FieldCode {
    match phonenumber::parse(None, format!("+{international}")) {
        Ok(number) if number.code().value() != 86 && phonenumber::is_valid(&number) => PHONE_NOT_MAINLAND,
        _ => PHONE_INVALID,
    }
}

/// Checks a Chinese number given without its country code, with or without the trunk prefix 0.
///
/// WHY NOT JUST `phonenumber::parse` + `is_valid`: the `phonenumber` crate (0.3.10, metadata
/// 9.0.33) gets several Chinese cases wrong, so it is only one of the checks here:
/// * It matches a type's national-number pattern against a PREFIX of the number (its
///   `Descriptor::is_match` only asks that the match start at 0, where libphonenumber asks for a
///   full match), and then only checks the length against the type's possible lengths. Since a
///   fixed line may have 7 to 11 digits, `024 229515101` (a 9-digit subscriber number behind a
///   2-digit area code), `010 888888888` and `020 1234567` pass as valid fixed lines. So
///   [`cn_full_match_type`] matches the same metadata patterns anchored at both ends, and the
///   structural rules below (mobile: 11 digits; fixed line: a 2-digit area code and 8 digits, or
///   a 3-digit area code and 7 or 8 digits) are checked as well.
/// * Parsing strips a "carrier code" (CN's national prefix for parsing is
///   `(1(?:[12]\d|79)\d\d)|0`), so `12345678901` parses as the number 678901; we strip the
///   trunk 0 ourselves and require the crate's national number to be exactly ours.
/// * It does not know `转`/`分机` and reads `024-22951510-8001` as one 14-digit number; the
///   extension is split off in [`phone`] before this is called.
/// * Short service numbers (95588, 12345, 10086, 010-95xxx) are merely "invalid" to the crate;
///   they are told apart here so that the citizen learns why.
fn cn_national(digits: &str) -> Result<(String, PhoneKind), FieldCode> {
    let (nsn, trunk) = match digits.strip_prefix('0') {
        Some(rest) => (rest, true),
        None => (digits, false),
    };
    if nsn.is_empty() || nsn.starts_with('0') {
        return Err(PHONE_INVALID);
    }
    if !trunk && is_short_service_number(nsn) {
        return Err(PHONE_SERVICE);
    }
    let kind = match cn_full_match_type(nsn) {
        Type::Mobile | Type::FixedLineOrMobile | Type::FixedLine => {
            if is_mobile_shape(nsn) {
                PhoneKind::Mobile
            } else if nsn.starts_with('1') && !nsn.starts_with("10") {
                return Err(PHONE_INVALID);
            } else {
                // Local service numbers behind an area code (010-95xxx, 021-12345, 0755-100xx)
                // match the fixed-line pattern; a subscriber number proper starts with 2 to 8.
                // Without the trunk 0 (`22951510`) it is more likely a local number whose area
                // code is missing than a service number, so that is merely invalid.
                let area = cn_area_code_len(nsn);
                let subscriber = &nsn[area.min(nsn.len())..];
                if subscriber.starts_with(['1', '9']) {
                    return Err(if trunk { PHONE_SERVICE } else { PHONE_INVALID });
                }
                let length_ok = if area == 2 { subscriber.len() == 8 } else { matches!(subscriber.len(), 7 | 8) };
                if !length_ok {
                    return Err(PHONE_INVALID);
                }
                PhoneKind::FixedLine
            }
        }
        Type::Unknown => return Err(PHONE_INVALID),
        // Toll-free (800), shared-cost (400, 95xxx), premium rate, VoIP, UAN and the like.
        _ => return Err(PHONE_SERVICE),
    };
    if kind == PhoneKind::Mobile && nsn.len() != 11 {
        return Err(PHONE_INVALID);
    }
    // The crate's own `parse` + `is_valid` + `number_type` would add nothing here: they test
    // the same metadata patterns, only against a prefix, and under load they cost more than
    // the rest of the intake's validation together (each step hashes whole pattern texts into
    // the crate's global regex cache behind one mutex). The test
    // `crate_agrees_on_every_accepted_number` shows that the crate accepts every number this
    // function accepts.
    Ok((format!("+86{nsn}"), kind))
}

/// Short service numbers dialled without an area code: the special services (110 police, 112,
/// 114 directory, 117, 119 fire, 120 ambulance, 121, 122 traffic), the 5- and 6-digit
/// 10xxx/11xxx/12xxx numbers of carriers, post and government hotlines (10086, 11185, 12345,
/// 12306, 12580 ...), and the 95xxx/96xxx enterprise and public-service numbers (95588,
/// 95105188, 96xxx). Anything else that short (`123`, `99999`) is merely invalid.
fn is_short_service_number(nsn: &str) -> bool {
    match nsn.len() {
        3 => matches!(nsn, "110" | "112" | "114" | "117" | "119" | "120" | "121" | "122"),
        5..=8 if nsn.starts_with("95") || nsn.starts_with("96") => true,
        5 | 6 => nsn.starts_with("10") || nsn.starts_with("11") || nsn.starts_with("12"),
        _ => false,
    }
}

/// A mobile number: 11 digits, 1 then 3 to 9.
fn is_mobile_shape(nsn: &str) -> bool {
    let b = nsn.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// One metadata descriptor of the CN region, its pattern anchored at both ends and compiled
/// once: the crate's own regex cache hashes the whole pattern text on every look-up, which
/// showed up as the largest single cost of the intake under load.
struct CnPattern {
    kind: Type,
    lengths: Vec<u16>,
    regex: regex::Regex,
}

fn cn_pattern(desc: &Descriptor, kind: Type) -> Option<CnPattern> {
    let anchored = format!("(?x)^(?:{})$", desc.national_number().as_str());
    Some(CnPattern { kind, lengths: desc.possible_length().to_vec(), regex: regex::Regex::new(&anchored).ok()? })
}

/// The general descriptor first, then libphonenumber's order of types.
static CN_PATTERNS: LazyLock<Vec<CnPattern>> = LazyLock::new(|| {
    let Some(meta) = DATABASE.by_id("CN") else { return Vec::new() };
    let d = meta.descriptors();
    let mut out: Vec<CnPattern> = cn_pattern(d.general(), Type::Unknown).into_iter().collect();
    let typed = [
        (d.premium_rate(), Type::PremiumRate),
        (d.toll_free(), Type::TollFree),
        (d.shared_cost(), Type::SharedCost),
        (d.voip(), Type::Voip),
        (d.personal_number(), Type::PersonalNumber),
        (d.pager(), Type::Pager),
        (d.uan(), Type::Uan),
        (d.voicemail(), Type::Voicemail),
        (d.fixed_line(), Type::FixedLine),
        (d.mobile(), Type::Mobile),
    ];
    out.extend(typed.into_iter().filter_map(|(desc, kind)| desc.and_then(|desc| cn_pattern(desc, kind))));
    out
});

impl CnPattern {
    /// Whether the pattern matches all of `nsn` and its length is a possible one.
    fn full_match(&self, nsn: &str) -> bool {
        (self.lengths.is_empty() || u16::try_from(nsn.len()).is_ok_and(|n| self.lengths.contains(&n)))
            && self.regex.is_match(nsn)
    }
}

/// The type of a Chinese national significant number by libphonenumber's metadata, with each
/// pattern matched against the WHOLE number (see [`cn_national`] for why the crate's own
/// `number_type` will not do). The order of the checks is libphonenumber's.
fn cn_full_match_type(nsn: &str) -> Type {
    let patterns = &*CN_PATTERNS;
    let Some((general, typed)) = patterns.split_first() else {
        return Type::Unknown;
    };
    if !general.full_match(nsn) {
        return Type::Unknown;
    }
    let matches = |kind: Type| typed.iter().any(|p| p.kind == kind && p.full_match(nsn));
    for kind in [
        Type::PremiumRate,
        Type::TollFree,
        Type::SharedCost,
        Type::Voip,
        Type::PersonalNumber,
        Type::Pager,
        Type::Uan,
        Type::Voicemail,
    ] {
        if matches(kind) {
            return kind;
        }
    }
    match (matches(Type::FixedLine), matches(Type::Mobile)) {
        (true, true) => Type::FixedLineOrMobile,
        (true, false) => Type::FixedLine,
        (false, true) => Type::Mobile,
        (false, false) => Type::Unknown,
    }
}

// ---------------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------------

const EMAIL_INVALID: FieldCode = FieldCode::EmailInvalid;
const EMAIL_DOMAIN: FieldCode = FieldCode::EmailDomain;
const EMAIL_TOO_LONG: FieldCode = FieldCode::EmailTooLong;

/// Checks an email address: an RFC 5322 addr-spec restricted to the dot-atom form, with the
/// RFC 6531 extension (UTF-8 in the local part) and internationalised domain names.
///
/// Written by hand on purpose: the `email_address` crate accepts quoted local parts
/// (`"a b"@example.com`), comments (`a(c)@example.com`) and domain literals (`a@[1.2.3.4]`),
/// which are valid RFC 5322 but which we refuse: people do not have such addresses, and
/// they are a way to smuggle odd text into our records and mail headers.
///
/// Rules: exactly one `@` (a full-width `＠` counts as one); no whitespace or control
/// characters; the local part is 1 to 64 octets of atoms (RFC 5322 atext, plus any non-ASCII
/// character but invisible format characters) joined by single dots; the domain is NFKC-folded,
/// has `。`, `．` and `｡` read as dots, is lower-cased, and has two or more labels of 1 to 63
/// letters (any script), digits or hyphens, none starting or ending with a hyphen, and a
/// top-level label that is not all digits; the whole is at most 254 octets. The local part is
/// kept as typed.
pub fn email(raw: &str) -> Result<String, FieldCode> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(REQUIRED);
    }
    // Bound the work before normalising: 4 octets per character at most in the result.
    if text.len() > EMAIL_MAX_OCTETS * 4 {
        return Err(EMAIL_TOO_LONG);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c)) {
        return Err(EMAIL_INVALID);
    }
    let text = text.replace('\u{FF20}', "@");
    let mut parts = text.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EMAIL_INVALID);
    };
    if !is_dot_atom(local) {
        return Err(EMAIL_INVALID);
    }
    let domain: String = domain
        .nfkc()
        .map(|c| if matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}') { '.' } else { c })
        .collect::<String>()
        .to_lowercase();
    if !is_domain(&domain) {
        return Err(EMAIL_DOMAIN);
    }
    if local.len() > EMAIL_LOCAL_MAX_OCTETS {
        return Err(EMAIL_TOO_LONG);
    }
    let address = format!("{local}@{domain}");
    if address.len() > EMAIL_MAX_OCTETS {
        return Err(EMAIL_TOO_LONG);
    }
    Ok(address)
}

/// Zero-width and bidirectional formatting characters, which make an address look like another.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// RFC 5322 dot-atom with RFC 6532 UTF-8: atoms of atext (or non-ASCII) joined by single dots.
fn is_dot_atom(local: &str) -> bool {
    !local.is_empty() && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// Two or more labels of letters (any script, with their combining marks), digits and hyphens,
/// 1 to 63 characters each, not starting or ending with a hyphen; the last not all digits.
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        let n = label.chars().count();
        (1..=63).contains(&n)
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-' || is_combining_mark(c))
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && !labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
}

// ---------------------------------------------------------------------------------------------
// Opinion
// ---------------------------------------------------------------------------------------------

/// Checks the text of an opinion: 1 to `max_chars` Unicode scalar values, counted on the text
/// as given; not only whitespace (`required`); no control characters (C0, DEL, C1) other than
/// tab, line feed and carriage return (`opinion_control_character`); not longer than
/// `max_chars` (`opinion_too_long`). Returned exactly as given: no trimming, no normalisation.
pub fn opinion(raw: &str, max_chars: usize) -> Result<String, FieldCode> {
    if raw.trim().is_empty() {
        return Err(REQUIRED);
    }
    if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldCode::OpinionControlCharacter);
    }
    if raw.chars().count() > max_chars {
        return Err(FieldCode::OpinionTooLong);
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        jiff::civil::date(2025, 5, 15)
    }

    #[test]
    fn names() {
        let long50 = "张".repeat(50);
        let long51 = "张".repeat(51);
        let decomposed50 = "e\u{301}".repeat(50); // 100 scalar values, 50 after NFC
        let cases: &[(&str, Result<&str, FieldCode>)] = &[
            ("张三", Ok("张三")),
            ("  张三  ", Ok("张三")),
            ("\u{3000}张三\u{3000}", Ok("张三")),
            ("张\u{3000}三", Ok("张 三")),
            ("Mary   Jane", Ok("Mary Jane")),
            ("Mary \u{3000} Jane", Ok("Mary Jane")),
            ("阿卜杜勒·克里木", Ok("阿卜杜勒·克里木")),
            ("ジョン・スミス", Ok("ジョン・スミス")),
            ("艾尔肯•吐尼亚孜", Ok("艾尔肯•吐尼亚孜")),
            ("O'Neil", Ok("O'Neil")),
            ("O\u{2019}Neil", Ok("O\u{2019}Neil")),
            ("Jean-Luc Picard", Ok("Jean-Luc Picard")),
            ("J. R. R. Tolkien", Ok("J. R. R. Tolkien")),
            ("Zoe\u{308}", Ok("Zo\u{eb}")),
            ("Nguyễn Văn An", Ok("Nguyễn Văn An")),
            ("Δημήτρης Παπαδόπουλος", Ok("Δημήτρης Παπαδόπουλος")),
            ("Иван Петров", Ok("Иван Петров")),
            ("محمد علي", Ok("محمد علي")),
            ("देवनागरी", Ok("देवनागरी")),
            ("김민준", Ok("김민준")),
            ("\u{9FA5}\u{3400}", Ok("\u{9FA5}\u{3400}")),
            ("𠀀𪚥", Ok("𠀀𪚥")),
            ("葛\u{E0100}", Ok("葛\u{E0100}")), // ideographic variation selector (a mark)
            (&long50, Ok(&long50)),
            (&decomposed50, Ok(&"\u{e9}".repeat(50))),
            ("", Err(FieldCode::Required)),
            ("   ", Err(FieldCode::Required)),
            ("\u{3000}\u{3000}", Err(FieldCode::Required)),
            ("\t\n", Err(FieldCode::Required)),
            (&long51, Err(FieldCode::NameTooLong)),
            ("张三1", Err(FieldCode::NameInvalidCharacter)),
            ("张三１", Err(FieldCode::NameInvalidCharacter)),
            ("١٢٣", Err(FieldCode::NameInvalidCharacter)),
            ("<script>", Err(FieldCode::NameInvalidCharacter)),
            ("Tom & Jerry", Err(FieldCode::NameInvalidCharacter)),
            ("a\"b", Err(FieldCode::NameInvalidCharacter)),
            ("张\t三", Err(FieldCode::NameInvalidCharacter)),
            ("张\n三", Err(FieldCode::NameInvalidCharacter)),
            ("张\u{0}三", Err(FieldCode::NameInvalidCharacter)),
            ("张\u{A0}三", Err(FieldCode::NameInvalidCharacter)),
            ("张\u{200B}三", Err(FieldCode::NameInvalidCharacter)),
            ("张三😀", Err(FieldCode::NameInvalidCharacter)),
            ("张_三", Err(FieldCode::NameInvalidCharacter)),
            ("张,三", Err(FieldCode::NameInvalidCharacter)),
            ("张（三）", Err(FieldCode::NameInvalidCharacter)),
            ("·", Err(FieldCode::NameInvalidCharacter)),
            ("- '", Err(FieldCode::NameInvalidCharacter)),
        ];
        for (raw, want) in cases {
            let got = name(raw);
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "name({raw:?})");
        }
    }

    #[test]
    fn id_numbers() {
        let cases: &[(&str, Result<&str, FieldCode>)] = &[
            ("11010519491231002X", Ok("11010519491231002X")),
            ("11010519491231002x", Ok("11010519491231002X")),
            ("  11010519491231002X \t", Ok("11010519491231002X")),
            ("\u{3000}11010519491231002X\u{3000}", Ok("11010519491231002X")),
            ("１１０１０５１９４９１２３１００２Ｘ", Ok("11010519491231002X")),
            ("１１０１０５１９４９１２３１００２ｘ", Ok("11010519491231002X")),
            ("210102198506151230", Ok("210102198506151230")),
            ("650101199001011232", Ok("650101199001011232")),
            ("710105194912310021", Ok("710105194912310021")),
            ("810000199001010019", Ok("810000199001010019")),
            ("820000199001010029", Ok("820000199001010029")),
            ("830000199001010039", Ok("830000199001010039")),
            ("54010519491231002X", Ok("54010519491231002X")),
            ("110105200002290013", Ok("110105200002290013")), // 2000 is a leap year
            ("110105202402290011", Ok("110105202402290011")),
            ("11010519000101001X", Ok("11010519000101001X")), // first day allowed
            ("110105202505150011", Ok("110105202505150011")), // born today
            ("", Err(FieldCode::Required)),
            ("   ", Err(FieldCode::Required)),
            ("110105491231002", Err(FieldCode::IdNumberLegacy)),
            ("  110105491231002 ", Err(FieldCode::IdNumberLegacy)),
            ("１１０１０５４９１２３１００２", Err(FieldCode::IdNumberLegacy)),
            ("11010519491231002", Err(FieldCode::IdNumberFormat)),
            ("1101051949123100211", Err(FieldCode::IdNumberFormat)),
            ("11010519491231002Y", Err(FieldCode::IdNumberFormat)),
            ("X10105194912310021", Err(FieldCode::IdNumberFormat)),
            ("1101051949123100X2", Err(FieldCode::IdNumberFormat)),
            ("11010519491231 002X", Err(FieldCode::IdNumberFormat)),
            ("110105-19491231-002X", Err(FieldCode::IdNumberFormat)),
            ("11010519491231002X\u{0}", Err(FieldCode::IdNumberFormat)),
            ("abcdefghijklmnopqr", Err(FieldCode::IdNumberFormat)),
            ("990105194912310023", Err(FieldCode::IdNumberRegion)),
            ("000105194912310024", Err(FieldCode::IdNumberRegion)),
            ("100105194912310028", Err(FieldCode::IdNumberRegion)),
            ("160105194912310029", Err(FieldCode::IdNumberRegion)),
            ("38010519491231002X", Err(FieldCode::IdNumberRegion)),
            ("47010519491231002X", Err(FieldCode::IdNumberRegion)), // check character irrelevant
            ("550105194912310021", Err(FieldCode::IdNumberRegion)),
            ("660105194912310027", Err(FieldCode::IdNumberRegion)),
            ("720105194912310023", Err(FieldCode::IdNumberRegion)),
            ("840105194912310020", Err(FieldCode::IdNumberRegion)),
            ("110105190002290017", Err(FieldCode::IdNumberBirthDate)), // 1900 is not a leap year
            ("110105202302290014", Err(FieldCode::IdNumberBirthDate)),
            ("110105189912310015", Err(FieldCode::IdNumberBirthDate)),
            ("110105202505160017", Err(FieldCode::IdNumberBirthDate)), // tomorrow
            ("110105199013010018", Err(FieldCode::IdNumberBirthDate)),
            ("110105199001000015", Err(FieldCode::IdNumberBirthDate)),
            ("110105199001320019", Err(FieldCode::IdNumberBirthDate)),
            ("11010520250431001X", Err(FieldCode::IdNumberBirthDate)),
            ("110105194912310021", Err(FieldCode::IdNumberChecksum)),
            ("110105194912310020", Err(FieldCode::IdNumberChecksum)),
            ("210102198506151231", Err(FieldCode::IdNumberChecksum)),
            ("21010219850615123X", Err(FieldCode::IdNumberChecksum)),
            ("110105194912320021", Err(FieldCode::IdNumberBirthDate)), // Dec 32 reported before the checksum
        ];
        for (raw, want) in cases {
            let got = id_number(raw, today());
            assert_eq!(got.as_ref().map(|id| id.expose()).map_err(|e| *e), *want, "id_number({raw:?})");
        }
    }

    #[test]
    fn id_regions_cover_the_table() {
        let valid = [
            11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61,
            62, 63, 64, 65, 71, 81, 82, 83,
        ];
        for code in 0..100 {
            assert_eq!(is_province_code(code), valid.contains(&code), "region {code}");
            let s = format!("{code:02}010519491231002");
            let check = id_check_character(s.as_bytes()) as char;
            let full = format!("{s}{check}");
            let got = id_number(&full, today());
            if valid.contains(&code) {
                assert!(got.is_ok(), "{full}: {got:?}");
            } else {
                assert_eq!(got.unwrap_err(), FieldCode::IdNumberRegion, "{full}");
            }
        }
    }

    #[test]
    fn id_number_masks_in_debug_and_display() {
        let id = id_number("11010519491231002X", today()).unwrap();
        for shown in [format!("{id}"), format!("{id:?}"), format!("{:?}", Some(&id))] {
            assert!(!shown.contains("19491231"), "{shown}");
            assert!(shown.contains("110105********002X"), "{shown}");
        }
    }

    #[test]
    fn phones() {
        type Want = Result<(&'static str, Option<&'static str>), FieldCode>;
        let ok = |e: &'static str| -> Want { Ok((e, None)) };
        let ext = |e: &'static str, x: &'static str| -> Want { Ok((e, Some(x))) };
        let cases: &[(&str, Want)] = &[
            // Mobiles.
            ("13800138000", ok("+8613800138000")),
            (" 13800138000 ", ok("+8613800138000")),
            ("+86 138 0013 8000", ok("+8613800138000")),
            ("+8613800138000", ok("+8613800138000")),
            ("0086-13800138000", ok("+8613800138000")),
            ("0086 138 0013 8000", ok("+8613800138000")),
            ("86 13800138000", ok("+8613800138000")),
            ("8613800138000", ok("+8613800138000")),
            ("138-0013-8000", ok("+8613800138000")),
            ("138 0013 8000", ok("+8613800138000")),
            ("１３８００１３８０００", ok("+8613800138000")),
            ("＋８６ １３８００１３８０００", ok("+8613800138000")),
            ("138\u{2014}0013\u{2014}8000", ok("+8613800138000")),
            ("17012345678", ok("+8617012345678")),
            ("19912345678", ok("+8619912345678")),
            ("14512345678", ok("+8614512345678")),
            ("16612345678", ok("+8616612345678")),
            ("013800138000", ok("+8613800138000")), // the old long-distance 0 before a mobile
            ("86-13800138000", ok("+8613800138000")),
            // The country code in brackets, as libphonenumber reads it.
            ("(+86)13812345678", ok("+8613812345678")),
            ("(+86) 13812345678", ok("+8613812345678")),
            ("( +86 ) 138 1234 5678", ok("+8613812345678")),
            ("（+86）13812345678", ok("+8613812345678")),
            ("（＋８６） 13812345678", ok("+8613812345678")),
            ("(+86)(024)22951510", ok("+862422951510")),
            ("(+86)", Err(FieldCode::PhoneInvalid)),
            ("(+86)+8613812345678", Err(FieldCode::PhoneInvalid)),
            ("(+852) 9123 4567", Err(FieldCode::PhoneNotMainland)),
            // Fixed lines.
            ("(024)22951510", ok("+862422951510")),
            ("（024）22951510", ok("+862422951510")),
            ("(024) 2295 1510", ok("+862422951510")),
            ("024-22951510", ok("+862422951510")),
            ("024 2295 1510", ok("+862422951510")),
            ("02422951510", ok("+862422951510")),
            ("+86 24 2295 1510", ok("+862422951510")),
            ("+86 (24) 22951510", ok("+862422951510")),
            ("+86 024 2295 1510", ok("+862422951510")),
            ("0086 24 22951510", ok("+862422951510")),
            ("0086 0755 8888 8888", ok("+8675588888888")),
            ("+86 (0) 755 8888 8888", ok("+8675588888888")),
            ("(010) 6512 3456", ok("+861065123456")),
            ("010-65123456", ok("+861065123456")),
            ("021-62345678", ok("+862162345678")),
            ("0755-8888 8888", ok("+8675588888888")),
            ("(0755)88888888", ok("+8675588888888")),
            ("0571-88888888", ok("+8657188888888")),
            ("0398-8888888", ok("+863988888888")), // 3-digit area code, 7-digit subscriber
            ("０２４－２２９５１５１０", ok("+862422951510")),
            // Extensions.
            ("024-22951510-8001", ext("+862422951510", "8001")),
            ("024-22951510转8001", ext("+862422951510", "8001")),
            ("024-22951510 转 8001", ext("+862422951510", "8001")),
            ("024-22951510分机8001", ext("+862422951510", "8001")),
            ("024-22951510 分机号：8001", ext("+862422951510", "8001")),
            ("010 6512 3456 ext. 8001", ext("+861065123456", "8001")),
            ("010 6512 3456 ext8001", ext("+861065123456", "8001")),
            ("010 6512 3456 EXT 8001", ext("+861065123456", "8001")),
            ("010 6512 3456 x8001", ext("+861065123456", "8001")),
            ("010 6512 3456 X 8001", ext("+861065123456", "8001")),
            ("010-65123456-1", ext("+861065123456", "1")),
            ("0755-8888888-8", ok("+8675588888888")), // complete as a whole: not an extension
            ("０２４－２２９５１５１０转８００１", ext("+862422951510", "8001")),
            // Service and short numbers.
            ("4008123123", Err(FieldCode::PhoneServiceNumber)),
            ("400-812-3123", Err(FieldCode::PhoneServiceNumber)),
            ("+86 400 812 3123", Err(FieldCode::PhoneServiceNumber)),
            ("8008101234", Err(FieldCode::PhoneServiceNumber)),
            ("800-810-1234", Err(FieldCode::PhoneServiceNumber)),
            ("95588", Err(FieldCode::PhoneServiceNumber)),
            ("95105188", Err(FieldCode::PhoneServiceNumber)),
            ("12345", Err(FieldCode::PhoneServiceNumber)),
            ("12315", Err(FieldCode::PhoneServiceNumber)),
            ("10086", Err(FieldCode::PhoneServiceNumber)),
            ("110", Err(FieldCode::PhoneServiceNumber)),
            ("114", Err(FieldCode::PhoneServiceNumber)),
            ("119", Err(FieldCode::PhoneServiceNumber)),
            ("120", Err(FieldCode::PhoneServiceNumber)),
            ("11185", Err(FieldCode::PhoneServiceNumber)),
            ("12580", Err(FieldCode::PhoneServiceNumber)),
            ("10000", Err(FieldCode::PhoneServiceNumber)),
            ("96123", Err(FieldCode::PhoneServiceNumber)),
            ("123", Err(FieldCode::PhoneInvalid)),
            ("999", Err(FieldCode::PhoneInvalid)),
            ("99999", Err(FieldCode::PhoneInvalid)),
            ("1234", Err(FieldCode::PhoneInvalid)),
            ("9558", Err(FieldCode::PhoneInvalid)),
            ("010-95588", Err(FieldCode::PhoneServiceNumber)),
            ("021-12345", Err(FieldCode::PhoneServiceNumber)),
            ("0755 95555", Err(FieldCode::PhoneServiceNumber)),
            ("+86 95588", Err(FieldCode::PhoneServiceNumber)),
            ("86 4008123123", Err(FieldCode::PhoneServiceNumber)),
            ("16812345", Err(FieldCode::PhoneServiceNumber)), // premium rate
            ("1381234", Err(FieldCode::PhoneInvalid)),
            // Wrong length or shape.
            ("1380013800", Err(FieldCode::PhoneInvalid)),
            ("138001380001", Err(FieldCode::PhoneInvalid)),
            ("13800138000123", Err(FieldCode::PhoneInvalid)),
            ("12345678901", Err(FieldCode::PhoneInvalid)),
            ("11012345678", Err(FieldCode::PhoneInvalid)),
            ("10012345678", Err(FieldCode::PhoneInvalid)),
            ("02422951510123", Err(FieldCode::PhoneInvalid)),
            ("0242295151012", Err(FieldCode::PhoneInvalid)),
            ("024229515101", Err(FieldCode::PhoneInvalid)), // the crate calls this a valid fixed line
            ("010888888888", Err(FieldCode::PhoneInvalid)), // so this
            ("0201234567", Err(FieldCode::PhoneInvalid)),   // and this (Guangzhou numbers have 8 digits)
            ("0108888888", Err(FieldCode::PhoneInvalid)),
            ("22951510", Err(FieldCode::PhoneInvalid)), // no area code
            ("2295-1510", Err(FieldCode::PhoneInvalid)),
            ("123456789012", Err(FieldCode::PhoneInvalid)),
            ("000000000000", Err(FieldCode::PhoneInvalid)),
            ("0", Err(FieldCode::PhoneInvalid)),
            ("+86", Err(FieldCode::PhoneInvalid)),
            ("+", Err(FieldCode::PhoneInvalid)),
            ("138.0013.8000", Err(FieldCode::PhoneInvalid)),
            ("138/0013/8000", Err(FieldCode::PhoneInvalid)),
            ("13800138000a", Err(FieldCode::PhoneInvalid)),
            ("abc", Err(FieldCode::PhoneInvalid)),
            ("tel:+8613800138000", Err(FieldCode::PhoneInvalid)),
            ("138 0013 8000 转 8001", Err(FieldCode::PhoneInvalid)), // a mobile has no extension
            ("138-0013-8000-1", Err(FieldCode::PhoneInvalid)),
            ("024-22951510转", Err(FieldCode::PhoneInvalid)),
            ("024-22951510转abc", Err(FieldCode::PhoneInvalid)),
            ("024-22951510转1234567", Err(FieldCode::PhoneInvalid)),
            ("转8001", Err(FieldCode::PhoneInvalid)),
            ("024-22951510-", ok("+862422951510")), // a stray dash is only a separator
            ("(024)(22951510)", Err(FieldCode::PhoneInvalid)),
            ("(024 22951510", Err(FieldCode::PhoneInvalid)),
            ("024)22951510", Err(FieldCode::PhoneInvalid)),
            ("13800+138000", Err(FieldCode::PhoneInvalid)),
            ("١٣٨٠٠١٣٨٠٠٠", Err(FieldCode::PhoneInvalid)),
            ("\u{0}13800138000", Err(FieldCode::PhoneInvalid)),
            // Other countries and regions.
            ("+85291234567", Err(FieldCode::PhoneNotMainland)),
            ("+852 2123 4567", Err(FieldCode::PhoneNotMainland)),
            ("00852 9123 4567", Err(FieldCode::PhoneNotMainland)),
            ("+886 912 345 678", Err(FieldCode::PhoneNotMainland)),
            ("+14155552671", Err(FieldCode::PhoneNotMainland)),
            ("+1 (415) 555-2671", Err(FieldCode::PhoneNotMainland)),
            ("+44 7912 345678", Err(FieldCode::PhoneNotMainland)),
            ("+8529123456", Err(FieldCode::PhoneInvalid)), // too short for Hong Kong
            ("+999 1234567", Err(FieldCode::PhoneInvalid)),
            // Nothing.
            ("", Err(FieldCode::Required)),
            ("   ", Err(FieldCode::Required)),
            ("\u{3000}", Err(FieldCode::Required)),
        ];
        for (raw, want) in cases {
            let got = phone(raw);
            let got = got.as_ref().map(|p| (p.e164(), p.extension())).map_err(|e| *e);
            assert_eq!(got, *want, "phone({raw:?})");
        }
    }

    #[test]
    fn phone_crate_misbehaviour_is_wrapped() {
        // The crate (0.3.10) calls these valid fixed lines because it matches only a prefix of
        // the number against the metadata pattern; the full match says no, and so do we.
        for raw in ["024229515101", "010888888888", "0201234567"] {
            let crate_verdict =
                phonenumber::parse(Some(phonenumber::country::CN), raw).is_ok_and(|p| phonenumber::is_valid(&p));
            println!("phonenumber::is_valid({raw}) = {crate_verdict}");
            assert_eq!(cn_full_match_type(&raw[1..]), Type::Unknown, "{raw}");
            assert_eq!(phone(raw).unwrap_err(), PHONE_INVALID, "{raw}");
        }
        // Carrier-code stripping: the crate reads 12345678901 as the national number 678901.
        let p = phonenumber::parse(Some(phonenumber::country::CN), "12345678901").unwrap();
        assert_ne!(p.national().value(), 12345678901);
        assert_eq!(phone("12345678901").unwrap_err(), PHONE_INVALID);
        // `-8001` is read as more digits, `转` is not understood at all.
        let p = phonenumber::parse(Some(phonenumber::country::CN), "024-22951510-8001").unwrap();
        assert!(p.extension().is_none());
        assert!(phonenumber::parse(Some(phonenumber::country::CN), "024-22951510转8001").is_err());
        assert_eq!(phone("024-22951510-8001").unwrap().extension(), Some("8001"));
    }

    #[test]
    fn phone_stored_form_round_trips() {
        for raw in ["13800138000", "024-22951510转8001", "(0755)88888888", "010 6512 3456 ext. 8001"] {
            let p = phone(raw).unwrap();
            let back = PhoneNumber::from_stored(&p.stored_form());
            assert_eq!(back, p, "{raw}");
            assert_eq!(back.stored_form(), p.stored_form(), "{raw}");
        }
        assert_eq!(phone("024-22951510转8001").unwrap().stored_form(), "+862422951510;ext=8001");
        assert_eq!(phone("13800138000").unwrap().stored_form(), "+8613800138000");
    }

    /// Dropping the crate's own check from the hot path must not accept anything the crate
    /// would refuse: everything `phone` accepts, `phonenumber` calls a valid CN number of a
    /// personal type.
    #[test]
    fn crate_agrees_on_every_accepted_number() {
        let accepted = [
            "13800138000",
            "+86 138 0013 8000",
            "0086-13800138000",
            "(024)22951510",
            "024-22951510-8001",
            "010 6512 3456",
            "0755-8888 8888",
            "020-87654321",
            "0571-87654321",
            "17012345678",
            "19912345678",
            "16612345678",
            "14512345678",
            "0371-88888888",
            "0398-8888888",
        ];
        for raw in accepted {
            let p = phone(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            let parsed = phonenumber::parse(None, p.e164()).unwrap();
            assert!(phonenumber::is_valid(&parsed), "{raw}");
            assert!(
                matches!(parsed.number_type(&DATABASE), Type::Mobile | Type::FixedLine | Type::FixedLineOrMobile),
                "{raw}"
            );
        }
    }

    #[test]
    fn full_match_types() {
        let cases: &[(&str, Type)] = &[
            ("13800138000", Type::Mobile),
            ("2422951510", Type::FixedLine),
            ("1065123456", Type::FixedLine),
            ("75588888888", Type::FixedLine),
            ("4008123123", Type::SharedCost),
            ("8008101234", Type::TollFree),
            ("1380013800", Type::Unknown),
            ("24229515101", Type::Unknown),
            ("2422951510123", Type::Unknown),
        ];
        for (nsn, want) in cases {
            assert_eq!(cn_full_match_type(nsn), *want, "{nsn}");
        }
    }

    #[test]
    fn phones_never_print_in_full() {
        for raw in ["13800138000", "024-22951510转8001", "(0755)88888888", "010 6512 3456 ext. 8001"] {
            let p = phone(raw).unwrap();
            let national = &p.e164()[3..];
            for shown in [format!("{p}"), format!("{p:?}"), format!("{:?}", Some(&p))] {
                assert!(!shown.contains(national), "{shown}");
                assert!(!shown.contains("8001"), "{shown}");
                assert!(shown.contains("****"), "{shown}");
            }
        }
    }

    #[test]
    fn emails() {
        let local64 = "a".repeat(64);
        let local65 = "a".repeat(65);
        let ok64 = format!("{local64}@example.com");
        let too_long_local = format!("{local65}@example.com");
        let label63 = "b".repeat(63);
        let label64 = "b".repeat(64);
        let ok_label = format!("x@{label63}.com");
        let bad_label = format!("x@{label64}.com");
        // 254 octets in all: 64 + 1 + 189 (three 61-octet labels, dots and "com").
        let l61 = "c".repeat(61);
        let ok254 = format!("{local64}@{l61}.{l61}.{l61}.com");
        let too_long = format!("{local64}@{l61}.{l61}.{l61}.coms");
        assert_eq!(ok254.len(), 254);
        let cases: &[(&str, Result<&str, FieldCode>)] = &[
            ("zhang@example.com", Ok("zhang@example.com")),
            ("  zhang@example.com  ", Ok("zhang@example.com")),
            ("Zhang.San@Example.COM", Ok("Zhang.San@example.com")),
            ("zhang+tag@example.com", Ok("zhang+tag@example.com")),
            ("a!#$%&'*+-/=?^_`{|}~z@example.com", Ok("a!#$%&'*+-/=?^_`{|}~z@example.com")),
            ("zhang_san@mail.example.com.cn", Ok("zhang_san@mail.example.com.cn")),
            ("12345@qq.com", Ok("12345@qq.com")),
            ("a@b.co", Ok("a@b.co")),
            ("x@my-host.example", Ok("x@my-host.example")),
            ("x@xn--fiqs8s.cn", Ok("x@xn--fiqs8s.cn")),
            ("用户@例子.中国", Ok("用户@例子.中国")),
            ("张三@例子。中国", Ok("张三@例子.中国")),
            ("张三@例子．中国", Ok("张三@例子.中国")),
            ("zhang＠example.com", Ok("zhang@example.com")),
            ("zhang@ＥＸＡＭＰＬＥ.ＣＯＭ", Ok("zhang@example.com")),
            ("δοκιμή@παράδειγμα.δοκιμή", Ok("δοκιμή@παράδειγμα.δοκιμή")),
            ("x@ÜBER.de", Ok("x@über.de")),
            ("x@हिन्दी.भारत", Ok("x@हिन्दी.भारत")),
            ("x@1.2.3.com", Ok("x@1.2.3.com")),
            (&ok64, Ok(&ok64)),
            (&ok_label, Ok(&ok_label)),
            (&ok254, Ok(&ok254)),
            ("", Err(FieldCode::Required)),
            ("  ", Err(FieldCode::Required)),
            ("x", Err(FieldCode::EmailInvalid)),
            ("zhang.example.com", Err(FieldCode::EmailInvalid)),
            ("@example.com", Err(FieldCode::EmailInvalid)),
            ("a@b@example.com", Err(FieldCode::EmailInvalid)),
            ("a＠b@example.com", Err(FieldCode::EmailInvalid)),
            (".zhang@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang.@example.com", Err(FieldCode::EmailInvalid)),
            ("zh..ang@example.com", Err(FieldCode::EmailInvalid)),
            ("\"zhang san\"@example.com", Err(FieldCode::EmailInvalid)),
            ("\"zhang\"@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang(comment)@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang@example.com (Zhang)", Err(FieldCode::EmailInvalid)),
            ("Zhang <zhang@example.com>", Err(FieldCode::EmailInvalid)),
            ("zhang san@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang@exam ple.com", Err(FieldCode::EmailInvalid)),
            ("zhang\t@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang\u{0}@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang\u{200B}@example.com", Err(FieldCode::EmailInvalid)),
            ("zh\u{202E}gna@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang,li@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang;@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang\\@example.com", Err(FieldCode::EmailInvalid)),
            ("zhang@", Err(FieldCode::EmailDomain)),
            ("zhang@[1.2.3.4]", Err(FieldCode::EmailDomain)),
            ("zhang@[IPv6:::1]", Err(FieldCode::EmailDomain)),
            ("zhang@localhost", Err(FieldCode::EmailDomain)),
            ("zhang@example", Err(FieldCode::EmailDomain)),
            ("zhang@.example.com", Err(FieldCode::EmailDomain)),
            ("zhang@example.com.", Err(FieldCode::EmailDomain)),
            ("zhang@example..com", Err(FieldCode::EmailDomain)),
            ("zhang@-example.com", Err(FieldCode::EmailDomain)),
            ("zhang@example-.com", Err(FieldCode::EmailDomain)),
            ("zhang@example.-com", Err(FieldCode::EmailDomain)),
            ("zhang@exa_mple.com", Err(FieldCode::EmailDomain)),
            ("zhang@example.123", Err(FieldCode::EmailDomain)),
            ("zhang@1.2.3.4", Err(FieldCode::EmailDomain)),
            ("zhang@example.com:25", Err(FieldCode::EmailDomain)),
            ("zhang@exa!mple.com", Err(FieldCode::EmailDomain)),
            ("zhang@例子。", Err(FieldCode::EmailDomain)),
            (&bad_label, Err(FieldCode::EmailDomain)),
            (&too_long_local, Err(FieldCode::EmailTooLong)),
            (&too_long, Err(FieldCode::EmailTooLong)),
        ];
        for (raw, want) in cases {
            let got = email(raw);
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "email({raw:?})");
        }
        assert_eq!(email(&"a".repeat(5000)), Err(FieldCode::EmailTooLong));
    }

    #[test]
    fn opinions() {
        let ten = "这是十个字的一条意见";
        assert_eq!(ten.chars().count(), 10);
        let cases: &[(&str, usize, Result<&str, FieldCode>)] = &[
            ("建议很好", 10, Ok("建议很好")),
            (ten, 10, Ok(ten)),
            ("  留着空格  ", 10, Ok("  留着空格  ")),
            ("第一行\n第二行\r\n\t缩进", 20, Ok("第一行\n第二行\r\n\t缩进")),
            ("e\u{301}", 2, Ok("e\u{301}")), // not normalised, counted as 2
            ("a\u{2028}b\u{2029}c", 10, Ok("a\u{2028}b\u{2029}c")),
            ("<b>&amp;</b>", 20, Ok("<b>&amp;</b>")),
            ("😀", 1, Ok("😀")),
            ("x", 1, Ok("x")),
            ("", 10, Err(FieldCode::Required)),
            ("   ", 10, Err(FieldCode::Required)),
            ("\n\r\t\u{3000}", 10, Err(FieldCode::Required)),
            ("这是十一个字的一条意见", 10, Err(FieldCode::OpinionTooLong)),
            ("e\u{301}", 1, Err(FieldCode::OpinionTooLong)),
            ("x", 0, Err(FieldCode::OpinionTooLong)),
            ("ab\u{0}", 10, Err(FieldCode::OpinionControlCharacter)),
            ("\u{0}", 10, Err(FieldCode::OpinionControlCharacter)),
            ("a\u{7}b", 10, Err(FieldCode::OpinionControlCharacter)),
            ("a\u{1b}[31mb", 10, Err(FieldCode::OpinionControlCharacter)),
            ("a\u{7f}b", 10, Err(FieldCode::OpinionControlCharacter)),
            ("a\u{85}b", 10, Err(FieldCode::OpinionControlCharacter)),
            ("a\u{9f}b", 10, Err(FieldCode::OpinionControlCharacter)),
            ("a\u{b}b", 10, Err(FieldCode::OpinionControlCharacter)),
            ("a\u{c}b", 10, Err(FieldCode::OpinionControlCharacter)),
        ];
        for (raw, max, want) in cases {
            let got = opinion(raw, *max);
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "opinion({raw:?}, {max})");
        }
    }
}
