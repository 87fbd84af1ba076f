//! Reading the simple tabular files employers and the society send (CSV in UTF-8 or
//! Shift_JIS, or XLSX) into rows of text with their line numbers. Headers are matched
//! by name (Japanese), so column order does not matter, and title rows above the
//! header are skipped.

use crate::{ImportError, OtherForm, RowProblem};
use collabo_domain::admission::ImportKind;
use collabo_domain::problem::ProblemKind;
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
pub fn decode_text(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Some(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    (!had_errors).then(|| text.into_owned())
}

/// Column names of the lists and registers read through here (docs/formats.md): the
/// header row is the first row with two of them, so title rows above it are skipped.
pub const KNOWN_HEADERS: &[&str] = &[
    "保険者番号",
    "記号",
    "番号",
    "枝番",
    "氏名",
    "氏名（漢字）",
    "氏名カナ",
    "カナ氏名",
    "性別",
    "生年月日",
    "郵便番号",
    "住所",
    "住所1",
    "住所2",
    "方書",
    "事業所記号",
    "本人家族",
    "本人・家族",
    "続柄区分",
    "所属開始日",
    "事業所所属開始日",
    "資格取得日",
    "資格喪失日",
    "がん検診の種類",
    "検診種類",
    "がん種別",
    "検診実施年月日",
    "検診日",
    "同意",
    "データ共有同意",
    "区分",
    "範囲",
    "適用日",
    "経路",
];

/// Which form a file is when it is not a list: a checkup archive or document, or a
/// claims (UKE) file. `None` for anything that may be a list.
pub(crate) fn other_form(path: &Path, bytes: &[u8]) -> Option<OtherForm> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if bytes.starts_with(b"PK\x03\x04") {
        // An XLSX workbook is a zip too; it names its workbook part in the clear.
        let is_workbook = bytes.windows(15).any(|w| w == b"xl/workbook.xml");
        return (!is_workbook).then_some(OtherForm::CheckupArchive);
    }
    if ext == "zip" {
        return Some(OtherForm::CheckupArchive);
    }
    let head: Vec<u8> = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace)
        .take(64)
        .collect();
    if head.starts_with(b"<?xml") || head.starts_with(b"<ClinicalDocument") || ext == "xml" {
        return Some(OtherForm::CheckupArchive);
    }
    let record_id = head.get(..3);
    if ext == "uke"
        || matches!(
            record_id,
            Some(b"IR,") | Some(b"MN,") | Some(b"YK,") | Some(b"HR,")
        )
    {
        return Some(OtherForm::Claims);
    }
    None
}

/// Reads a CSV or XLSX file into a table. Lines are physical lines of the file (LF or
/// CRLF, counting title rows, the header and blank lines); an XLSX row is its number in
/// Excel. A checkup archive or claims file given here is refused as the wrong form.
pub fn read_table(path: &Path, bytes: &[u8]) -> Result<Table, ImportError> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if let Some(form) = other_form(path, bytes) {
        return Err(ImportError::WrongForm { file, form });
    }
    let is_xlsx = bytes.starts_with(b"PK\x03\x04");
    let rows = if is_xlsx {
        read_xlsx(&file, bytes)?
    } else {
        read_csv(&file, bytes)?
    };
    let known = |cells: &Vec<String>| {
        cells
            .iter()
            .filter(|c| KNOWN_HEADERS.contains(&c.as_str()))
            .count()
    };
    let header_at = rows
        .iter()
        .position(|(_, cells)| known(cells) >= 2)
        .unwrap_or(0);
    let mut rows = rows.into_iter().skip(header_at);
    let (_, headers) = rows.next().ok_or(ImportError::Empty { file })?;
    Ok(Table {
        headers,
        rows: rows.collect(),
    })
}

/// The non-blank rows of a CSV file with the physical line each starts on.
fn read_csv(file: &str, bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, ImportError> {
    let text = decode_text(bytes).ok_or_else(|| ImportError::Encoding {
        file: file.to_owned(),
    })?;
    // Line starts, to turn byte offsets into physical lines: the csv crate's own line
    // count is one short on CRLF files.
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |byte: u64| -> u64 {
        let byte = usize::try_from(byte).unwrap_or(usize::MAX);
        line_starts.partition_point(|&start| start <= byte) as u64
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                return Err(ImportError::Malformed {
                    file: file.to_owned(),
                    line: line_of(start),
                    message: "CSVとして読めません（引用符「\"」の閉じ忘れなど）".into(),
                });
            }
        }
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        // The reader's position is where the previous record ended: before the `\n` of
        // a CRLF and before blank lines it skipped. The record starts at the first byte
        // after them.
        let skipped = text
            .as_bytes()
            .get(usize::try_from(start).unwrap_or(usize::MAX)..)
            .map_or(0, |rest| {
                rest.iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .count()
            });
        rows.push((line_of(start + skipped as u64), cells));
    }
    Ok(rows)
}

