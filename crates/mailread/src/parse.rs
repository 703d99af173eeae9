//! Reading one raw RFC 5322 message into what the consultation needs: who wrote it, the
//! decoded subject, the readable text (all of it, and with quoted replies and signatures
//! trimmed), the attachments with their extracted text, and whether an automatic reply is
//! allowed (RFC 3834).
//!
//! Everything here is a pure function of the bytes and the [`Limits`]. A mail that cannot
//! become a comment is a [`Rejection`] with a reason; the caller keeps its raw bytes, so
//! nothing is ever lost.
//!
//! The MIME structure, charsets and encoded words are handled by the submodules rather than by
//! mail-parser; the `charset`, `words` and `mime` submodules say what it got wrong for Chinese mail.

pub(crate) mod charset;
mod html;
mod mime;
mod trim;
mod words;

use std::fmt;

use mime::{Entity, Headers};
use words::Mailbox;

/// Bounds on what one mail may make us read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Of a larger message only this many bytes are read (and fetched over IMAP): its text
    /// and the attachments that fit; an attachment cut off by the limit is left out and
    /// recorded (see [`ParsedMail::cut_from`]).
    pub max_message_bytes: usize,
    /// Larger attachments are left out of the comment (the omission is recorded).
    pub max_attachment_bytes: usize,
    /// Attachments after this many are left out (recorded).
    pub max_attachments: usize,
    /// Characters of text taken from all attachments of one mail together.
    pub max_extracted_chars: usize,
    /// Uncompressed bytes read from one .docx in all (stops zip bombs).
    pub max_unpacked_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 30 * 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_attachments: 20,
            max_extracted_chars: 100_000,
            max_unpacked_bytes: 50 * 1024 * 1024,
        }
    }
}

/// A mail read for the consultation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMail {
    /// Without angle brackets, trimmed; `None` when absent or empty.
    pub message_id: Option<String>,
    /// Decoded, whitespace collapsed; `""` when absent.
    pub subject: String,
    /// The decoded display name of From.
    pub from_name: Option<String>,
    /// The lower-cased address of From.
    pub from_address: Option<String>,
    /// The original author of forwarded mail where that is clear, else `from_name`.
    pub author_name: Option<String>,
    /// The original author's address of forwarded mail where that is clear, else
    /// `from_address`.
    pub author_address: Option<String>,
    /// Whether the mail forwards another (inline or as message/rfc822).
    pub forwarded: bool,
    /// The Date header, if it could be read.
    pub date: Option<jiff::Timestamp>,
    /// The whole readable text of the body (HTML converted, forwarded messages included),
    /// nothing trimmed.
    pub full_text: String,
    /// `full_text` with quoted replies and signature trimmed; for forwarded mail the
    /// forwarded content, after the forwarder's own note if there is one.
    pub text: String,
    /// Every attachment, including those left out (see [`Attachment::omitted`]), in order.
    pub attachments: Vec<Attachment>,
    /// `Some(reason)` when an automatic reply must not be sent: `"auto-submitted"`,
    /// `"precedence"`, `"list"`, `"auto-response-suppress"`, `"loop"`, `"no-from"`,
    /// `"no-reply-address"` or `"null-return-path"`.
    pub auto_reply_block: Option<&'static str>,
    /// `Some(size of the whole message)` when it was larger than [`Limits::max_message_bytes`]
    /// and only that many bytes of it were read.
    pub cut_from: Option<usize>,
    /// The identifiers this mail's References (then In-Reply-To) name, oldest first, without
    /// angle brackets. A reply to this mail sets `In-Reply-To: <message_id>` and
    /// `References:` to these followed by `message_id`.
    pub references: Vec<String>,
}

