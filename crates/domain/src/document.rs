//! The draft under consultation and its canonical text.
//!
//! The canonical text is what gets hashed and signed: the title, the preamble, the chapter
//! headings and the articles, in UTF-8, NFC, with LF line endings. It is also the only form in
//! which a draft is stored: everything served is parsed back out of the verified text, so what
//! the public reads can never drift from what was signed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub title: String,
    /// Paragraphs before the first chapter.
    pub preamble: Vec<String>,
    pub chapters: Vec<Chapter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chapter {
    /// 1-based; shown as a Chinese numeral (一、二、…).
    pub number: u32,
    pub title: String,
    pub articles: Vec<Article>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Stable across the whole document, 1-based, consecutive.
    pub number: u32,
    /// The bold lead sentence.
    pub title: String,
    /// The body's paragraphs.
    pub body: Vec<String>,
}

impl Article {
    /// The body as one string, paragraphs separated by line feeds.
    pub fn text(&self) -> String {
        self.body.join("\n")
    }
}

/// Why a canonical text could not be read back as a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("canonical text, line {line}: {message}")]
pub struct CanonicalError {
    pub line: usize,
    pub message: String,
}

impl Document {
    pub fn articles(&self) -> impl Iterator<Item = &Article> {
        self.chapters.iter().flat_map(|c| c.articles.iter())
    }

    pub fn article_numbers(&self) -> Vec<u32> {
        self.articles().map(|a| a.number).collect()
    }

    pub fn has_article(&self, number: u32) -> bool {
        self.articles().any(|a| a.number == number)
    }

    /// The text that is hashed and signed. Deterministic: NFC, LF, one trailing newline.
    pub fn canonical_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.title);
        out.push_str("\n\n");
        if !self.preamble.is_empty() {
            for p in &self.preamble {
                out.push_str(p);
                out.push('\n');
            }
            out.push('\n');
        }
        for chapter in &self.chapters {
            out.push_str(&chinese_numeral(chapter.number));
            out.push('、');
            out.push_str(&chapter.title);
            out.push_str("\n\n");
            for article in &chapter.articles {
                out.push_str(&format!("{}. {}\n", article.number, article.title));
                for p in &article.body {
                    out.push_str(p);
                    out.push('\n');
                }
                out.push('\n');
            }
        }
        let trimmed = out.trim_end_matches('\n');
        let mut text: String = trimmed.nfc().collect();
        text.push('\n');
        text
    }

    /// Lower-case hex SHA-256 of [`Document::canonical_text`].
    pub fn content_sha256(&self) -> String {
        sha256_hex(&self.canonical_text())
    }

    /// Reads a canonical text back. `parse_canonical(d.canonical_text()) == d` for every
    /// document that [`crate::file::parse`] accepts.
    pub fn parse_canonical(text: &str) -> Result<Document, CanonicalError> {
        let err = |line: usize, message: &str| CanonicalError { line, message: message.to_string() };
        // Blocks of consecutive non-empty lines, with the line number of their first line.
        let mut blocks: Vec<(usize, Vec<&str>)> = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            if line.contains('\r') {
                return Err(err(i + 1, "carriage return in canonical text"));
            }
            if line.is_empty() {
                continue;
            }
            match blocks.last_mut() {
                Some((start, lines)) if *start + lines.len() == i + 1 => lines.push(line),
                _ => blocks.push((i + 1, vec![line])),
            }
        }
        let mut blocks = blocks.into_iter();
        let (tline, title) = blocks.next().ok_or_else(|| err(1, "empty text"))?;
        if title.len() != 1 {
            return Err(err(tline, "the title must be one line"));
        }
        let mut doc = Document { title: title[0].to_string(), preamble: Vec::new(), chapters: Vec::new() };
        for (line, lines) in blocks {
            if let Some((number, title)) = parse_chapter_heading(lines[0]) {
                if lines.len() != 1 {
                    return Err(err(line, "a chapter heading stands alone"));
                }
                doc.chapters.push(Chapter { number, title: title.to_string(), articles: Vec::new() });
            } else if let Some(chapter) = doc.chapters.last_mut() {
                let (number, title) = parse_article_line(lines[0]).ok_or_else(|| err(line, "expected an article"))?;
                chapter.articles.push(Article {
                    number,
                    title: title.to_string(),
                    body: lines[1..].iter().map(|s| s.to_string()).collect(),
                });
            } else if doc.preamble.is_empty() {
                doc.preamble = lines.iter().map(|s| s.to_string()).collect();
            } else {
                return Err(err(line, "the preamble is one block"));
            }
        }
        Ok(doc)
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn parse_article_line(line: &str) -> Option<(u32, &str)> {
    let (num, rest) = line.split_once(". ")?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num.parse().ok()?, rest))
}

