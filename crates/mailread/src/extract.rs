//! Text from the files citizens attach: Word (.docx), PDF (its text layer) and plain text.
//!
//! Every function bounds its output to `max_chars` characters, and the .docx reader bounds the
//! bytes it inflates, counting what the zip stream actually yields rather than what the
//! archive declares. Parsing hostile files must never take the process down, so the .docx and
//! PDF readers run under `catch_unwind`: a panic in a dependency becomes a refusal with a
//! reason. Reasons are in Chinese, for the staff who review the comment.

use std::io::{self, BufReader, Cursor, Read};
use std::panic::catch_unwind;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Where Word keeps the body when the package relationships do not say otherwise.
const DEFAULT_MAIN_PART: &str = "word/document.xml";
/// The most a single object or cross-reference stream may inflate to while a PDF is loaded.
const PDF_MAX_STREAM: usize = 16 * 1024 * 1024;
/// The most one PDF may inflate for its text in all: page contents and the fonts' character
/// maps, a stream used by many pages counted each time it is read. A bound per stream was not
/// enough: a file repeating one bomb stream on every page inflated for minutes.
pub const PDF_MAX_INFLATED: usize = 64 * 1024 * 1024;
/// Pages beyond this are not read: the character budget is spent long before on real files.
const PDF_MAX_PAGES: u32 = 2_000;

fn mib(bytes: u64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb.fract() == 0.0 { format!("{mb:.0} MB") } else { format!("{mb:.1} MB") }
}

/// The text of a .docx: paragraphs separated by `\n`, `w:tab` as `\t`, `w:br` as `\n`.
///
/// At most `max_unpacked` bytes are inflated from the archive in all; a file that would need
/// more (a zip bomb, or just a huge document) is refused, and so is one whose body inflates to
/// more than it declares.
pub fn docx_text(bytes: &[u8], max_unpacked: u64, max_chars: usize) -> Result<String, String> {
    catch_unwind(|| docx_inner(bytes, max_unpacked, max_chars))
        .unwrap_or_else(|_| Err("Word 文件无法读取（解析时出错），未提取文字".to_owned()))
}

fn too_big(max_unpacked: u64) -> String {
    format!("Word 文件解压后超过 {}，未提取文字", mib(max_unpacked))
}

