//! The consultation file: what staff write by hand to publish a consultation.
//!
//! TOML front matter between `+++` lines, then a Markdown body:
//!
//! ```text
//! +++
//! id = "ln-hrss-ai-2025"
//! title = "…（征求意见稿）"
//! issuer = "…"
//! opens_at = "2025-05-12"     # a date: the start of that day in time_zone
//! closes_at = "2025-05-18"    # a date: the END of that day
//! positions = ["公务员", …]
//! notice = """…请于{deadline}前…"""
//! [contact]        person, department, phone, email
//! [email_channel]  address, subject_phrase, phrases = [...], reply_template, confirm_web_comments
//! +++
//!
//! Preamble paragraph(s).
//!
//! ## 一、Chapter title
//!
//! 1. **Lead sentence.**Body text…
//! ```
//!
//! Every error names the line it is on; a file with any error imports nothing.

use jiff::{Timestamp, civil, tz::TimeZone};
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use crate::consultation::{
    ConsultationMeta, Contact, DEFAULT_MAX_OPINION_CHARS, DEFAULT_TIME_ZONE, EmailChannel, valid_slug,
};
use crate::document::{Article, Chapter, Document, parse_chapter_heading};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn perr(line: usize, message: impl Into<String>) -> ParseError {
    ParseError { line, message: message.into() }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationFile {
    pub meta: ConsultationMeta,
    pub document: Document,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    issuer: String,
    issued_on: Option<String>,
    opens_at: String,
    closes_at: String,
    time_zone: Option<String>,
    max_opinion_chars: Option<usize>,
    positions: Vec<String>,
    #[serde(default)]
    notice: String,
    contact: Contact,
    email_channel: EmailChannel,
}

/// Parses a consultation file. Text is NFC-normalised and CRLF is accepted.
pub fn parse(input: &str) -> Result<ConsultationFile, ParseError> {
    let text: String = input.strip_prefix('\u{feff}').unwrap_or(input).replace("\r\n", "\n").nfc().collect();
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.first().map(|l| l.trim_end()) != Some("+++") {
        return Err(perr(1, "the file must start with a line `+++` opening the TOML front matter"));
    }
    let close = lines
        .iter()
        .skip(1)
        .position(|l| l.trim_end() == "+++")
        .map(|i| i + 1)
        .ok_or_else(|| perr(1, "the front matter is not closed by a second `+++` line"))?;
    let front = lines[1..close].join("\n");
    // Line numbers inside the front matter are offset by the opening `+++`.
    let at_key = |key: &str| -> usize {
        lines[1..close]
            .iter()
            .position(|l| {
                let l = l.trim_start();
                l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
            })
            .map(|i| i + 2)
            .unwrap_or(1)
    };
    let fm: FrontMatter = toml::from_str(&front).map_err(|e| {
        let line = e.span().map(|s| front[..s.start].matches('\n').count() + 2).unwrap_or(1);
        perr(line, format!("front matter: {}", e.message()))
    })?;

    if !valid_slug(&fm.id) {
        return Err(perr(
            at_key("id"),
            "id must be 2–64 lower-case ASCII letters, digits or hyphens, not starting or ending with a hyphen",
        ));
    }
    for (key, value) in [("title", &fm.title), ("issuer", &fm.issuer)] {
        if value.trim().is_empty() {
            return Err(perr(at_key(key), format!("{key} must not be empty")));
        }
    }
    let tz_name = fm.time_zone.clone().unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    let tz = TimeZone::get(&tz_name).map_err(|_| {
        perr(at_key("time_zone"), format!("unknown time zone `{tz_name}` (use an IANA name such as Asia/Shanghai)"))
    })?;
    let opens_at = parse_instant(&fm.opens_at, &tz, false).map_err(|m| perr(at_key("opens_at"), m))?;
    let closes_at = parse_instant(&fm.closes_at, &tz, true).map_err(|m| perr(at_key("closes_at"), m))?;
    if closes_at <= opens_at {
        return Err(perr(at_key("closes_at"), "closes_at must be after opens_at"));
    }
    let issued_on = match &fm.issued_on {
        None => None,
        Some(s) => Some(
            s.parse::<civil::Date>()
                .map_err(|_| perr(at_key("issued_on"), format!("issued_on `{s}` is not a date like 2025-05-12")))?,
        ),
    };
    let max = fm.max_opinion_chars.unwrap_or(DEFAULT_MAX_OPINION_CHARS);
    if !(1..=100_000).contains(&max) {
        return Err(perr(at_key("max_opinion_chars"), "max_opinion_chars must be between 1 and 100000"));
    }
    if fm.positions.is_empty() {
        return Err(perr(at_key("positions"), "positions must list at least one option"));
    }
    for (i, p) in fm.positions.iter().enumerate() {
        if p.trim().is_empty() || p.trim() != p {
            return Err(perr(at_key("positions"), format!("position {} is empty or has spaces around it", i + 1)));
        }
        if p == "请选择" {
            return Err(perr(at_key("positions"), "请选择 is the select's placeholder, not a position"));
        }
        if fm.positions[..i].contains(p) {
            return Err(perr(at_key("positions"), format!("position `{p}` is listed twice")));
        }
    }
    if fm.email_channel.address.trim().is_empty() || !fm.email_channel.address.contains('@') {
        return Err(perr(at_key("address"), "email_channel.address must be an email address"));
    }
    if fm.email_channel.subject_phrase.trim().is_empty() {
        return Err(perr(at_key("subject_phrase"), "email_channel.subject_phrase must not be empty"));
    }
    if let Some(template) = &fm.email_channel.reply_template {
        const KNOWN: [&str; 5] = ["receipt", "title", "issuer", "received_at", "receipt_url"];
        if !template.contains("{receipt}") {
            return Err(perr(at_key("reply_template"), "email_channel.reply_template must contain {receipt}"));
        }
        if let Some(bad) = placeholders(template).into_iter().find(|p| !KNOWN.contains(&p.as_str())) {
            return Err(perr(
                at_key("reply_template"),
                format!(
                    "unknown placeholder {{{bad}}} in reply_template (use {})",
                    KNOWN.map(|k| format!("{{{k}}}")).join(", ")
                ),
            ));
        }
    }
    if fm.email_channel.phrases.iter().any(|p| p.trim().chars().count() < 3) {
        return Err(perr(at_key("phrases"), "email_channel.phrases must each have at least 3 characters"));
    }
    let notice = fm.notice.trim().to_string();
    if let Some(bad) = placeholders(&notice).into_iter().find(|p| !["deadline", "subject_phrase"].contains(&p.as_str()))
    {
        return Err(perr(
            at_key("notice"),
            format!("unknown placeholder {{{bad}}} in notice (use {{deadline}} or {{subject_phrase}})"),
        ));
    }

    let document = parse_body(&lines, close + 1, fm.title.trim())?;
    let meta = ConsultationMeta {
        id: fm.id,
        title: fm.title.trim().to_string(),
        issuer: fm.issuer.trim().to_string(),
        issued_on,
        opens_at,
        closes_at,
        time_zone: tz_name,
        max_opinion_chars: max,
        positions: fm.positions,
        notice,
        contact: fm.contact,
        email_channel: fm.email_channel,
    };
    Ok(ConsultationFile { meta, document })
}

fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// A date means a whole day: the start of it for an opening, the end of it for a close.
/// A civil date-time is read in the consultation's zone; RFC 3339 carries its own offset.
fn parse_instant(s: &str, tz: &TimeZone, end_of_day: bool) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(date) = s.parse::<civil::Date>() {
        let day = if end_of_day { date.tomorrow().map_err(|e| e.to_string())? } else { date };
        return day.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|e| e.to_string());
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = s.parse::<civil::DateTime>() {
        return dt.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|e| e.to_string());
    }
    Err(format!("`{s}` is not a date (2025-05-18), a local date-time (2025-05-18T17:00) or an RFC 3339 time"))
}