/// The non-blank rows of an XLSX file's first sheet with their Excel row numbers.
fn read_xlsx(file: &str, bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, ImportError> {
    use calamine::{Reader, Xlsx};
    let malformed = || ImportError::Malformed {
        file: file.to_owned(),
        line: 0,
        message: "Excel ファイル（.xlsx）として読めません".into(),
    };
    let mut workbook: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes.to_vec())).map_err(|_| malformed())?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(malformed)?;
    let range = workbook.worksheet_range(&sheet).map_err(|_| malformed())?;
    let first_row = u64::from(range.start().map_or(0, |s| s.0));
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        rows.push((i as u64 + 1 + first_row, cells));
    }
    Ok(rows)
}

fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::DateTime(dt) => collabo_domain::calendar::from_excel_serial(dt.as_f64())
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
pub fn problem(file: &str, line: u64, field: &str, kind: ProblemKind) -> RowProblem {
    RowProblem::new(file, line, field, kind)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::imports::parse_referrals;

    const LINES: [&str; 7] = [
        "要精密検査者リスト（令和7年6月実施分）　架空精機株式会社",
        "",
        "記号,番号,枝番,氏名,生年月日,がん検診の種類,検診実施年月日,同意",
        "1001,1,00,高橋花子,S50.3.3,胃,R7.6.5,1",
        "1001,2,00,\"佐藤\n恵子\",H4.7.17,胃,45813,1",
        ",,,,,,,",
        "1001,3,00,鈴木一郎,Ｈ０４．０７．１７,大腸,R7.13.5,1",
    ];

    fn list(end: &str) -> Vec<u8> {
        (LINES.join(end) + end).into_bytes()
    }

    #[test]
    fn a_title_row_is_skipped_and_lines_are_physical_in_lf_and_crlf() {
        for end in ["\n", "\r\n"] {
            let table = read_table(Path::new("list.csv"), &list(end)).unwrap();
            assert_eq!(table.headers[0], "記号", "{end:?}");
            let lines: Vec<u64> = table.rows.iter().map(|(l, _)| *l).collect();
            assert_eq!(lines, [4, 5, 8], "{end:?}");
            let Err(ImportError::Rows { problems }) = parse_referrals("list.csv", &table) else {
                panic!("{end:?}: the 13th month is refused");
            };
            assert_eq!(problems.len(), 1, "{problems:?}");
            let p = &problems[0];
            assert_eq!((p.line, p.field.as_str()), (8, "検診実施年月日"));
            assert_eq!(
                p.kind,
                ProblemKind::NoSuchDate {
                    value: "R7.13.5".into()
                }
            );
            assert_eq!(p.person.as_deref(), Some("1001-3-00 鈴木一郎"));
            assert_eq!(
                p.to_string(),
                "8行目 「検診実施年月日」: 「R7.13.5」という日付はありません（月日または元号の年を確かめてください）。（1001-3-00 鈴木一郎）"
            );
        }
    }

    #[test]
    fn abbreviated_wareki_and_excel_serials_are_dates_in_every_list() {
        let text = list("\r\n");
        let text = String::from_utf8(text)
            .unwrap()
            .replace("R7.13.5", "R7.6.5");
        let table = read_table(Path::new("list.csv"), text.as_bytes()).unwrap();
        let rows = parse_referrals("list.csv", &table).unwrap();
        let dates: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.person.birth_date.to_string(),
                    r.screening_date.to_string(),
                )
            })
            .collect();
        assert_eq!(
            dates,
            [
                (4, "1975-03-03".into(), "2025-06-05".into()),
                (5, "1992-07-17".into(), "2025-06-05".into()),
                (8, "1992-07-17".into(), "2025-06-05".into()),
            ]
        );
    }

    #[test]
    fn an_xlsx_row_is_its_excel_row_number_under_a_title() {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "要精密検査者リスト").unwrap();
        let header = [
            "記号",
            "番号",
            "氏名",
            "生年月日",
            "がん検診の種類",
            "検診実施年月日",
        ];
        for (c, h) in header.iter().enumerate() {
            sheet.write_string(2, c as u16, *h).unwrap();
        }
        for (c, v) in ["1001", "1", "高橋花子"].iter().enumerate() {
            sheet.write_string(3, c as u16, *v).unwrap();
        }
        let date_format = rust_xlsxwriter::Format::new().set_num_format("ge.m.d");
        let birth = rust_xlsxwriter::ExcelDateTime::from_ymd(1975, 3, 3).unwrap();
        sheet
            .write_datetime_with_format(3, 3, &birth, &date_format)
            .unwrap();
        sheet.write_string(3, 4, "胃").unwrap();
        sheet.write_number(3, 5, 45813.0).unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let table = read_table(Path::new("list.xlsx"), &bytes).unwrap();
        assert_eq!(table.rows[0].0, 4, "Excel's row number, title counted");
        let rows = parse_referrals("list.xlsx", &table).unwrap();
        assert_eq!(rows[0].person.birth_date.to_string(), "1975-03-03");
        assert_eq!(rows[0].screening_date.to_string(), "2025-06-05");
    }

    #[test]
    fn a_checkup_archive_or_a_claims_file_is_not_taken_for_a_list() {
        let zip = b"PK\x03\x04\x14\x00\x00\x00DATA/h0001.xml";
        assert!(matches!(
            read_table(Path::new("list.csv"), zip),
            Err(ImportError::WrongForm {
                form: OtherForm::CheckupArchive,
                ..
            })
        ));
        let uke = "IR,1,13,1,1234567,,架空医院,202601,00,03\r\n".as_bytes();
        let err = read_table(Path::new("RECEIPTC.csv"), uke).unwrap_err();
        assert!(matches!(
            err,
            ImportError::WrongForm {
                form: OtherForm::Claims,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "RECEIPTC.csv はこの提出の様式ではありません。レセプト（UKE）ファイルです。レセプトの取込から読み込んでください。"
        );
        let xml = "<?xml version=\"1.0\"?><ClinicalDocument/>".as_bytes();
        assert!(matches!(
            read_table(Path::new("h.xml"), xml),
            Err(ImportError::WrongForm { .. })
        ));
    }

    #[test]
    fn a_file_that_is_neither_utf8_nor_shift_jis_says_so_in_japanese() {
        let err = read_table(Path::new("bad.csv"), &[0x82, 0xff, 0xff, 0x0a]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.csv の文字コードが読めません。UTF-8 または Shift_JIS の CSV で保存してください。"
        );
    }
}

/// One column of a list's form (様式): its header as the reader finds it, whether the
/// reader refuses a file without it, how to fill it in, and a made-up example value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormColumn {
    /// Header text (the first name the reader accepts).
    pub header: &'static str,
    /// A file without this column is refused.
    pub required: bool,
    /// How to fill it in.
    pub how: &'static str,
    /// A synthetic example value.
    pub example: &'static str,
}

