//! The one CSV/XLSX column layout for checkups (documented in README.md): header
//! matching, row → [`CheckupRecord`], the streaming CSV and XLSX sources, and the CSV
//! writer.
//!
//! Columns are found by their Japanese header in any order; unknown columns are kept
//! per row as unknown items. CSV may be UTF-8 (with or without BOM) or Shift_JIS
//! (CP932): the file is checked for valid UTF-8 in a streaming pass, then read record by
//! record with `csv::ByteRecord`, decoding each field. XLSX is read with calamine, which
//! loads the first sheet whole (employer sheets are small; archives are the bulk path).
//! Not here: guessing layouts other than this one.

use crate::error::{ReadError, WriteError};
use crate::items::Medication;
use crate::record::{CheckupRecord, Origin, Problem, UnknownItem};
use collabo_domain::calendar::parse_cell_date;
use collabo_domain::checkup::{DrawTiming, Item, ObservedValue, SmokingAnswer, UrineGrade};
use collabo_domain::ids::{self, Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use collabo_domain::problem::ProblemKind;
use jiff::civil::Date;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// 保険者番号.
    Insurer,
    /// 記号.
    Symbol,
    /// 番号.
    Number,
    /// 枝番.
    Branch,
    /// 氏名カナ.
    KanaName,
    /// 性別.
    Sex,
    /// 生年月日.
    BirthDate,
    /// 健診実施日.
    ExamDate,
    /// A measured item (every item except triglycerides).
    Measure(Item),
    /// 中性脂肪, fasting or random by 採血時間.
    Triglycerides,
    /// 採血時間: 空腹 or 随時.
    DrawTiming,
    /// 喫煙.
    Smoking,
    /// 服薬_血圧 / 服薬_血糖 / 服薬_脂質.
    Medication(Medication),
}

/// The layout in writing order: header, column, accepted aliases.
pub const COLUMNS: &[(&str, Column, &[&str])] = &[
    ("保険者番号", Column::Insurer, &[]),
    ("記号", Column::Symbol, &[]),
    ("番号", Column::Number, &[]),
    ("枝番", Column::Branch, &[]),
    (
        "氏名カナ",
        Column::KanaName,
        &["氏名(カナ)", "カナ氏名", "氏名"],
    ),
    ("性別", Column::Sex, &[]),
    ("生年月日", Column::BirthDate, &[]),
    ("健診実施日", Column::ExamDate, &["受診日", "実施日"]),
    ("身長", Column::Measure(Item::Height), &[]),
    ("体重", Column::Measure(Item::Weight), &[]),
    ("腹囲", Column::Measure(Item::Waist), &[]),
    ("BMI", Column::Measure(Item::Bmi), &[]),
    ("収縮期血圧", Column::Measure(Item::SystolicBp), &[]),
    ("拡張期血圧", Column::Measure(Item::DiastolicBp), &[]),
    ("中性脂肪", Column::Triglycerides, &[]),
    ("採血時間", Column::DrawTiming, &["採血時間(空腹/随時)"]),
    ("HDL", Column::Measure(Item::Hdl), &["HDLコレステロール"]),
    ("LDL", Column::Measure(Item::Ldl), &["LDLコレステロール"]),
    (
        "Non-HDL",
        Column::Measure(Item::NonHdl),
        &["Non-HDLコレステロール"],
    ),
    ("空腹時血糖", Column::Measure(Item::GlucoseFasting), &[]),
    ("随時血糖", Column::Measure(Item::GlucoseRandom), &[]),
    ("HbA1c", Column::Measure(Item::HbA1c), &["HbA1c(NGSP)"]),
    ("AST", Column::Measure(Item::Ast), &["AST(GOT)", "GOT"]),
    ("ALT", Column::Measure(Item::Alt), &["ALT(GPT)", "GPT"]),
    (
        "γ-GT",
        Column::Measure(Item::GammaGt),
        &["γ-GTP", "γ-GT(γ-GTP)", "GGT"],
    ),
    (
        "血清クレアチニン",
        Column::Measure(Item::Creatinine),
        &["クレアチニン"],
    ),
    ("eGFR", Column::Measure(Item::Egfr), &[]),
    ("尿蛋白", Column::Measure(Item::UrineProtein), &[]),
    ("尿糖", Column::Measure(Item::UrineGlucose), &[]),
    (
        "血色素量",
        Column::Measure(Item::Haemoglobin),
        &["ヘモグロビン"],
    ),
    ("喫煙", Column::Smoking, &[]),
    (
        "服薬_血圧",
        Column::Medication(Medication::BloodPressure),
        &["服薬1(血圧)"],
    ),
    (
        "服薬_血糖",
        Column::Medication(Medication::Glucose),
        &["服薬2(血糖)"],
    ),
    (
        "服薬_脂質",
        Column::Medication(Medication::Lipids),
        &["服薬3(脂質)"],
    ),
];