/// One attachment of a mail (or of a mail forwarded in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Decoded (RFC 2231 / 2047) and sanitised: no path, no control characters;
    /// `attachment-N` when the mail gives none.
    pub filename: String,
    /// Lower-cased, e.g. `application/pdf`.
    pub content_type: String,
    /// Decoded size in bytes, also for omitted attachments.
    pub size: usize,
    /// The decoded bytes; `None` when omitted.
    pub bytes: Option<Vec<u8>>,
    /// Why the attachment was left out, in Chinese.
    pub omitted: Option<String>,
    /// Text extracted from a .docx, .pdf or .txt.
    pub text: Option<String>,
    /// Why no text (or only part of it) was extracted where text was expected, in Chinese.
    pub note: Option<String>,
}

/// Why a mail cannot become a comment. The caller keeps the raw message. (A large mail is not
/// one: its text is read and what did not fit is recorded.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The message is not MIME we can read; the detail is in Chinese.
    Malformed(String),
    /// Neither body text nor attachments.
    NoText,
}

impl Rejection {
    /// One line, Chinese then English in parentheses.
    pub fn reason(&self) -> String {
        match self {
            Rejection::Malformed(detail) => {
                format!("邮件格式无法解析：{detail} (malformed message)")
            }
            Rejection::NoText => "邮件没有可读的文字 (no usable text)".to_owned(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason())
    }
}

impl std::error::Error for Rejection {}

impl ParsedMail {
    /// What staff should know about the mail that its text does not say: the attachments left
    /// out (name, size, why) and a mail read only in part. `None` when nothing was left out.
    pub fn omissions(&self) -> Option<String> {
        let mut lines = Vec::new();
        if let Some(full) = self.cut_from {
            lines.push(format!("邮件共 {}，超过读取上限，只读取了前面的部分", human_size(full)));
        }
        for a in self.attachments.iter().filter(|a| a.omitted.is_some()) {
            lines.push(format!(
                "附件“{}”（{}）未收录：{}",
                a.filename,
                human_size(a.size),
                a.omitted.as_deref().unwrap_or_default()
            ));
        }
        (!lines.is_empty()).then(|| lines.join("；"))
    }

    /// What becomes the comment's opinion: `text`, then for each attachment with text a block
    /// `〔附件：NAME〕` + its text. A mail with neither gets a list of its attachments instead,
    /// so a mail that is only a photo still becomes a comment.
    pub fn comment_text(&self) -> String {
        let mut blocks: Vec<String> = Vec::new();
        if !self.text.trim().is_empty() {
            blocks.push(self.text.trim().to_owned());
        }
        for a in &self.attachments {
            if let Some(text) = a.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                blocks.push(format!("〔附件：{}〕\n{text}", a.filename));
            }
        }
        if blocks.is_empty() {
            let listing: Vec<String> = self.attachments.iter().map(Attachment::listing).collect();
            return listing.join("\n");
        }
        blocks.join("\n\n")
    }
}

impl Attachment {
    /// `〔附件：photo.jpg（image/jpeg，12 KB，未打开）〕`
    fn listing(&self) -> String {
        let state = match (&self.omitted, &self.note) {
            (Some(why), _) => format!("未收录：{why}"),
            (None, Some(note)) => note.clone(),
            (None, None) => "未打开".to_owned(),
        };
        format!("〔附件：{}（{}，{}，{state}）〕", self.filename, self.content_type, human_size(self.size))
    }
}

/// `10 MB`, `12 KB`, `512 字节`.
pub(crate) fn human_size(bytes: usize) -> String {
    const KB: usize = 1024;
    const MB: usize = 1024 * 1024;
    if bytes >= MB {
        if bytes.is_multiple_of(MB) {
            format!("{} MB", bytes / MB)
        } else {
            format!("{:.1} MB", bytes as f64 / MB as f64)
        }
    } else if bytes >= KB {
        format!("{} KB", bytes.div_ceil(KB))
    } else {
        format!("{bytes} 字节")
    }
}

/// Forwarded messages nested deeper than this are kept as attachments, not opened.
const MAX_FORWARD_DEPTH: usize = 6;

