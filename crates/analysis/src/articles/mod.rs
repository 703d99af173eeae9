//! Which articles of the draft a comment speaks to, as suggestions that staff confirm (issue 14).
//!
//! Two sources, one list: explicit references the comment writes ([`explicit`]: 第五条, 措施五, （五）, a range, a
//! chapter, a quoted lead), certain and given confidence 1; and articles whose subject the comment discusses
//! ([`similar`]: BM25 over jieba words), with a confidence calibrated on `bench/articles/labelled.jsonl`.
//!
//! Pure: no I/O, no clock. An [`ArticleIndex`] is built once per consultation and shared by every thread.

mod explicit;
mod similar;
#[cfg(test)]
mod tests;

use yijian_domain::document::Document;
use yijian_domain::suggestion::{ArticleSuggestion, SHOW_THRESHOLD, SuggestionKind};

/// Similar suggestions below this are dropped: a list of weak guesses costs staff more than it helps.
pub const SIMILAR_FLOOR: f64 = 0.2;
/// At most this many similar suggestions for one comment.
pub const SIMILAR_KEEP: usize = 3;

/// The draft's articles, prepared for suggesting. `Send + Sync`; building it segments the twenty articles (and, the
/// first time in a process, loads jieba's dictionary, shared with the search index).
pub struct ArticleIndex {
    outline: explicit::Outline,
    bm25: similar::Bm25,
}

impl ArticleIndex {
    pub fn new(doc: &Document) -> ArticleIndex {
        ArticleIndex { outline: explicit::Outline::new(doc), bm25: similar::Bm25::new(doc) }
    }

    /// Suggestions for one comment's text: sorted by article number, at most one per article (an explicit one wins
    /// over a similar one for the same article); empty when the text speaks of the draft as a whole or of nothing in it.
    pub fn suggest(&self, text: &str) -> Vec<ArticleSuggestion> {
        let folded = explicit::fold(text);
        let named = self.outline.references(&folded);
        // Beside what the comment names, only a confident guess is worth showing.
        let floor = if named.is_empty() { SIMILAR_FLOOR } else { SHOW_THRESHOLD };
        let mut out: Vec<ArticleSuggestion> =
            named.iter().map(|&a| ArticleSuggestion::new(a, 1.0, SuggestionKind::Explicit)).collect();
        for (article, confidence) in self.bm25.suggest(text, 0.0, usize::MAX) {
            if out.iter().filter(|s| s.kind == SuggestionKind::Similar).count() == SIMILAR_KEEP {
                break;
            }
            let s = ArticleSuggestion::new(article, confidence, SuggestionKind::Similar);
            if s.confidence < floor {
                break;
            }
            if !named.contains(&article) {
                out.push(s);
            }
        }
        out.sort_by_key(|s| s.article);
        out
    }
}

// The integrator shares one index between worker threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<ArticleIndex>();
};
