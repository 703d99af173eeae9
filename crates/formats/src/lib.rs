//! The files yijian hands to people outside the program: comment exports for staff to sort and
//! count in a spreadsheet ([`table`]), the adoption report (采纳情况) they edit in Word or WPS
//! before publishing it ([`docx`]), and the charts on the staff dashboard ([`svg`]).
//!
//! Everything here is pure: no database, no async, no clock. Callers fetch the rows and stream
//! them in, so the same code serves a ten-comment consultation and a million-comment one, and the
//! tests can read every file back with the programs people actually open them with.
//!
//! Text in these files comes from citizens, so every writer treats it as hostile: spreadsheet
//! cells cannot turn into formulas, XML cannot be broken by a stray `<` or a control character,
//! and an SVG label cannot become markup.

pub mod docx;
pub mod svg;
pub mod table;
mod xml;

pub use table::{ArticleCount, Cell, Column, ExportWriter, Format, ParseFormatError, create_private};

/// Why a file could not be written.
///
/// The messages name the file kind, since an export job usually surfaces them to staff as-is
/// ("the XLSX workbook could not be built: …") and the cause is rarely in our own code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Writing to disk failed: disk full, permission denied, directory gone.
    #[error("could not write the export file: {0}")]
    Io(#[from] std::io::Error),
    /// `rust_xlsxwriter` refused the workbook.
    #[error("could not build the XLSX workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The DOCX zip container could not be assembled.
    #[error("could not build the DOCX file: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// A row did not match the columns given to [`ExportWriter::create`]: a caller bug, reported
    /// rather than silently shifting every later value into the wrong column.
    #[error("a row has {got} cells but the export has {expected} columns")]
    ColumnCount {
        /// How many columns the export was created with.
        expected: usize,
        /// How many cells the row had.
        got: usize,
    },
    /// An XLSX sheet holds 1,048,576 rows including the header; larger exports need CSV or JSONL.
    #[error("an XLSX sheet holds at most {max} comments; export this consultation as CSV or JSONL instead")]
    TooManyRows {
        /// The largest number of data rows an XLSX export can take.
        max: u32,
    },
}
