//! What a member changed in the representative's text.

use similar::{ChangeTag, TextDiff};

/// A run of characters in a [`diff`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    /// In both texts.
    Same(String),
    /// Only in the member.
    Added(String),
    /// Only in the representative.
    Removed(String),
}

/// The member's text against the representative's, character by character, with consecutive characters of one kind
/// merged into one span. Read in order, the `Same` and `Removed` spans spell the representative and the `Same` and
/// `Added` spans spell the member.
///
/// Characters rather than jieba words: a campaign's edits are single characters as often as words, and a word
/// segmentation that differs around an edit would show whole words as changed.
pub fn diff(representative: &str, member: &str) -> Vec<Span> {
    let diff = TextDiff::configure().diff_chars(representative, member);
    let mut spans: Vec<Span> = Vec::new();
    for change in diff.iter_all_changes() {
        let s = change.value();
        match (change.tag(), spans.last_mut()) {
            (ChangeTag::Equal, Some(Span::Same(run)))
            | (ChangeTag::Insert, Some(Span::Added(run)))
            | (ChangeTag::Delete, Some(Span::Removed(run))) => run.push_str(s),
            (ChangeTag::Equal, _) => spans.push(Span::Same(s.to_owned())),
            (ChangeTag::Insert, _) => spans.push(Span::Added(s.to_owned())),
            (ChangeTag::Delete, _) => spans.push(Span::Removed(s.to_owned())),
        }
    }
    spans
}
