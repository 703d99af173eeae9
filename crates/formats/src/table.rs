//! Comment exports: one row per comment, in the format staff asked for.
//!
//! Exports reach a million rows, so [`ExportWriter`] streams: the caller pages through the
//! database and hands over one row at a time, and nothing but the current row (and, for XLSX,
//! a temporary file next to the target) is held. The three formats serve different readers:
//!
//! - **CSV** for Excel and WPS users: UTF-8 with a byte-order mark (without it both guess a
//!   legacy code page and show mojibake), RFC 4180 quoting, nothing cut.
//! - **XLSX** for staff who filter and count: a frozen, filterable header and a second sheet of
//!   comment counts per article. Excel caps a cell at 32,767 characters, so longer opinions are
//!   cut there with a visible note pointing to the CSV or JSONL export.
//! - **JSONL** for programs: values exactly as stored, typed (numbers, arrays, null).
//!
//! Spreadsheet formats neutralise formulas (see [`Cell::Text`]); JSONL does not, because it is
//! data for programs and must round-trip exactly.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::path::Path;
use std::str::FromStr;

use crate::ExportError;

mod csv_sink;
mod jsonl_sink;
mod xlsx_sink;

/// One exported column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Column {
    /// Stable identifier: the JSONL key, and what programs reading an export rely on. Never
    /// translated or renamed casually.
    pub key: &'static str,
    /// Header text for people, e.g. "受理编号". Free to change with the interface language.
    pub title: &'static str,
}

/// One value in a row. Typed so each format can store it natively: numbers stay numbers in XLSX
/// and JSONL, lists stay arrays in JSONL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    /// Free text. In CSV and XLSX, text starting with `=`, `+`, `-`, `@`, tab or carriage return
    /// (or the full-width `＝＋－＠`) is prefixed with an apostrophe so that a spreadsheet never
    /// runs it as a formula (OWASP's CSV-injection advice). That also marks harmless text such as
    /// "+86 138…" or "-3 度"; spreadsheets show the apostrophe, which is the accepted price.
    Text(String),
    /// A whole number, written as a number where the format has numbers. XLSX stores numbers as
    /// doubles, so beyond ±2^53 the spreadsheet shows a rounded value; pass such ids as text.
    Int(i64),
    /// Several values, e.g. the articles a comment is about: a JSON array in JSONL, joined with
    /// "；" in spreadsheets.
    List(Vec<String>),
    /// No value: an empty cell, or `null` in JSONL.
    Null,
    /// A structured value: `json` as it is in JSONL (it must be valid JSON, made by the caller
    /// with serde), `text` in spreadsheets; e.g. a comment's suggested articles.
    Structured { json: String, text: String },
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_owned())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(n)
    }
}

impl From<Vec<String>> for Cell {
    fn from(items: Vec<String>) -> Cell {
        Cell::List(items)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Cell {
        value.map_or(Cell::Null, Into::into)
    }
}

/// How many comments name one article, for the XLSX "条款" sheet: staff use it to see at a glance
/// which provisions drew the most comments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArticleCount {
    /// The article as people cite it, e.g. "第十二条".
    pub label: String,
    /// Comments that name it.
    pub comments: u64,
}

/// An export file format, as named in URLs and job records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values, UTF-8 with BOM.
    Csv,
    /// An Excel workbook.
    Xlsx,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// Every format, in the order an interface should offer them.
    pub const ALL: [Format; 3] = [Format::Xlsx, Format::Csv, Format::Jsonl];

    /// The lowercase name, as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Jsonl => "jsonl",
        }
    }

    /// The file extension, without a dot: what a download's file name should end with.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The media type to send with a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Jsonl => "application/jsonl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not "csv", "xlsx" or "jsonl".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format {0:?}: expected csv, xlsx or jsonl")]
pub struct ParseFormatError(pub String);

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Accepts the names in any ASCII case, since they arrive from URLs and forms typed by people.
    fn from_str(name: &str) -> Result<Format, ParseFormatError> {
        Format::ALL
            .into_iter()
            .find(|f| name.eq_ignore_ascii_case(f.as_str()))
            .ok_or_else(|| ParseFormatError(name.to_owned()))
    }
}

/// Writes one export file row by row.
///
/// The file at the path is created (or truncated) by [`create`](ExportWriter::create) and is only
/// complete once [`finish`](ExportWriter::finish) returns; an XLSX file is not even a valid zip
/// before then. A caller serving downloads should write to a temporary name and rename after
/// `finish`, and delete the file if any step fails.
pub struct ExportWriter {
    columns: usize,
    sink: Sink,
}

enum Sink {
    Csv(Box<csv_sink::CsvSink>),
    Xlsx(Box<xlsx_sink::XlsxSink>),
    Jsonl(jsonl_sink::JsonlSink),
}

