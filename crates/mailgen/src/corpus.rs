//! Test mails in every encoding and shape yijian's mail reader must handle, written by our own
//! generator rather than collected: no real person's mail is in the test suite, and every
//! expected result is known exactly.
//!
//! - [`MailSpec`] describes one mail (headers, body, charset, transfer encoding, attachments)
//!   and [`MailSpec::to_bytes`] writes it as an RFC 5322 message with CRLF line ends.
//! - [`docx`], [`pdf`] and [`zip_bomb_docx`] make attachments.
//! - [`corpus`] is the list of [`Case`]s, each a raw mail and what reading it must give.
//! - [`mbox`] packs mails into an mboxrd archive; [`bulk`] makes any number of varied,
//!   realistic mails for the import benchmark.

use std::fmt::Write as _;
use std::io::{Cursor, Write};
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use encoding_rs::{BIG5, GB18030, GBK};
use yijian_formats::docx::{Block, write_docx};

/// The demo consultation's title, as citizens put it in their subjects.
pub const TITLE: &str = "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）";
/// Where the demo consultation takes comments by mail (fictional).
pub const CONSULTATION_ADDRESS: &str = "zqyj@hrss.example.gov.cn";
/// The Date every corpus mail carries unless it says otherwise.
pub const DEFAULT_DATE: &str = "Tue, 13 May 2025 10:00:00 +0800";
/// [`DEFAULT_DATE`] as an RFC 3339 UTC timestamp.
pub const DEFAULT_DATE_UTC: &str = "2025-05-13T02:00:00Z";

/// The charset a text part is written in, and the label written for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    /// GBK bytes (GB2312 is a subset) labelled as given: `gbk`, `x-gbk`, `cp936`,
    /// `gb_2312-80`, `eucgb2312_cn`, `gb2312`.
    Gbk(&'static str),
    /// GB18030 bytes (four-byte sequences included) labelled as given.
    Gb18030(&'static str),
    /// Big5 bytes labelled as given: `big5`, `x-big5`, `cp950`.
    Big5(&'static str),
    /// Bytes in the inner charset with no charset parameter at all.
    Undeclared(Box<Charset>),
}

impl Charset {
    /// The bytes of `text` in this charset. Panics if the text has a character the charset
    /// cannot encode: a mistake in the test, not in the code under test.
    pub fn encode(&self, text: &str) -> Vec<u8> {
        let encoding = match self {
            Charset::Utf8 => return text.as_bytes().to_vec(),
            Charset::Gbk(_) => GBK,
            Charset::Gb18030(_) => GB18030,
            Charset::Big5(_) => BIG5,
            Charset::Undeclared(inner) => return inner.encode(text),
        };
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{text:?} cannot be written in {}", encoding.name());
        bytes.into_owned()
    }

    /// The label written in the charset parameter, if any.
    pub fn label(&self) -> Option<&'static str> {
        match self {
            Charset::Utf8 => Some("UTF-8"),
            Charset::Gbk(l) | Charset::Gb18030(l) | Charset::Big5(l) => Some(l),
            Charset::Undeclared(_) => None,
        }
    }
}

/// A Content-Transfer-Encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    QuotedPrintable,
    Base64,
}

impl TransferEncoding {
    fn name(self) -> &'static str {
        match self {
            TransferEncoding::SevenBit => "7bit",
            TransferEncoding::EightBit => "8bit",
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Base64 => "base64",
        }
    }

    /// The body lines (`\n`-separated) encoded, with CRLF line ends.
    fn encode(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            TransferEncoding::SevenBit | TransferEncoding::EightBit => crlf(bytes),
            TransferEncoding::QuotedPrintable => qp_encode(bytes).into_bytes(),
            TransferEncoding::Base64 => base64_lines(&crlf(bytes)).into_bytes(),
        }
    }
}

/// How an attachment's filename is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilenameStyle {
    /// `filename*=UTF-8''%E6…` (RFC 2231), with continuations when long; `name=` in RFC 2047.
    Rfc2231,
    /// `filename="=?UTF-8?B?…?="`, as Outlook, Foxmail and QQ Mail write it.
    Rfc2047,
    /// Raw UTF-8 in quotes (RFC 6532 style).
    Raw,
}

/// One attachment of a [`MailSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentSpec {
    pub filename: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub style: FilenameStyle,
}

impl AttachmentSpec {
    pub fn new(filename: &str, content_type: &str, bytes: Vec<u8>) -> Self {
        AttachmentSpec {
            filename: Some(filename.to_owned()),
            content_type: content_type.to_owned(),
            bytes,
            style: FilenameStyle::Rfc2231,
        }
    }

    /// A whole mail forwarded as a message/rfc822 attachment.
    pub fn message(raw: Vec<u8>) -> Self {
        AttachmentSpec {
            filename: None,
            content_type: "message/rfc822".to_owned(),
            bytes: raw,
            style: FilenameStyle::Rfc2231,
        }
    }

    pub fn style(mut self, style: FilenameStyle) -> Self {
        self.style = style;
        self
    }

    fn to_part(&self) -> Vec<u8> {
        let mut head = String::new();
        if self.content_type == "message/rfc822" {
            head.push_str("Content-Type: message/rfc822\r\n");
            head.push_str("Content-Disposition: attachment");
            if let Some(name) = &self.filename {
                head.push_str(&filename_params("filename", name, self.style));
            }
            head.push_str("\r\n\r\n");
            let mut part = head.into_bytes();
            part.extend_from_slice(&crlf(&self.bytes));
            return part;
        }
        head.push_str(&format!("Content-Type: {}", self.content_type));
        if let Some(name) = &self.filename {
            let style = match self.style {
                FilenameStyle::Rfc2231 => FilenameStyle::Rfc2047,
                s => s,
            };
            head.push_str(&filename_params("name", name, style));
        }
        head.push_str("\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment");
        if let Some(name) = &self.filename {
            head.push_str(&filename_params("filename", name, self.style));
        }
        head.push_str("\r\n\r\n");
        let mut part = head.into_bytes();
        part.extend_from_slice(base64_lines(&self.bytes).as_bytes());
        part
    }
}