/// Reads a raw message. See the module documentation.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<ParsedMail, Rejection> {
    parse_beginning(raw, raw.len(), limits)
}

/// Reads a message of `full_size` bytes of which `raw` is the beginning (all of it, or at
/// least the first [`Limits::max_message_bytes`]): a large message is fetched over IMAP, and
/// kept from an mbox, only that far. Only the first `max_message_bytes` are read either way,
/// so a 41 MB mail with a 30 MB attachment keeps its text, and the attachment the limit cuts
/// through is left out and recorded with its estimated size.
pub fn parse_beginning(raw: &[u8], full_size: usize, limits: &Limits) -> Result<ParsedMail, Rejection> {
    let full_size = full_size.max(raw.len());
    let mut raw = &raw[..raw.len().min(limits.max_message_bytes)];
    if full_size > raw.len() {
        // Cut at a line end, so that no character and no base64 quantum is split.
        if let Some(end) = memchr::memrchr(b'\n', raw) {
            raw = &raw[..=end];
        }
    }
    if raw.trim_ascii().is_empty() {
        return Err(Rejection::Malformed("邮件为空".to_owned()));
    }
    let cut = (full_size > raw.len()).then_some(Cut { end: raw.as_ptr_range().end as usize, full_size });
    let root = mime::parse_entity(raw, true).map_err(Rejection::Malformed)?;
    let headers = &root.headers;
    let mut ctx = Context {
        limits,
        attachments: Vec::new(),
        chars_left: limits.max_extracted_chars,
        cut,
        start: raw.as_ptr() as usize,
    };
    let read = read_message(&root, &mut ctx, 0);

    let from = read.from.clone();
    let (author_name, author_address) = match &read.author {
        Some(author) => (author.name.clone(), author.address.clone()),
        None => (from.as_ref().and_then(|m| m.name.clone()), from.as_ref().and_then(|m| m.address.clone())),
    };
    let mut references: Vec<String> = Vec::new();
    for value in headers.get_all("References").chain(headers.get_all("In-Reply-To")) {
        for id in words::message_ids(value) {
            if !references.contains(&id) {
                references.push(id);
            }
        }
    }
    let message_id = headers.get("Message-ID").and_then(|v| words::message_ids(v).into_iter().next());
    references.retain(|id| Some(id) != message_id.as_ref());

    let mail = ParsedMail {
        auto_reply_block: auto_reply_block(headers, from.as_ref()),
        message_id,
        subject: read.subject,
        from_name: from.as_ref().and_then(|m| m.name.clone()),
        from_address: from.as_ref().and_then(|m| m.address.clone()),
        author_name,
        author_address,
        forwarded: read.forwarded,
        date: headers.get("Date").and_then(parse_date),
        full_text: read.full_text,
        text: read.text,
        attachments: ctx.attachments,
        cut_from: cut.map(|c| c.full_size),
        references,
    };
    if mail.comment_text().trim().is_empty() {
        return Err(Rejection::NoText);
    }
    Ok(mail)
}

/// The Message-ID of a raw message, read from its header section alone: for keeping track of
/// mails that [`parse`] rejects.
pub fn message_id_of(raw: &[u8]) -> Option<String> {
    let (headers, _) = mime::split_entity(raw, true).ok()?;
    headers.get("Message-ID").and_then(|v| words::message_ids(v).into_iter().next())
}

struct Context<'l> {
    limits: &'l Limits,
    /// The attachments of the mail and of every mail forwarded in it, in order.
    attachments: Vec<Attachment>,
    /// What remains of [`Limits::max_extracted_chars`].
    chars_left: usize,
    /// Where the bytes read end, when the message goes on past them.
    cut: Option<Cut>,
    /// The address of the first byte read, to tell how far into the message a part starts.
    start: usize,
}

/// The end of the part of a message that was read, and the size of the whole.
#[derive(Debug, Clone, Copy)]
struct Cut {
    /// The address just past the last byte read: a body part ending there was cut off.
    end: usize,
    full_size: usize,
}