fn parse_body(lines: &[&str], first: usize, title: &str) -> Result<Document, ParseError> {
    let mut doc = Document { title: title.to_string(), preamble: Vec::new(), chapters: Vec::new() };
    // Paragraphs: runs of non-blank lines, joined (CJK text wraps without spaces).
    let mut paragraphs: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in lines.iter().enumerate().skip(first) {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            paragraphs.extend(current.take());
            continue;
        }
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(perr(line_no, "control character in the text"));
        }
        if line.starts_with("## ") || line.starts_with('#') {
            paragraphs.extend(current.take());
            paragraphs.push((line_no, line.to_string()));
            continue;
        }
        match &mut current {
            Some((_, p)) => {
                let ascii_join =
                    p.chars().last().is_some_and(|c| c.is_ascii()) && line.starts_with(|c: char| c.is_ascii());
                if ascii_join {
                    p.push(' ');
                }
                p.push_str(line);
            }
            None => current = Some((line_no, line.to_string())),
        }
    }
    paragraphs.extend(current.take());

    let mut next_article = 1u32;
    for (line, p) in paragraphs {
        if let Some(heading) = p.strip_prefix("## ") {
            let heading = heading.trim();
            let (number, ctitle) = parse_chapter_heading(heading)
                .ok_or_else(|| perr(line, format!("a chapter heading reads `## 一、Title`, found `## {heading}`")))?;
            let expected = doc.chapters.len() as u32 + 1;
            if number != expected {
                return Err(perr(line, format!("chapter {number} where chapter {expected} was expected")));
            }
            if ctitle.trim().is_empty() {
                return Err(perr(line, "the chapter has no title"));
            }
            doc.chapters.push(Chapter { number, title: ctitle.trim().to_string(), articles: Vec::new() });
        } else if p.starts_with('#') {
            return Err(perr(line, "only `## ` chapter headings are allowed; the title belongs in the front matter"));
        } else if let Some((number, rest)) = article_start(&p) {
            let chapter = doc
                .chapters
                .last_mut()
                .ok_or_else(|| perr(line, "an article before the first `## ` chapter heading"))?;
            if number != next_article {
                return Err(perr(line, format!("article {number} where article {next_article} was expected")));
            }
            let rest = rest
                .strip_prefix("**")
                .ok_or_else(|| perr(line, format!("article {number} must begin with its lead sentence in **bold**")))?;
            let end = rest
                .find("**")
                .ok_or_else(|| perr(line, format!("article {number}: the bold lead sentence is not closed with **")))?;
            let lead = rest[..end].trim();
            let body = rest[end + 2..].trim();
            if lead.is_empty() {
                return Err(perr(line, format!("article {number} has an empty lead sentence")));
            }
            let body = if body.is_empty() { vec![] } else { vec![body.to_string()] };
            chapter.articles.push(Article { number, title: lead.to_string(), body });
            next_article += 1;
        } else if let Some(chapter) = doc.chapters.last_mut() {
            let article = chapter
                .articles
                .last_mut()
                .ok_or_else(|| perr(line, "text after a chapter heading must start with an article `1. **…**`"))?;
            article.body.push(p);
        } else {
            doc.preamble.push(p);
        }
    }
    let last_line = lines.len();
    if doc.chapters.is_empty() {
        return Err(perr(last_line, "the draft has no `## 一、…` chapter"));
    }
    if let Some(c) = doc.chapters.iter().find(|c| c.articles.is_empty()) {
        return Err(perr(last_line, format!("chapter {} has no articles", c.number)));
    }
    // What is signed must read back as exactly this document.
    let canonical = doc.canonical_text();
    if Document::parse_canonical(&canonical).as_ref() != Ok(&doc) {
        return Err(perr(
            last_line,
            "the draft cannot be written as unambiguous canonical text (a preamble paragraph that looks like a heading or article?)",
        ));
    }
    Ok(doc)
}

