//! Themes (issue 14): the main points (主要意见) the public made about each article, or about the
//! draft as a whole, found among the comments' distinct texts and confirmed by staff.
//!
//! A theme is a suggestion until staff confirm it; only confirmed themes feed the report. A
//! rebuild never undoes what staff did: it places new comments only, and keeps every label,
//! merge, split, move and decision.
//!
//! Decisions stack: a decision given to a single comment wins over its campaign's, and a
//! campaign's over its theme's ([`DecisionSource::may_replace`]).

use serde::{Deserialize, Serialize};

/// Longest theme label, in characters.
pub const MAX_LABEL_CHARS: usize = 40;

/// Which group a theme belongs to: an article, or the draft as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ThemeScope {
    Article(u32),
    Whole,
}

impl ThemeScope {
    /// The scopes a comment is themed under: each article it is linked to (a comment on several
    /// articles is among the main points of each), in order, or the draft as a whole.
    pub fn of(articles: &[u32]) -> Vec<ThemeScope> {
        let mut scopes: Vec<ThemeScope> = articles.iter().map(|a| ThemeScope::Article(*a)).collect();
        scopes.sort_unstable();
        scopes.dedup();
        if scopes.is_empty() {
            scopes.push(ThemeScope::Whole);
        }
        scopes
    }

    /// The article number, or `None` for the draft as a whole (as stored).
    pub fn article(self) -> Option<u32> {
        match self {
            ThemeScope::Article(a) => Some(a),
            ThemeScope::Whole => None,
        }
    }

    pub fn from_article(article: Option<u32>) -> ThemeScope {
        article.map(ThemeScope::Article).unwrap_or(ThemeScope::Whole)
    }
}

/// Whose decision a comment's disposition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionSource {
    /// Given to its theme.
    Theme,
    /// Given to its campaign.
    Campaign,
    /// Given to the comment itself (alone or as one of a filtered set).
    Own,
}

impl DecisionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionSource::Theme => "theme",
            DecisionSource::Campaign => "campaign",
            DecisionSource::Own => "own",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionSource> {
        match s {
            "theme" => Some(DecisionSource::Theme),
            "campaign" => Some(DecisionSource::Campaign),
            "own" => Some(DecisionSource::Own),
            _ => None,
        }
    }

    /// Whether a decision from `self` may replace one that came from `existing` (none: anything
    /// may). A comment's own decision is replaced only by another of its own; a campaign's by
    /// the campaign's or the comment's; a theme's by anything.
    pub fn may_replace(self, existing: Option<DecisionSource>) -> bool {
        existing.is_none_or(|e| self >= e)
    }
}

/// A theme as staff see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Theme {
    pub id: i64,
    pub consultation_id: String,
    /// The article it is about, or `None` for the draft as a whole.
    pub article: Option<u32>,
    pub label: String,
    /// Who named it, when staff did (a rebuild keeps their label).
    pub label_by: Option<String>,
    pub key_phrases: Vec<String>,
    /// Two or three sentences taken from its comments.
    pub representatives: Vec<String>,
    /// `for`, `against`, `suggest` or `neutral`, as the analysis read it.
    pub stance: String,
    /// Its comments, a campaign's members each counted.
    pub comments: u64,
    /// Its distinct texts: a campaign counts once.
    pub distinct_texts: u64,
    pub confirmed: bool,
    pub disposition: Option<crate::review::Disposition>,
    pub disposition_reason: Option<String>,
    /// Set when staff merged it into another theme (it then has no members).
    pub merged_into: Option<i64>,
}

/// What makes a theme label acceptable: trimmed, 1 to [`MAX_LABEL_CHARS`] characters, no
/// control characters or markup.
pub fn valid_label(label: &str) -> bool {
    let l = label.trim();
    let n = l.chars().count();
    n > 0 && n <= MAX_LABEL_CHARS && !l.chars().any(|c| c.is_control() || matches!(c, '<' | '>'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_is_grouped_under_each_of_its_articles_or_the_whole_draft() {
        assert_eq!(ThemeScope::of(&[7, 3, 7]), vec![ThemeScope::Article(3), ThemeScope::Article(7)]);
        assert_eq!(ThemeScope::of(&[]), vec![ThemeScope::Whole]);
        assert_eq!(ThemeScope::from_article(ThemeScope::of(&[5])[0].article()), ThemeScope::Article(5));
        assert_eq!(ThemeScope::Whole.article(), None);
    }

    #[test]
    fn a_single_comments_decision_wins_over_its_campaigns_and_a_campaigns_over_its_themes() {
        use DecisionSource::*;
        let table = [
            (Theme, None, true),
            (Theme, Some(Theme), true),
            (Theme, Some(Campaign), false),
            (Theme, Some(Own), false),
            (Campaign, Some(Theme), true),
            (Campaign, Some(Campaign), true),
            (Campaign, Some(Own), false),
            (Own, Some(Own), true),
            (Own, Some(Campaign), true),
            (Own, Some(Theme), true),
        ];
        for (incoming, existing, may) in table {
            assert_eq!(incoming.may_replace(existing), may, "{incoming:?} over {existing:?}");
        }
        for s in [Theme, Campaign, Own] {
            assert_eq!(DecisionSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(DecisionSource::parse("x"), None);
    }

    #[test]
    fn labels() {
        assert!(valid_label("博士后资助 · 科研经费"));
        assert!(!valid_label("  "));
        assert!(!valid_label(&"字".repeat(MAX_LABEL_CHARS + 1)));
        assert!(!valid_label("<b>x</b>"));
        assert!(!valid_label("a\u{0}b"));
    }
}
