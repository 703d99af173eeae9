//! The consultation domain of yijian, with no I/O and no async.
//!
//! A [`Consultation`](consultation::Consultation) publishes a [`Document`](document::Document)
//! (a draft rule: preamble, chapters, articles) for comment between two instants. Citizens send
//! [`Comment`](comment)s, each answered with a [`Receipt`](receipt::Receipt). What a citizen
//! types is checked by [`validate`]; sensitive personal information travels in the [`pii`]
//! newtypes, whose `Debug` and `Display` print masked values only.

pub mod comment;
pub mod consultation;
pub mod document;
pub mod file;
pub mod messages;
pub mod pii;
pub mod receipt;
pub mod report;
pub mod review;
pub mod staff;
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

/// One thing wrong with one field of a submission. `code` is stable and machine-readable;
/// [`messages::field_message`] turns it into words for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    /// The limit a `*_too_long` code refers to, so the message can name it.
    pub limit: Option<usize>,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str) -> Self {
        FieldError { field, code, limit: None }
    }
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}
