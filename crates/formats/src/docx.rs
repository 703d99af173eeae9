//! The adoption report (采纳情况) as a Word document.
//!
//! Staff rarely publish the generated report untouched: they reword, add a cover letter, print
//! it for sign-off. So the output is a plain, editable WordprocessingML file that Word, WPS and
//! LibreOffice all open, laid out the way Chinese government documents usually are: A4 with
//! Word's normal Chinese margins, 宋体 for body text, 黑体 for headings, excerpts of comments in
//! 楷体, and real styles (Title, Heading 1–3, Quote) so the navigation pane and restyling work.
//!
//! The XML is written by hand. `docx-rs` would do it too, but it pulls in a second major version
//! of `zip` next to the one `rust_xlsxwriter` uses, and the report needs only paragraphs and
//! simple tables: a few fixed parts are less to carry than that dependency.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::ExportError;
use crate::xml::{escaped, push_escaped};

/// A piece of the report, in reading order.
///
/// Text may contain line breaks: in a title or heading they become line breaks inside it; in a
/// paragraph, excerpt or table cell each non-empty line becomes its own paragraph (blank lines
/// are dropped, since paragraph spacing already separates them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Block {
    /// The document title, centred at the top.
    Title(String),
    /// A heading of level 1 to 3; other levels are clamped into that range.
    Heading(u8, String),
    /// Body text, first line indented two characters.
    Paragraph(String),
    /// An excerpt of a comment, set off from the staff's own words.
    Quote(String),
    /// A bordered table whose header row repeats on every page. Rows shorter than the widest row
    /// are padded with empty cells; a table with no cells at all is left out.
    Table {
        /// Column headings; may be empty for a table without a header row.
        header: Vec<String>,
        /// The body rows.
        rows: Vec<Vec<String>>,
    },
}

