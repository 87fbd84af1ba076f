//! Reading the simple tabular files employers and the society send (CSV in UTF-8 or
//! Shift_JIS, or XLSX) into rows of text with their line numbers. Headers are matched
//! by name (Japanese), so column order does not matter.

use crate::{ImportError, RowProblem};
use std::path::Path;

/// A table: header names and rows, each with its 1-based line number in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Header cells, trimmed.
    pub headers: Vec<String>,
    /// Data rows.
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Decodes CSV bytes: UTF-8 (with or without BOM) when valid, else Shift_JIS (CP932).
pub fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        return Err("neither UTF-8 nor Shift_JIS (CP932)".to_owned());
    }
    Ok(text.into_owned())
}

/// Reads a CSV or XLSX file.
pub fn read_table(path: &Path, bytes: &[u8]) -> Result<Table, ImportError> {
    let file = path.display().to_string();
    let is_xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        return read_xlsx(&file, bytes);
    }
    let text = decode_text(bytes).map_err(|message| ImportError::Encoding {
        file: file.clone(),
        message,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Malformed {
            file: file.clone(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if headers.is_none() {
            headers = Some(cells);
        } else {
            rows.push((line, cells));
        }
    }
    Ok(Table {
        headers: headers.ok_or(ImportError::Empty { file })?,
        rows,
    })
}

fn read_xlsx(file: &str, bytes: &[u8]) -> Result<Table, ImportError> {
    use calamine::{Reader, Xlsx};
    let malformed = |message: String| ImportError::Malformed {
        file: file.to_owned(),
        line: 0,
        message,
    };
    let mut workbook: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes.to_vec())).map_err(|e| malformed(e.to_string()))?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| malformed("the workbook has no sheet".into()))?;
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| malformed(e.to_string()))?;
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let line = i as u64 + 1 + u64::from(range.start().map_or(0, |s| s.0));
        if headers.is_none() {
            headers = Some(cells);
        } else {
            rows.push((line, cells));
        }
    }
    Ok(Table {
        headers: headers.ok_or(ImportError::Empty {
            file: file.to_owned(),
        })?,
        rows,
    })
}

fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        // Excel serial days count from 1899-12-30.
        Data::DateTime(dt) => jiff::civil::Date::constant(1899, 12, 30)
            .checked_add(jiff::Span::new().days(dt.as_f64().floor() as i64))
            .map(|d| d.to_string())
            .unwrap_or_else(|_| dt.to_string()),
        Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        other => other.to_string().trim().to_owned(),
    }
}

impl Table {
    /// The index of the first header among `names` (aliases).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.iter().any(|n| h == n))
    }

    /// Like [`Table::column`] but a missing required column is an error naming it.
    pub fn require(&self, file: &str, names: &[&str]) -> Result<usize, ImportError> {
        self.column(names)
            .ok_or_else(|| ImportError::MissingColumn {
                file: file.to_owned(),
                column: names.first().copied().unwrap_or_default().to_owned(),
            })
    }
}

/// A cell of a row, or empty text when the row is short.
pub fn cell(row: &[String], index: Option<usize>) -> &str {
    index.and_then(|i| row.get(i)).map_or("", String::as_str)
}

/// Records a problem on a row and field.
pub fn problem(file: &str, line: u64, field: &str, message: impl ToString) -> RowProblem {
    RowProblem {
        file: file.to_owned(),
        line,
        field: field.to_owned(),
        message: message.to_string(),
    }
}
