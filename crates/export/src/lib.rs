//! The one CSV writer of Collabo: every CSV file the system hands out (the mailing list
//! for the print vendor, employers' aggregates, the staff's cases export, and any new
//! export) is written through [`CsvWriter`], so none of them can carry a live
//! spreadsheet formula.
//!
//! A cell a spreadsheet would read as a formula — one beginning with `=`, `+`, `-`,
//! `@`, a tab or a carriage return (OWASP "CSV injection") — is written with a single
//! quote in front (`'=HYPERLINK(…)`): Excel and LibreOffice then show the text as it
//! was. The quote changes what the vendor's software reads, so it is applied to every
//! cell alike, data or header; a value that needs to start with one of these
//! characters (a negative number, `+81-…` phone numbers) arrives with the quote, and
//! the reader must strip it. The effect report's CSV has negative changes (HbA1c, the
//! regression discontinuity's bounds): they arrive as `'-0.42`; its XLSX export
//! ([`xlsx_table`]) carries them as numbers.
//!
//! Deliberately not here: the choice of columns (each export's own), encodings other
//! than UTF-8 (the mailing list transcodes the bytes to CP932 itself).

use std::borrow::Cow;
use std::io::Write;

/// Why a CSV could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The CSV encoder or the output failed.
    #[error("CSV: {0}")]
    Csv(String),
    /// The XLSX writer failed.
    #[error("XLSX: {0}")]
    Xlsx(String),
}

/// A cell of an XLSX table.
#[derive(Debug, Clone, PartialEq)]
pub enum XlsxCell {
    /// Text (never evaluated: XLSX keeps text and formulas apart).
    Text(String),
    /// A number.
    Number(f64),
    /// Nothing.
    Empty,
}

/// One sheet with a bold header row and the rows under it, as XLSX bytes.
pub fn xlsx_table(
    sheet: &str,
    header: &[&str],
    rows: &[Vec<XlsxCell>],
) -> Result<Vec<u8>, ExportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| ExportError::Xlsx(e.to_string());
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(err)?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                XlsxCell::Text(t) => {
                    ws.write_string(r, c, t).map_err(err)?;
                }
                XlsxCell::Number(n) if n.is_finite() => {
                    ws.write_number(r, c, *n).map_err(err)?;
                }
                _ => {}
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

/// Characters that make a spreadsheet read a cell as a formula when they come first.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as it is written: with a single quote in front when it would start a
/// formula (also behind a byte-order mark, which a reader may take for the file's own
/// and drop), unchanged otherwise.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell
        .trim_start_matches('\u{feff}')
        .starts_with(FORMULA_STARTS)
    {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Line ends of a CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnd {
    /// `\r\n` (the Windows convention, what vendors expect).
    #[default]
    Crlf,
    /// `\n`.
    Lf,
}

/// A CSV writer that neutralises every cell.
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl CsvWriter<Vec<u8>> {
    /// A writer into memory, beginning with a UTF-8 byte-order mark (Excel reads the
    /// file as UTF-8 only with it).
    pub fn with_bom(line_end: LineEnd) -> CsvWriter<Vec<u8>> {
        CsvWriter::new(b"\xEF\xBB\xBF".to_vec(), line_end)
    }
}

impl<W: Write> CsvWriter<W> {
    /// A writer onto `out` (nothing written before the first row).
    pub fn new(out: W, line_end: LineEnd) -> CsvWriter<W> {
        let terminator = match line_end {
            LineEnd::Crlf => csv::Terminator::CRLF,
            LineEnd::Lf => csv::Terminator::Any(b'\n'),
        };
        CsvWriter {
            inner: csv::WriterBuilder::new()
                .terminator(terminator)
                .from_writer(out),
        }
    }

    /// Writes one row, every cell through [`neutralise`].
    pub fn write_row<I, T>(&mut self, cells: I) -> Result<(), ExportError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        self.inner
            .write_record(&cells)
            .map_err(|e| ExportError::Csv(e.to_string()))
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> Result<W, ExportError> {
        self.inner
            .into_inner()
            .map_err(|e| ExportError::Csv(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(cells: &[&str]) -> String {
        let mut w = CsvWriter::new(Vec::new(), LineEnd::Lf);
        w.write_row(cells).unwrap_or_default();
        String::from_utf8(w.finish().unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn formula_cells_get_a_quote_and_others_stay_as_they_are() {
        assert_eq!(
            written(&[
                "=HYPERLINK(\"http://x\")",
                "@SUM(A1)",
                "+81-3-0000",
                "-1+2",
                "東京都",
                "100-0001"
            ]),
            "\"'=HYPERLINK(\"\"http://x\"\")\",'@SUM(A1),'+81-3-0000,'-1+2,東京都,100-0001\n"
        );
        assert_eq!(written(&["\tx", "\rx"]), "'\tx,\"'\rx\"\n");
        assert_eq!(neutralise("a=b"), "a=b", "only the first character counts");
        assert_eq!(neutralise("\u{feff}=1+1"), "'\u{feff}=1+1");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn the_in_memory_writer_starts_with_a_bom_and_ends_lines_with_crlf() {
        let mut w = CsvWriter::with_bom(LineEnd::Crlf);
        w.write_row(["a", "b"]).unwrap_or_default();
        let bytes = w.finish().unwrap_or_default();
        assert_eq!(bytes, b"\xEF\xBB\xBFa,b\r\n");
    }

    proptest! {
        #[test]
        fn no_written_cell_starts_a_formula(generated in proptest::collection::vec(".{0,12}", 1..6)) {
            // A first cell the writer made: the reader drops a BOM at the very start.
            let mut cells = vec!["x".to_owned()];
            cells.extend(generated);
            let mut w = CsvWriter::new(Vec::new(), LineEnd::Crlf);
            w.write_row(&cells).unwrap_or_default();
            let bytes = w.finish().unwrap_or_default();
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
            for record in r.records() {
                let record = record.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(record.len(), cells.len());
                for (got, given) in record.iter().zip(&cells) {
                    prop_assert!(!got.starts_with(FORMULA_STARTS), "{:?}", got);
                    let expected = neutralise(given);
                    prop_assert_eq!(got, expected.as_ref(), "the rest is kept as given");
                }
            }
        }
    }
}
