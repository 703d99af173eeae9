//! HTML mail as readable plain text.
//!
//! Built on html5gum's tokenizer (a WHATWG tokenizer with no dependencies) rather than
//! html2text: html2text renders for a terminal (wrapping to a width, Markdown-style
//! decorations, drawn tables) and brings html5ever, markup5ever, tendril and string_cache with
//! it. A comment needs only the words, their paragraphs, list items and quoted blocks; mail
//! HTML has no layout worth keeping.

use html5gum::{DefaultEmitter, Token, Tokenizer};

/// The charset an HTML document declares for itself in a `<meta>` element, if any.
pub(crate) fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(4096)];
    let lower = head.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = memchr::memmem::find(&lower[search..], b"charset") {
        let at = search + found + b"charset".len();
        search = at;
        let rest = &lower[at..];
        let rest = rest.trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = rest.trim_ascii_start();
        let rest = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")).unwrap_or(rest);
        let end = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')))
            .unwrap_or(rest.len());
        if end > 0 {
            return Some(String::from_utf8_lossy(&rest[..end]).into_owned());
        }
    }
    None
}

/// Converts HTML to text: blocks and `<br>` become line breaks, list items get a marker,
/// `<blockquote>` lines get `> ` (so quoted replies are recognised later), script, style and
/// the like are dropped, entities decoded and whitespace collapsed as a browser would.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut emitter = DefaultEmitter::default();
    // Without a tree builder the tokenizer cannot know that <script> and <style> hold raw
    // text; the naive switch covers them, which is all mail HTML needs.
    emitter.naively_switch_states(true);
    let mut writer = Writer::default();
    for token in Tokenizer::new_with_emitter(html, emitter) {
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).to_ascii_lowercase();
                if tag.self_closing {
                    writer.start(&name);
                    if !is_void(&name) {
                        writer.end(&name);
                    }
                } else {
                    writer.start(&name);
                }
            }
            Token::EndTag(tag) => {
                writer.end(&String::from_utf8_lossy(&tag.name).to_ascii_lowercase());
            }
            Token::String(text) => writer.text(&String::from_utf8_lossy(&text)),
            _ => {}
        }
    }
    writer.finish()
}

fn is_void(name: &str) -> bool {
    matches!(name, "br" | "hr" | "img" | "meta" | "link" | "input" | "wbr" | "col" | "area" | "base")
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "li"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "table"
            | "tr"
            | "caption"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "nav"
            | "aside"
            | "main"
            | "address"
            | "hr"
            | "form"
            | "fieldset"
            | "center"
            | "figure"
            | "figcaption"
            | "details"
            | "summary"
            | "body"
            | "html"
    )
}

/// Elements whose content is not text for a reader. Not `<head>`: mailers that forget
/// `</head>` would lose the whole body.
fn is_hidden(name: &str) -> bool {
    matches!(name, "script" | "style" | "title" | "template" | "noscript" | "xml")
}

#[derive(Default)]
struct Writer {
    out: String,
    /// Line breaks the output must end with before the next text.
    want_breaks: usize,
    pending_space: bool,
    at_line_start: bool,
    hidden: Vec<String>,
    pre: usize,
    quote: usize,
    /// For each open list: `None` for `<ul>`, the next number for `<ol>`.
    lists: Vec<Option<u32>>,
    marker: Option<String>,
    cells_in_row: usize,
}

impl Writer {
    fn start(&mut self, name: &str) {
        if !self.hidden.is_empty() || is_hidden(name) {
            if is_hidden(name) {
                self.hidden.push(name.to_owned());
            }
            return;
        }
        match name {
            "br" => self.hard_break(),
            "ul" => self.lists.push(None),
            "ol" => self.lists.push(Some(1)),
            "pre" => self.pre += 1,
            "blockquote" => self.quote += 1,
            "tr" => self.cells_in_row = 0,
            "td" | "th" => {
                if self.cells_in_row > 0 {
                    self.pending_space = false;
                    self.emit_str("\t");
                }
                self.cells_in_row += 1;
            }
            _ => {}
        }
        if is_block(name) {
            self.block_break();
        }
        if name == "li" {
            let depth = self.lists.len().max(1);
            let marker = match self.lists.last_mut() {
                Some(Some(n)) => {
                    let m = format!("{n}. ");
                    *n += 1;
                    m
                }
                _ => "• ".to_owned(),
            };
            self.marker = Some(format!("{}{marker}", "  ".repeat(depth - 1)));
        }
    }