/// What one message (the mail, or a mail forwarded as message/rfc822) says.
struct Read {
    subject: String,
    from: Option<Mailbox>,
    /// The original author, when the message forwards one that names it.
    author: Option<Mailbox>,
    forwarded: bool,
    full_text: String,
    text: String,
}

/// The readable pieces of a message body, in order.
#[derive(Default)]
struct Body {
    texts: Vec<String>,
    forwards: Vec<Read>,
}

fn read_message(entity: &Entity<'_>, ctx: &mut Context<'_>, depth: usize) -> Read {
    let headers = &entity.headers;
    let subject = headers.text("Subject").unwrap_or_default();
    let from = headers.get("From").and_then(|v| words::parse_addresses(v).into_iter().next());
    let mut body = Body::default();
    walk(entity, ctx, &mut body, depth);
    let own = body
        .texts
        .iter()
        .map(|t| t.trim_matches('\n'))
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");

    if !body.forwards.is_empty() {
        let mut full_text = own.clone();
        let mut texts = Vec::new();
        for fwd in &body.forwards {
            if !full_text.is_empty() {
                full_text.push_str("\n\n");
            }
            full_text.push_str(&forward_header(fwd));
            full_text.push_str(&fwd.full_text);
            if !fwd.text.trim().is_empty() {
                texts.push(fwd.text.trim().to_owned());
            }
        }
        // Attributed only when every forwarded mail has the same author.
        let authors: Vec<&Mailbox> = body
            .forwards
            .iter()
            .filter_map(|f| f.author.as_ref().or(f.from.as_ref()))
            .filter(|m| m.address.is_some())
            .collect();
        let author = match authors.first() {
            Some(first)
                if authors.len() == body.forwards.len() && authors.iter().all(|m| m.address == first.address) =>
            {
                Some((*first).clone())
            }
            _ => None,
        };
        let note = trim::trim_note(&own);
        return Read {
            subject,
            from,
            author,
            forwarded: true,
            full_text,
            text: trim::join_note(&note, &texts.join("\n\n")),
        };
    }

    if let Some(fwd) = trim::inline_forward(&own, &subject) {
        return Read {
            subject,
            from,
            author: fwd.from,
            forwarded: true,
            text: trim::join_note(&fwd.note, &fwd.content),
            full_text: own,
        };
    }
    Read { subject, from, author: None, forwarded: false, text: trim::trim_reply(&own), full_text: own }
}

/// The lines put above a message/rfc822 mail's text in `full_text`, as mailers do when they
/// forward inline.
fn forward_header(fwd: &Read) -> String {
    let mut header = String::from("---------- 转发的邮件 ----------\n");
    if let Some(from) = &fwd.from {
        let who = match (&from.name, &from.address) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (Some(n), None) => n.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => String::new(),
        };
        header.push_str(&format!("发件人: {who}\n"));
    }
    if !fwd.subject.is_empty() {
        header.push_str(&format!("主题: {}\n", fwd.subject));
    }
    header.push('\n');
    header
}

fn walk(entity: &Entity<'_>, ctx: &mut Context<'_>, body: &mut Body, depth: usize) {
    if !entity.parts.is_empty() {
        if entity.content_type.value == "multipart/alternative" {
            let chosen = choose_alternative(&entity.parts);
            for (i, part) in entity.parts.iter().enumerate() {
                if i == chosen {
                    walk(part, ctx, body, depth);
                } else {
                    // Other renderings of the same text; only real attachments in them count.
                    collect_attachments(part, ctx);
                }
            }
        } else {
            for part in &entity.parts {
                walk(part, ctx, body, depth);
            }
        }
        return;
    }
    let mime = entity.content_type.value.as_str();
    let disposition = entity.disposition();
    let is_attachment = disposition.as_ref().is_some_and(|d| d.value == "attachment");
    let filename = filename_of(entity, disposition.as_ref());
    if matches!(mime, "message/rfc822" | "message/global") && depth < MAX_FORWARD_DEPTH {
        let bytes = entity.decoded_body();
        if let Ok(inner) = mime::parse_entity(&bytes, true) {
            let read = read_message(&inner, ctx, depth + 1);
            body.forwards.push(read);
            return;
        }
        // Not a message after all: kept as an attachment below.
    }
    if matches!(mime, "text/plain" | "text/html") && !is_attachment && filename.is_none() {
        body.texts.push(body_text(entity));
        return;
    }
    add_attachment(entity, filename, ctx);
}