fn docx_inner(bytes: &[u8], max_unpacked: u64, max_chars: usize) -> Result<String, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| "Word 文件不是有效的 .docx（zip）文件，未提取文字".to_owned())?;
    let mut budget = max_unpacked;
    let main = main_part(&mut archive, &mut budget).unwrap_or_else(|| DEFAULT_MAIN_PART.into());
    let file = archive.by_name(&main).map_err(|_| "Word 文件中没有正文（word/document.xml），未提取文字".to_owned())?;
    if file.size() > budget {
        return Err(too_big(max_unpacked));
    }
    let mut reader = Reader::from_reader(BufReader::new(Limited::new(file, budget)));
    reader.config_mut().check_end_names = false;
    let mut text = String::new();
    let mut chars = 0usize;
    let mut buf = Vec::new();
    let mut in_text = false;
    let mut in_run = 0usize;
    // mc:Fallback repeats the content of the mc:Choice before it (text boxes, for older Word).
    let mut in_fallback = 0usize;
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(_) => {
                let limited = reader.get_ref().get_ref();
                if limited.exceeded {
                    return Err(too_big(max_unpacked));
                }
                if let Some(error) = &limited.io_error {
                    // zip checks the inflated size against the size the archive declares.
                    return Err(if error.contains("declared") {
                        "Word 文件解压后比它声明的大（疑似压缩炸弹），未提取文字".to_owned()
                    } else {
                        "Word 文件已损坏（解压出错），未提取文字".to_owned()
                    });
                }
                // Malformed XML: keep what was read so far.
                break;
            }
        };
        match event {
            Event::Start(e) => match e.name().as_ref() {
                b"w:t" => in_text = true,
                b"w:r" => in_run += 1,
                b"mc:Fallback" => in_fallback += 1,
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                b"w:t" => in_text = false,
                b"w:r" => in_run = in_run.saturating_sub(1),
                b"mc:Fallback" => in_fallback = in_fallback.saturating_sub(1),
                b"w:p" if in_fallback == 0 => push(&mut text, &mut chars, "\n"),
                _ => {}
            },
            Event::Empty(e) if in_fallback == 0 => match e.name().as_ref() {
                // Outside a run, w:tab is a tab stop definition, not a character.
                b"w:tab" if in_run > 0 => push(&mut text, &mut chars, "\t"),
                b"w:br" | b"w:cr" if in_run > 0 => push(&mut text, &mut chars, "\n"),
                b"w:p" => push(&mut text, &mut chars, "\n"),
                _ => {}
            },
            Event::Text(e) if in_text && in_fallback == 0 => {
                if let Ok(t) = e.xml10_content() {
                    push(&mut text, &mut chars, &t);
                }
            }
            Event::CData(e) if in_text && in_fallback == 0 => {
                if let Ok(t) = e.decode() {
                    push(&mut text, &mut chars, &t);
                }
            }
            Event::GeneralRef(e) if in_text && in_fallback == 0 => {
                if let Ok(Some(c)) = e.resolve_char_ref() {
                    push(&mut text, &mut chars, c.encode_utf8(&mut [0; 4]));
                } else if let Ok(name) = e.decode()
                    && let Some(s) = quick_xml::escape::resolve_xml_entity(&name)
                {
                    push(&mut text, &mut chars, s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if chars >= max_chars {
            break;
        }
        buf.clear();
    }
    truncate_chars(&mut text, max_chars);
    Ok(tidy(&text))
}

/// The main document part named by the package relationships (`_rels/.rels`), if that is
/// not the usual name and the archive has it.
fn main_part(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, budget: &mut u64) -> Option<String> {
    let rels = archive.by_name("_rels/.rels").ok()?;
    if rels.size() > 64 * 1024 || rels.size() > *budget {
        return None;
    }
    let mut xml = Vec::new();
    rels.take(64 * 1024 + 1).read_to_end(&mut xml).ok()?;
    *budget = budget.saturating_sub(xml.len() as u64);
    let mut reader = Reader::from_reader(xml.as_slice());
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Empty(e) | Event::Start(e) if e.local_name().as_ref() == b"Relationship" => {
                let mut target = None;
                let mut is_main = false;
                for attr in e.attributes().flatten() {
                    let value = String::from_utf8_lossy(&attr.value).into_owned();
                    match attr.key.as_ref() {
                        b"Type" => is_main = value.ends_with("/officeDocument"),
                        b"Target" => target = Some(value),
                        _ => {}
                    }
                }
                if is_main && let Some(target) = target {
                    let target = target.trim_start_matches('/').to_owned();
                    if !target.is_empty() && target != DEFAULT_MAIN_PART {
                        return archive.by_name(&target).is_ok().then_some(target);
                    }
                    return None;
                }
            }
            Event::Eof => return None,
            _ => {}
        }
        buf.clear();
    }
}

/// Counts the bytes actually inflated and fails once there are more than allowed.
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: bool,
    io_error: Option<String>,
}