fn filename_params(param: &str, name: &str, style: FilenameStyle) -> String {
    match style {
        _ if name.is_ascii() && !name.contains(['"', '\\']) => format!(";\r\n\t{param}=\"{name}\""),
        FilenameStyle::Raw => format!(";\r\n\t{param}=\"{name}\""),
        FilenameStyle::Rfc2047 => format!(";\r\n\t{param}=\"{}\"", encoded_words(name, "")),
        FilenameStyle::Rfc2231 => {
            let encoded = percent_encode(name);
            // Continuations split between, never inside, %XX escapes.
            let mut chunks: Vec<String> = Vec::new();
            let mut current = String::new();
            let mut rest = encoded.as_str();
            while !rest.is_empty() {
                let take = if rest.starts_with('%') { 3 } else { 1 };
                if current.len() + take > 45 {
                    chunks.push(std::mem::take(&mut current));
                }
                current.push_str(&rest[..take]);
                rest = &rest[take..];
            }
            chunks.push(current);
            if chunks.len() == 1 {
                format!(";\r\n\t{param}*=UTF-8''{}", chunks[0])
            } else {
                let mut out = String::new();
                for (i, chunk) in chunks.iter().enumerate() {
                    let prefix = if i == 0 { "UTF-8''" } else { "" };
                    write!(out, ";\r\n\t{param}*{i}*={prefix}{chunk}").unwrap();
                }
                out
            }
        }
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
            out.push(b as char);
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

/// A mail to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSpec {
    /// Without angle brackets; `None` writes no Message-ID.
    pub message_id: Option<String>,
    /// A header value such as `张三 <zhangsan@example.cn>`; a non-ASCII display name is encoded
    /// (RFC 2047). Empty writes no From.
    pub from: String,
    pub to: String,
    /// Encoded (RFC 2047, UTF-8, base64) if not ASCII.
    pub subject: String,
    /// `None` writes no Date.
    pub date: Option<String>,
    /// Lines separated by `\n`.
    pub body: String,
    pub charset: Charset,
    pub encoding: TransferEncoding,
    /// The body is HTML.
    pub html: bool,
    /// An HTML rendering of the same text: the body becomes multipart/alternative.
    pub alternative_html: Option<String>,
    /// Further header fields, written as given after the standard ones.
    pub extra_headers: Vec<(String, String)>,
    pub attachments: Vec<AttachmentSpec>,
}

impl MailSpec {
    /// A UTF-8, base64 plain-text mail to the consultation, dated [`DEFAULT_DATE`], with a
    /// Message-ID derived from its content.
    pub fn simple(subject: &str, from: &str, body: &str) -> MailSpec {
        let id = fnv(&[subject.as_bytes(), from.as_bytes(), body.as_bytes()]);
        MailSpec {
            message_id: Some(format!("{id:016x}@mailgen.yijian.test")),
            from: from.to_owned(),
            to: CONSULTATION_ADDRESS.to_owned(),
            subject: subject.to_owned(),
            date: Some(DEFAULT_DATE.to_owned()),
            body: body.to_owned(),
            charset: Charset::Utf8,
            encoding: TransferEncoding::Base64,
            html: false,
            alternative_html: None,
            extra_headers: Vec::new(),
            attachments: Vec::new(),
        }
    }

    pub fn charset(mut self, charset: Charset, encoding: TransferEncoding) -> Self {
        self.charset = charset;
        self.encoding = encoding;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.extra_headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn attach(mut self, attachment: AttachmentSpec) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// The raw message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = String::new();
        if let Some(id) = &self.message_id {
            head.push_str(&format!("Message-ID: <{id}>\r\n"));
        }
        if let Some(date) = &self.date {
            head.push_str(&format!("Date: {date}\r\n"));
        }
        if !self.from.is_empty() {
            head.push_str(&format!("From: {}\r\n", encode_address(&self.from)));
        }
        if !self.to.is_empty() {
            head.push_str(&format!("To: {}\r\n", encode_address(&self.to)));
        }
        head.push_str(&format!("Subject: {}\r\n", encode_text(&self.subject)));
        for (name, value) in &self.extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("MIME-Version: 1.0\r\n");

        let text = match &self.alternative_html {
            None => self.text_part(&self.body, self.html),
            Some(html) => multipart(
                "alternative",
                &boundary("alt", &self.body),
                &[self.text_part(&self.body, false), self.text_part(html, true)],
            ),
        };
        let entity = if self.attachments.is_empty() {
            text
        } else {
            let mut parts = vec![text];
            parts.extend(self.attachments.iter().map(AttachmentSpec::to_part));
            multipart("mixed", &boundary("mix", &self.body), &parts)
        };
        let mut raw = head.into_bytes();
        raw.extend_from_slice(&entity);
        raw
    }

    /// A body part: its Content-Type and Content-Transfer-Encoding fields, blank line, body.
    fn text_part(&self, text: &str, html: bool) -> Vec<u8> {
        let subtype = if html { "html" } else { "plain" };
        let mut part = match self.charset.label() {
            Some(label) => format!("Content-Type: text/{subtype}; charset=\"{label}\"\r\n"),
            None => format!("Content-Type: text/{subtype}\r\n"),
        };
        part.push_str(&format!("Content-Transfer-Encoding: {}\r\n\r\n", self.encoding.name()));
        let mut part = part.into_bytes();
        part.extend_from_slice(&self.encoding.encode(&self.charset.encode(text)));
        if !part.ends_with(b"\r\n") {
            part.extend_from_slice(b"\r\n");
        }
        part
    }
}

/// FNV-1a, for identifiers and boundaries that depend on content only.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
    }
    hash
}

fn boundary(kind: &str, seed: &str) -> String {
    format!("----=_Part_{kind}_{:012x}", fnv(&[seed.as_bytes(), kind.as_bytes()]) >> 16)
}

/// A multipart entity: its Content-Type field, blank line, the parts between delimiters.
fn multipart(subtype: &str, boundary: &str, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!(
        "Content-Type: multipart/{subtype};\r\n\tboundary=\"{boundary}\"\r\n\r\nThis is a multi-part message in MIME format.\r\n"
    )
    .into_bytes();
    for part in parts {
        out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        out.extend_from_slice(part.strip_suffix(b"\r\n").unwrap_or(part));
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// `\n` line ends as CRLF (existing CRLF kept).
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = BASE64.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable with soft breaks before column 76.
fn qp_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    for (n, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut width = 0;
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            let unit = if (b == b' ' || b == b'\t') && last {
                format!("={b:02X}")
            } else if (33..=126).contains(&b) && b != b'=' || b == b' ' || b == b'\t' {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if width + unit.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += unit.len();
            out.push_str(&unit);
        }
        if n + 1 < lines.len() {
            out.push_str("\r\n");
        }
    }
    out
}

/// RFC 2047 encoded words (UTF-8, base64) for non-ASCII text, folded between words.
fn encode_text(text: &str) -> String {
    if text.is_ascii() { text.to_owned() } else { encoded_words(text, "\r\n ") }
}

fn encoded_words(text: &str, separator: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(&chunk)));
    }
    words.join(if separator.is_empty() { " " } else { separator })
}

/// `张三 <a@b>` with the display name encoded if it is not ASCII.
fn encode_address(value: &str) -> String {
    match value.rfind('<') {
        Some(lt) if !value[..lt].is_ascii() => {
            let name = value[..lt].trim().trim_matches('"');
            format!("{} {}", encode_text(name), &value[lt..])
        }
        _ => value.to_owned(),
    }
}

/// A Word document with one paragraph for each entry.
pub fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let blocks: Vec<Block> = paragraphs.iter().map(|p| Block::Paragraph((*p).to_owned())).collect();
    write_docx("意见", &blocks).expect("an in-memory .docx always builds")
}

/// A one-page PDF whose text layer holds `lines` (Chinese included): a Type0 font with
/// Identity-H encoding and a ToUnicode CMap, as Word and WPS write Chinese PDFs, and a
/// compressed content stream with one text object per line.
pub fn pdf(lines: &[&str]) -> Vec<u8> {
    // Glyph ids in order of first use, as a subsetting PDF writer assigns them.
    let mut glyphs: Vec<char> = Vec::new();
    let mut content = String::new();
    for (i, line) in lines.iter().enumerate() {
        let mut hex = String::new();
        for c in line.chars() {
            let cid = match glyphs.iter().position(|g| *g == c) {
                Some(p) => p + 1,
                None => {
                    glyphs.push(c);
                    glyphs.len()
                }
            };
            write!(hex, "{cid:04X}").unwrap();
        }
        let y = 800 - 24 * i as i64;
        writeln!(content, "BT /F1 12 Tf 56 {y} Td <{hex}> Tj ET").unwrap();
    }
    let mut compressed = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    compressed.write_all(content.as_bytes()).expect("writing to memory");
    let compressed = compressed.finish().expect("writing to memory");

    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in glyphs.chunks(100).enumerate() {
        let (start, chars) = chunk;
        writeln!(cmap, "{} beginbfchar", chars.len()).unwrap();
        for (j, c) in chars.iter().enumerate() {
            let mut utf16 = [0u16; 2];
            let units: String = c.encode_utf16(&mut utf16).iter().map(|u| format!("{u:04X}")).collect();
            writeln!(cmap, "<{:04X}> <{units}>", start * 100 + j + 1).unwrap();
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");

    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream(&format!("/Length {} /Filter /FlateDecode", compressed.len()), &compressed),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 8 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /DW 1000 >>".to_vec(),
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 4 /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>".to_vec(),
        stream(&format!("/Length {}", cmap.len()), cmap.as_bytes()),
    ];
    let mut out = b"%PDF-1.5\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        writeln!(table, "{offset:010} 00000 n ").unwrap();
    }
    write!(table, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).unwrap();
    out.extend_from_slice(table.as_bytes());
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} >>\nstream\n").into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// How many bytes the zip bombs' document.xml inflates to: more than yijian's 50 MiB limit.
pub const ZIP_BOMB_INFLATED: u64 = 64 * 1024 * 1024;
/// What [`zip_bomb_docx`]'s document.xml claims to inflate to.
pub const ZIP_BOMB_DECLARED: u32 = 4096;