/// `一、标题` → (1, "标题").
pub fn parse_chapter_heading(line: &str) -> Option<(u32, &str)> {
    let (num, title) = line.split_once('、')?;
    Some((parse_chinese_numeral(num)?, title))
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// 1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九. Chapters beyond 99 are not a thing.
pub fn chinese_numeral(n: u32) -> String {
    match n {
        0..=9 => DIGITS[n as usize].to_string(),
        10..=19 => format!("十{}", if n == 10 { String::new() } else { DIGITS[(n % 10) as usize].to_string() }),
        20..=99 => format!(
            "{}十{}",
            DIGITS[(n / 10) as usize],
            if n.is_multiple_of(10) { String::new() } else { DIGITS[(n % 10) as usize].to_string() }
        ),
        _ => n.to_string(),
    }
}

pub fn parse_chinese_numeral(s: &str) -> Option<u32> {
    let n = (1..=99).find(|&n| chinese_numeral(n) == s)?;
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        Document {
            title: "示例办法（征求意见稿）".into(),
            preamble: vec!["为了示例，制定本办法。".into()],
            chapters: vec![
                Chapter {
                    number: 1,
                    title: "总则".into(),
                    articles: vec![Article { number: 1, title: "第一句。".into(), body: vec!["正文。".into()] }],
                },
                Chapter {
                    number: 2,
                    title: "附则".into(),
                    articles: vec![Article {
                        number: 2,
                        title: "第二句。".into(),
                        body: vec!["一、看似标题的正文。".into(), "第二段。".into()],
                    }],
                },
            ],
        }
    }

    #[test]
    fn canonical_text_round_trips() {
        let doc = sample();
        let text = doc.canonical_text();
        assert_eq!(
            text,
            "示例办法（征求意见稿）\n\n为了示例，制定本办法。\n\n一、总则\n\n1. 第一句。\n正文。\n\n二、附则\n\n2. 第二句。\n一、看似标题的正文。\n第二段。\n"
        );
        assert_eq!(Document::parse_canonical(&text).unwrap(), doc);
    }

    #[test]
    fn hash_changes_with_any_character() {
        let doc = sample();
        let mut other = sample();
        other.chapters[0].articles[0].body[0] = "正文！".into();
        assert_ne!(doc.content_sha256(), other.content_sha256());
        assert_eq!(doc.content_sha256().len(), 64);
    }

    #[test]
    fn numerals() {
        let cases = [(1, "一"), (4, "四"), (10, "十"), (11, "十一"), (20, "二十"), (21, "二十一"), (99, "九十九")];
        for (n, s) in cases {
            assert_eq!(chinese_numeral(n), s);
            assert_eq!(parse_chinese_numeral(s), Some(n));
        }
        assert_eq!(parse_chinese_numeral("十十"), None);
        assert_eq!(parse_chinese_numeral(""), None);
    }

    #[test]
    fn canonical_parser_rejects_garbage() {
        assert!(Document::parse_canonical("").is_err());
        assert!(Document::parse_canonical("题目\n\n一、章\n\n不是条款\n").is_err());
        assert!(Document::parse_canonical("题目\r\n").is_err());
    }
}