/// Writes a complete `.docx` file and returns its bytes.
///
/// `title` goes into the document properties (what Word shows in the title bar and file
/// details); put a [`Block::Title`] in `blocks` to show it on the page too. The output is the
/// same for the same input, so reports can be compared byte for byte.
pub fn write_docx(title: &str, blocks: &[Block]) -> Result<Vec<u8>, ExportError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    // A fixed timestamp keeps the output reproducible whatever features other crates turn on.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let parts = [
        ("[Content_Types].xml", CONTENT_TYPES.to_owned()),
        ("_rels/.rels", ROOT_RELS.to_owned()),
        ("docProps/core.xml", core_properties(title)),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.to_owned()),
        ("word/document.xml", document(blocks)),
        ("word/styles.xml", STYLES.to_owned()),
        ("word/settings.xml", SETTINGS.to_owned()),
        ("word/fontTable.xml", FONT_TABLE.to_owned()),
    ];
    for (name, xml) in parts {
        zip.start_file(name, options)?;
        zip.write_all(xml.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/word/fontTable.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable" Target="fontTable.xml"/></Relationships>"#;

/// Chinese Word's defaults: tab stops every two characters, compressed punctuation, and East
/// Asian theme language zh-CN so Word picks Chinese fonts and line breaking rules.
const SETTINGS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat><w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/></w:settings>"#;

/// Names the Chinese fonts both ways: Word and WPS on Chinese Windows know them as 宋体/黑体/楷体,
/// other systems by their English names, which `altName` supplies.
const FONT_TABLE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:font w:name="宋体"><w:altName w:val="SimSun"/><w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font><w:font w:name="黑体"><w:altName w:val="SimHei"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font><w:font w:name="楷体"><w:altName w:val="KaiTi"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font><w:font w:name="Times New Roman"><w:charset w:val="00"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font><w:font w:name="Arial"><w:charset w:val="00"/><w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font></w:fonts>"#;

/// Sizes follow the Chinese point names: title 二号 (22 pt), headings 三号/四号/小四, body 小四
/// (12 pt). Built-in style ids and names (`Heading1` / "heading 1") so Word, WPS and LibreOffice
/// treat them as their own headings.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="宋体" w:cs="Times New Roman"/><w:kern w:val="2"/><w:sz w:val="24"/><w:szCs w:val="24"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:line="360" w:lineRule="auto"/><w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style><w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="10"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="240" w:after="360"/><w:jc w:val="center"/></w:pPr><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:eastAsia="黑体"/><w:sz w:val="44"/><w:szCs w:val="44"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="BodyText"/><w:uiPriority w:val="9"/><w:qFormat/><w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="120"/><w:jc w:val="left"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:eastAsia="黑体"/><w:sz w:val="32"/><w:szCs w:val="32"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="BodyText"/><w:uiPriority w:val="9"/><w:unhideWhenUsed/><w:qFormat/><w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="200" w:after="100"/><w:jc w:val="left"/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:eastAsia="黑体"/><w:sz w:val="28"/><w:szCs w:val="28"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="heading 3"/><w:basedOn w:val="Normal"/><w:next w:val="BodyText"/><w:uiPriority w:val="9"/><w:unhideWhenUsed/><w:qFormat/><w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="160" w:after="80"/><w:jc w:val="left"/><w:outlineLvl w:val="2"/></w:pPr><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:eastAsia="黑体"/><w:sz w:val="24"/><w:szCs w:val="24"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="BodyText"><w:name w:val="Body Text"/><w:basedOn w:val="Normal"/><w:qFormat/><w:pPr><w:ind w:firstLineChars="200" w:firstLine="480"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="Quote"><w:name w:val="Quote"/><w:basedOn w:val="Normal"/><w:next w:val="BodyText"/><w:uiPriority w:val="29"/><w:qFormat/><w:pPr><w:pBdr><w:left w:val="single" w:sz="18" w:space="8" w:color="A6A6A6"/></w:pBdr><w:spacing w:before="60" w:after="60"/><w:ind w:left="600" w:right="480"/></w:pPr><w:rPr><w:rFonts w:eastAsia="楷体"/><w:color w:val="404040"/></w:rPr></w:style><w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style><w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/><w:basedOn w:val="TableNormal"/><w:uiPriority w:val="59"/><w:pPr><w:spacing w:line="240" w:lineRule="auto"/><w:jc w:val="left"/></w:pPr><w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:left w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:bottom w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:right w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:insideH w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:insideV w:val="single" w:sz="4" w:space="0" w:color="auto"/></w:tblBorders></w:tblPr></w:style></w:styles>"#;

/// A4 portrait with Chinese Word's "normal" margins: 2.54 cm top and bottom, 3.18 cm sides.
const SECTION: &str = r#"<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1800" w:bottom="1440" w:left="1800" w:header="851" w:footer="992" w:gutter="0"/><w:cols w:space="425"/><w:docGrid w:type="lines" w:linePitch="312"/></w:sectPr>"#;

/// The width between the margins, in twentieths of a point, shared out among table columns.
const TEXT_WIDTH: usize = 11_906 - 2 * 1_800;

fn core_properties(title: &str) -> String {
    let title: String = title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    format!(
        r#"{XML_DECLARATION}
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dc:language>zh-CN</dc:language></cp:coreProperties>"#,
        escaped(title.trim())
    )
}

fn document(blocks: &[Block]) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str(XML_DECLARATION);
    out.push_str(r#"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#);
    for block in blocks {
        match block {
            Block::Title(text) => paragraph_with_breaks(&mut out, "Title", text),
            Block::Heading(level, text) => {
                let style = match level {
                    0 | 1 => "Heading1",
                    2 => "Heading2",
                    _ => "Heading3",
                };
                paragraph_with_breaks(&mut out, style, text);
            }
            Block::Paragraph(text) => paragraphs(&mut out, "BodyText", text, false),
            Block::Quote(text) => paragraphs(&mut out, "Quote", text, false),
            Block::Table { header, rows } => table(&mut out, header, rows),
        }
    }
    out.push_str(SECTION);
    out.push_str("</w:body></w:document>");
    out
}

/// Splits text into lines, accepting `\r\n`, `\n` and lone `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).flat_map(|line| line.split('\r'))
}

/// One paragraph, its lines joined by line breaks: a heading stays one heading.
fn paragraph_with_breaks(out: &mut String, style: &str, text: &str) {
    out.push_str(r#"<w:p><w:pPr><w:pStyle w:val=""#);
    out.push_str(style);
    out.push_str(r#""/></w:pPr><w:r>"#);
    for (i, line) in lines(text).enumerate() {
        if i > 0 {
            out.push_str("<w:br/>");
        }
        push_run_text(out, line);
    }
    out.push_str("</w:r></w:p>");
}

/// One paragraph per non-empty line; with `bold`, as in a table header. Writes at least one
/// (possibly empty) paragraph, since a table cell must hold one.
fn paragraphs(out: &mut String, style: &str, text: &str, bold: bool) {
    let mut wrote = false;
    for line in lines(text).filter(|line| !line.trim().is_empty()) {
        paragraph(out, style, line, bold);
        wrote = true;
    }
    if !wrote && style == "Normal" {
        out.push_str("<w:p/>");
    }
}

fn paragraph(out: &mut String, style: &str, line: &str, bold: bool) {
    out.push_str("<w:p>");
    if style != "Normal" {
        out.push_str(r#"<w:pPr><w:pStyle w:val=""#);
        out.push_str(style);
        out.push_str(r#""/></w:pPr>"#);
    }
    out.push_str("<w:r>");
    if bold {
        out.push_str("<w:rPr><w:b/><w:bCs/></w:rPr>");
    }
    push_run_text(out, line);
    out.push_str("</w:r></w:p>");
}

/// The text of one line inside a run; tabs become Word tab characters.
fn push_run_text(out: &mut String, line: &str) {
    for (i, piece) in line.split('\t').enumerate() {
        if i > 0 {
            out.push_str("<w:tab/>");
        }
        if !piece.is_empty() {
            out.push_str(r#"<w:t xml:space="preserve">"#);
            push_escaped(out, piece);
            out.push_str("</w:t>");
        }
    }
}

fn table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).chain([header.len()]).max().unwrap_or(0);
    if columns == 0 {
        return;
    }
    let width = TEXT_WIDTH / columns;
    out.push_str(r#"<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="5000" w:type="pct"/>"#);
    // Borders are repeated here, not left to the style, because some WPS versions ignore table
    // styles they do not know.
    out.push_str(r#"<w:tblBorders><w:top w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:left w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:bottom w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:right w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:insideH w:val="single" w:sz="4" w:space="0" w:color="auto"/><w:insideV w:val="single" w:sz="4" w:space="0" w:color="auto"/></w:tblBorders>"#);
    out.push_str(r#"<w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>"#);
    for _ in 0..columns {
        out.push_str(&format!(r#"<w:gridCol w:w="{width}"/>"#));
    }
    out.push_str("</w:tblGrid>");
    if !header.is_empty() {
        table_row(out, header, columns, width, true);
    }
    for row in rows {
        table_row(out, row, columns, width, false);
    }
    out.push_str("</w:tbl>");
    // Keeps two tables in a row from merging, and Word wants a paragraph after a final table.
    out.push_str("<w:p/>");
}

fn table_row(out: &mut String, cells: &[String], columns: usize, width: usize, header: bool) {
    out.push_str("<w:tr>");
    if header {
        // The header repeats at the top of each page and is not split across pages.
        out.push_str("<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>");
    }
    for i in 0..columns {
        out.push_str(&format!(r#"<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>"#));
        if header {
            out.push_str(r#"<w:shd w:val="clear" w:color="auto" w:fill="E7E6E6"/>"#);
        }
        out.push_str("</w:tcPr>");
        paragraphs(out, "Normal", cells.get(i).map_or("", String::as_str), header);
        out.push_str("</w:tc>");
    }
    out.push_str("</w:tr>");
}