fn collect_attachments(entity: &Entity<'_>, ctx: &mut Context<'_>) {
    if !entity.parts.is_empty() {
        for part in &entity.parts {
            collect_attachments(part, ctx);
        }
        return;
    }
    let disposition = entity.disposition();
    if disposition.as_ref().is_some_and(|d| d.value == "attachment") {
        let filename = filename_of(entity, disposition.as_ref());
        add_attachment(entity, filename, ctx);
    }
}

/// Which part of a multipart/alternative to read: the first text/plain that has text, else
/// the last part (the richest rendering, by RFC 2046).
fn choose_alternative(parts: &[Entity<'_>]) -> usize {
    for (i, part) in parts.iter().enumerate() {
        if part.content_type.value == "text/plain" && part.parts.is_empty() && !body_text(part).trim().is_empty() {
            return i;
        }
    }
    parts.iter().rposition(|p| p.content_type.value == "text/html" || !p.parts.is_empty()).unwrap_or(parts.len() - 1)
}

fn filename_of(entity: &Entity<'_>, disposition: Option<&mime::ContentType>) -> Option<String> {
    disposition
        .and_then(|d| d.param("filename"))
        .or_else(|| entity.content_type.param("name"))
        .and_then(sanitise_filename)
}

fn sanitise_filename(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned = words::collapse_whitespace(base);
    let cleaned = cleaned.trim_start_matches(['.', ' ']).trim_end();
    if cleaned.is_empty() {
        return None;
    }
    let mut cleaned = cleaned.to_owned();
    crate::extract::truncate_chars(&mut cleaned, 200);
    Some(cleaned)
}

/// The readable text of a text/plain or text/html part.
fn body_text(entity: &Entity<'_>) -> String {
    let bytes = entity.decoded_body();
    let ct = &entity.content_type;
    let is_html = ct.value == "text/html";
    let mut label = ct.param("charset").map(str::to_owned);
    if is_html && label.as_deref().and_then(charset::for_label).is_none() {
        label = html::meta_charset(&bytes).or(label);
    }
    let text = clean_text(&charset::decode(&bytes, label.as_deref()));
    if is_html {
        return html::html_to_text(&text);
    }
    if ct.param("format").is_some_and(|f| f.eq_ignore_ascii_case("flowed")) {
        let delsp = ct.param("delsp").is_some_and(|d| d.eq_ignore_ascii_case("yes"));
        return unflow(&text, delsp);
    }
    text
}

/// Line ends normalised to `\n`; control characters other than tab and newline, and
/// zero-width no-break spaces, dropped.
pub(crate) fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            '\u{feff}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Undoes format=flowed (RFC 3676): a line ending in a space continues on the next.
fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.ends_with(' ') && line != "-- " {
            out.push_str(if delsp { &line[..line.len() - 1] } else { line });
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !text.ends_with('\n') && out.ends_with('\n') {
        out.pop();
    }
    out
}

fn add_attachment(entity: &Entity<'_>, filename: Option<String>, ctx: &mut Context<'_>) {
    let limits = ctx.limits;
    let index = ctx.attachments.len() + 1;
    let bytes = entity.decoded_body();
    let mut attachment = Attachment {
        filename: filename.unwrap_or_else(|| format!("attachment-{index}")),
        content_type: entity.content_type.value.clone(),
        size: bytes.len(),
        bytes: None,
        omitted: None,
        text: None,
        note: None,
    };
    let cut_off = ctx.cut.filter(|c| entity.body.as_ptr_range().end as usize == c.end && !entity.body.is_empty());
    if let Some(cut) = cut_off {
        // What the rest of the message would have decoded to, at the rate the part read so far
        // did: an estimate, said as one.
        let from = entity.body.as_ptr() as usize - ctx.start;
        let rest = cut.full_size.saturating_sub(from) as f64;
        let rate = bytes.len() as f64 / entity.body.len() as f64;
        attachment.size = ((rest * rate) as usize).max(bytes.len());
        attachment.omitted = Some(format!(
            "邮件超过读取上限（{}），只读到附件的前 {}（整个附件约 {}）",
            human_size(limits.max_message_bytes),
            human_size(bytes.len()),
            human_size(attachment.size)
        ));
    } else if index > limits.max_attachments {
        attachment.omitted = Some(format!("附件数量超过上限（{} 个）", limits.max_attachments));
    } else if bytes.len() > limits.max_attachment_bytes {
        attachment.omitted = Some(format!("附件超过大小上限（{}）", human_size(limits.max_attachment_bytes)));
    } else {
        extract_text(&mut attachment, &bytes, entity, ctx);
        attachment.bytes = Some(bytes.into_owned());
    }
    ctx.attachments.push(attachment);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Docx,
    Pdf,
    Txt,
}

fn text_kind(filename: &str, content_type: &str) -> Option<TextKind> {
    let lower = filename.to_lowercase();
    if lower.ends_with(".docx")
        || content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    {
        Some(TextKind::Docx)
    } else if lower.ends_with(".pdf") || content_type == "application/pdf" {
        Some(TextKind::Pdf)
    } else if lower.ends_with(".txt") || content_type == "text/plain" {
        Some(TextKind::Txt)
    } else {
        None
    }
}

fn extract_text(attachment: &mut Attachment, bytes: &[u8], entity: &Entity<'_>, ctx: &mut Context<'_>) {
    let Some(kind) = text_kind(&attachment.filename, &attachment.content_type) else {
        return;
    };
    let limits = ctx.limits;
    if ctx.chars_left == 0 {
        attachment.note = Some(format!("本邮件附件的文字已达提取上限（{} 字），未再提取", limits.max_extracted_chars));
        return;
    }
    // One more than allowed, to tell a text that fits from one that was cut.
    let ask = ctx.chars_left.saturating_add(1);
    let result = match kind {
        TextKind::Docx => crate::extract::docx_text(bytes, limits.max_unpacked_bytes, ask),
        TextKind::Pdf => crate::extract::pdf_text(bytes, ask),
        TextKind::Txt => {
            let declared = entity.content_type.param("charset").filter(|l| charset::for_label(l).is_some());
            Ok(match declared {
                Some(label) => {
                    let mut t = clean_text(&charset::decode(bytes, Some(label)));
                    crate::extract::truncate_chars(&mut t, ask);
                    t.trim().to_owned()
                }
                None => crate::extract::txt_text(bytes, ask),
            })
        }
    };
    match result {
        Ok(mut text) => {
            if text.trim().is_empty() {
                attachment.note = Some("附件中没有文字".to_owned());
                return;
            }
            if text.chars().count() > ctx.chars_left {
                crate::extract::truncate_chars(&mut text, ctx.chars_left);
                attachment.note = Some(format!(
                    "文字超过提取上限（{} 字），只收录了前 {} 字",
                    limits.max_extracted_chars, ctx.chars_left
                ));
            }
            ctx.chars_left -= text.chars().count().min(ctx.chars_left);
            attachment.text = Some(text);
        }
        Err(reason) => attachment.note = Some(reason),
    }
}

/// RFC 3834 and common practice: the reasons an automatic reply must not be sent.
fn auto_reply_block(headers: &Headers, from: Option<&Mailbox>) -> Option<&'static str> {
    let token = |v: &[u8]| -> String {
        let text = String::from_utf8_lossy(v).to_ascii_lowercase();
        text.split([';', '(']).next().unwrap_or("").trim().to_owned()
    };
    if let Some(value) = headers.get("Auto-Submitted")
        && token(value) != "no"
    {
        return Some("auto-submitted");
    }
    // Vacation responders that predate RFC 3834.
    if ["X-Autoreply", "X-Autorespond", "X-Auto-Reply"].iter().any(|h| headers.contains(h)) {
        return Some("auto-submitted");
    }
    if let Some(value) = headers.get("Precedence")
        && matches!(token(value).as_str(), "bulk" | "list" | "junk")
    {
        return Some("precedence");
    }
    if ["List-Id", "List-Unsubscribe", "List-Post", "Mailing-List"].iter().any(|h| headers.contains(h)) {
        return Some("list");
    }
    if let Some(value) = headers.get("X-Auto-Response-Suppress") {
        let value = String::from_utf8_lossy(value).to_ascii_lowercase();
        if value.split([',', ' ', '\t']).any(|v| matches!(v.trim(), "all" | "autoreply" | "oof")) {
            return Some("auto-response-suppress");
        }
    }
    if headers.contains("X-Loop") || headers.contains("X-Yijian-Auto") {
        return Some("loop");
    }
    let Some(from_address) = from.and_then(|m| m.address.as_deref()) else {
        return Some("no-from");
    };
    if is_no_reply(from_address) {
        return Some("no-reply-address");
    }
    if headers.get_all("Return-Path").any(|v| v.iter().filter(|b| !b.is_ascii_whitespace()).eq(b"<>".iter())) {
        return Some("null-return-path");
    }
    None
}