/// The columns a file must have (the rest may be left out).
pub const REQUIRED: &[(&str, Column)] = &[
    ("保険者番号", Column::Insurer),
    ("記号", Column::Symbol),
    ("番号", Column::Number),
    ("性別", Column::Sex),
    ("生年月日", Column::BirthDate),
    ("健診実施日", Column::ExamDate),
];

/// Header text folded for matching: full-width to half-width, spaces removed, ASCII
/// lower-cased, a BOM dropped.
fn fold_header(text: &str) -> String {
    ids::normalise_code(text.trim_start_matches('\u{feff}')).to_ascii_lowercase()
}

/// The columns of one file, found from its header row.
#[derive(Debug, Clone)]
pub struct Layout {
    headers: Vec<String>,
    columns: Vec<Option<Column>>,
}

impl Layout {
    /// Matches a header row. Fails when a required column (保険者番号, 記号, 番号, 性別,
    /// 生年月日, 健診実施日) is missing; the message names them.
    pub fn from_headers<S: AsRef<str>>(headers: &[S]) -> Result<Layout, String> {
        let headers: Vec<String> = headers
            .iter()
            .map(|h| h.as_ref().trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        let columns: Vec<Option<Column>> = headers
            .iter()
            .map(|h| {
                let folded = fold_header(h);
                COLUMNS
                    .iter()
                    .find(|(name, _, aliases)| {
                        fold_header(name) == folded
                            || aliases.iter().any(|a| fold_header(a) == folded)
                    })
                    .map(|(_, column, _)| *column)
            })
            .collect();
        let missing: Vec<&str> = REQUIRED
            .iter()
            .filter(|(_, c)| !columns.contains(&Some(*c)))
            .map(|(name, _)| *name)
            .collect();
        if missing.is_empty() {
            Ok(Layout { headers, columns })
        } else {
            Err(format!(
                "見出しの行に必須の列がありません: {}",
                missing.join("、")
            ))
        }
    }

    /// Headers that are not part of the layout (kept as unknown items per row).
    pub fn unknown_headers(&self) -> Vec<&str> {
        self.headers
            .iter()
            .zip(&self.columns)
            .filter(|(h, c)| c.is_none() && !h.is_empty())
            .map(|(h, _)| h.as_str())
            .collect()
    }

    /// One data row to a record. `Err(Rejected)` when a required field is missing or
    /// invalid; other bad values become problems on the record.
    pub fn record<S: AsRef<str>>(
        &self,
        fields: &[S],
        origin: Origin,
    ) -> Result<CheckupRecord, ReadError> {
        let line = origin.line;
        let mut fatal = Vec::new();
        let mut problems = Vec::new();
        let mut insurer = None;
        let mut symbol = None;
        let mut number = None;
        let mut branch = None;
        let mut kana = String::new();
        let mut sex = None;
        let mut birth = None;
        let mut exam = None;
        let mut measures: Vec<(Item, ObservedValue, &str)> = Vec::new();
        let mut triglycerides: Option<(ObservedValue, &str)> = None;
        let mut fasting: Option<bool> = None;
        let mut questionnaire = collabo_domain::checkup::Questionnaire::default();
        let mut unknown = Vec::new();
        let bad = |header: &str, message: String| Problem {
            field: header.to_owned(),
            line,
            message,
        };
        for (index, header) in self.headers.iter().enumerate() {
            let raw = fields.get(index).map(|f| f.as_ref().trim()).unwrap_or("");
            let Some(column) = self.columns[index] else {
                if !raw.is_empty() && !header.is_empty() {
                    unknown.push(UnknownItem {
                        code: header.clone(),
                        table_name: None,
                        raw_value: raw.to_owned(),
                    });
                }
                continue;
            };
            if raw.is_empty() {
                if matches!(
                    column,
                    Column::Insurer
                        | Column::Symbol
                        | Column::Number
                        | Column::Sex
                        | Column::BirthDate
                        | Column::ExamDate
                ) {
                    fatal.push(bad(header, ProblemKind::Required.to_string()));
                }
                continue;
            }
            match column {
                Column::Insurer => match InsurerNumber::parse(raw) {
                    Ok(v) => insurer = Some(v),
                    Err(e) => fatal.push(bad(header, e.to_string())),
                },
                Column::Symbol => match Symbol::parse(raw) {
                    Ok(v) => symbol = Some(v),
                    Err(e) => fatal.push(bad(header, e.to_string())),
                },
                Column::Number => match CardNumber::parse(raw) {
                    Ok(v) => number = Some(v),
                    Err(e) => fatal.push(bad(header, e.to_string())),
                },
                Column::Branch => match Branch::parse(raw) {
                    Ok(v) => branch = Some(v),
                    Err(e) => problems.push(bad(header, e.to_string())),
                },
                Column::KanaName => kana = raw.to_owned(),
                Column::Sex => match Sex::from_code(raw) {
                    Some(v) => sex = Some(v),
                    None => fatal.push(bad(
                        header,
                        ProblemKind::NotOneOf {
                            value: raw.to_owned(),
                            allowed: "1（男）、2（女）",
                        }
                        .to_string(),
                    )),
                },
                Column::BirthDate => match parse_date(raw) {
                    Ok(v) => birth = Some(v),
                    Err(m) => fatal.push(bad(header, m)),
                },
                Column::ExamDate => match parse_date(raw) {
                    Ok(v) => exam = Some(v),
                    Err(m) => fatal.push(bad(header, m)),
                },
                Column::Measure(item) => match parse_value(raw, item) {
                    Ok(v) => measures.push((item, v, header)),
                    Err(m) => problems.push(bad(header, m)),
                },
                Column::Triglycerides => match parse_value(raw, Item::TriglyceridesFasting) {
                    Ok(v) => triglycerides = Some((v, header)),
                    Err(m) => problems.push(bad(header, m)),
                },
                Column::DrawTiming => match parse_draw_timing(raw) {
                    Some(t) => {
                        fasting = Some(t.is_fasting());
                        questionnaire.draw_timing = Some(t);
                    }
                    None => problems.push(bad(
                        header,
                        format!(
                            "expected 空腹, 随時 (食後3.5時間以上) or 食直後 (食後3.5時間未満), or the MHLW code 1–4, found {raw:?}"
                        ),
                    )),
                },
                Column::Smoking => match parse_smoking(raw) {
                    Some(v) => questionnaire.smoking = Some(v),
                    None => problems.push(bad(
                        header,
                        format!(
                            "expected はい, いいえ or やめた (以前は吸っていたが最近1か月間は吸っていない), found {raw:?}"
                        ),
                    )),
                },
                Column::Medication(which) => {
                    let answer = match ids::normalise_code(raw).as_str() {
                        "はい" | "あり" | "有" | "1" => Some(true),
                        "いいえ" | "なし" | "無" | "2" => Some(false),
                        _ => {
                            problems.push(bad(
                                header,
                                format!("expected はい or いいえ, found {raw:?}"),
                            ));
                            None
                        }
                    };
                    match which {
                        Medication::BloodPressure => {
                            questionnaire.medication_blood_pressure = answer
                        }
                        Medication::Glucose => questionnaire.medication_glucose = answer,
                        Medication::Lipids => questionnaire.medication_lipids = answer,
                    }
                }
            }
        }
        let (Some(insurer), Some(symbol), Some(number), Some(sex), Some(birth), Some(exam)) =
            (insurer, symbol, number, sex, birth, exam)
        else {
            fatal.extend(problems);
            return Err(ReadError::Rejected {
                origin,
                problems: fatal,
            });
        };
        let mut record = CheckupRecord::new(
            origin, insurer, symbol, number, branch, kana, sex, birth, exam,
        );
        for (item, value, header) in measures {
            record.push(item, value, Some(header.to_owned()), None);
        }
        if let Some((value, header)) = triglycerides {
            // 採血時間 blank: fasting, the 第3期 reading of the single TG item.
            let item = if fasting == Some(false) {
                Item::TriglyceridesRandom
            } else {
                Item::TriglyceridesFasting
            };
            record.push(item, value, Some(header.to_owned()), None);
        }
        record.questionnaire = questionnaire;
        record.unknown_items = unknown;
        record.problems = problems;
        Ok(record)
    }
}

/// A date cell, by the one function every list reader uses (ISO, 和暦, `R8.6.5`, an
/// Excel serial).
fn parse_date(raw: &str) -> Result<Date, String> {
    parse_cell_date(raw).map_err(|e| ProblemKind::of_date(raw, &e).to_string())
}

fn parse_value(raw: &str, item: Item) -> Result<ObservedValue, String> {
    match raw {
        "未実施" => return Ok(ObservedValue::NotDone),
        "測定不能" | "測定不可" => return Ok(ObservedValue::NotMeasurable),
        _ => {}
    }
    if matches!(item, Item::UrineProtein | Item::UrineGlucose) {
        return UrineGrade::parse(raw)
            .map(ObservedValue::Grade)
            .ok_or_else(|| format!("expected a grade (−, ±, +, 2+, 3+, 4+), found {raw:?}"));
    }
    ids::normalise_code(raw)
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(ObservedValue::Number)
        .ok_or_else(|| format!("expected a number, 未実施 or 測定不能, found {raw:?}"))
}

/// 喫煙. The 第4期 answer 2 is 「以前は吸っていたが、最近1か月間は吸っていない」: a former
/// smoker who has not smoked for at least a month (MHLW XML用特定健診項目情報 V4, OID
/// 1.2.392.200119.6.24060). Someone who quit within the last month still smoked in it, so
/// 「最近やめた」「禁煙1か月以内」 are not that answer and are refused as unclear.
fn parse_smoking(raw: &str) -> Option<SmokingAnswer> {
    Some(match ids::normalise_code(raw).as_str() {
        "はい" | "吸う" | "吸っている" => SmokingAnswer::Smokes,
        "いいえ" | "吸わない" | "吸っていない" => SmokingAnswer::DoesNotSmoke,
        "やめた" | "以前は吸っていた" | "過去喫煙" | "禁煙中" | "最近1か月間は吸っていない" => {
            SmokingAnswer::FormerSmoker
        }
        _ if ids::normalise_code(raw).starts_with("以前は吸っていたが") => {
            SmokingAnswer::FormerSmoker
        }
        _ => return None,
    })
}

/// 採血時間: 空腹 (食後10時間以上), 随時 (食後3.5時間以上10時間未満), 食直後 (食後3.5時間未満),
/// or the MHLW code (2, 3, 4; 1 「食後10時間未満」 of the earlier list). See
/// shared/reference/tokutei/XMLhc24tab.csv, 採血時間(食後).
fn parse_draw_timing(raw: &str) -> Option<DrawTiming> {
    let text = ids::normalise_code(raw);
    if let Some(t) = DrawTiming::from_mhlw_code(&text) {
        return Some(t);
    }
    Some(match text.as_str() {
        "空腹" | "空腹時" | "食後10時間以上" => DrawTiming::Fasting,
        "随時" | "食後3.5時間以上" | "食後3.5時間以上10時間未満" => {
            DrawTiming::Random
        }
        "食直後" | "食後3.5時間未満" => DrawTiming::SoonAfterMeal,
        "食後" | "食後10時間未満" => DrawTiming::NotFasting,
        _ => return None,
    })
}

/// Whether a file is valid UTF-8, checked in 64 KiB chunks without loading it.
pub fn is_utf8_file(path: &Path) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut carry = 0;
    loop {
        let n = file.read(&mut buffer[carry..])?;
        if n == 0 {
            return Ok(carry == 0);
        }
        let len = carry + n;
        match std::str::from_utf8(&buffer[..len]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_some() => return Ok(false),
            Err(e) => {
                let valid = e.valid_up_to();
                buffer.copy_within(valid..len, 0);
                carry = len - valid;
            }
        }
    }
}

