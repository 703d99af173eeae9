//! JSON Lines for programs: exact values, typed, one comment per line.

use std::fs::File;
use std::io::{BufWriter, Write};

use super::{Cell, Column};
use crate::ExportError;

pub(super) struct JsonlSink {
    out: BufWriter<File>,
    /// `"key":` for each column, escaped once instead of once per row.
    keys: Vec<String>,
}

impl JsonlSink {
    pub(super) fn new(file: File, columns: &[Column]) -> Result<JsonlSink, ExportError> {
        let out = BufWriter::with_capacity(256 * 1024, file);
        let keys = columns.iter().map(|c| format!("{}:", serde_json::Value::from(c.key))).collect();
        Ok(JsonlSink { out, keys })
    }

    /// Writes the object field by field rather than building a `serde_json::Map`, which would
    /// copy every opinion text once more per row.
    pub(super) fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        let out = &mut self.out;
        out.write_all(b"{")?;
        for (i, (key, cell)) in self.keys.iter().zip(cells).enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(key.as_bytes())?;
            match cell {
                Cell::Text(text) => write_json(out, text)?,
                Cell::Int(n) => write!(out, "{n}")?,
                Cell::List(items) => write_json(out, items)?,
                Cell::Null => out.write_all(b"null")?,
                Cell::Structured { json, .. } => out.write_all(json.as_bytes())?,
            }
        }
        out.write_all(b"}\n")?;
        Ok(())
    }

    pub(super) fn finish(self) -> Result<(), ExportError> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    }
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut BufWriter<File>, value: &T) -> std::io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, LineSafe);
    value.serialize(&mut serializer).map_err(std::io::Error::from)
}

/// Compact JSON that also escapes U+0085, U+2028 and U+2029. They are valid in JSON strings, but
/// Python's `str.splitlines()` and some editors treat them as line ends, which would split one
/// comment across two "lines" of a JSONL file.
struct LineSafe;

impl serde_json::ser::Formatter for LineSafe {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(['\u{85}', '\u{2028}', '\u{2029}']) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }
}