fn article_start(p: &str) -> Option<(u32, &str)> {
    let digits = p.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 4 {
        return None;
    }
    let rest = p[digits..].strip_prefix('.').or_else(|| p[digits..].strip_prefix('．'))?;
    Some((p[..digits].parse().ok()?, rest.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++
id = \"demo-1\"
title = \"示例办法（征求意见稿）\"
issuer = \"示例厅\"
opens_at = \"2025-05-12\"
closes_at = \"2025-05-18\"
positions = [\"公务员\", \"其他\"]
notice = \"请于{deadline}前反馈。\"

[contact]
person = \"示例\"
phone = \"024-0000-0000\"
email = \"a@example.org\"

[email_channel]
address = \"a@example.org\"
subject_phrase = \"示例办法\"
+++

为了示例，
制定本办法。

## 一、总则

1. **第一句。**正文。

## 二、附则

2. **第二句。**正文二。

续段。
";

    #[test]
    fn parses_a_good_file() {
        let f = parse(GOOD).unwrap();
        assert_eq!(f.meta.id, "demo-1");
        assert_eq!(f.meta.time_zone, "Asia/Shanghai");
        // A date close means the end of that day, Beijing time.
        assert_eq!(f.meta.closes_at.to_string(), "2025-05-18T16:00:00Z");
        assert_eq!(f.meta.opens_at.to_string(), "2025-05-11T16:00:00Z");
        assert_eq!(f.document.preamble, vec!["为了示例，制定本办法。"]);
        assert_eq!(f.document.chapters.len(), 2);
        let a2 = &f.document.chapters[1].articles[0];
        assert_eq!((a2.number, a2.title.as_str()), (2, "第二句。"));
        assert_eq!(a2.body, vec!["正文二。", "续段。"]);
        assert_eq!(f.meta.rendered_notice(), "请于2025年5月18日前反馈。");
    }

    #[test]
    fn the_email_channel_takes_phrases_a_template_and_confirmations() {
        let text = GOOD.replacen(
            "subject_phrase = \"示例办法\"",
            "subject_phrase = \"示例办法\"\nphrases = [\"示例的办法\"]\nreply_template = \"编号 {receipt}，见 {receipt_url}\"\nconfirm_web_comments = true",
            1,
        );
        let f = parse(&text).unwrap();
        assert_eq!(f.meta.email_channel.phrases, ["示例的办法"]);
        assert!(f.meta.email_channel.confirm_web_comments);
        let body =
            f.meta.email_channel.render_reply(&[("receipt", "YJ-AAAA-BBBB"), ("receipt_url", "https://x/receipt")]);
        assert_eq!(body, "编号 YJ-AAAA-BBBB，见 https://x/receipt");
        // Without a template the default one names the receipt and the title.
        let plain = parse(GOOD).unwrap().meta.email_channel;
        assert!(!plain.confirm_web_comments);
        let body = plain.render_reply(&[("receipt", "YJ-AAAA-BBBB"), ("title", "示例办法（征求意见稿）")]);
        assert!(body.contains("YJ-AAAA-BBBB") && body.contains("《示例办法（征求意见稿）》"), "{body}");
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let crlf = format!("\u{feff}{}", GOOD.replace('\n', "\r\n"));
        assert_eq!(parse(&crlf).unwrap(), parse(GOOD).unwrap());
    }

    /// Each broken file names the right line and says what is wrong.
    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, &str, usize, &str)] = &[
            ("+++\n", "", 1, "must start"),
            ("id = \"demo-1\"", "id = \"Demo 1\"", 2, "id must be"),
            ("closes_at = \"2025-05-18\"", "closes_at = \"2025-05-10\"", 6, "after opens_at"),
            ("closes_at = \"2025-05-18\"", "closes_at = \"18 May\"", 6, "not a date"),
            ("issuer = \"示例厅\"", "issuer = \"示例厅\"\nfoo = 1", 5, "unknown field"),
            ("positions = [\"公务员\", \"其他\"]", "positions = [\"请选择\", \"其他\"]", 7, "placeholder"),
            ("positions = [\"公务员\", \"其他\"]", "positions = [\"其他\", \"其他\"]", 7, "twice"),
            ("issuer = \"示例厅\"", "issuer = ", 4, "front matter"),
            ("notice = \"请于{deadline}前反馈。\"", "notice = \"{截止}\"", 8, "unknown placeholder"),
            ("## 二、附则", "## 三、附则", 27, "chapter 3 where chapter 2"),
            ("## 二、附则", "## 附则", 27, "chapter heading reads"),
            ("2. **第二句。**正文二。", "3. **第二句。**正文二。", 29, "article 3 where article 2"),
            ("2. **第二句。**正文二。", "2. 第二句。正文二。", 29, "bold"),
            ("2. **第二句。**正文二。", "2. **第二句。正文二。", 29, "not closed"),
            ("## 一、总则\n\n", "", 23, "before the first"),
            ("为了示例，", "# 标题\n\n为了示例，", 20, "front matter"),
            (
                "subject_phrase = \"示例办法\"",
                "subject_phrase = \"示例办法\"\nreply_template = \"已收到，编号 {编号}\"",
                18,
                "must contain {receipt}",
            ),
            (
                "subject_phrase = \"示例办法\"",
                "subject_phrase = \"示例办法\"\nreply_template = \"{receipt} {deadline}\"",
                18,
                "unknown placeholder {deadline}",
            ),
            ("subject_phrase = \"示例办法\"", "subject_phrase = \"示例办法\"\nphrases = [\"办法\"]", 18, "at least 3"),
        ];
        for (from, to, line, needle) in cases {
            let text = GOOD.replacen(from, to, 1);
            assert_ne!(text, GOOD, "case {from} did not change the file");
            let err = parse(&text).expect_err(&format!("{from} -> {to} should fail"));
            assert!(err.message.contains(needle), "{from} -> {to}: {err}");
            assert_eq!(err.line, *line, "{from} -> {to}: {err}");
        }
    }

    #[test]
    fn unknown_time_zone() {
        let text = GOOD.replacen("issuer", "time_zone = \"Mars/Olympus\"\nissuer", 1);
        let err = parse(&text).unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("Mars/Olympus"));
    }

    #[test]
    fn unclosed_front_matter() {
        let err = parse("+++\nid = \"x\"\n").unwrap_err();
        assert!(err.message.contains("not closed"), "{err}");
    }
}