/// A .docx whose document.xml inflates to [`ZIP_BOMB_INFLATED`] bytes (markup without text)
/// but declares only [`ZIP_BOMB_DECLARED`] in the zip headers, as a crafted file would.
pub fn zip_bomb_docx() -> Vec<u8> {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut bytes = zip_bomb_docx_declared().to_vec();
        let name = b"word/document.xml";
        // Rewrite the uncompressed size in the local header and the central directory entry.
        for (signature, size_at, name_at) in [(b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)] {
            let mut at = 0;
            while let Some(found) = find(&bytes[at..], signature) {
                let start = at + found;
                at = start + 4;
                if bytes.get(start + name_at..start + name_at + name.len()) == Some(name) {
                    bytes[start + size_at..start + size_at + 4].copy_from_slice(&ZIP_BOMB_DECLARED.to_le_bytes());
                }
            }
        }
        bytes
    })
    .clone()
}

/// A .docx whose document.xml inflates to [`ZIP_BOMB_INFLATED`] bytes and says so.
pub fn zip_bomb_docx_declared() -> Vec<u8> {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        let head = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>bomb</w:t></w:r></w:p>"#;
        let tail = b"</w:body></w:document>";
        let unit = b"<w:r><w:rPr><w:b/></w:rPr></w:r>";
        let chunk: Vec<u8> = unit.repeat(64 * 1024 / unit.len());
        zip.start_file("[Content_Types].xml", options).expect("zip in memory");
        zip.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#)
            .expect("zip in memory");
        zip.start_file("word/document.xml", options).expect("zip in memory");
        zip.write_all(head).expect("zip in memory");
        let mut written = (head.len() + tail.len()) as u64;
        while written < ZIP_BOMB_INFLATED {
            let n = chunk.len().min((ZIP_BOMB_INFLATED - written) as usize);
            zip.write_all(&chunk[..n]).expect("zip in memory");
            written += n as u64;
        }
        zip.write_all(tail).expect("zip in memory");
        zip.finish().expect("zip in memory").into_inner()
    })
    .clone()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One corpus mail and what reading it must give.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    pub raw: Vec<u8>,
    pub expect: Expect,
}

/// What reading a [`Case`] must give. Fields of a rejected mail other than `rejected` are
/// not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// `Some("malformed" | "no-text")` when the mail must be rejected.
    pub rejected: Option<&'static str>,
    /// The decoded subject, exactly.
    pub subject: String,
    /// The trimmed text, exactly (when given).
    pub text: Option<String>,
    pub text_contains: Vec<String>,
    pub text_excludes: Vec<String>,
    pub full_text_contains: Vec<String>,
    /// The comment text, exactly (when given).
    pub comment_text: Option<String>,
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub author_name: Option<String>,
    pub author_address: Option<String>,
    pub forwarded: bool,
    pub message_id: Option<String>,
    /// RFC 3339 in UTC.
    pub date: Option<String>,
    pub auto_reply_block: Option<&'static str>,
    /// Every attachment, in order.
    pub attachments: Vec<ExpectAttachment>,
}

/// What one attachment must look like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    /// The extracted text, exactly; `None` for none.
    pub text: Option<String>,
    /// A part of the omission reason; `None` when kept.
    pub omitted: Option<String>,
    /// A part of the note; `None` for no note.
    pub note: Option<String>,
}

/// Citizens' opinions on the demo consultation, written for these tests.
pub const OPINIONS: [&str; 8] = [
    "建议第三条明确人工智能培训补贴的申请条件和发放标准，并向中小微企业倾斜。",
    "第五条提到的“人工智能+职业技能”培训，希望增加面向大龄劳动者的课程，避免他们被新技术淘汰。",
    "对第八条有疑问：平台从业人员的社会保险由谁缴纳？建议写清楚平台企业的责任。",
    "同意措施的总体方向。建议在第十二条中加入对算法用工管理的监督条款，保护劳动者的休息权。",
    "第十五条的数据共享应当遵守个人信息保护法，建议增加“最小必要”原则的表述。",
    "希望第二章的就业服务措施能覆盖县域和农村地区，不要只集中在沈阳和大连。",
    "建议对使用人工智能进行招聘筛选的用人单位提出公平性要求，防止年龄和性别歧视。",
    "第十八条的人才评价改革很好，建议把人工智能训练师纳入职称评审范围。",
];

/// The same opinion in traditional characters, for Big5 mails.
pub const OPINION_TRADITIONAL: &str = "建議第三條明確人工智慧培訓補貼的申請條件和發放標準，並向中小微企業傾斜。";

fn subject_about() -> String {
    format!("对《{TITLE}》的意见")
}

fn s(text: &str) -> String {
    text.to_owned()
}

/// An expectation for an ordinary, accepted mail from `from` with subject `subject`.
fn accepted(subject: &str, from_name: Option<&str>, from_address: &str) -> Expect {
    Expect {
        subject: s(subject),
        from_name: from_name.map(s),
        from_address: Some(s(from_address)),
        author_name: from_name.map(s),
        author_address: Some(s(from_address)),
        date: Some(s(DEFAULT_DATE_UTC)),
        ..Expect::default()
    }
}

fn rejected(kind: &'static str) -> Expect {
    Expect { rejected: Some(kind), ..Expect::default() }
}

fn with_id(mut expect: Expect, raw: &[u8]) -> Expect {
    let text = String::from_utf8_lossy(raw);
    expect.message_id =
        text.lines().find_map(|l| l.strip_prefix("Message-ID: <")).map(|l| l.trim_end_matches('>').to_owned());
    expect
}

/// A case for a mail made from a spec: the Message-ID expectation is taken from the mail.
/// Identifiers [`MailSpec::simple`] derived from the content are replaced by ones derived
/// from the case name, so that only the cases meant to share one do.
fn case(name: &'static str, spec: &MailSpec, expect: Expect) -> Case {
    let mut spec = spec.clone();
    if let Some(id) = &spec.message_id
        && id.ends_with("@mailgen.yijian.test")
    {
        spec.message_id = Some(format!("{name}@corpus.mailgen.yijian.test"));
    }
    let raw = spec.to_bytes();
    let expect = with_id(expect, &raw);
    Case { name, raw, expect }
}

/// A case written by hand.
fn raw_case(name: &'static str, raw: &str, expect: Expect) -> Case {
    let raw = crlf(raw.as_bytes());
    let expect = with_id(expect, &raw);
    Case { name, raw, expect }
}