/// A CSV file in the layout, read one record at a time.
pub(crate) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    utf8: bool,
    layout: Layout,
    record: csv::ByteRecord,
    fields: Vec<String>,
}

impl CsvSource {
    pub(crate) fn open(path: &Path, warnings: &mut Vec<String>) -> Result<CsvSource, ReadError> {
        let io = |source| ReadError::Io {
            path: path.to_owned(),
            source,
        };
        let utf8 = is_utf8_file(path).map_err(io)?;
        if !utf8 {
            warnings.push("not UTF-8; read as Shift_JIS (CP932)".to_owned());
        }
        let file = File::open(path).map_err(io)?;
        // Records end at `\n` alone (a CR is trimmed with the last field), so the
        // reader's line count is the same for LF and CRLF files.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(BufReader::with_capacity(256 * 1024, file));
        let mut header = csv::ByteRecord::new();
        let origin = Origin {
            file: path.to_owned(),
            member: None,
            line: Some(1),
        };
        let got = reader
            .read_byte_record(&mut header)
            .map_err(|e| ReadError::Malformed {
                origin: origin.clone(),
                expected: format!("CSV ({e})"),
            })?;
        if !got {
            return Err(ReadError::Malformed {
                origin,
                expected: "a header row (the file is empty)".to_owned(),
            });
        }
        let headers: Vec<String> = header.iter().map(|f| decode(f, utf8)).collect();
        let layout = Layout::from_headers(&headers)
            .map_err(|expected| ReadError::Malformed { origin, expected })?;
        let unknown = layout.unknown_headers();
        if !unknown.is_empty() {
            warnings.push(format!(
                "columns not in the layout, kept as unknown items: {}",
                unknown.join(", ")
            ));
        }
        Ok(CsvSource {
            path: path.to_owned(),
            reader,
            utf8,
            layout,
            record: csv::ByteRecord::new(),
            fields: Vec::new(),
        })
    }

