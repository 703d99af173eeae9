//! CSV for people who open exports in Excel or WPS.

use std::fs::File;
use std::io::Write;

use super::{Cell, Column, neutralise, spreadsheet_text};
use crate::ExportError;

/// Excel and WPS read a CSV file as UTF-8 only when it starts with this; otherwise they assume
/// the system's legacy code page (GBK on Chinese Windows) and show Chinese as mojibake.
const BOM: &[u8] = "\u{FEFF}".as_bytes();

pub(super) struct CsvSink {
    writer: csv::Writer<File>,
}

impl CsvSink {
    pub(super) fn new(mut file: File, columns: &[Column]) -> Result<CsvSink, ExportError> {
        file.write_all(BOM)?;
        let mut writer = csv::WriterBuilder::new()
            // RFC 4180 ends records with CRLF; Excel accepts either, other readers expect this.
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(256 * 1024)
            .from_writer(file);
        writer.write_record(columns.iter().map(|c| neutralise(c.title).into_owned())).map_err(io_error)?;
        Ok(CsvSink { writer })
    }

    pub(super) fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        for cell in cells {
            match cell {
                Cell::Int(n) => self.writer.write_field(n.to_string()),
                Cell::Null => self.writer.write_field(""),
                Cell::Text(_) | Cell::List(_) | Cell::Structured { .. } => {
                    let text = spreadsheet_text(cell).unwrap_or_default();
                    self.writer.write_field(neutralise(&text).as_bytes())
                }
            }
            .map_err(io_error)?;
        }
        self.writer.write_record(None::<&[u8]>).map_err(io_error)?;
        Ok(())
    }

    pub(super) fn finish(self) -> Result<(), ExportError> {
        let file = self.writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    }
}

/// The CSV writer only fails on I/O, since every record has the same number of fields.
fn io_error(e: csv::Error) -> ExportError {
    ExportError::Io(e.into())
}