const ZHANG: &str = "张三 <zhangsan@example.cn>";

/// Every encoding and shape of mail the reader must handle.
pub fn corpus() -> Vec<Case> {
    let subject = subject_about();
    let mut cases = Vec::new();
    let plain =
        |text: &str| Expect { text: Some(s(text)), ..accepted(&subject, Some("张三"), "zhangsan@example.cn") };

    // --- Charsets and transfer encodings -------------------------------------------------
    cases.push(case(
        "utf8-8bit",
        &MailSpec::simple(&subject, ZHANG, OPINIONS[0]).charset(Charset::Utf8, TransferEncoding::EightBit),
        plain(OPINIONS[0]),
    ));
    for (name, label, encoding) in [
        ("gbk-x-gbk", "x-gbk", TransferEncoding::Base64),
        ("gbk-cp936", "cp936", TransferEncoding::QuotedPrintable),
        ("gbk-gb_2312-80", "gb_2312-80", TransferEncoding::EightBit),
        ("gbk-eucgb2312_cn", "eucgb2312_cn", TransferEncoding::Base64),
        ("gbk-gb2312", "gb2312", TransferEncoding::Base64),
        ("gbk-gbk", "GBK", TransferEncoding::QuotedPrintable),
    ] {
        cases.push(case(
            name,
            &MailSpec::simple(&subject, ZHANG, OPINIONS[1]).charset(Charset::Gbk(label), encoding),
            plain(OPINIONS[1]),
        ));
    }
    // 𠮷 (U+20BB7) and 㐀 (U+3400) exist only in GB18030's four-byte range.
    let four_byte = "我叫吉𠮷，住在㐀村。建议第六条的就业补贴覆盖到村一级。";
    cases.push(case(
        "gb18030-four-byte",
        &MailSpec::simple(&subject, ZHANG, four_byte).charset(Charset::Gb18030("GB18030"), TransferEncoding::Base64),
        plain(four_byte),
    ));
    for (name, label) in [("big5", "big5"), ("big5-x-big5", "x-big5"), ("big5-cp950", "cp950")] {
        cases.push(case(
            name,
            &MailSpec::simple(&subject, ZHANG, OPINION_TRADITIONAL)
                .charset(Charset::Big5(label), TransferEncoding::Base64),
            plain(OPINION_TRADITIONAL),
        ));
    }
    let long = format!("{}\n\n{}\n{}", OPINIONS[2], OPINIONS[3], "x = 1 + 1 ".repeat(20));
    cases.push(case(
        "utf8-quoted-printable-long-lines",
        &MailSpec::simple(&subject, ZHANG, &long).charset(Charset::Utf8, TransferEncoding::QuotedPrintable),
        plain(long.trim_end()),
    ));
    cases.push(case("utf8-base64", &MailSpec::simple(&subject, ZHANG, OPINIONS[4]), plain(OPINIONS[4])));
    cases.push(case(
        "undeclared-gbk",
        &MailSpec::simple(&subject, ZHANG, OPINIONS[5])
            .charset(Charset::Undeclared(Box::new(Charset::Gbk(""))), TransferEncoding::EightBit),
        plain(OPINIONS[5]),
    ));
    cases.push(case(
        "undeclared-utf8",
        &MailSpec::simple(&subject, ZHANG, OPINIONS[6])
            .charset(Charset::Undeclared(Box::new(Charset::Utf8)), TransferEncoding::EightBit),
        plain(OPINIONS[6]),
    ));
    {
        // An old client: no MIME header fields at all, GBK bytes.
        let mut raw = format!(
            "Message-ID: <no-mime@mailgen.yijian.test>\r\nDate: {DEFAULT_DATE}\r\nFrom: zhangsan@example.cn\r\nSubject: {}\r\n\r\n",
            encode_text(&subject)
        )
        .into_bytes();
        raw.extend_from_slice(&crlf(&GBK.encode(OPINIONS[7]).0));
        raw.extend_from_slice(b"\r\n");
        let expect = Expect { text: Some(s(OPINIONS[7])), ..accepted(&subject, None, "zhangsan@example.cn") };
        cases.push(Case { name: "no-mime-headers-gbk", expect: with_id(expect, &raw), raw });
    }

    // --- HTML ---------------------------------------------------------------------------
    let html = format!(
        "<html><head><meta charset=\"utf-8\"><style>p {{ margin: 0 }}</style></head><body>\
         <p>尊敬的领导：</p><p>{}</p><ul><li>第一，扩大培训&amp;补贴</li><li>第二，加强监督</li></ul>\
         <div>此致<br>敬礼</div><script>alert('x')</script></body></html>",
        OPINIONS[0]
    );
    let mut spec = MailSpec::simple(&subject, ZHANG, &html).charset(Charset::Utf8, TransferEncoding::QuotedPrintable);
    spec.html = true;
    cases.push(case(
        "html-only",
        &spec,
        plain(&format!("尊敬的领导：\n{}\n• 第一，扩大培训&补贴\n• 第二，加强监督\n此致\n敬礼", OPINIONS[0])),
    ));
    let html_gbk = format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body><div>{}</div></body></html>",
        OPINIONS[3]
    );
    let mut spec = MailSpec::simple(&subject, ZHANG, &html_gbk)
        .charset(Charset::Undeclared(Box::new(Charset::Gbk(""))), TransferEncoding::Base64);
    spec.html = true;
    cases.push(case("html-meta-charset-gbk", &spec, plain(OPINIONS[3])));
    let mut spec =
        MailSpec::simple(&subject, ZHANG, OPINIONS[2]).charset(Charset::Gbk("GB2312"), TransferEncoding::Base64);
    spec.alternative_html =
        Some(format!("<div style=\"font-family:宋体\">{}</div><div>（HTML 版本）</div>", OPINIONS[2]));
    cases.push(case("multipart-alternative", &spec, plain(OPINIONS[2])));

    // --- Headers --------------------------------------------------------------------------
    {
        // The subject's UTF-8 bytes split across two encoded words inside 《 (E3 80 8A).
        let subject_bytes = subject.as_bytes();
        let cut = subject.find('《').unwrap_or(0) + 1;
        let raw = format!(
            "Message-ID: <split-b@mailgen.yijian.test>\r\nDate: {DEFAULT_DATE}\r\nFrom: {}\r\nSubject: =?UTF-8?B?{}?=\r\n =?UTF-8?B?{}?=\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{}\r\n",
            encode_address(ZHANG),
            BASE64.encode(&subject_bytes[..cut]),
            BASE64.encode(&subject_bytes[cut..]),
            OPINIONS[0]
        );
        cases.push(raw_case("subject-split-inside-character-b", &raw, plain(OPINIONS[0])));

        // GBK, Q form, split between the two bytes of 见.
        let gbk_subject = format!("《{TITLE}》意见");
        let gbk = GBK.encode(&gbk_subject).0.into_owned();
        let cut = gbk.len() - 3;
        let q = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("={b:02X}")).collect() };
        let raw = format!(
            "Message-ID: <split-q@mailgen.yijian.test>\r\nDate: {DEFAULT_DATE}\r\nFrom: =?gbk?Q?{}?= =?GBK?Q?{}?= <zhangsan@example.cn>\r\nSubject: =?gb2312?Q?{}?=\r\n\t=?GB2312?Q?{}?=\r\nContent-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            q(&GBK.encode("张").0[..1]),
            q(&GBK.encode("张三").0[1..]),
            q(&gbk[..cut]),
            q(&gbk[cut..]),
            base64_lines(&GBK.encode(OPINIONS[1]).0)
        );
        let expect =
            Expect { text: Some(s(OPINIONS[1])), ..accepted(&gbk_subject, Some("张三"), "zhangsan@example.cn") };
        cases.push(raw_case("subject-and-name-split-inside-character-q", &raw, expect));
    }
    for (name, prefix) in [("subject-re", "Re: "), ("subject-huifu", "回复：")] {
        let reply_subject = format!("{prefix}{subject}");
        let spec = MailSpec::simple(&reply_subject, ZHANG, OPINIONS[3]);
        let expect =
            Expect { text: Some(s(OPINIONS[3])), ..accepted(&reply_subject, Some("张三"), "zhangsan@example.cn") };
        cases.push(case(name, &spec, expect));
    }
    {
        let mut spec = MailSpec::simple(&subject, ZHANG, OPINIONS[4]);
        spec.date = Some("13 May 25 14:00 EDT".to_owned());
        spec = spec.header("Reply-To", "\"Zhang San\" <ZS.Home@Example.com>");
        let expect = Expect {
            text: Some(s(OPINIONS[4])),
            date: Some(s("2025-05-13T18:00:00Z")),
            ..accepted(&subject, Some("张三"), "zhangsan@example.cn")
        };
        cases.push(case("obsolete-date-and-reply-to", &spec, expect));
        let mut spec = MailSpec::simple(&subject, ZHANG, OPINIONS[5]);
        spec.date = Some("星期二, 13 5月 2025".to_owned());
        let expect = Expect {
            text: Some(s(OPINIONS[5])),
            date: None,
            ..accepted(&subject, Some("张三"), "zhangsan@example.cn")
        };
        cases.push(case("unparseable-date", &spec, expect));
    }

    // --- Replies and signatures ------------------------------------------------------------
    let original = format!("各位市民：\n现就《{TITLE}》公开征求意见。\n省人力资源社会保障厅");
    let reply_subject = format!("回复：{subject}");
    let reply = |name: &'static str, body: String, keep: &str| {
        let spec = MailSpec::simple(&reply_subject, ZHANG, &body);
        let expect = Expect {
            text: Some(s(keep)),
            text_excludes: vec![s("现就《")],
            full_text_contains: vec![s("现就《")],
            ..accepted(&reply_subject, Some("张三"), "zhangsan@example.cn")
        };
        case(name, &spec, expect)
    };
    cases.push(reply(
        "reply-qq-mail",
        format!(
            "{}\n\n发自我的iPhone\n\n\n------------------ 原始邮件 ------------------\n发件人: \"省人社厅\"<{CONSULTATION_ADDRESS}>;\n发送时间: 2025年5月12日(星期一) 上午9:00\n收件人: \"张三\"<zhangsan@example.cn>;\n主题: 征求意见\n\n{original}",
            OPINIONS[0]
        ),
        OPINIONS[0],
    ));
    cases.push(reply(
        "reply-outlook-chinese",
        format!(
            "{}\n\n________________________________\n发件人: 省人社厅 <{CONSULTATION_ADDRESS}>\n发送时间: 2025年5月12日 9:00\n收件人: 张三 <zhangsan@example.cn>\n主题: 征求意见\n\n{original}",
            OPINIONS[1]
        ),
        OPINIONS[1],
    ));
    cases.push(reply(
        "reply-gmail-english",
        format!(
            "{}\n\nOn Mon, May 12, 2025 at 9:00 AM 省人社厅 <{CONSULTATION_ADDRESS}> wrote:\n{}",
            OPINIONS[2],
            original.lines().map(|l| format!("> {l}\n")).collect::<String>()
        ),
        OPINIONS[2],
    ));
    cases.push(reply(
        "reply-chinese-attribution-and-signature",
        format!(
            "{}\n\n-- \n张三\n沈阳市某某科技有限公司\n\n在 2025年5月12日 09:00，省人社厅 写道：\n{}",
            OPINIONS[3],
            original.lines().map(|l| format!("> {l}\n")).collect::<String>()
        ),
        OPINIONS[3],
    ));
    {
        let body = format!("{}\n\n--\n张三\n电话：024-0000 0000\n\n发自网易邮箱大师", OPINIONS[4]);
        let spec = MailSpec::simple(&subject, ZHANG, &body);
        let expect = Expect {
            text_excludes: vec![s("电话"), s("网易")],
            full_text_contains: vec![s("发自网易邮箱大师")],
            ..plain(OPINIONS[4])
        };
        cases.push(case("signature-and-device-line", &spec, expect));
    }
    {
        let body = format!("{}\r\n\r\n", OPINIONS[5]);
        let flowed = "建议第二章的就业服务措施覆盖县域 \n和农村地区。\n";
        let raw = format!(
            "Message-ID: <flowed@mailgen.yijian.test>\r\nDate: {DEFAULT_DATE}\r\nFrom: zhangsan@example.cn\r\nSubject: flowed\r\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{flowed}{body}"
        );
        let expect = Expect {
            text: Some(format!("建议第二章的就业服务措施覆盖县域和农村地区。\n{}", OPINIONS[5])),
            ..accepted("flowed", None, "zhangsan@example.cn")
        };
        cases.push(raw_case("format-flowed-delsp", &raw, expect));
    }

    // --- Forwarded mail ---------------------------------------------------------------------
    let forwarder = "办公室小李 <xiaoli@office.example.cn>";
    let fwd_expect = |subject: &str, note: Option<&str>, content: &str, author: (&str, &str)| {
        let text = match note {
            Some(n) => format!("{n}\n\n{content}"),
            None => s(content),
        };
        Expect {
            text: Some(text),
            author_name: Some(s(author.0)),
            author_address: Some(s(author.1)),
            forwarded: true,
            ..accepted(subject, Some("办公室小李"), "xiaoli@office.example.cn")
        }
    };
    {
        let fwd_subject = format!("Fwd: {subject}");
        let body = format!(
            "转一位市民的意见。\n\n---------- Forwarded message ---------\nFrom: 王五 <WangWu@example.cn>\nDate: Mon, May 12, 2025 at 8:30 PM\nSubject: {subject}\nTo: <xiaoli@office.example.cn>\n\n{}\n\n-- \n王五\n",
            OPINIONS[6]
        );
        cases.push(case(
            "forward-inline-gmail",
            &MailSpec::simple(&fwd_subject, forwarder, &body),
            fwd_expect(&fwd_subject, Some("转一位市民的意见。"), OPINIONS[6], ("王五", "wangwu@example.cn")),
        ));
        let fwd_subject = format!("转发：{subject}");
        let body = format!(
            "\n-------- 转发邮件信息 --------\n主题：\t{subject}\n日期：\tMon, 12 May 2025 20:30:00 +0800\n发件人：\t赵六 <zhaoliu@example.cn>\n收件人：\t办公室 <xiaoli@office.example.cn>\n\n{}\n",
            OPINIONS[7]
        );
        cases.push(case(
            "forward-inline-thunderbird-chinese",
            &MailSpec::simple(&fwd_subject, forwarder, &body)
                .charset(Charset::Gbk("GB18030"), TransferEncoding::QuotedPrintable),
            fwd_expect(&fwd_subject, None, OPINIONS[7], ("赵六", "zhaoliu@example.cn")),
        ));
        let fwd_subject = format!("转发: {subject}");
        let body = format!(
            "-----原始邮件-----\n发件人: 钱八 [mailto:qianba@example.cn]\n发送时间: 2025年5月12日 20:30\n收件人: 办公室\n主题: {subject}\n\n{}\n",
            OPINIONS[0]
        );
        cases.push(case(
            "forward-inline-outlook-original",
            &MailSpec::simple(&fwd_subject, forwarder, &body),
            fwd_expect(&fwd_subject, None, OPINIONS[0], ("钱八", "qianba@example.cn")),
        ));
    }
    {
        let inner_txt = GBK.encode("附件里的补充意见：建议设立人工智能岗位转岗培训专项资金。").0.into_owned();
        let inner = MailSpec::simple(&subject, "孙七 <sunqi@example.cn>", OPINIONS[1])
            .charset(Charset::Gbk("gbk"), TransferEncoding::Base64)
            .attach(AttachmentSpec::new("补充意见.txt", "text/plain", inner_txt.clone()));
        let fwd_subject = format!("Fw: {subject}");
        let spec = MailSpec::simple(&fwd_subject, forwarder, "请查收市民来信。\n\n发自我的华为手机")
            .attach(AttachmentSpec::message(inner.to_bytes()));
        let mut expect = fwd_expect(&fwd_subject, Some("请查收市民来信。"), OPINIONS[1], ("孙七", "sunqi@example.cn"));
        expect.full_text_contains = vec![s("发件人: 孙七 <sunqi@example.cn>"), s("发自我的华为手机")];
        expect.attachments = vec![ExpectAttachment {
            filename: s("补充意见.txt"),
            content_type: s("text/plain"),
            size: inner_txt.len(),
            text: Some(s("附件里的补充意见：建议设立人工智能岗位转岗培训专项资金。")),
            ..ExpectAttachment::default()
        }];
        cases.push(case("forward-message-rfc822", &spec, expect));
    }

    // --- Attachments ------------------------------------------------------------------------
    let word = docx(&["关于若干措施的意见", "一、第三条建议增加培训补贴。", "二、第八条建议\t明确社保责任。"]);
    let word_text = "关于若干措施的意见\n一、第三条建议增加培训补贴。\n二、第八条建议\t明确社保责任。";
    {
        let spec = MailSpec::simple(&subject, ZHANG, "意见见附件。").attach(AttachmentSpec::new(
            "张三的意见.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            word.clone(),
        ));
        let expect = Expect {
            comment_text: Some(format!("意见见附件。\n\n〔附件：张三的意见.docx〕\n{word_text}")),
            attachments: vec![ExpectAttachment {
                filename: s("张三的意见.docx"),
                content_type: s("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                size: word.len(),
                text: Some(s(word_text)),
                ..ExpectAttachment::default()
            }],
            ..plain("意见见附件。")
        };
        cases.push(case("docx-attachment", &spec, expect));
        // Only a Word file, no body at all, named in RFC 2047 style, typed as octet-stream.
        let spec = MailSpec::simple(&subject, ZHANG, "").attach(
            AttachmentSpec::new("意见.docx", "application/octet-stream", word.clone()).style(FilenameStyle::Rfc2047),
        );
        let expect = Expect {
            comment_text: Some(format!("〔附件：意见.docx〕\n{word_text}")),
            attachments: vec![ExpectAttachment {
                filename: s("意见.docx"),
                content_type: s("application/octet-stream"),
                size: word.len(),
                text: Some(s(word_text)),
                ..ExpectAttachment::default()
            }],
            ..plain("")
        };
        cases.push(case("docx-only-no-body", &spec, expect));
    }
    {
        let lines = ["对《若干措施》的意见", "第十条：建议增加失业保险支持。", "Article 10: more support."];
        let file = pdf(&lines);
        let spec = MailSpec::simple(&subject, ZHANG, "PDF 附件是我的意见。").attach(AttachmentSpec::new(
            "意见书.pdf",
            "application/pdf",
            file.clone(),
        ));
        let expect = Expect {
            attachments: vec![ExpectAttachment {
                filename: s("意见书.pdf"),
                content_type: s("application/pdf"),
                size: file.len(),
                text: Some(lines.join("\n")),
                ..ExpectAttachment::default()
            }],
            ..plain("PDF 附件是我的意见。")
        };
        cases.push(case("pdf-attachment", &spec, expect));
    }
    {
        let txt = GBK.encode(&format!("{}\r\n{}\r\n", OPINIONS[2], OPINIONS[3])).0.into_owned();
        let long_name = "关于辽宁省人力资源社会保障领域支持人工智能发展若干措施的书面意见.txt";
        let spec = MailSpec::simple(&subject, ZHANG, "见附件").attach(AttachmentSpec::new(
            long_name,
            "text/plain",
            txt.clone(),
        ));
        let expect = Expect {
            attachments: vec![ExpectAttachment {
                filename: s(long_name),
                content_type: s("text/plain"),
                size: txt.len(),
                text: Some(format!("{}\n{}", OPINIONS[2], OPINIONS[3])),
                ..ExpectAttachment::default()
            }],
            ..plain("见附件")
        };
        cases.push(case("txt-attachment-gbk-rfc2231-continuations", &spec, expect));
    }
    let jpeg: Vec<u8> = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[0x5A; 12_000], &[0xFF, 0xD9]].concat();
    {
        let spec = MailSpec::simple(&subject, ZHANG, "")
            .attach(AttachmentSpec::new("现场照片.jpg", "image/jpeg", jpeg.clone()).style(FilenameStyle::Raw));
        let expect = Expect {
            comment_text: Some(s("〔附件：现场照片.jpg（image/jpeg，12 KB，未打开）〕")),
            attachments: vec![ExpectAttachment {
                filename: s("现场照片.jpg"),
                content_type: s("image/jpeg"),
                size: jpeg.len(),
                ..ExpectAttachment::default()
            }],
            ..plain("")
        };
        cases.push(case("image-only-kept-not-opened", &spec, expect));
    }
    {
        let big: Vec<u8> = Rng::new(7).bytes(10 * 1024 * 1024 + 1);
        let spec = MailSpec::simple(&subject, ZHANG, OPINIONS[4]).attach(AttachmentSpec::new(
            "材料.rar",
            "application/x-rar-compressed",
            big,
        ));
        let expect = Expect {
            attachments: vec![ExpectAttachment {
                filename: s("材料.rar"),
                content_type: s("application/x-rar-compressed"),
                size: 10 * 1024 * 1024 + 1,
                omitted: Some(s("附件超过大小上限（10 MB）")),
                ..ExpectAttachment::default()
            }],
            ..plain(OPINIONS[4])
        };
        cases.push(case("oversized-attachment", &spec, expect));
    }
    {
        let mut spec = MailSpec::simple(&subject, ZHANG, OPINIONS[5]);
        let mut attachments = Vec::new();
        for i in 1..=22 {
            let png = [&b"\x89PNG\r\n\x1a\n"[..], &[i as u8; 100]].concat();
            spec = spec.attach(AttachmentSpec::new(&format!("图{i}.png"), "image/png", png));
            attachments.push(ExpectAttachment {
                filename: format!("图{i}.png"),
                content_type: s("image/png"),
                size: 108,
                omitted: (i > 20).then(|| s("附件数量超过上限（20 个）")),
                ..ExpectAttachment::default()
            });
        }
        let expect = Expect { attachments, ..plain(OPINIONS[5]) };
        cases.push(case("too-many-attachments", &spec, expect));
    }
    {
        let lying = zip_bomb_docx();
        let honest = zip_bomb_docx_declared();
        let spec = MailSpec::simple(&subject, ZHANG, OPINIONS[6])
            .attach(AttachmentSpec::new("炸弹.docx", "application/octet-stream", lying.clone()))
            .attach(AttachmentSpec::new("大文件.docx", "application/octet-stream", honest.clone()));
        let expect = Expect {
            attachments: vec![
                ExpectAttachment {
                    filename: s("炸弹.docx"),
                    content_type: s("application/octet-stream"),
                    size: lying.len(),
                    note: Some(s("未提取文字")),
                    ..ExpectAttachment::default()
                },
                ExpectAttachment {
                    filename: s("大文件.docx"),
                    content_type: s("application/octet-stream"),
                    size: honest.len(),
                    note: Some(s("Word 文件解压后超过 50 MB，未提取文字")),
                    ..ExpectAttachment::default()
                },
            ],
            ..plain(OPINIONS[6])
        };
        cases.push(case("zip-bomb-docx", &spec, expect));
    }

    // --- Rejected ---------------------------------------------------------------------------
    cases.push(raw_case(
        "malformed-multipart-without-boundary",
        &format!(
            "Message-ID: <bad-mime@mailgen.yijian.test>\nDate: {DEFAULT_DATE}\nFrom: a@example.cn\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--???\n\x01\x02 garbage --\n"
        ),
        rejected("malformed"),
    ));
    cases.push(Case {
        name: "malformed-not-headers",
        raw: b"\x00\x89PNG this is not a mail at all\r\n\r\nbody\r\n".to_vec(),
        expect: rejected("malformed"),
    });
    cases.push(raw_case(
        "no-usable-text",
        &format!(
            "Message-ID: <empty@mailgen.yijian.test>\nDate: {DEFAULT_DATE}\nFrom: a@example.cn\nSubject: {}\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>&nbsp;</p><br></body></html>\n",
            encode_text(&subject)
        ),
        rejected("no-text"),
    ));

    // --- Automatic replies --------------------------------------------------------------------
    let blocked = |name: &'static str, spec: MailSpec, reason: &'static str, from: (Option<&str>, &str)| {
        let expect = Expect {
            text: Some(spec.body.clone()),
            auto_reply_block: Some(reason),
            ..accepted(&spec.subject, from.0, from.1)
        };
        case(name, &spec, expect)
    };
    cases.push(blocked(
        "auto-submitted",
        MailSpec::simple("自动回复：我正在休假", ZHANG, "我正在休假，5月20日返回。")
            .header("Auto-Submitted", "auto-replied"),
        "auto-submitted",
        (Some("张三"), "zhangsan@example.cn"),
    ));
    cases.push(blocked(
        "auto-submitted-no-is-fine",
        MailSpec::simple(&subject, ZHANG, OPINIONS[7]).header("Auto-Submitted", "no"),
        "",
        (Some("张三"), "zhangsan@example.cn"),
    ));
    cases.push(blocked(
        "list-mail",
        MailSpec::simple(&subject, "讨论组 <group@lists.example.cn>", OPINIONS[0])
            .header("List-Id", "<group.lists.example.cn>")
            .header("List-Unsubscribe", "<mailto:leave@lists.example.cn>"),
        "list",
        (Some("讨论组"), "group@lists.example.cn"),
    ));
    cases.push(blocked(
        "precedence-bulk",
        MailSpec::simple("通知", "Newsletter <news@example.cn>", "本周新闻").header("Precedence", "bulk"),
        "precedence",
        (Some("Newsletter"), "news@example.cn"),
    ));
    cases.push(blocked(
        "no-reply-sender",
        MailSpec::simple("您的意见已收到", "系统 <No-Reply@example.gov.cn>", "这是系统邮件。"),
        "no-reply-address",
        (Some("系统"), "no-reply@example.gov.cn"),
    ));
    cases.push(blocked(
        "bounce-with-null-return-path",
        MailSpec::simple("Undelivered Mail", "postmaster-x <bounce-handler@example.cn>", "Delivery failed.")
            .header("Return-Path", "<>"),
        "no-reply-address",
        (Some("postmaster-x"), "bounce-handler@example.cn"),
    ));
    cases.push(blocked(
        "null-return-path",
        MailSpec::simple(&subject, ZHANG, OPINIONS[1]).header("Return-Path", " < > "),
        "null-return-path",
        (Some("张三"), "zhangsan@example.cn"),
    ));
    cases.push(blocked(
        "loop-our-own-reply",
        MailSpec::simple("回复：您的意见已收到", ZHANG, "谢谢。").header("X-Yijian-Auto", "reply"),
        "loop",
        (Some("张三"), "zhangsan@example.cn"),
    ));
    cases.push(blocked(
        "auto-response-suppress",
        MailSpec::simple(&subject, ZHANG, OPINIONS[2]).header("X-Auto-Response-Suppress", "DR, OOF, AutoReply"),
        "auto-response-suppress",
        (Some("张三"), "zhangsan@example.cn"),
    ));
    {
        let mut spec = MailSpec::simple(&subject, "", OPINIONS[3]);
        spec.from.clear();
        let expect = Expect {
            text: Some(s(OPINIONS[3])),
            auto_reply_block: Some("no-from"),
            subject: subject.clone(),
            date: Some(s(DEFAULT_DATE_UTC)),
            ..Expect::default()
        };
        cases.push(case("missing-from", &spec, expect));
    }
    // "" stands for "no block" in `blocked`.
    for c in &mut cases {
        if c.expect.auto_reply_block == Some("") {
            c.expect.auto_reply_block = None;
        }
    }

    // --- Message-IDs ---------------------------------------------------------------------------
    {
        let mut spec = MailSpec::simple(&subject, ZHANG, OPINIONS[4]);
        spec.message_id = None;
        cases.push(case("no-message-id", &spec, plain(OPINIONS[4])));
        for (name, body) in [("duplicate-message-id-a", OPINIONS[5]), ("duplicate-message-id-b", OPINIONS[6])] {
            let mut spec = MailSpec::simple(&subject, ZHANG, body);
            spec.message_id = Some("resent-2025-05-13@example.cn".to_owned());
            cases.push(case(name, &spec, plain(body)));
        }
        let spec = MailSpec::simple(&reply_subject, ZHANG, OPINIONS[7])
            .header("In-Reply-To", "<ack-1@hrss.example.gov.cn>")
            .header("References", "<first@example.cn>\r\n <ack-1@hrss.example.gov.cn>");
        let expect =
            Expect { text: Some(s(OPINIONS[7])), ..accepted(&reply_subject, Some("张三"), "zhangsan@example.cn") };
        cases.push(case("references", &spec, expect));
    }
    cases
}

