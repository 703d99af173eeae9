//! jieba word segmentation as a tantivy tokenizer.
//!
//! This is a small adapter over jieba-rs rather than the `tantivy-jieba` crate. tantivy-jieba 0.21 does speak the
//! tokenizer API that tantivy 0.27 uses (tantivy-tokenizer-api 0.7; it is itself built and tested against tantivy
//! 0.26), but it cannot fold full-width characters: that has to happen *before* segmentation, into a buffer that
//! outlives the token stream, so it would need a wrapper owning that buffer, plus two token filters (drop punctuation,
//! lowercase). That is more code than segmenting here directly.

use std::sync::LazyLock;

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Loading the dictionary takes a noticeable fraction of a second and ~tens of MB, so it happens once per process.
pub(crate) static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Segments text the way the index needs it.
///
/// - Full-width ASCII (U+FF01..FF5E) and the ideographic space are folded to their half-width forms first, because a
///   Chinese IME produces "ＡＩ" as readily as "AI" and a search for one must find the other.
/// - Tokens without a letter, digit or ideograph (Chinese and ASCII punctuation, whitespace, symbols, control
///   characters) are dropped: nobody searches for "，", and they would only bloat the index.
/// - Letters are lowercased.
/// - HMM is off. With it, jieba guesses words that are not in its dictionary, and those guesses depend on the
///   surrounding characters, so a name or new term could be cut one way in a comment and another way in a query typed
///   on its own. Without it, such a run falls apart into single characters the same way on both sides, and the query
///   side glues them back together as a phrase.
/// - A token's position is its *character* offset, not its ordinal. Search mode emits a compound and its parts
///   (人工智能 at 0, 人工 at 0, 智能 at 2), so ordinals would differ between a text indexed in search mode and the same
///   text queried in default mode; character offsets agree, which is what makes phrase queries work across the two.
#[derive(Clone)]
pub(crate) struct JiebaTokenizer {
    mode: TokenizeMode,
    folded: String,
}

impl JiebaTokenizer {
    /// Search mode emits every dictionary word of two or three characters inside a longer word as well as the word
    /// itself, so a comment about 人工智能 is found by 智能 as well.
    pub(crate) fn for_index() -> Self {
        JiebaTokenizer { mode: TokenizeMode::Search, folded: String::new() }
    }

    /// Queries are cut in default mode: every word it produces is also produced by search mode on the same text, and
    /// the query does not then demand the parts of a compound on top of the compound.
    pub(crate) fn for_query() -> Self {
        JiebaTokenizer { mode: TokenizeMode::Default, folded: String::new() }
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream<'a> {
        fold_width(text, &mut self.folded);
        let mut words = JIEBA.tokenize(&self.folded, self.mode, false);
        words.retain(|w| w.word.chars().any(is_word_char));
        // Search mode emits the parts of a compound before the compound, which starts earlier. tantivy delta-encodes
        // each term's positions and needs them in order; a stable sort by offset guarantees that for every term.
        words.sort_by_key(|w| w.start);
        JiebaTokenStream { words: words.into_iter(), token: Token::default() }
    }
}

pub(crate) struct JiebaTokenStream<'a> {
    words: std::vec::IntoIter<jieba_rs::Token<'a>>,
    token: Token,
}

impl TokenStream for JiebaTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(word) = self.words.next() else {
            return false;
        };
        let text = &mut self.token.text;
        text.clear();
        if word.word.is_ascii() {
            text.push_str(word.word);
            text.make_ascii_lowercase();
        } else {
            for c in word.word.chars() {
                if is_han(c) {
                    text.push(c);
                } else {
                    text.extend(c.to_lowercase());
                }
            }
        }
        // Offsets are into the folded text; nothing here highlights, so they only need to be consistent.
        self.token.offset_from = word.byte_start;
        self.token.offset_to = word.byte_end;
        self.token.position = word.start;
        self.token.position_length = word.end - word.start;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Letters, digits and ideographs. Chinese characters are checked first: the general Unicode lookup is a noticeable
/// part of indexing time when asked about every one of them.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_han(c) || (!c.is_ascii() && c.is_alphanumeric())
}

/// CJK Unified Ideographs and Extension A: no case, always part of a word.
pub(crate) fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
}

/// Folds full-width ASCII and the ideographic space to half-width, one character for one, so character offsets (the
/// token positions) are the same as in the original text.
pub(crate) fn fold_width(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    out.extend(text.chars().map(|c| match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(mut tokenizer: JiebaTokenizer, text: &str) -> Vec<(String, usize)> {
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().text.clone(), stream.token().position));
        }
        out
    }

    fn words(tokenizer: JiebaTokenizer, text: &str) -> Vec<String> {
        tokens(tokenizer, text).into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn search_mode_emits_compounds_and_their_parts() {
        let w = words(JiebaTokenizer::for_index(), "建议加强人工智能就业培训");
        for expected in ["建议", "加强", "人工", "智能", "人工智能", "就业", "培训"] {
            assert!(w.iter().any(|x| x == expected), "{expected} missing from {w:?}");
        }
    }

    #[test]
    fn default_mode_keeps_compounds_whole() {
        let w = words(JiebaTokenizer::for_query(), "人工智能");
        assert_eq!(w, ["人工智能"]);
    }

    #[test]
    fn punctuation_and_whitespace_are_not_tokens() {
        let w = words(JiebaTokenizer::for_index(), "就业，培训。 “平台”！\t（算力）\u{3000}、…… ; - *");
        assert!(!w.is_empty());
        assert!(w.iter().all(|t| t.chars().any(char::is_alphanumeric)), "{w:?}");
    }

    #[test]
    fn full_width_folds_and_ascii_lowercases() {
        assert_eq!(words(JiebaTokenizer::for_query(), "ＡＩ"), ["ai"]);
        assert_eq!(words(JiebaTokenizer::for_query(), "AI"), ["ai"]);
        assert_eq!(words(JiebaTokenizer::for_query(), "ＧＰＵ１２３"), ["gpu123"]);
        let w = words(JiebaTokenizer::for_index(), "发展ＡＩ培训");
        assert!(w.iter().any(|x| x == "ai"), "{w:?}");
    }

    #[test]
    fn positions_are_character_offsets_in_order() {
        let t = tokens(JiebaTokenizer::for_index(), "人工智能，就业");
        let positions: Vec<usize> = t.iter().map(|(_, p)| *p).collect();
        assert!(positions.is_sorted(), "{t:?}");
        assert!(t.contains(&("智能".to_owned(), 2)), "{t:?}");
        assert!(t.contains(&("就业".to_owned(), 5)), "{t:?}");
    }
}