    pub(crate) fn next_item(&mut self) -> Option<Result<CheckupRecord, ReadError>> {
        loop {
            let line = self.reader.position().line() + 1;
            let origin = Origin {
                file: self.path.clone(),
                member: None,
                line: Some(line),
            };
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    return Some(Err(ReadError::Malformed {
                        origin,
                        expected: format!("CSV ({e})"),
                    }));
                }
            }
            if self
                .record
                .iter()
                .all(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue; // blank line
            }
            // The physical line the record starts on: the reader stands on the line
            // after the record's `\n` (or on its last line at the end of the file),
            // less the line breaks inside quoted fields.
            let breaks = self
                .record
                .as_slice()
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            let after = self.reader.position().line();
            let line = after
                .saturating_sub(breaks)
                .saturating_sub(u64::from(!self.reader.is_done()))
                .max(1);
            self.fields.clear();
            let utf8 = self.utf8;
            self.fields
                .extend(self.record.iter().map(|f| decode(f, utf8)));
            return Some(self.layout.record(&self.fields, origin.at_line(line)));
        }
    }
}

fn decode(field: &[u8], utf8: bool) -> String {
    if utf8 {
        String::from_utf8_lossy(field).into_owned()
    } else {
        encoding_rs::SHIFT_JIS
            .decode_without_bom_handling(field)
            .0
            .into_owned()
    }
}