const fn col(
    header: &'static str,
    required: bool,
    how: &'static str,
    example: &'static str,
) -> FormColumn {
    FormColumn {
        header,
        required,
        how,
        example,
    }
}

const DATE_HOW: &str = "2026-10-05、2026/10/5、令和8年10月5日、R8.10.5 など";

const MEMBER_FORM: &[FormColumn] = &[
    col("保険者番号", false, "8桁。書く場合は当組合の番号", ""),
    col("記号", true, "保険証の記号", "1001"),
    col("番号", true, "保険証の番号", "305"),
    col("枝番", true, "2桁（0 は 00 と読みます）", "00"),
    col("氏名", true, "漢字氏名（姓と名の間に空白）", "吉田 真由美"),
    col("氏名カナ", true, "カタカナ", "ヨシダ マユミ"),
    col("性別", true, "1/2 または 男/女", "2"),
    col("生年月日", true, DATE_HOW, "1980-04-01"),
    col("郵便番号", true, "7桁（ハイフン可）", "100-0001"),
    col(
        "住所",
        true,
        "都道府県から番地まで",
        "東京都千代田区千代田1-1",
    ),
    col("住所2", false, "建物名・部屋番号・方書", "千代田ビル3階"),
    col("事業所記号", true, "所属する事業所の記号", "1001"),
    col("本人家族", true, "本人 または 家族（1/2 も可）", "本人"),
    col("資格取得日", true, DATE_HOW, "2020-04-01"),
    col(
        "資格喪失日",
        false,
        "資格を失った最初の日（空欄: 加入中）",
        "",
    ),
    col("所属開始日", false, "この事業所に所属した日（空欄可）", ""),
];

