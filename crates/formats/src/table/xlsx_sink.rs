//! XLSX for staff who filter, sort and count in Excel or WPS.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet};

use super::{ArticleCount, Cell, Column, neutralise, spreadsheet_text};
use crate::ExportError;

/// Excel's limit for one cell, in UTF-16 code units (what Excel and rust_xlsxwriter count, so an
/// emoji or a CJK Extension B character such as 𠀀 counts twice).
const MAX_CELL_UNITS: usize = 32_767;

/// The last row index a sheet has; row 0 is the header.
const LAST_ROW: u32 = 1_048_575;

/// Column widths in Excel's units (about one Latin digit each; a CJK character takes two).
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 60;
/// Room for the autofilter drop-down arrow beside a header.
const FILTER_ARROW: usize = 3;

/// A plain zip stores sizes in 32 bits, so a part over 4 GiB needs ZIP64. Only then is it turned
/// on: ZIP64 adds only a few bytes, but some older readers reject it, and a million typical
/// comments (about 2.5 GB of sheet XML) stay below the limit.
const ZIP64_THRESHOLD: u64 = u32::MAX as u64 - (64 << 20);
/// Above this much sheet XML (roughly 200,000 comments) the workbook is compressed at level 1
/// instead of 6: compressing is then most of the export's time, and level 1 halves it for a file
/// about 40% larger (at a million comments: 1.4 GB instead of 1.0 GB, half a minute saved).
const FAST_COMPRESSION_THRESHOLD: u64 = 512 << 20;
/// Generous upper bounds of the XML around each cell and row (`<c r="XFD1048576" t="inlineStr">
/// <is><t xml:space="preserve">` … `</t></is></c>`), so the size estimate never falls short.
const CELL_XML_OVERHEAD: u64 = 80;
const ROW_XML_OVERHEAD: u64 = 64;

pub(super) struct XlsxSink {
    file: File,
    workbook: Workbook,
    /// The comments sheet, created apart from the workbook so it can be streamed and still be
    /// pushed first; it needs the workbook only for the shared formats and temp directory.
    sheet: Worksheet,
    header: CellFormat,
    next_row: u32,
    /// Widest content seen per column, capped at `MAX_WIDTH`.
    widths: Vec<usize>,
    /// Upper bound of the comments sheet's XML size, to decide on ZIP64.
    xml_bytes: u64,
}

impl XlsxSink {
    /// `scratch` holds the rows while they stream in (as unnamed temporary files).
    pub(super) fn new(file: File, scratch: &Path, columns: &[Column]) -> Result<XlsxSink, ExportError> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(scratch)?;
        let mut sheet = workbook.new_worksheet_with_constant_memory()?;
        sheet.set_name("意见")?;
        let header = CellFormat::new().set_bold();
        let mut widths = Vec::with_capacity(columns.len());
        for (col, column) in (0..).zip(columns) {
            sheet.write_string_with_format(0, col, column.title, &header)?;
            widths.push(display_width(column.title, MAX_WIDTH) + FILTER_ARROW);
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(XlsxSink { file, workbook, sheet, header, next_row: 1, widths, xml_bytes: 4096 })
    }