/// The first sheet of an XLSX workbook in the layout.
pub(crate) struct XlsxSource {
    path: PathBuf,
    sheet: String,
    range: calamine::Range<calamine::Data>,
    first_row: u64,
    next_row: usize,
    layout: Layout,
}

impl XlsxSource {
    pub(crate) fn open(path: &Path, warnings: &mut Vec<String>) -> Result<XlsxSource, ReadError> {
        use calamine::Reader as _;
        let malformed = |member: Option<String>, expected: String| ReadError::Malformed {
            origin: Origin {
                file: path.to_owned(),
                member,
                line: None,
            },
            expected,
        };
        let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(path)
            .map_err(|e| malformed(None, format!("an XLSX workbook ({e})")))?;
        let sheet = workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| malformed(None, "at least one sheet".to_owned()))?;
        let range = workbook
            .worksheet_range(&sheet)
            .map_err(|e| malformed(Some(sheet.clone()), format!("a readable sheet ({e})")))?;
        let first_row = u64::from(range.start().map_or(0, |(row, _)| row)) + 1;
        let header: Vec<String> = range
            .rows()
            .next()
            .map(|row| row.iter().map(cell_text).collect())
            .unwrap_or_default();
        let layout = Layout::from_headers(&header).map_err(|expected| ReadError::Malformed {
            origin: Origin {
                file: path.to_owned(),
                member: Some(sheet.clone()),
                line: Some(first_row),
            },
            expected,
        })?;
        let unknown = layout.unknown_headers();
        if !unknown.is_empty() {
            warnings.push(format!(
                "columns not in the layout, kept as unknown items: {}",
                unknown.join(", ")
            ));
        }
        Ok(XlsxSource {
            path: path.to_owned(),
            sheet,
            range,
            first_row,
            next_row: 1,
            layout,
        })
    }

    pub(crate) fn next_item(&mut self) -> Option<Result<CheckupRecord, ReadError>> {
        loop {
            let index = self.next_row;
            let row = self.range.rows().nth(index)?;
            self.next_row += 1;
            let fields: Vec<String> = row.iter().map(cell_text).collect();
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let origin = Origin {
                file: self.path.clone(),
                member: Some(self.sheet.clone()),
                line: Some(self.first_row + index as u64),
            };
            return Some(self.layout.record(&fields, origin));
        }
    }
}

