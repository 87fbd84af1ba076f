//! One 特定健診 CDA document (`DATA/h*.xml`, HL7 CDA R2 in `urn:hl7-org:v3`) into a
//! [`CheckupRecord`], read with quick-xml's streaming `Reader` in one pass.
//!
//! What it reads: the person on `recordTarget/patientRole` (ids by OID, kana name, sex,
//! birth date), the exam date on `documentationOf/serviceEvent/effectiveTime` (never the
//! document date), and every `observation` at any depth (grouped results under
//! `entryRelationship` COMP/RSON included), identified by item code only, whatever the
//! section. What it deliberately doesn't: validate against the XSD, read `author`,
//! `addr`, reference ranges or `interpretationCode` (risk is judged on numbers against
//! the MHLW thresholds, not on the institution's flags).
//! See: shared/reference/tokutei/NOTES.md §2–§4.

use crate::error::ReadError;
use crate::items::{self, BpReading, CodeKind, Medication};
use crate::record::{CheckupRecord, Origin, Problem, RangeFlag, UnknownItem};
use collabo_domain::checkup::{DrawTiming, Item, ObservedValue, SmokingAnswer, UrineGrade};
use collabo_domain::ids::{self, Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use jiff::civil::Date;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The CDA namespace.
pub const NS_CDA: &str = "urn:hl7-org:v3";
/// 保険者番号 OID.
pub const OID_INSURER: &str = "1.2.392.200119.6.101";
/// 被保険者証等記号 OID.
pub const OID_SYMBOL: &str = "1.2.392.200119.6.204";
/// 被保険者証等番号 OID.
pub const OID_NUMBER: &str = "1.2.392.200119.6.205";
/// 被保険者証等枝番 OID (FY2021+).
pub const OID_BRANCH: &str = "1.2.392.200119.6.211";

/// The first day of 第4期 (FY2024). Exams before it are read with 第3期 meanings.
pub const FOURTH_PERIOD_START: Date = Date::constant(2024, 4, 1);

/// Strips a UTF-8 byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// 1-based line of a byte offset.
pub(crate) fn line_at(text: &str, offset: u64) -> u64 {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    ClinicalDocument,
    RecordTarget,
    PatientRole,
    Patient,
    Name,
    DocumentationOf,
    ServiceEvent,
    ServiceEventTime,
    Observation,
    Value,
    Other,
}

#[derive(Debug, Default)]
struct RawValue {
    xsi_type: Option<String>,
    value: Option<String>,
    unit: Option<String>,
    code: Option<String>,
    code_system: Option<String>,
    null_flavor: Option<String>,
    text: String,
}

impl RawValue {
    fn is_range_flag(&self) -> bool {
        self.code_system.as_deref() == Some(items::OID_INTERPRETATION)
    }
    fn describe(&self) -> String {
        if let Some(null) = &self.null_flavor {
            return format!("nullFlavor={null}");
        }
        let mut parts = Vec::new();
        if let Some(v) = &self.value {
            parts.push(v.clone());
        }
        if let Some(u) = &self.unit {
            parts.push(u.clone());
        }
        if let Some(c) = &self.code {
            parts.push(match &self.code_system {
                Some(system) => format!("code={c}@{system}"),
                None => format!("code={c}"),
            });
        }
        if !self.text.trim().is_empty() {
            parts.push(self.text.trim().to_owned());
        }
        parts.join(" ")
    }
}

#[derive(Debug, Default)]
struct RawObservation {
    code: Option<String>,
    negated: bool,
    values: Vec<RawValue>,
    line: u64,
}

impl RawObservation {
    fn main_value(&self) -> Option<&RawValue> {
        self.values.iter().find(|v| !v.is_range_flag())
    }
    fn flag(&self) -> Option<RangeFlag> {
        self.values
            .iter()
            .filter(|v| v.is_range_flag())
            .find_map(|v| match v.code.as_deref() {
                Some("H") => Some(RangeFlag::High),
                Some("L") => Some(RangeFlag::Low),
                _ => None,
            })
    }
    fn raw_value(&self) -> String {
        if self.negated {
            return "未実施 (negationInd)".to_owned();
        }
        self.values
            .iter()
            .map(RawValue::describe)
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

#[derive(Debug, Default)]
struct Header {
    ids: Vec<(String, String, u64)>,
    name: String,
    sex: Option<String>,
    birth: Option<String>,
    exam_date: Option<(String, u64)>,
    document_date: Option<String>,
}

#[derive(Debug, Default)]
struct Attrs {
    root: Option<String>,
    extension: Option<String>,
    value: Option<String>,
    unit: Option<String>,
    code: Option<String>,
    code_system: Option<String>,
    null_flavor: Option<String>,
    xsi_type: Option<String>,
    negation: Option<String>,
    xmlns: Option<String>,
}

fn read_attrs(e: &BytesStart<'_>) -> Result<Attrs, String> {
    let mut attrs = Attrs::default();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("well-formed attributes ({err})"))?;
        let key = attr.key.as_ref();
        let slot = match key {
            "xmlns" => &mut attrs.xmlns,
            _ => match attr.key.local_name().as_ref() {
                "root" => &mut attrs.root,
                "extension" => &mut attrs.extension,
                "value" => &mut attrs.value,
                "unit" => &mut attrs.unit,
                "code" => &mut attrs.code,
                "codeSystem" => &mut attrs.code_system,
                "nullFlavor" => &mut attrs.null_flavor,
                "type" => &mut attrs.xsi_type,
                "negationInd" => &mut attrs.negation,
                _ => continue,
            },
        };
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("a valid attribute value ({err})"))?;
        *slot = Some(value.into_owned());
    }
    Ok(attrs)
}