const REFERRAL_FORM: &[FormColumn] = &[
    col("記号", true, "保険証の記号", "1001"),
    col("番号", true, "保険証の番号", "305"),
    col("枝番", false, "2桁（空欄可）", "00"),
    col("氏名", true, "漢字またはカナ", "吉田 真由美"),
    col("生年月日", true, DATE_HOW, "1980-04-01"),
    col(
        "がん検診の種類",
        true,
        "肺・胃・大腸・乳・子宮頸（「がん」付きも可）",
        "胃",
    ),
    col("検診実施年月日", true, DATE_HOW, "2026-10-05"),
    col(
        "同意",
        false,
        "データ共有に同意した人は 1、同意していない人は 0",
        "1",
    ),
];

const CONSENT_FORM: &[FormColumn] = &[
    col("記号", true, "保険証の記号", "1001"),
    col("番号", true, "保険証の番号", "305"),
    col("枝番", true, "2桁", "00"),
    col("区分", true, "オプトアウト または 同意", "オプトアウト"),
    col(
        "範囲",
        false,
        "all（すべて）、R・S・D・C のいずれか（空欄: すべて）",
        "all",
    ),
    col("適用日", true, DATE_HOW, "2026-12-01"),
    col("経路", false, "phone・letter・bulk（空欄: bulk）", "letter"),
];

/// Example values of the checkup layout's columns, by header.
fn checkup_example(header: &str) -> (&'static str, &'static str) {
    match header {
        "保険者番号" => ("8桁", "06139999"),
        "記号" => ("保険証の記号", "1001"),
        "番号" => ("保険証の番号", "305"),
        "枝番" => ("2桁", "00"),
        "氏名カナ" => ("カタカナ", "ヨシダ マユミ"),
        "性別" => ("1/2 または 男/女", "2"),
        "生年月日" => (DATE_HOW, "1980-04-01"),
        "健診実施日" => (DATE_HOW, "2026-06-05"),
        "身長" => ("cm", "158.2"),
        "体重" => ("kg", "55.0"),
        "腹囲" => ("cm", "76.0"),
        "BMI" => ("", "22.0"),
        "収縮期血圧" | "拡張期血圧" => ("mmHg", "118"),
        "中性脂肪" => ("mg/dL（採血時間で空腹時・随時を区別）", "110"),
        "採血時間" => ("空腹・随時・食直後（または 2/3/4）", "空腹"),
        "HDL" => ("mg/dL", "62"),
        "LDL" => ("mg/dL", "118"),
        "Non-HDL" => ("mg/dL（LDL の代わりに測った場合）", ""),
        "空腹時血糖" => ("mg/dL", "92"),
        "随時血糖" => ("mg/dL", ""),
        "HbA1c" => ("%（NGSP）", "5.4"),
        "AST" | "ALT" => ("U/L", "20"),
        "γ-GT" => ("U/L", "25"),
        "血清クレアチニン" => ("mg/dL", "0.7"),
        "eGFR" => ("mL/分/1.73㎡", "85"),
        "尿蛋白" | "尿糖" => ("−・±・+・2+・3+", "−"),
        "血色素量" => ("g/dL", "13.2"),
        "喫煙" => ("はい・いいえ・やめた", "いいえ"),
        _ => ("1 服薬あり、2 なし", "2"),
    }
}

/// The form (様式) of a list Collabo reads, column by column, in the order the downloaded
/// file has them; `None` for claims, which come only as UKE files. The readers find
/// these same headers (the web test fills each form in and imports it).
pub fn list_form(kind: ImportKind) -> Option<Vec<FormColumn>> {
    match kind {
        ImportKind::Members => Some(MEMBER_FORM.to_vec()),
        ImportKind::Referrals => Some(REFERRAL_FORM.to_vec()),
        ImportKind::Consents => Some(CONSENT_FORM.to_vec()),
        ImportKind::Checkups => Some(
            collabo_checkup::layout::COLUMNS
                .iter()
                .map(|(header, column, _)| {
                    let (how, example) = checkup_example(header);
                    FormColumn {
                        header,
                        required: collabo_checkup::layout::REQUIRED
                            .iter()
                            .any(|(_, c)| c == column),
                        how,
                        example,
                    }
                })
                .collect(),
        ),
        ImportKind::Claims => None,
    }
}