impl<R> Limited<R> {
    fn new(inner: R, left: u64) -> Self {
        Limited { inner, left, exceeded: false, io_error: None }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.left.saturating_add(1)) as usize;
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                self.io_error = Some(e.to_string());
                return Err(e);
            }
        };
        if n as u64 > self.left {
            self.exceeded = true;
            return Err(io::Error::other("inflated past the limit"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn push(text: &mut String, chars: &mut usize, s: &str) {
    text.push_str(s);
    *chars += s.chars().count();
}

/// Cuts `text` to at most `max` characters.
pub(crate) fn truncate_chars(text: &mut String, max: usize) {
    if let Some((i, _)) = text.char_indices().nth(max) {
        text.truncate(i);
    }
}

/// Line ends normalised, control characters other than tab and newline dropped, trailing
/// whitespace of lines and blank lines at either end removed.
fn tidy(text: &str) -> String {
    let text = crate::parse::clean_text(text);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim_matches('\n').to_owned()
}

/// The text layer of a PDF, page by page.
///
/// Fails (with a reason) for encrypted files that need a password, files that cannot be
/// parsed, and files with no text layer (scans). Reading stops once the pages read so far
/// have inflated [`PDF_MAX_INFLATED`] bytes.
pub fn pdf_text(bytes: &[u8], max_chars: usize) -> Result<String, String> {
    pdf_text_within(bytes, max_chars, PDF_MAX_INFLATED).0
}

/// [`pdf_text`] with its inflation budget given, and the bytes it charged against it (each
/// stream is inflated once to be measured and once to be read, so what is inflated in all
/// stays below twice the budget).
pub fn pdf_text_within(bytes: &[u8], max_chars: usize, budget: usize) -> (Result<String, String>, usize) {
    let mut charged = 0;
    let result = catch_unwind(std::panic::AssertUnwindSafe(|| pdf_inner(bytes, max_chars, budget, &mut charged)))
        .unwrap_or_else(|_| Err("PDF 文件无法读取（解析时出错），未提取文字".to_owned()));
    (result, charged)
}

/// What reading one page would inflate: its content streams and the character maps of its
/// fonts, each measured once (inflated within what is left of the budget) and remembered.
/// `None` when that does not fit in `left`.
fn pdf_page_cost(
    doc: &lopdf::Document,
    page_id: lopdf::ObjectId,
    sizes: &mut std::collections::HashMap<lopdf::ObjectId, usize>,
    left: usize,
) -> Option<(usize, usize)> {
    let mut measure = |id: lopdf::ObjectId, left: usize| -> Option<usize> {
        if let Some(size) = sizes.get(&id) {
            return Some(*size);
        }
        let Ok(stream) = doc.get_object(id).and_then(lopdf::Object::as_stream) else { return Some(0) };
        let size = match stream.decompressed_content_with_limit(left) {
            Ok(data) => data.len(),
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => return None,
            // lopdf reads an undecodable stream as its raw bytes.
            Err(_) => stream.content.len(),
        };
        sizes.insert(id, size);
        Some(size)
    };
    let mut content = 0usize;
    for id in doc.get_page_contents(page_id) {
        content = content.checked_add(measure(id, left.checked_sub(content)?)?)?;
    }
    let mut total = content;
    let mut largest = content;
    for font in doc.get_page_fonts(page_id).map(|f| f.into_values().collect::<Vec<_>>()).unwrap_or_default() {
        for key in [&b"ToUnicode"[..], b"Encoding"] {
            if let Ok(lopdf::Object::Reference(id)) = font.get(key) {
                let size = measure(*id, left.checked_sub(total)?)?;
                total = total.checked_add(size)?;
                largest = largest.max(size);
            }
        }
    }
    (total <= left).then_some((total, largest))
}

fn pdf_inner(bytes: &[u8], max_chars: usize, budget: usize, charged: &mut usize) -> Result<String, String> {
    let options = lopdf::LoadOptions { max_decompressed_size: Some(PDF_MAX_STREAM), ..Default::default() };
    let doc = lopdf::Document::load_mem_with_options(bytes, options).map_err(|e| match e {
        lopdf::Error::InvalidPassword | lopdf::Error::Decryption(_) => "PDF 文件已加密，未提取文字".to_owned(),
        _ => "PDF 文件无法解析，未提取文字".to_owned(),
    })?;
    let mut text = String::new();
    let mut chars = 0;
    let mut sizes = std::collections::HashMap::new();
    let mut over_budget = false;
    for (&number, &page_id) in doc.get_pages().iter().take(PDF_MAX_PAGES as usize) {
        let Some((cost, largest)) = pdf_page_cost(&doc, page_id, &mut sizes, budget - *charged) else {
            over_budget = true;
            break;
        };
        *charged += cost;
        // A page whose text cannot be read does not spoil the others. Every stream it reads
        // was measured above, so the limit only stops what was not.
        if let Ok(page) = doc.extract_text_with_limit(&[number], largest.max(1)) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            chars += page.chars().count();
            text.push_str(&page);
        }
        if chars > max_chars {
            break;
        }
    }
    let mut text = tidy(&text);
    if text.trim().is_empty() {
        if over_budget {
            return Err(format!("PDF 文件解压后超过 {}（疑似压缩炸弹），未提取文字", mib(budget as u64)));
        }
        return Err("PDF 无文字层（可能是扫描件），未提取文字".to_owned());
    }
    truncate_chars(&mut text, max_chars);
    Ok(text)
}

/// The text of a plain-text file, its charset sniffed: a byte-order mark, else UTF-8 if
/// valid, else what chardetng finds most likely for Chinese text (GBK, GB18030, Big5…).
pub fn txt_text(bytes: &[u8], max_chars: usize) -> String {
    // Not cut to the budget before decoding: a cut inside a character would make UTF-8 look
    // invalid and send it to the sniffer. Attachments are bounded in size anyway.
    let mut text = tidy(&crate::parse::charset::decode_unlabelled(bytes));
    truncate_chars(&mut text, max_chars);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const DOC_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>"#;

    #[test]
    fn docx_paragraphs_tabs_breaks_and_entities() {
        let xml = format!(
            "{DOC_START}<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>\
             <w:r><w:t>第一条</w:t></w:r><w:r><w:tab/><w:t xml:space=\"preserve\">建议 &amp; 意见</w:t></w:r></w:p>\
             <w:p><w:r><w:t>甲</w:t><w:br/><w:t>乙&#x4E19;</w:t></w:r><w:r><w:delText>删掉的</w:delText></w:r></w:p>\
             <w:p><mc:AlternateContent><mc:Choice><w:r><w:t>文本框</w:t></w:r></mc:Choice>\
             <mc:Fallback><w:r><w:t>文本框</w:t></w:r></mc:Fallback></mc:AlternateContent></w:p>\
             </w:body></w:document>"
        );
        let docx = zip_with(&[("word/document.xml", xml.as_bytes())]);
        assert_eq!(docx_text(&docx, 1 << 20, 1000).unwrap(), "第一条\t建议 & 意见\n甲\n乙丙\n文本框");
        assert_eq!(docx_text(&docx, 1 << 20, 3).unwrap(), "第一条");
    }

    #[test]
    fn docx_main_part_from_relationships() {
        let rels = br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document2.xml"/></Relationships>"#;
        let xml = format!("{DOC_START}<w:p><w:r><w:t>另一个正文</w:t></w:r></w:p></w:body></w:document>");
        let docx = zip_with(&[("_rels/.rels", rels), ("word/document2.xml", xml.as_bytes())]);
        assert_eq!(docx_text(&docx, 1 << 20, 100).unwrap(), "另一个正文");
    }

    #[test]
    fn docx_refusals_have_reasons() {
        assert!(docx_text(b"not a zip", 1 << 20, 100).unwrap_err().contains("zip"));
        let other = zip_with(&[("readme.txt", b"x")]);
        assert!(docx_text(&other, 1 << 20, 100).unwrap_err().contains("没有正文"));
        let big = format!(
            "{DOC_START}{}</w:body></w:document>",
            "<w:p><w:r><w:rPr><w:b/></w:rPr></w:r></w:p>".repeat(10_000)
        );
        let docx = zip_with(&[("word/document.xml", big.as_bytes())]);
        assert_eq!(docx_text(&docx, 100 * 1024, 100).unwrap_err(), "Word 文件解压后超过 0.1 MB，未提取文字");
    }

    #[test]
    fn txt_in_chinese_charsets() {
        let text = "对第三条的意见：建议把培训补贴的申请时限延长到六个月。";
        let gbk = encoding_rs::GB18030.encode(text).0;
        assert_eq!(txt_text(&gbk, 1000), text);
        let big5_text = "對第三條的意見：建議把培訓補貼的申請時限延長到六個月。";
        let big5 = encoding_rs::BIG5.encode(big5_text).0;
        assert_eq!(txt_text(&big5, 1000), big5_text);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice("同意\r\n第二行\r\n".as_bytes());
        assert_eq!(txt_text(&bom, 1000), "同意\n第二行");
        assert_eq!(txt_text(text.as_bytes(), 3), "对第三");
    }

    #[test]
    fn pdf_garbage_is_refused_without_panicking() {
        assert!(pdf_text(b"%PDF-1.4\n garbage", 100).is_err());
        assert!(pdf_text(b"", 100).is_err());
    }
}
