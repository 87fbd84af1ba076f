//! The mailing list for the print and mail vendor: one row per envelope with 郵便番号,
//! 住所, 氏名, the letter kind codes and how many notices it holds, batch, envelope
//! number, where it lies in the part files (first page, pages), and 差止 for an
//! envelope withdrawn after the PDF was handed out (take it out before mailing).
//!
//! Encoding: UTF-8 with a BOM by default, because it holds every name in the register
//! (𠮷, 髙 …) and Excel opens it correctly. Vendors whose systems only read Shift_JIS
//! get [`CsvEncoding::Cp932`], which refuses a character CP932 lacks (naming letter and
//! column) instead of writing `?`. Line ends are CRLF, the Windows convention.
//!
//! Every cell goes through `collabo_export`'s writer, so a name or address from the
//! register that begins like a formula (`=HYPERLINK(…)`, `@SUM(…)`, `+81-…`) reaches
//! the vendor's spreadsheet as text, with a single quote in front.
//!
//! Deliberately absent: the letter title and any health data. The kind is given only as
//! its code (R, S, D, C, C2); the vendor needs to know which letters to pair, not why.

use crate::data::LetterData;
use crate::error::LetterError;
use crate::render::LetterPlacement;
use std::io::Write;

/// The file encoding of the mailing CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark.
    #[default]
    Utf8Bom,
    /// Windows-31J / CP932 (Shift_JIS as Windows writes it).
    Cp932,
}

/// One line of the mailing list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailingRow {
    /// 〒 without the mark: `100-0001`.
    pub postal_code: String,
    /// 住所, up to three lines (missing ones are written empty).
    pub address_lines: Vec<String>,
    /// 氏名.
    pub name: String,
    /// Letter kind codes of the envelope: `C2`, or `C2+C2` for two notices.
    pub kind: String,
    /// Notices in the envelope.
    pub notices: usize,
    /// Batch id.
    pub batch_id: String,
    /// Sequence in the batch.
    pub sequence: u32,
    /// 整理番号.
    pub reference: String,
    /// Part file name (`part-0001.pdf`), when the batch was written.
    pub part_file: String,
    /// First page of the letter in the part file (0 when unknown).
    pub first_page: usize,
    /// Pages of the letter (0 when unknown).
    pub pages: usize,
    /// Notices of the envelope withdrawn after printing (差止): all of them — the
    /// envelope must not be mailed — or some, whose sheets must be taken out.
    pub stopped: usize,
}

impl MailingRow {
    /// The row for a letter, without placement.
    pub fn from_letter(letter: &LetterData) -> Self {
        let code = &letter.recipient.postal_code;
        let postal_code = if code.len() == 7 && code.is_ascii() {
            format!("{}-{}", &code[..3], &code[3..])
        } else {
            code.clone()
        };
        MailingRow {
            postal_code,
            address_lines: letter.recipient.address_lines.clone(),
            name: letter.recipient.name.clone(),
            kind: letter.kind.code().to_owned(),
            notices: 1,
            batch_id: letter.batch_id.clone(),
            sequence: letter.sequence,
            reference: letter.reference.clone(),
            part_file: String::new(),
            first_page: 0,
            pages: 0,
            stopped: 0,
        }
    }

    /// The row for an envelope (its letters, in order) written by
    /// [`crate::Renderer::write_batch`]; `None` for an empty envelope.
    pub fn envelope(
        letters: &[&LetterData],
        placement: &LetterPlacement,
        part_file: &str,
    ) -> Option<Self> {
        let first = letters.first()?;
        Some(MailingRow {
            kind: letters
                .iter()
                .map(|l| l.kind.code())
                .collect::<Vec<_>>()
                .join("+"),
            notices: letters.len(),
            ..Self::placed(first, placement, part_file)
        })
    }

    /// The row for a letter written by [`crate::Renderer::write_batch`].
    pub fn placed(letter: &LetterData, placement: &LetterPlacement, part_file: &str) -> Self {
        MailingRow {
            part_file: part_file.to_owned(),
            first_page: placement.placement.first_page,
            pages: placement.placement.pages,
            ..Self::from_letter(letter)
        }
    }
}

/// Column headers, in order.
pub const HEADERS: [&str; 15] = [
    "郵便番号",
    "住所1",
    "住所2",
    "住所3",
    "氏名",
    "通知種別",
    "通知数",
    "バッチ",
    "封筒番号",
    "整理番号",
    "ファイル",
    "開始頁",
    "頁数",
    "差止",
    "敬称",
];