    pub(super) fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        if self.next_row > LAST_ROW {
            return Err(ExportError::TooManyRows { max: LAST_ROW });
        }
        let row = self.next_row;
        self.xml_bytes += ROW_XML_OVERHEAD;
        for ((col, cell), width) in (0..).zip(cells).zip(&mut self.widths) {
            self.xml_bytes += CELL_XML_OVERHEAD;
            match cell {
                Cell::Int(n) => {
                    // Exact up to 2^53; see `Cell::Int`.
                    self.sheet.write_number(row, col, *n as f64)?;
                    let digits = n.unsigned_abs().checked_ilog10().map_or(1, |d| d as usize + 1);
                    *width = (*width).max(digits + usize::from(*n < 0));
                }
                Cell::Null => {}
                Cell::Text(_) | Cell::List(_) | Cell::Structured { .. } => {
                    let text = spreadsheet_text(cell).unwrap_or_default();
                    let text = cell_text(&text);
                    if *width < MAX_WIDTH {
                        *width = (*width).max(display_width(&text, MAX_WIDTH));
                    }
                    self.xml_bytes += xml_len(&text);
                    self.sheet.write_string(row, col, text)?;
                }
            }
        }
        self.next_row += 1;
        Ok(())
    }

    pub(super) fn finish(self, articles: &[ArticleCount]) -> Result<(), ExportError> {
        self.finish_with(articles, ZIP64_THRESHOLD)
    }

    fn finish_with(mut self, articles: &[ArticleCount], zip64_threshold: u64) -> Result<(), ExportError> {
        let last_col = u16::try_from(self.widths.len().saturating_sub(1)).unwrap_or(u16::MAX);
        self.sheet.autofilter(0, 0, self.next_row - 1, last_col)?;
        set_widths(&mut self.sheet, &self.widths)?;
        self.workbook.push_worksheet(self.sheet);

        let sheet = self.workbook.add_worksheet();
        sheet.set_name("条款")?;
        let mut widths = Vec::new();
        for (col, title) in (0..).zip(["条款", "意见数"]) {
            sheet.write_string_with_format(0, col, title, &self.header)?;
            widths.push(display_width(title, MAX_WIDTH) + FILTER_ARROW);
        }
        for (row, article) in (1..=LAST_ROW).zip(articles) {
            let label = cell_text(&article.label);
            widths[0] = widths[0].max(display_width(&label, MAX_WIDTH));
            sheet.write_string(row, 0, label)?;
            sheet.write_number(row, 1, article.comments as f64)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let last_row = u32::try_from(articles.len()).unwrap_or(LAST_ROW).min(LAST_ROW);
        sheet.autofilter(0, 0, last_row, 1)?;
        set_widths(sheet, &widths)?;

        self.workbook.use_zip_large_file(self.xml_bytes > zip64_threshold);
        if self.xml_bytes > FAST_COMPRESSION_THRESHOLD {
            self.workbook.set_zip_compression_level(1);
        }
        let mut out = BufWriter::with_capacity(1 << 20, self.file);
        self.workbook.save_to_writer(&mut out)?;
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    }
}

fn set_widths(sheet: &mut Worksheet, widths: &[usize]) -> Result<(), ExportError> {
    for (col, width) in (0..).zip(widths) {
        sheet.set_column_width(col, (*width + 1).clamp(MIN_WIDTH, MAX_WIDTH) as f64)?;
    }
    Ok(())
}

/// Text as it goes into a cell: cleaned for XML, neutralised, and cut to Excel's limit.
fn cell_text(raw: &str) -> String {
    let mut text = clean(raw);
    if let std::borrow::Cow::Owned(neutralised) = neutralise(&text) {
        text = neutralised;
    }
    truncate(text, raw)
}