impl ExportWriter {
    /// Creates the file and writes the header row (CSV, XLSX) or remembers the keys (JSONL).
    ///
    /// For XLSX the rows are streamed into an unnamed temporary file in the same directory as
    /// `path`, which must therefore be writable; that keeps a large export off a RAM-backed
    /// `/tmp`.
    ///
    /// The file is made readable and writable by its owner only (mode 0600), a file that was
    /// there before included: an export holds what citizens wrote.
    pub fn create(format: Format, path: &Path, columns: &[Column]) -> Result<ExportWriter, ExportError> {
        let scratch = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        ExportWriter::to_file(format, create_private(path)?, scratch, columns)
    }

    /// Like [`create`](ExportWriter::create), into a file the caller opened (an unnamed
    /// temporary file, say); an XLSX export streams its rows through `scratch` meanwhile.
    pub fn to_file(
        format: Format,
        file: File,
        scratch: &Path,
        columns: &[Column],
    ) -> Result<ExportWriter, ExportError> {
        let sink = match format {
            Format::Csv => Sink::Csv(Box::new(csv_sink::CsvSink::new(file, columns)?)),
            Format::Xlsx => Sink::Xlsx(Box::new(xlsx_sink::XlsxSink::new(file, scratch, columns)?)),
            Format::Jsonl => Sink::Jsonl(jsonl_sink::JsonlSink::new(file, columns)?),
        };
        Ok(ExportWriter { columns: columns.len(), sink })
    }

    /// Appends one row; `cells` must match the columns one to one.
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        if cells.len() != self.columns {
            return Err(ExportError::ColumnCount { expected: self.columns, got: cells.len() });
        }
        match &mut self.sink {
            Sink::Csv(sink) => sink.row(cells),
            Sink::Xlsx(sink) => sink.row(cells),
            Sink::Jsonl(sink) => sink.row(cells),
        }
    }

    /// Completes the file and flushes it to stable storage (`fsync`), so an export reported as
    /// ready survives a crash. `articles` fills the XLSX "条款" sheet and is ignored otherwise.
    pub fn finish(self, articles: &[ArticleCount]) -> Result<(), ExportError> {
        match self.sink {
            Sink::Csv(sink) => sink.finish(),
            Sink::Xlsx(sink) => sink.finish(articles),
            Sink::Jsonl(sink) => sink.finish(),
        }
    }
}

/// Creates (or truncates) `path` for writing, readable and writable by its owner only, whatever
/// the umask, and whatever mode a file already there had.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// The separator for [`Cell::List`] in spreadsheets: a full-width semicolon, which reads
/// naturally in Chinese and does not clash with CSV's comma.
const LIST_SEPARATOR: &str = "；";

/// Prefixes text a spreadsheet would run as a formula with an apostrophe. Tab and carriage return
/// are on OWASP's list because some spreadsheets strip leading whitespace before looking for `=`;
/// the full-width forms because input methods for Chinese produce them and some spreadsheet
/// versions normalise them to ASCII.
fn neutralise(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// The spreadsheet text of a cell, before neutralising; `None` for cells that are not text.
fn spreadsheet_text(cell: &Cell) -> Option<Cow<'_, str>> {
    match cell {
        Cell::Text(text) => Some(Cow::Borrowed(text)),
        Cell::List(items) => Some(Cow::Owned(items.join(LIST_SEPARATOR))),
        Cell::Structured { text, .. } => Some(Cow::Borrowed(text)),
        Cell::Int(_) | Cell::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name_and_reject_others_clearly() {
        assert_eq!("csv".parse(), Ok(Format::Csv));
        assert_eq!("XLSX".parse(), Ok(Format::Xlsx));
        assert_eq!("jsonl".parse::<Format>().map(Format::extension), Ok("jsonl"));
        let err = "pdf".parse::<Format>().unwrap_err();
        assert_eq!(err.to_string(), "unknown export format \"pdf\": expected csv, xlsx or jsonl");
        assert!("".parse::<Format>().is_err());
        for format in Format::ALL {
            assert_eq!(format.to_string().parse(), Ok(format));
        }
    }

    #[test]
    fn neutralises_text_a_spreadsheet_would_evaluate() {
        for risky in ["=1+1", "+8613800000000", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1", "＋1", "－1", "＠A"] {
            assert_eq!(neutralise(risky), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["", "意见", "1+1", " =1", "'=1", "a=b"] {
            assert!(matches!(neutralise(safe), Cow::Borrowed(s) if s == safe), "{safe:?}");
        }
    }

    #[test]
    fn lists_join_with_a_full_width_semicolon() {
        let cell = Cell::List(vec!["第一条".into(), "第二条".into()]);
        assert_eq!(spreadsheet_text(&cell).as_deref(), Some("第一条；第二条"));
        assert_eq!(spreadsheet_text(&Cell::Int(3)), None);
        assert_eq!(Cell::from(None::<i64>), Cell::Null);
        assert_eq!(Cell::from(Some("x")), Cell::Text("x".into()));
    }
}
