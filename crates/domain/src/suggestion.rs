//! Suggested links between a comment and the articles of the draft.
//!
//! Most comments (every letter and email, many web comments) arrive without saying which article they speak to, and
//! the feedback report is organised by article. yijian suggests articles; staff accept or reject each suggestion. A
//! suggestion is never a link by itself: only an accepted one becomes an ordinary article link, and a link the
//! citizen made is never changed by one.

use serde::{Deserialize, Serialize};

/// Below this confidence a suggestion is kept but not shown by default: the labelled set puts nine in ten comments
/// about nothing in the draft under it.
pub const SHOW_THRESHOLD: f64 = 0.5;

/// How a suggestion was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuggestionKind {
    /// The comment names the article (第五条, 措施五, （五）, a range, its chapter, or quotes its lead).
    Explicit,
    /// The comment discusses the article's subject without naming it.
    Similar,
}

impl SuggestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionKind::Explicit => "explicit",
            SuggestionKind::Similar => "similar",
        }
    }

    pub fn parse(s: &str) -> Option<SuggestionKind> {
        match s {
            "explicit" => Some(SuggestionKind::Explicit),
            "similar" => Some(SuggestionKind::Similar),
            _ => None,
        }
    }
}

/// One suggested article for one comment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArticleSuggestion {
    pub article: u32,
    /// 0..=1, rounded to two decimals so that a re-run stores exactly what it stored before.
    pub confidence: f64,
    pub kind: SuggestionKind,
}

impl ArticleSuggestion {
    pub fn new(article: u32, confidence: f64, kind: SuggestionKind) -> ArticleSuggestion {
        let confidence = (confidence.clamp(0.0, 1.0) * 100.0).round() / 100.0;
        ArticleSuggestion { article, confidence, kind }
    }
}

/// The spreadsheet cell for a comment's suggestions: `5 (explicit, 1.00); 7 (similar, 0.62)`.
pub fn format_cell(list: &[ArticleSuggestion]) -> String {
    list.iter()
        .map(|s| format!("{} ({}, {:.2})", s.article, s.kind.as_str(), s.confidence))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_clamped_and_rounded() {
        assert_eq!(ArticleSuggestion::new(5, 1.7, SuggestionKind::Explicit).confidence, 1.0);
        assert_eq!(ArticleSuggestion::new(5, -0.2, SuggestionKind::Similar).confidence, 0.0);
        assert_eq!(ArticleSuggestion::new(5, 0.61834, SuggestionKind::Similar).confidence, 0.62);
    }

    #[test]
    fn cell_and_json_forms() {
        let list = [
            ArticleSuggestion::new(5, 1.0, SuggestionKind::Explicit),
            ArticleSuggestion::new(7, 0.6183, SuggestionKind::Similar),
        ];
        assert_eq!(format_cell(&list), "5 (explicit, 1.00); 7 (similar, 0.62)");
        assert_eq!(format_cell(&[]), "");
        let json = serde_json::to_string(&list[1]).unwrap();
        assert_eq!(json, r#"{"article":7,"confidence":0.62,"kind":"similar"}"#);
        let back: ArticleSuggestion = serde_json::from_str(&json).unwrap();
        assert_eq!(back, list[1]);
        assert_eq!(SuggestionKind::parse("explicit"), Some(SuggestionKind::Explicit));
        assert_eq!(SuggestionKind::parse("EXPLICIT"), None);
    }
}