/// Makes text safe for a cell.
///
/// rust_xlsxwriter writes control characters as Excel's `_xHHHH_` escapes, which keeps the XML
/// valid, but readers other than Excel and LibreOffice (openpyxl, pandas) show the escape
/// literally, and a control character inside a comment is noise anyway; so they are dropped.
/// Carriage returns become line feeds, Excel's line break in a cell. (Text that itself looks like
/// an escape, `_x0041_`, is protected by rust_xlsxwriter, which writes it as `_x005F_x0041_` the
/// way Excel does.)
fn clean(raw: &str) -> String {
    // Nearly all text needs none of this; a byte scan is much cheaper than rebuilding it.
    let bytes = raw.as_bytes();
    let needs_work = bytes.iter().enumerate().any(|(i, b)| match b {
        b'\t' | b'\n' => false,
        0..0x20 => true,
        // U+FFFE and U+FFFF; other characters starting with 0xEF (full-width punctuation) are fine.
        0xEF => bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)),
        _ => false,
    });
    if !needs_work {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // A CRLF pair keeps only its line feed.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => out.push('\n'),
            c if crate::xml::is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Cuts `text` to fit a cell, ending with a note that says how long the original was and where
/// to find it whole, so nobody mistakes a cut opinion for the full one.
fn truncate(text: String, original: &str) -> String {
    // UTF-8 never takes fewer bytes than UTF-16 takes units, so most cells skip the count.
    if text.len() <= MAX_CELL_UNITS || utf16_len(&text) <= MAX_CELL_UNITS {
        return text;
    }
    let original_chars = original.chars().count();
    let marker = format!("…〔已截断：全文 {original_chars} 字，完整内容见 CSV 或 JSONL 导出〕");
    let budget = MAX_CELL_UNITS - utf16_len(&marker);
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    let mut cut = text;
    cut.truncate(end);
    cut.push_str(&marker);
    cut
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Upper bound of the bytes `text` takes in the sheet XML after escaping: `&amp;` for `&`, and
/// `_x005F_` in front of text that looks like an `_xHHHH_` escape.
fn xml_len(text: &str) -> u64 {
    let extra: usize = text
        .bytes()
        .map(|b| match b {
            b'&' | b'<' | b'>' => 4,
            b'_' => 6,
            _ => 0,
        })
        .sum();
    (text.len() + extra) as u64
}

/// Approximate width in Excel's column units, counting up to `cap` only: a 40,000-character
/// opinion need not be measured to know it is wide.
fn display_width(text: &str, cap: usize) -> usize {
    let mut width = 0;
    for line in text.split('\n') {
        let mut line_width = 0;
        for c in line.chars() {
            line_width += if is_wide(c) { 2 } else { 1 };
            if line_width >= cap {
                return cap;
            }
        }
        width = width.max(line_width);
    }
    width
}

/// East Asian wide and full-width characters, which take two columns.
fn is_wide(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{115F}'
        | '\u{2E80}'..='\u{A4CF}'
        | '\u{AC00}'..='\u{D7A3}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FF60}'
        | '\u{FFE0}'..='\u{FFE6}'
        | '\u{1F300}'..='\u{1FAFF}'
        | '\u{20000}'..='\u{3FFFD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_to_the_cell_limit_with_a_marker() {
        let raw = "意".repeat(40_000);
        let cut = cell_text(&raw);
        assert_eq!(utf16_len(&cut), MAX_CELL_UNITS);
        assert!(cut.ends_with("…〔已截断：全文 40000 字，完整内容见 CSV 或 JSONL 导出〕"));
        assert!(cut.starts_with("意意意"));
    }

    #[test]
    fn cutting_counts_utf16_units_and_never_splits_a_surrogate_pair() {
        let raw = "😀".repeat(20_000);
        let cut = cell_text(&raw);
        assert!(utf16_len(&cut) <= MAX_CELL_UNITS);
        assert!(utf16_len(&cut) >= MAX_CELL_UNITS - 1);
        assert!(cut.ends_with("全文 20000 字，完整内容见 CSV 或 JSONL 导出〕"));
        let short = "😀".repeat(16_383);
        assert_eq!(cell_text(&short), short, "32,766 units fit");
    }

    #[test]
    fn text_that_fits_is_kept_after_neutralising() {
        let raw = format!("={}", "a".repeat(MAX_CELL_UNITS - 1));
        let text = cell_text(&raw);
        assert!(text.starts_with("'=") && text.contains("已截断"), "the apostrophe pushed it over");
        assert_eq!(cell_text("=1+1"), "'=1+1");
    }

    #[test]
    fn cleaning_drops_control_characters() {
        assert_eq!(clean("a\u{0}b\u{b}c\u{1f}d\u{FFFE}\te\r\nf\rg\r"), "abcd\te\nf\ng\n");
        assert_eq!(clean("_x0041_"), "_x0041_", "rust_xlsxwriter escapes this itself");
    }

    #[test]
    fn text_without_anything_to_clean_is_kept_as_is() {
        for text in ["", "普通的意见，（全角标点）：￥100", "tab\tand\nline", "😀𠀀"] {
            assert_eq!(clean(text), text);
        }
        assert_eq!(clean("x\u{FFFF}y_"), "xy_");
    }

    fn sheet_xml_size(path: &Path) -> u64 {
        let mut zip = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        zip.by_name("xl/worksheets/sheet1.xml").unwrap().size()
    }

    fn sample_rows(sink: &mut XlsxSink) {
        for i in 0..200 {
            let text = match i % 3 {
                0 => "<&>".repeat(50),
                1 => "_x0041_".repeat(20),
                _ => "中文意见".repeat(i),
            };
            let cells =
                [Cell::Text(format!("YJ-{i}")), Cell::Int(i64::MIN), Cell::Text(text), Cell::List(vec!["a".into(); 3])];
            sink.row(&cells).unwrap();
        }
    }

    const COLUMNS: &[Column] = &[
        Column { key: "a", title: "受理编号" },
        Column { key: "b", title: "数" },
        Column { key: "c", title: "意见" },
        Column { key: "d", title: "条款" },
    ];

    #[test]
    fn the_size_estimate_that_decides_on_zip64_is_an_upper_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.xlsx");
        let mut sink = XlsxSink::new(std::fs::File::create(&path).unwrap(), dir.path(), COLUMNS).unwrap();
        sample_rows(&mut sink);
        let estimate = sink.xml_bytes;
        sink.finish(&[]).unwrap();
        let actual = sheet_xml_size(&path);
        assert!(estimate >= actual && estimate < actual * 2, "estimate {estimate}, actual {actual}");
    }

    #[test]
    fn a_zip64_workbook_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("z.xlsx");
        let mut sink = XlsxSink::new(std::fs::File::create(&path).unwrap(), dir.path(), COLUMNS).unwrap();
        sample_rows(&mut sink);
        sink.finish_with(&[], 0).unwrap();
        let check = "import sys, zipfile, openpyxl\n\
            info = zipfile.ZipFile(sys.argv[1]).getinfo('xl/worksheets/sheet1.xml')\n\
            assert info.extract_version >= 45, 'ZIP64 needs version 4.5'\n\
            ws = openpyxl.load_workbook(sys.argv[1])['意见']\n\
            print(ws.max_row, ws['A201'].value, ws['B2'].value)";
        let out = std::process::Command::new("python3").arg("-c").arg(check).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("201 YJ-199 {}", i64::MIN as f64));
    }

    #[test]
    fn a_full_sheet_refuses_more_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink =
            XlsxSink::new(std::fs::File::create(dir.path().join("f.xlsx")).unwrap(), dir.path(), COLUMNS).unwrap();
        sink.next_row = LAST_ROW;
        sink.row(&[Cell::Null, Cell::Null, Cell::Null, Cell::Null]).unwrap();
        let err = sink.row(&[Cell::Null, Cell::Null, Cell::Null, Cell::Null]).unwrap_err();
        assert!(matches!(err, ExportError::TooManyRows { max: 1_048_575 }), "{err}");
        assert!(err.to_string().contains("use CSV or JSONL") || err.to_string().contains("as CSV or JSONL"), "{err}");
    }

    #[test]
    fn widths_count_cjk_as_two_and_stop_at_the_cap() {
        assert_eq!(display_width("受理编号", 60), 8);
        assert_eq!(display_width("abc\n受理", 60), 4);
        assert_eq!(display_width(&"长".repeat(10_000), 60), 60);
    }

    #[test]
    fn xml_size_estimate_counts_escapes() {
        assert_eq!(xml_len("a&b"), 7);
        assert_eq!(xml_len("_x0041_"), 7 + 12);
        assert_eq!(xml_len("中"), 3);
    }
}