/// Writes the mailing list. Returns the number of rows written.
pub fn write_mailing_csv<'a, W, I>(
    mut writer: W,
    rows: I,
    encoding: CsvEncoding,
) -> Result<usize, LetterError>
where
    W: Write,
    I: IntoIterator<Item = &'a MailingRow>,
{
    let csv_error = |e: collabo_export::ExportError| LetterError::Csv(e.to_string());
    let io_error = |e: std::io::Error| LetterError::Csv(e.to_string());
    // The list is small (about 200 bytes a letter), so it is built in memory and
    // encoded once; CP932 problems are found per row first, to name the letter.
    let mut csv = collabo_export::CsvWriter::new(Vec::new(), collabo_export::LineEnd::Crlf);
    csv.write_row(HEADERS).map_err(csv_error)?;
    let mut count = 0;
    for row in rows {
        let address = |i: usize| row.address_lines.get(i).map(String::as_str).unwrap_or("");
        let sequence = row.sequence.to_string();
        let notices = row.notices.to_string();
        let first_page = row.first_page.to_string();
        let pages = row.pages.to_string();
        let stopped = match row.stopped {
            0 => String::new(),
            n if n >= row.notices => "差止".to_owned(),
            n => format!("一部差止（{n}通）"),
        };
        let fields = [
            row.postal_code.as_str(),
            address(0),
            address(1),
            address(2),
            &row.name,
            &row.kind,
            &notices,
            &row.batch_id,
            &sequence,
            &row.reference,
            &row.part_file,
            &first_page,
            &pages,
            &stopped,
            "様",
        ];
        if encoding == CsvEncoding::Cp932 {
            for (field, text) in HEADERS.iter().zip(fields) {
                if let Some(character) = normalise_for_cp932(text).chars().find(|c| !cp932_has(*c))
                {
                    return Err(LetterError::Unmappable {
                        sequence: row.sequence,
                        field,
                        character,
                    });
                }
            }
        }
        csv.write_row(fields).map_err(csv_error)?;
        count += 1;
    }
    let bytes = csv.finish().map_err(csv_error)?;
    match encoding {
        CsvEncoding::Utf8Bom => {
            writer.write_all("\u{feff}".as_bytes()).map_err(io_error)?;
            writer.write_all(&bytes).map_err(io_error)?;
        }
        CsvEncoding::Cp932 => {
            let text = normalise_for_cp932(&String::from_utf8_lossy(&bytes));
            let (encoded, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
            writer.write_all(&encoded).map_err(io_error)?;
        }
    }
    writer.flush().map_err(io_error)?;
    Ok(count)
}

/// Characters people type that CP932 spells differently (WAVE DASH, MINUS SIGN …).
fn normalise_for_cp932(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{301c}' => '\u{ff5e}', // 〜 → ～
            '\u{2212}' => '\u{ff0d}', // − → －
            '\u{2016}' => '\u{2225}', // ‖ → ∥
            '\u{00a2}' => '\u{ffe0}', // ¢ → ￠
            '\u{00a3}' => '\u{ffe1}', // £ → ￡
            '\u{00ac}' => '\u{ffe2}', // ¬ → ￢
            '\u{2014}' => '\u{2015}', // — → ―
            other => other,
        })
        .collect()
}

fn cp932_has(c: char) -> bool {
    let mut buffer = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buffer));
    !unmappable
}

#[cfg(test)]
mod tests {
    use super::*;
    use collabo_domain::programme::LetterKind;

    fn row(name: &str) -> MailingRow {
        let mut letter = LetterData::sample(LetterKind::CancerReferral);
        letter.recipient.name = name.to_owned();
        letter.sequence = 7;
        MailingRow::from_letter(&letter)
    }

    #[test]
    fn utf8_output_starts_with_a_bom_and_keeps_every_character() {
        let mut out = Vec::new();
        let n = write_mailing_csv(&mut out, &[row("𠮷田 花子")], CsvEncoding::Utf8Bom)
            .unwrap_or_default();
        assert_eq!(n, 1);
        assert!(out.starts_with(&[0xef, 0xbb, 0xbf]));
        let text = String::from_utf8(out).unwrap_or_default();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].ends_with("郵便番号,住所1,住所2,住所3,氏名,通知種別,通知数,バッチ,封筒番号,整理番号,ファイル,開始頁,頁数,差止,敬称"));
        assert!(lines[1].starts_with(
            "100-0001,東京都千代田区架空町一丁目2番3号,架空ハイツ101号室,,𠮷田 花子,C,1,"
        ));
        assert!(
            !text.contains("精密"),
            "no letter title or health word in the vendor list"
        );
    }

    #[test]
    fn a_stopped_envelope_and_a_partly_stopped_one_say_so() {
        let mut all = row("架空 一郎");
        all.stopped = 1;
        let mut some = row("架空 二郎");
        some.notices = 2;
        some.stopped = 1;
        let mut out = Vec::new();
        write_mailing_csv(
            &mut out,
            &[all, some, row("架空 三郎")],
            CsvEncoding::Utf8Bom,
        )
        .unwrap_or_default();
        let text = String::from_utf8(out).unwrap_or_default();
        let stopped: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(13).unwrap_or("?"))
            .collect();
        assert_eq!(stopped, ["差止", "一部差止（1通）", ""]);
    }

    #[test]
    fn names_and_addresses_that_start_a_formula_are_written_as_text() {
        let mut hostile = row("=HYPERLINK(\"http://evil.example\",\"x\")");
        hostile.address_lines = vec!["@SUM(A1)".into(), "+81-3-0000-0000".into(), "-1+1".into()];
        let mut out = Vec::new();
        write_mailing_csv(&mut out, &[hostile], CsvEncoding::Utf8Bom).unwrap_or_default();
        let text = String::from_utf8(out).unwrap_or_default();
        let line = text.split("\r\n").nth(1).unwrap_or_default();
        assert!(
            line.starts_with("100-0001,'@SUM(A1),'+81-3-0000-0000,'-1+1,\"'=HYPERLINK("),
            "{line}"
        );
    }

    #[test]
    fn cp932_output_round_trips_and_maps_the_wave_dash() {
        let mut out = Vec::new();
        write_mailing_csv(&mut out, &[row("髙橋 〜子")], CsvEncoding::Cp932).unwrap_or_default();
        let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&out);
        assert!(!had_errors);
        assert!(text.contains("髙橋 ～子"));
        assert!(!text.starts_with('\u{feff}'));
    }

    #[test]
    fn cp932_refuses_a_name_it_cannot_hold_naming_letter_and_column() {
        let mut out = Vec::new();
        let error = write_mailing_csv(&mut out, &[row("𠮷田 花子")], CsvEncoding::Cp932);
        match error {
            Err(LetterError::Unmappable {
                sequence,
                field,
                character,
            }) => {
                assert_eq!((sequence, field, character), (7, "氏名", '𠮷'));
            }
            other => panic!("expected Unmappable, got {other:?}"),
        }
    }
}