    fn end(&mut self, name: &str) {
        if let Some(top) = self.hidden.last() {
            if top == name {
                self.hidden.pop();
            }
            return;
        }
        match name {
            "ul" | "ol" => {
                self.lists.pop();
            }
            "pre" => self.pre = self.pre.saturating_sub(1),
            "blockquote" => {
                // Break before leaving, so the last quoted line keeps its marker.
                self.block_break();
                self.flush_breaks();
                self.quote = self.quote.saturating_sub(1);
            }
            _ => {}
        }
        if is_block(name) {
            self.block_break();
        }
    }

    fn text(&mut self, text: &str) {
        if !self.hidden.is_empty() {
            return;
        }
        if self.pre > 0 {
            for c in text.chars() {
                if c == '\n' {
                    self.hard_break();
                } else if c != '\r' {
                    self.emit(c);
                }
            }
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
            } else {
                self.emit(c);
            }
        }
    }

    fn block_break(&mut self) {
        self.want_breaks = self.want_breaks.max(1);
        self.pending_space = false;
    }

    fn hard_break(&mut self) {
        self.flush_breaks();
        self.out.push('\n');
        self.at_line_start = true;
        self.pending_space = false;
    }

    fn trailing_breaks(&self) -> usize {
        self.out.bytes().rev().take_while(|b| *b == b'\n').count()
    }

    fn flush_breaks(&mut self) {
        if self.want_breaks > 0 {
            if !self.out.is_empty() {
                for _ in self.trailing_breaks()..self.want_breaks {
                    self.out.push('\n');
                }
                self.at_line_start = true;
            }
            self.want_breaks = 0;
            self.pending_space = false;
        }
    }

    fn emit_str(&mut self, s: &str) {
        for c in s.chars() {
            self.emit(c);
        }
    }

    fn emit(&mut self, c: char) {
        self.flush_breaks();
        if self.at_line_start || self.out.is_empty() {
            for _ in 0..self.quote {
                self.out.push_str("> ");
            }
            if let Some(marker) = self.marker.take() {
                self.out.push_str(&marker);
            }
            self.at_line_start = false;
            self.pending_space = false;
        } else if self.pending_space {
            self.out.push(' ');
            self.pending_space = false;
        }
        self.out.push(c);
    }

    fn finish(self) -> String {
        let mut text = String::with_capacity(self.out.len());
        let mut blank_run = 0;
        for line in self.out.lines() {
            let line = line.trim_end();
            if line.is_empty() || line.chars().all(|c| c == '>' || c == ' ') {
                blank_run += 1;
                if blank_run > 1 {
                    continue;
                }
                text.push('\n');
                continue;
            }
            blank_run = 0;
            text.push_str(line);
            text.push('\n');
        }
        text.trim_matches('\n').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_breaks_lists_and_entities() {
        let html = "<html><head><title>T</title><style>p{color:red}</style>\
            <script>var x = '<p>no</p>';</script></head><body>\
            <p>尊敬的&nbsp;领导：</p><div>第一段&lt;意见&gt;&amp;建议<br>第二行<br></div>\
            <ol><li>增加<b>培训</b>补贴</li><li><a href=\"https://x.cn\">链接文字</a></li></ol>\
            <ul><li>甲</li></ul><!-- comment --><p>  多   个   空格 </p></body></html>";
        assert_eq!(
            html_to_text(html),
            "尊敬的 领导：\n第一段<意见>&建议\n第二行\n1. 增加培训补贴\n2. 链接文字\n• 甲\n多 个 空格"
        );
    }

    #[test]
    fn blockquotes_are_marked_and_pre_kept() {
        let html = "<div>同意</div><div>On Tue wrote:</div><blockquote><div>原文一</div>原文二</blockquote>\
            <pre>a  b\n  c</pre>";
        assert_eq!(html_to_text(html), "同意\nOn Tue wrote:\n> 原文一\n> 原文二\na  b\n  c");
    }

    #[test]
    fn tables_become_tab_separated_rows() {
        let html = "<table><tr><td>条款</td><td>意见</td></tr><tr><td>第三条</td><td>同意</td></tr></table>";
        assert_eq!(html_to_text(html), "条款\t意见\n第三条\t同意");
    }

    #[test]
    fn meta_charset_is_found() {
        assert_eq!(
            meta_charset(b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=GB2312\">").as_deref(),
            Some("gb2312")
        );
        assert_eq!(meta_charset(b"<meta charset='utf-8'>").as_deref(), Some("utf-8"));
        assert_eq!(meta_charset(b"<p>no charset</p>"), None);
    }
}