/// A cell as text; date cells become ISO dates (1900 date system).
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => format_number(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let days = dt.as_f64().floor() as i64;
            Date::constant(1899, 12, 30)
                .checked_add(jiff::Span::new().days(days))
                .map_or_else(|_| dt.as_f64().to_string(), |d| d.to_string())
        }
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// A number as the shortest text that reads back the same (`142`, `6.8`).
pub fn format_number(n: f64) -> String {
    format!("{n}")
}

fn value_text(value: ObservedValue) -> String {
    match value {
        ObservedValue::Number(n) => format_number(n),
        ObservedValue::Grade(g) => g.label().to_owned(),
        ObservedValue::NotDone => "未実施".to_owned(),
        ObservedValue::NotMeasurable => "測定不能".to_owned(),
    }
}

/// Writes records in the layout: UTF-8 with a BOM (so Excel opens it), header first.
/// Unknown items are not written (they have no column).
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Starts the file: BOM and header row.
    pub fn new(mut out: W) -> Result<Self, WriteError> {
        out.write_all(b"\xEF\xBB\xBF").map_err(csv::Error::from)?;
        let mut inner = csv::Writer::from_writer(out);
        inner.write_record(COLUMNS.iter().map(|(name, _, _)| *name))?;
        Ok(CsvWriter { inner })
    }

    /// Writes one record. When both triglycerides are present, the fasting one is
    /// written (the layout has one 中性脂肪 column with 採血時間).
    pub fn write(&mut self, record: &CheckupRecord) -> Result<(), WriteError> {
        let yes_no = |b: Option<bool>| b.map_or("", |b| if b { "はい" } else { "いいえ" });
        let q = &record.questionnaire;
        let (tg, told) = match (
            record.value(Item::TriglyceridesFasting),
            record.value(Item::TriglyceridesRandom),
        ) {
            (Some(v), _) => (value_text(v), Some(DrawTiming::Fasting)),
            (None, Some(v)) => (value_text(v), Some(DrawTiming::Random)),
            (None, None) => (String::new(), None),
        };
        let timing = q.draw_timing.or(told).map_or("", DrawTiming::label);
        let fields: Vec<String> = COLUMNS
            .iter()
            .map(|(_, column, _)| match column {
                Column::Insurer => record.insurer.to_string(),
                Column::Symbol => record.symbol.to_string(),
                Column::Number => record.number.to_string(),
                Column::Branch => record
                    .branch
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                Column::KanaName => record.kana_name.clone(),
                Column::Sex => record.sex.label().to_owned(),
                Column::BirthDate => record.birth_date.to_string(),
                Column::ExamDate => record.exam_date.to_string(),
                Column::Measure(item) => record.value(*item).map(value_text).unwrap_or_default(),
                Column::Triglycerides => tg.clone(),
                Column::DrawTiming => timing.to_owned(),
                Column::Smoking => match q.smoking {
                    Some(SmokingAnswer::Smokes) => "はい",
                    Some(SmokingAnswer::DoesNotSmoke) => "いいえ",
                    Some(SmokingAnswer::FormerSmoker) => "やめた",
                    None => "",
                }
                .to_owned(),
                Column::Medication(Medication::BloodPressure) => {
                    yes_no(q.medication_blood_pressure).to_owned()
                }
                Column::Medication(Medication::Glucose) => yes_no(q.medication_glucose).to_owned(),
                Column::Medication(Medication::Lipids) => yes_no(q.medication_lipids).to_owned(),
            })
            .collect();
        self.inner.write_record(&fields)?;
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> Result<W, WriteError> {
        self.inner
            .into_inner()
            .map_err(|e| WriteError::Csv(csv::Error::from(e.into_error())))
    }
}

/// Writes records to a CSV file in the layout.
pub fn write_csv(
    path: &Path,
    records: impl IntoIterator<Item = CheckupRecord>,
) -> Result<(), WriteError> {
    let file = File::create(path).map_err(|source| WriteError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut writer = CsvWriter::new(std::io::BufWriter::new(file))?;
    for record in records {
        writer.write(&record)?;
    }
    let mut out = writer.finish()?;
    out.flush().map_err(|source| WriteError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_any_width_and_order() {
        let layout = Layout::from_headers(&[
            "健診実施日",
            "ＢＭＩ",
            "保険者番号",
            "記号",
            "番号",
            "性別",
            "生年月日",
            "備考",
        ])
        .unwrap();
        assert_eq!(layout.unknown_headers(), vec!["備考"]);
        assert_eq!(layout.columns[1], Some(Column::Measure(Item::Bmi)));
    }

    #[test]
    fn a_layout_without_exam_date_is_refused_by_name() {
        let err =
            Layout::from_headers(&["保険者番号", "記号", "番号", "性別", "生年月日"]).unwrap_err();
        assert!(err.contains("健診実施日"), "{err}");
    }
}