/// What text content is being collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    None,
    Name,
    Value,
}

struct Parser<'a> {
    text: &'a str,
    origin: &'a Origin,
    stack: Vec<Tag>,
    open_observations: Vec<RawObservation>,
    observations: Vec<RawObservation>,
    header: Header,
    capture: Capture,
    seen_root: bool,
    warnings: Vec<Problem>,
    line_cursor: (usize, u64),
}

impl<'a> Parser<'a> {
    /// The line of `offset`, counting newlines only since the previous call (offsets
    /// grow through a document, so the whole pass stays linear).
    fn line(&mut self, offset: u64) -> u64 {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        let (from, mut line) = if offset >= self.line_cursor.0 {
            self.line_cursor
        } else {
            (0, 1)
        };
        line += self.text.as_bytes()[from..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.line_cursor = (offset, line);
        line
    }

    fn malformed(&self, offset: u64, expected: impl Into<String>) -> ReadError {
        ReadError::Malformed {
            origin: self.origin.at_line(line_at(self.text, offset)),
            expected: expected.into(),
        }
    }

    fn open(&mut self, e: &BytesStart<'_>, offset: u64, empty: bool) -> Result<Tag, ReadError> {
        let local = e.local_name();
        let local = local.as_ref();
        let parent = self.stack.last().copied();
        // Attributes are parsed only for the elements that need them.
        let read = |this: &Self| read_attrs(e).map_err(|expected| this.malformed(offset, expected));
        let tag = match (parent, local) {
            (None, _) => {
                let attrs = read(self)?;
                if self.seen_root {
                    return Err(self.malformed(offset, "a single root element"));
                }
                self.seen_root = true;
                if local != "ClinicalDocument" {
                    return Err(self.malformed(
                        offset,
                        format!("root element <ClinicalDocument> (found <{local}>)"),
                    ));
                }
                if attrs.xmlns.as_deref() != Some(NS_CDA) {
                    self.warnings.push(Problem {
                        field: "ClinicalDocument/@xmlns".to_owned(),
                        line: Some(line_at(self.text, offset)),
                        message: format!(
                            "namespace {:?} is not {NS_CDA}; read by local names anyway",
                            attrs.xmlns.as_deref().unwrap_or("")
                        ),
                    });
                }
                Tag::ClinicalDocument
            }
            (_, "observation") => {
                let attrs = read(self)?;
                let line = self.line(offset);
                self.open_observations.push(RawObservation {
                    negated: attrs.negation.as_deref() == Some("true"),
                    line,
                    ..RawObservation::default()
                });
                Tag::Observation
            }
            (Some(Tag::Observation), "code") => {
                let attrs = read(self)?;
                if let Some(observation) = self.open_observations.last_mut() {
                    observation.code = attrs.code;
                }
                Tag::Other
            }
            (Some(Tag::Observation), "value") => {
                let attrs = read(self)?;
                if let Some(observation) = self.open_observations.last_mut() {
                    observation.values.push(RawValue {
                        xsi_type: attrs.xsi_type,
                        value: attrs.value,
                        unit: attrs.unit,
                        code: attrs.code,
                        code_system: attrs.code_system,
                        null_flavor: attrs.null_flavor,
                        text: String::new(),
                    });
                }
                if !empty {
                    self.capture = Capture::Value;
                }
                Tag::Value
            }
            (Some(Tag::ClinicalDocument), "recordTarget") => Tag::RecordTarget,
            (Some(Tag::ClinicalDocument), "documentationOf") => Tag::DocumentationOf,
            (Some(Tag::ClinicalDocument), "effectiveTime") => {
                let attrs = read(self)?;
                self.header.document_date = attrs.value;
                Tag::Other
            }
            (Some(Tag::RecordTarget), "patientRole") => Tag::PatientRole,
            (Some(Tag::PatientRole), "id") => {
                let attrs = read(self)?;
                if let (Some(root), Some(extension)) = (attrs.root, attrs.extension) {
                    self.header.ids.push((root, extension, offset));
                }
                Tag::Other
            }
            (Some(Tag::PatientRole), "patient") => Tag::Patient,
            (Some(Tag::Patient), "name") => {
                if !empty {
                    self.capture = Capture::Name;
                }
                Tag::Name
            }
            (Some(Tag::Patient), "administrativeGenderCode") => {
                let attrs = read(self)?;
                self.header.sex = attrs.code;
                Tag::Other
            }
            (Some(Tag::Patient), "birthTime") => {
                let attrs = read(self)?;
                self.header.birth = attrs.value;
                Tag::Other
            }
            (Some(Tag::DocumentationOf), "serviceEvent") => Tag::ServiceEvent,
            (Some(Tag::ServiceEvent), "effectiveTime") => {
                let attrs = read(self)?;
                if let Some(value) = attrs.value {
                    self.header.exam_date = Some((value, offset));
                }
                Tag::ServiceEventTime
            }
            (Some(Tag::ServiceEventTime), "low") => {
                let attrs = read(self)?;
                if let (None, Some(value)) = (&self.header.exam_date, attrs.value) {
                    self.header.exam_date = Some((value, offset));
                }
                Tag::Other
            }
            _ => Tag::Other,
        };
        Ok(tag)
    }

    fn close(&mut self, tag: Tag) {
        match tag {
            Tag::Observation => {
                if let Some(observation) = self.open_observations.pop() {
                    self.observations.push(observation);
                }
            }
            Tag::Name | Tag::Value => self.capture = Capture::None,
            _ => {}
        }
    }

    fn text(&mut self, content: &str) {
        match self.capture {
            Capture::None => {}
            Capture::Name => self.header.name.push_str(content),
            Capture::Value => {
                if let Some(value) = self
                    .open_observations
                    .last_mut()
                    .and_then(|o| o.values.last_mut())
                {
                    value.text.push_str(content);
                }
            }
        }
    }

    fn run(&mut self) -> Result<(), ReadError> {
        let mut reader = Reader::from_str(self.text);
        loop {
            let offset = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(event) => event,
                Err(err) => {
                    let at = reader.error_position();
                    return Err(self.malformed(at, format!("well-formed XML ({err})")));
                }
            };
            match event {
                Event::Start(e) => {
                    let tag = self.open(&e, offset, false)?;
                    self.stack.push(tag);
                }
                Event::Empty(e) => {
                    let tag = self.open(&e, offset, true)?;
                    self.close(tag);
                }
                Event::End(_) => {
                    if let Some(tag) = self.stack.pop() {
                        self.close(tag);
                    }
                }
                Event::Text(t) => {
                    if self.capture != Capture::None {
                        self.text(&t.xml10_content());
                    } else if self.stack.is_empty() && !t.xml10_content().trim().is_empty() {
                        return Err(self.malformed(offset, "markup, not text, outside the root"));
                    }
                }
                Event::CData(t) if self.capture != Capture::None => {
                    self.text(&t.xml10_content());
                }
                Event::GeneralRef(r) if self.capture != Capture::None => {
                    let resolved = if r.is_char_ref() {
                        r.resolve_char_ref().ok().flatten().map(String::from)
                    } else {
                        quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                            .map(str::to_owned)
                    };
                    match resolved {
                        Some(s) => self.text(&s),
                        None => {
                            return Err(self.malformed(
                                offset,
                                format!("a predefined entity (found &{};)", r.xml10_content()),
                            ));
                        }
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !self.seen_root {
            return Err(self.malformed(0, "root element <ClinicalDocument>"));
        }
        if !self.stack.is_empty() {
            return Err(self.malformed(
                self.text.len() as u64,
                format!(
                    "closing tags for {} open element(s), starting with </ClinicalDocument> (the document ends early)",
                    self.stack.len()
                ),
            ));
        }
        Ok(())
    }
}

fn parse_yyyymmdd(text: &str) -> Option<Date> {
    let digits = ids::normalise_code(text);
    if digits.len() < 8 || !digits.as_bytes()[..8].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year: i16 = digits[0..4].parse().ok()?;
    let month: i8 = digits[4..6].parse().ok()?;
    let day: i8 = digits[6..8].parse().ok()?;
    Date::new(year, month, day).ok()
}

fn problem(field: &str, line: u64, message: impl Into<String>) -> Problem {
    Problem {
        field: field.to_owned(),
        line: Some(line),
        message: message.into(),
    }
}

/// Parses one CDA document. `Err(Malformed)` for a document that is not well-formed
/// (fatal for the import); `Err(Rejected)` when the person or exam date is missing.
pub fn parse_document(text: &str, origin: Origin) -> Result<CheckupRecord, ReadError> {
    let mut parser = Parser {
        text,
        origin: &origin,
        stack: Vec::with_capacity(32),
        open_observations: Vec::new(),
        observations: Vec::with_capacity(64),
        header: Header::default(),
        capture: Capture::None,
        seen_root: false,
        warnings: Vec::new(),
        line_cursor: (0, 1),
    };
    parser.run()?;
    let Parser {
        header,
        observations,
        warnings,
        ..
    } = parser;
    build_record(header, observations, warnings, origin, text)
}

fn build_record(
    header: Header,
    observations: Vec<RawObservation>,
    mut problems: Vec<Problem>,
    origin: Origin,
    text: &str,
) -> Result<CheckupRecord, ReadError> {
    let mut fatal = Vec::new();
    let mut insurer = None;
    let mut symbol = None;
    let mut number = None;
    let mut branch = None;
    for (root, extension, offset) in &header.ids {
        let line = line_at(text, *offset);
        let field = format!("patientRole/id[@root='{root}']");
        match root.as_str() {
            OID_INSURER => match InsurerNumber::parse(extension) {
                Ok(v) => insurer = Some(v),
                Err(e) => fatal.push(problem(&field, line, e.to_string())),
            },
            OID_SYMBOL => match Symbol::parse(extension) {
                Ok(v) => symbol = Some(v),
                Err(e) => fatal.push(problem(&field, line, e.to_string())),
            },
            OID_NUMBER => match CardNumber::parse(extension) {
                Ok(v) => number = Some(v),
                Err(e) => fatal.push(problem(&field, line, e.to_string())),
            },
            OID_BRANCH => match Branch::parse(extension) {
                Ok(v) => branch = Some(v),
                // A bad 枝番 does not stop matching on 記号番号 + 生年月日.
                Err(e) => problems.push(problem(&field, line, e.to_string())),
            },
            _ => {}
        }
    }
    let missing = |what: &str| Problem {
        field: what.to_owned(),
        line: None,
        message: "missing".to_owned(),
    };
    if insurer.is_none() && !fatal.iter().any(|p| p.field.contains(OID_INSURER)) {
        fatal.push(missing("patientRole/id 保険者番号 (1.2.392.200119.6.101)"));
    }
    if symbol.is_none() && !fatal.iter().any(|p| p.field.contains(OID_SYMBOL)) {
        fatal.push(missing("patientRole/id 記号 (1.2.392.200119.6.204)"));
    }
    if number.is_none() && !fatal.iter().any(|p| p.field.contains(OID_NUMBER)) {
        fatal.push(missing("patientRole/id 番号 (1.2.392.200119.6.205)"));
    }
    let sex = header.sex.as_deref().and_then(Sex::from_code);
    if sex.is_none() {
        fatal.push(Problem {
            field: "patient/administrativeGenderCode".to_owned(),
            line: None,
            message: format!(
                "expected code 1 or 2, found {:?}",
                header.sex.unwrap_or_default()
            ),
        });
    }
    let birth_date = header.birth.as_deref().and_then(parse_yyyymmdd);
    if birth_date.is_none() {
        fatal.push(Problem {
            field: "patient/birthTime".to_owned(),
            line: None,
            message: format!(
                "expected YYYYMMDD, found {:?}",
                header.birth.unwrap_or_default()
            ),
        });
    }
    let exam_date = header
        .exam_date
        .as_ref()
        .and_then(|(v, _)| parse_yyyymmdd(v));
    if exam_date.is_none() {
        fatal.push(Problem {
            field: "documentationOf/serviceEvent/effectiveTime".to_owned(),
            line: header.exam_date.as_ref().map(|(_, o)| line_at(text, *o)),
            message: format!(
                "expected the exam date as YYYYMMDD, found {:?} (the document date {:?} is not the exam date)",
                header.exam_date.map(|(v, _)| v).unwrap_or_default(),
                header.document_date.unwrap_or_default()
            ),
        });
    }
    let (Some(insurer), Some(symbol), Some(number), Some(sex), Some(birth_date), Some(exam_date)) =
        (insurer, symbol, number, sex, birth_date, exam_date)
    else {
        fatal.extend(problems);
        return Err(ReadError::Rejected {
            origin,
            problems: fatal,
        });
    };
    let kana_name = header.name.trim().to_owned();
    let mut record = CheckupRecord::new(
        origin, insurer, symbol, number, branch, kana_name, sex, birth_date, exam_date,
    );
    record.problems = problems;
    interpret_observations(&mut record, observations);
    Ok(record)
}

/// A blood-pressure reading found in the document.
struct BpFound {
    systolic: bool,
    reading: BpReading,
    value: ObservedValue,
    code: String,
    flag: Option<RangeFlag>,
}

/// Reads a number or grade; `Err` says what was wrong.
fn observed_value(
    observation: &RawObservation,
    item: Item,
) -> Result<(ObservedValue, Option<RangeFlag>), String> {
    let flag = observation.flag();
    if observation.negated {
        return Ok((ObservedValue::NotDone, flag));
    }
    let Some(value) = observation.main_value() else {
        return Err("no <value> and not negationInd=\"true\"".to_owned());
    };
    if value.null_flavor.is_some() {
        return Ok((ObservedValue::NotMeasurable, flag));
    }
    if matches!(item, Item::UrineProtein | Item::UrineGlucose) {
        let code = value.code.as_deref().unwrap_or("");
        return code
            .parse::<u8>()
            .ok()
            .and_then(UrineGrade::from_mhlw_code)
            .map(|g| (ObservedValue::Grade(g), flag))
            .ok_or_else(|| {
                format!(
                    "expected a grade code 1–5 of {}, found {code:?}",
                    items::OID_QUALITATIVE
                )
            });
    }
    let raw = value.value.as_deref().unwrap_or("");
    if let Some(kind) = value.xsi_type.as_deref().filter(|t| !t.ends_with("PQ")) {
        return Err(format!("expected a PQ value, found xsi:type {kind:?}"));
    }
    ids::normalise_code(raw)
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(|n| (ObservedValue::Number(n), flag))
        .ok_or_else(|| format!("expected a number in value=, found {raw:?}"))
}

fn coded(observation: &RawObservation) -> Option<(&str, Option<&str>)> {
    if observation.negated {
        return None;
    }
    let value = observation.main_value()?;
    value.null_flavor.is_none().then_some(())?;
    Some((value.code.as_deref()?, value.code_system.as_deref()))
}

fn smoking_answer(
    code: &str,
    system: Option<&str>,
    exam_date: Date,
) -> Result<(SmokingAnswer, Option<String>), String> {
    use SmokingAnswer::*;
    // The answer list decides the meaning of code 2; without one, the exam date does.
    let (fourth, note) = match system {
        Some(items::OID_SMOKING_2024) => (true, None),
        Some(items::OID_YES_NO) => (false, None),
        Some(other) => return Err(format!("unknown answer list {other} for 喫煙")),
        None => (
            exam_date >= FOURTH_PERIOD_START,
            Some(
                "no codeSystem on the 喫煙 answer; meaning taken from the exam date's period"
                    .to_owned(),
            ),
        ),
    };
    let answer = match (fourth, code) {
        (_, "1") => Smokes,
        // 第4期 code 2: 以前は吸っていたが、最近1か月間は吸っていない (a former smoker).
        (true, "2") => FormerSmoker,
        (true, "3") | (false, "2") => DoesNotSmoke,
        _ => return Err(format!("unknown 喫煙 answer code {code:?}")),
    };
    Ok((answer, note))
}

/// Turns the raw observations into domain observations and questionnaire answers.
///
/// **Blood pressure.** The MHLW item table has three codes per pressure: 1回目, 2回目
/// and その他. The 標準的な健診・保健指導プログラム asks for two readings and judges their
/// mean (「原則2回測定し、その平均値を用いる」 as we read it; not re-verified against the
/// 令和6年度版 text here, see NOTES.md §5.4), and institutions that report a single value
/// (one reading, or a mean they computed) use その他. So: その他 when present (it is the
/// value the institution itself reports), else the mean of 1回目 and 2回目 when both
/// were measured, else whichever single reading was measured. The chosen codes are kept
/// in [`ObservationSource::code`] (`9A751…+9A752…` for a mean).
///
/// **Triglycerides.** The 第4期 随時 codes are always 随時. The other codes are 空腹時 in
/// 第4期; in 第3期 data (exam before 2024-04-01) they were used for both, and
/// 採血時間(食後) decides: 2 (10時間以上) fasting, 1/3/4 random, absent fasting. A 第4期
/// 空腹時 code with a non-fasting 採血時間 is kept as fasting with a problem.
fn interpret_observations(record: &mut CheckupRecord, observations: Vec<RawObservation>) {
    let mut bp: Vec<BpFound> = Vec::new();
    let mut triglycerides: Vec<(bool, &RawObservation)> = Vec::new();
    let mut draw_timing: Option<(String, u64)> = None;
    let mut seen_codes: Vec<&str> = Vec::new();
    let exam_date = record.exam_date;
    for observation in &observations {
        let Some(code) = observation.code.as_deref() else {
            continue; // a group header (`code nullFlavor="NA"`)
        };
        let Some(kind) = items::classify(code) else {
            record.unknown_items.push(UnknownItem {
                code: code.to_owned(),
                table_name: items::lookup(code).map(|t| t.name),
                raw_value: observation.raw_value(),
            });
            continue;
        };
        if seen_codes.contains(&code) {
            record.problems.push(problem(
                code,
                observation.line,
                "item appears twice; the first is kept",
            ));
            continue;
        }
        seen_codes.push(code);
        match kind {
            CodeKind::Measure(item) => match observed_value(observation, item) {
                Ok((value, flag)) => {
                    if record.value(item).is_some() {
                        record.problems.push(problem(
                            code,
                            observation.line,
                            format!(
                                "{} given by two method codes; the first is kept",
                                item.label()
                            ),
                        ));
                    } else {
                        record.push(item, value, Some(code.to_owned()), flag);
                    }
                }
                Err(message) => record
                    .problems
                    .push(problem(code, observation.line, message)),
            },
            CodeKind::BloodPressure { systolic, reading } => {
                let item = if systolic {
                    Item::SystolicBp
                } else {
                    Item::DiastolicBp
                };
                match observed_value(observation, item) {
                    Ok((value, flag)) => bp.push(BpFound {
                        systolic,
                        reading,
                        value,
                        code: code.to_owned(),
                        flag,
                    }),
                    Err(message) => record
                        .problems
                        .push(problem(code, observation.line, message)),
                }
            }
            CodeKind::Triglycerides { random_code } => {
                triglycerides.push((random_code, observation))
            }
            CodeKind::DrawTiming => match coded(observation) {
                Some((value, _)) => draw_timing = Some((value.to_owned(), observation.line)),
                None if observation.negated => {}
                None => record.problems.push(problem(
                    code,
                    observation.line,
                    "expected a 採血時間 code",
                )),
            },
            CodeKind::Smoking => match coded(observation) {
                Some((value, system)) => match smoking_answer(value, system, exam_date) {
                    Ok((answer, note)) => {
                        record.questionnaire.smoking = Some(answer);
                        if let Some(note) = note {
                            record.problems.push(problem(code, observation.line, note));
                        }
                    }
                    Err(message) => record
                        .problems
                        .push(problem(code, observation.line, message)),
                },
                None if observation.negated => {}
                None => record.problems.push(problem(
                    code,
                    observation.line,
                    "expected a coded 喫煙 answer",
                )),
            },
            CodeKind::Medication(which) => {
                let answer = match coded(observation) {
                    Some(("1", _)) => Some(true),
                    Some(("2", _)) => Some(false),
                    None if observation.negated => None,
                    other => {
                        record.problems.push(problem(
                            code,
                            observation.line,
                            format!("expected 服薬 code 1 or 2, found {:?}", other.map(|o| o.0)),
                        ));
                        None
                    }
                };
                let slot = match which {
                    Medication::BloodPressure => {
                        &mut record.questionnaire.medication_blood_pressure
                    }
                    Medication::Glucose => &mut record.questionnaire.medication_glucose,
                    Medication::Lipids => &mut record.questionnaire.medication_lipids,
                };
                if answer.is_some() {
                    *slot = answer;
                }
            }
        }
    }
    for systolic in [true, false] {
        judge_blood_pressure(record, &bp, systolic);
    }
    let fourth = exam_date >= FOURTH_PERIOD_START;
    let timing = draw_timing
        .as_ref()
        .and_then(|(raw, _)| DrawTiming::from_mhlw_code(raw));
    if let (Some((raw, line)), None) = (&draw_timing, timing) {
        record.problems.push(problem(
            items::CODE_DRAW_TIMING,
            *line,
            format!("unknown 採血時間 code {raw:?}; the sample is judged as of unknown timing"),
        ));
    }
    record.questionnaire.draw_timing = timing;
    let fasting_draw = timing.map(DrawTiming::is_fasting);
    for (random_code, observation) in triglycerides {
        let code = observation.code.as_deref().unwrap_or_default();
        let item = if random_code {
            Item::TriglyceridesRandom
        } else if fourth {
            if fasting_draw == Some(false) {
                record.problems.push(problem(
                    code,
                    observation.line,
                    "空腹時中性脂肪 code with a non-fasting 採血時間; kept as fasting",
                ));
            }
            Item::TriglyceridesFasting
        } else if fasting_draw == Some(false) {
            Item::TriglyceridesRandom
        } else {
            Item::TriglyceridesFasting
        };
        match observed_value(observation, item) {
            Ok((value, flag)) if record.value(item).is_none() => {
                record.push(item, value, Some(code.to_owned()), flag);
            }
            Ok(_) => record.problems.push(problem(
                code,
                observation.line,
                format!("{} given twice; the first is kept", item.label()),
            )),
            Err(message) => record
                .problems
                .push(problem(code, observation.line, message)),
        }
    }
}

fn judge_blood_pressure(record: &mut CheckupRecord, found: &[BpFound], systolic: bool) {
    let item = if systolic {
        Item::SystolicBp
    } else {
        Item::DiastolicBp
    };
    let pick = |reading: BpReading| {
        found
            .iter()
            .find(|f| f.systolic == systolic && f.reading == reading)
    };
    let (first, second, other) = (
        pick(BpReading::First),
        pick(BpReading::Second),
        pick(BpReading::Other),
    );
    // その他 wins when measured, or when it is all there is (then its NotDone/NotMeasurable).
    if let Some(other) = other
        && (other.value.number().is_some() || (first.is_none() && second.is_none()))
    {
        record.push(item, other.value, Some(other.code.clone()), other.flag);
        return;
    }
    match (first, second) {
        (Some(a), Some(b)) => match (a.value.number(), b.value.number()) {
            (Some(x), Some(y)) => record.push(
                item,
                ObservedValue::Number((x + y) / 2.0),
                Some(format!("{}+{}", a.code, b.code)),
                b.flag.or(a.flag),
            ),
            (Some(_), None) => record.push(item, a.value, Some(a.code.clone()), a.flag),
            _ => record.push(item, b.value, Some(b.code.clone()), b.flag),
        },
        (Some(one), None) | (None, Some(one)) => {
            record.push(item, one.value, Some(one.code.clone()), one.flag);
        }
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_from_one() {
        let text = "a\nb\nc";
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 2), 2);
        assert_eq!(line_at(text, 99), 3);
    }

    #[test]
    fn dates_need_eight_digits_and_a_real_day() {
        assert_eq!(
            parse_yyyymmdd("20240229"),
            Some(Date::constant(2024, 2, 29))
        );
        assert_eq!(
            parse_yyyymmdd("２０２４０６１０"),
            Some(Date::constant(2024, 6, 10))
        );
        assert_eq!(parse_yyyymmdd("20230229"), None);
        assert_eq!(parse_yyyymmdd("202406"), None);
    }

    #[test]
    fn smoking_without_an_answer_list_follows_the_exam_date() {
        let (answer, note) = smoking_answer("2", None, Date::constant(2024, 5, 1)).unwrap();
        assert_eq!(answer, SmokingAnswer::FormerSmoker);
        assert!(note.is_some());
        let (answer, _) = smoking_answer("2", None, Date::constant(2024, 3, 31)).unwrap();
        assert_eq!(answer, SmokingAnswer::DoesNotSmoke);
        assert!(smoking_answer("3", Some(items::OID_YES_NO), Date::constant(2023, 1, 1)).is_err());
    }
}
