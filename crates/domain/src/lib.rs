//! The consultation domain of yijian, with no I/O and no async.
//!
//! A [`Consultation`](consultation::Consultation) publishes a [`Document`](document::Document)
//! (a draft rule: preamble, chapters, articles) for comment between two instants. Citizens send
//! [`Comment`](comment)s, each answered with a [`Receipt`](receipt::Receipt). What a citizen
//! types is checked by [`validate`]; sensitive personal information travels in the [`pii`]
//! newtypes, whose `Debug` and `Display` print masked values only.

pub mod campaign;
pub mod comment;
pub mod consultation;
pub mod dispute;
pub mod document;
pub mod file;
pub mod messages;
pub mod pii;
pub mod receipt;
pub mod report;
pub mod review;
pub mod signals;
pub mod staff;
pub mod suggestion;
pub mod theme;
pub mod validate;

/// The language an answer is written in: Chinese unless the client asks for English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks the language from an `Accept-Language` header value: English when an `en` range
    /// is preferred over any `zh` range, Chinese otherwise.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

/// What is wrong with a field, as a stable machine-readable code. [`messages::field_message`]
/// words each one for people in both languages, and matches every variant: a code without its
/// wording does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldCode {
    Required,
    InvalidType,
    NameTooLong,
    NameInvalidCharacter,
    IdNumberLegacy,
    IdNumberFormat,
    IdNumberRegion,
    IdNumberBirthDate,
    IdNumberChecksum,
    PhoneInvalid,
    PhoneNotMainland,
    PhoneServiceNumber,
    EmailInvalid,
    EmailDomain,
    EmailTooLong,
    OpinionTooLong,
    OpinionControlCharacter,
    NoteTooLong,
    PositionUnknown,
    ArticleUnknown,
    CaptchaWrong,
    CaptchaExpired,
    ConsentRequired,
    RateLimited,
    FormExpired,
    StorageFailed,
    /// The server is taking more comments than it can store in time; nothing was stored.
    Busy,
}

impl FieldCode {
    /// Every code, for tests that walk them all.
    pub const ALL: [FieldCode; 27] = [
        FieldCode::Required,
        FieldCode::InvalidType,
        FieldCode::NameTooLong,
        FieldCode::NameInvalidCharacter,
        FieldCode::IdNumberLegacy,
        FieldCode::IdNumberFormat,
        FieldCode::IdNumberRegion,
        FieldCode::IdNumberBirthDate,
        FieldCode::IdNumberChecksum,
        FieldCode::PhoneInvalid,
        FieldCode::PhoneNotMainland,
        FieldCode::PhoneServiceNumber,
        FieldCode::EmailInvalid,
        FieldCode::EmailDomain,
        FieldCode::EmailTooLong,
        FieldCode::OpinionTooLong,
        FieldCode::OpinionControlCharacter,
        FieldCode::NoteTooLong,
        FieldCode::PositionUnknown,
        FieldCode::ArticleUnknown,
        FieldCode::CaptchaWrong,
        FieldCode::CaptchaExpired,
        FieldCode::ConsentRequired,
        FieldCode::RateLimited,
        FieldCode::FormExpired,
        FieldCode::StorageFailed,
        FieldCode::Busy,
    ];

    /// The code as the API and the logs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldCode::Required => "required",
            FieldCode::InvalidType => "invalid_type",
            FieldCode::NameTooLong => "name_too_long",
            FieldCode::NameInvalidCharacter => "name_invalid_character",
            FieldCode::IdNumberLegacy => "id_number_legacy",
            FieldCode::IdNumberFormat => "id_number_format",
            FieldCode::IdNumberRegion => "id_number_region",
            FieldCode::IdNumberBirthDate => "id_number_birth_date",
            FieldCode::IdNumberChecksum => "id_number_checksum",
            FieldCode::PhoneInvalid => "phone_invalid",
            FieldCode::PhoneNotMainland => "phone_not_mainland",
            FieldCode::PhoneServiceNumber => "phone_service_number",
            FieldCode::EmailInvalid => "email_invalid",
            FieldCode::EmailDomain => "email_domain",
            FieldCode::EmailTooLong => "email_too_long",
            FieldCode::OpinionTooLong => "opinion_too_long",
            FieldCode::OpinionControlCharacter => "opinion_control_character",
            FieldCode::NoteTooLong => "note_too_long",
            FieldCode::PositionUnknown => "position_unknown",
            FieldCode::ArticleUnknown => "article_unknown",
            FieldCode::CaptchaWrong => "captcha_wrong",
            FieldCode::CaptchaExpired => "captcha_expired",
            FieldCode::ConsentRequired => "consent_required",
            FieldCode::RateLimited => "rate_limited",
            FieldCode::FormExpired => "form_expired",
            FieldCode::StorageFailed => "storage_failed",
            FieldCode::Busy => "busy",
        }
    }
}

/// Serialised as its [`as_str`](FieldCode::as_str) code, as the API has always written it.
impl serde::Serialize for FieldCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for FieldCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong with one field of a submission. `code` is stable and machine-readable;
/// [`messages::field_message`] turns it into words for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: FieldCode,
    /// The limit a `*_too_long` code refers to, so the message can name it.
    pub limit: Option<usize>,
}

impl FieldError {
    pub fn new(field: &'static str, code: FieldCode) -> Self {
        FieldError { field, code, limit: None }
    }
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}