/// Addresses that are not read by a person, or that RFC 3834 §2 says not to answer.
fn is_no_reply(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or(address).to_lowercase();
    let squeezed: String = local.chars().filter(|c| !matches!(c, '-' | '_' | '.')).collect();
    squeezed.starts_with("noreply")
        || squeezed.starts_with("donotreply")
        || squeezed.starts_with("bounce")
        || squeezed.starts_with("notification")
        || squeezed == "mailerdaemon"
        || squeezed == "postmaster"
        || local.starts_with("owner-")
        || local.ends_with("-request")
}

/// The Date header as a timestamp: RFC 2822 including its obsolete forms, plus the
/// deviations seen in Chinese mail ("GMT+0800", a weekday that does not match the date).
fn parse_date(raw: &[u8]) -> Option<jiff::Timestamp> {
    let text = words::collapse_whitespace(&String::from_utf8_lossy(raw));
    let parser = jiff::fmt::rfc2822::DateTimeParser::new();
    if let Ok(ts) = parser.parse_timestamp(&text) {
        return Some(ts);
    }
    let mut fixed = text.clone();
    for zone in ["GMT+", "UTC+", "GMT-", "UTC-"] {
        if let Some(at) = fixed.find(zone) {
            fixed.replace_range(at..at + 3, "");
        }
    }
    // "+08:00" written with a colon.
    if let Some((head, tail)) = fixed.rsplit_once(' ')
        && tail.len() == 6
        && (tail.starts_with('+') || tail.starts_with('-'))
        && tail.as_bytes()[3] == b':'
    {
        fixed = format!("{head} {}{}", &tail[..3], &tail[4..]);
    }
    if let Ok(ts) = parser.parse_timestamp(&fixed) {
        return Some(ts);
    }
    // A weekday that does not match the date: the date wins.
    if let Some((_, rest)) = fixed.split_once(", ")
        && let Ok(ts) = parser.parse_timestamp(rest)
    {
        return Some(ts);
    }
    text.parse::<jiff::Timestamp>().ok()
}

#[cfg(test)]
mod tests;