/// An mboxrd archive of `mails`: a `From ` line before each, lines starting with `From ` (after
/// any number of `>`) escaped with one more `>`, and a blank line after each.
pub fn mbox(mails: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, mail) in mails.into_iter().enumerate() {
        let minute = i % 60;
        out.extend_from_slice(format!("From mailgen@yijian.test Tue May 13 10:{minute:02}:00 2025\n").as_bytes());
        for line in mail.split_inclusive(|b| *b == b'\n') {
            let quotes = line.iter().take_while(|b| **b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !mail.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

/// A tiny xorshift64* generator: the corpus must be the same on every run, and a dependency
/// on `rand` for this would be more than the code it saves.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

const SURNAMES: [&str; 16] =
    ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林"];
const GIVEN: [&str; 16] =
    ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"];
const DOMAINS: [&str; 5] = ["example.cn", "qq.example.com", "163.example.com", "sina.example.cn", "ln.example.gov.cn"];
const GREETINGS: [&str; 4] = ["尊敬的省人力资源社会保障厅：", "您好！", "领导好：", ""];
const CLOSINGS: [&str; 4] = ["此致\n敬礼", "谢谢！", "以上意见供参考。", ""];
const SENTENCES: [&str; 12] = [
    "我是一名在沈阳工作的软件工程师，认真阅读了征求意见稿。",
    "人工智能正在改变很多岗位，培训补贴一定要落到实处。",
    "建议简化补贴申领流程，实现网上办理、一次办好。",
    "希望明确企业使用算法管理劳动者时的告知义务。",
    "对于新就业形态劳动者，职业伤害保障应当尽快全覆盖。",
    "建议把高校毕业生的人工智能实习纳入就业见习补贴范围。",
    "第三条和第九条的表述有重复，建议合并。",
    "希望在县一级设立人工智能技能培训点，方便农村劳动力参加。",
    "人才评价应当重视实际能力，而不只是看学历和论文。",
    "建议每年公布措施落实情况，接受社会监督。",
    "数据共享必须保护个人隐私，不能把社保数据随意交给企业。",
    "对受人工智能影响较大的行业，建议建立失业预警机制。",
];
const SENTENCES_TRADITIONAL: [&str; 3] = [
    "建議簡化補貼申領流程，實現網上辦理。",
    "希望明確企業使用演算法管理勞動者時的告知義務。",
    "人才評價應當重視實際能力，而不只是看學歷。",
];

/// `n` varied, realistic mails about the consultation `subject`, for the import benchmark:
/// mixed charsets and transfer encodings, HTML now and then, 20–800 characters of Chinese,
/// about one in ten with a small .docx or .txt attachment, unique Message-IDs, and Date
/// headers spread over the week from 12 May 2025. The same seed gives the same mails.
pub fn bulk(n: usize, subject: &str, seed: u64) -> impl Iterator<Item = Vec<u8>> {
    let subject = subject.to_owned();
    (0..n).map(move |i| bulk_mail(&subject, seed, i))
}

fn bulk_mail(subject: &str, seed: u64, i: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let traditional = rng.below(20) == 0;
    let target = 20 + rng.below(781);
    let mut body = String::new();
    let greeting = *rng.pick(&GREETINGS);
    if !greeting.is_empty() && !traditional {
        body.push_str(greeting);
        body.push('\n');
    }
    let mut chars = 0;
    while chars < target {
        let sentence = if traditional {
            *rng.pick(&SENTENCES_TRADITIONAL)
        } else if rng.below(3) == 0 {
            *rng.pick(&OPINIONS)
        } else {
            *rng.pick(&SENTENCES)
        };
        body.push_str(sentence);
        chars += sentence.chars().count();
        if rng.below(4) == 0 {
            body.push('\n');
        }
    }
    let closing = *rng.pick(&CLOSINGS);
    if !closing.is_empty() && !traditional {
        body.push('\n');
        body.push_str(closing);
    }
    let name = format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN));
    let from = format!("{name} <user{}@{}>", rng.below(1_000_000), rng.pick(&DOMAINS));
    let subject = match rng.below(10) {
        0 => format!("Re: {subject}"),
        1 => format!("关于《{TITLE}》的建议"),
        _ => subject.to_owned(),
    };
    let mut spec = MailSpec::simple(&subject, &from, &body);
    spec.message_id = Some(format!("bulk-{seed:x}-{i}@mailgen.yijian.test"));
    let week = 7 * 24 * 3600;
    let second = 1_746_979_200 + rng.below(week) as i64; // 2025-05-12T00:00:00+08:00
    spec.date = Some(rfc2822(second));
    let (charset, encoding) = if traditional {
        (Charset::Big5("big5"), TransferEncoding::Base64)
    } else {
        match rng.below(8) {
            0 => (Charset::Utf8, TransferEncoding::QuotedPrintable),
            1 | 2 => (Charset::Utf8, TransferEncoding::Base64),
            3 => (Charset::Utf8, TransferEncoding::EightBit),
            4 => (Charset::Gbk("gbk"), TransferEncoding::Base64),
            5 => (Charset::Gbk("gb2312"), TransferEncoding::QuotedPrintable),
            6 => (Charset::Gb18030("gb18030"), TransferEncoding::Base64),
            _ => (Charset::Undeclared(Box::new(Charset::Gbk(""))), TransferEncoding::EightBit),
        }
    };
    spec = spec.charset(charset, encoding);
    if !traditional && rng.below(10) == 0 {
        spec.html = true;
        spec.body = body.lines().map(|l| format!("<div>{l}</div>")).collect::<Vec<_>>().join("\r\n");
    }
    if rng.below(10) == 0 {
        let paragraphs: Vec<&str> = (0..1 + rng.below(3)).map(|_| *rng.pick(&SENTENCES)).collect();
        spec = if rng.below(2) == 0 {
            spec.attach(AttachmentSpec::new(
                "意见.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                docx(&paragraphs),
            ))
        } else {
            spec.attach(AttachmentSpec::new(
                "意见.txt",
                "text/plain",
                GBK.encode(&paragraphs.join("\r\n")).0.into_owned(),
            ))
        };
    }
    spec.to_bytes()
}

/// A timestamp as an RFC 2822 date in China Standard Time.
fn rfc2822(second: i64) -> String {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
    jiff::Timestamp::from_second(second)
        .map(|ts| ts.to_zoned(zone))
        .ok()
        .and_then(|z| jiff::fmt::rfc2822::to_string(&z).ok())
        .unwrap_or_else(|| DEFAULT_DATE.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_names_are_unique_and_mails_end_with_crlf() {
        let cases = corpus();
        let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        let mut ids: Vec<&str> = cases.iter().filter_map(|c| c.expect.message_id.as_deref()).collect();
        ids.sort_unstable();
        let with_id = ids.len();
        ids.dedup();
        // One pair shares an identifier on purpose (a mail sent twice).
        assert_eq!(ids.len(), with_id - 1);
        assert!(with_id >= cases.len() - 4, "{with_id}");
        assert!(cases.len() >= 50, "{}", cases.len());
        for case in &cases {
            assert!(case.raw.ends_with(b"\n"), "{}", case.name);
        }
    }

    #[test]
    fn quoted_printable_lines_stay_short_and_encode_specials() {
        let encoded = qp_encode("意见=1 \nx".repeat(20).as_bytes());
        assert!(encoded.lines().all(|l| l.len() <= 76), "{encoded}");
        assert!(encoded.starts_with("=E6=84=8F=E8=A7=81=3D1=20\r\n"));
    }

    #[test]
    fn bulk_is_deterministic_and_ids_unique() {
        let a: Vec<Vec<u8>> = bulk(50, "s", 1).collect();
        let b: Vec<Vec<u8>> = bulk(50, "s", 1).collect();
        assert_eq!(a, b);
        let ids: std::collections::HashSet<String> = a
            .iter()
            .filter_map(|m| {
                String::from_utf8_lossy(m).lines().find(|l| l.starts_with("Message-ID:")).map(str::to_owned)
            })
            .collect();
        assert_eq!(ids.len(), 50);
        assert_ne!(a, bulk(50, "s", 2).collect::<Vec<_>>());
    }

    #[test]
    fn mbox_escapes_from_lines() {
        let mbox = mbox([b"Subject: x\n\nFrom here\n>From there\n".to_vec()]);
        assert_eq!(
            mbox,
            b"From mailgen@yijian.test Tue May 13 10:00:00 2025\nSubject: x\n\n>From here\n>>From there\n\n"
        );
    }

    #[test]
    fn lying_zip_bomb_declares_a_small_size() {
        let bomb = zip_bomb_docx();
        let mut archive = zip::ZipArchive::new(Cursor::new(bomb.as_slice())).unwrap();
        let file = archive.by_name("word/document.xml").unwrap();
        assert_eq!(file.size(), u64::from(ZIP_BOMB_DECLARED));
        assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    }
}
