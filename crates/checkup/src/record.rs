//! The unmatched checkup record every reader yields, where it came from, the problems
//! found in it, and the import report.
//!
//! A [`CheckupRecord`] is the typestate between "a document in a file" and
//! [`collabo_domain::checkup::Checkup`]: the person is as submitted, not yet matched to
//! the member register. Matching, storage and the review queue live in other crates;
//! this module only offers [`CheckupRecord::submitted_person`] and
//! [`CheckupRecord::into_checkup`] for them.

use collabo_domain::checkup::{
    Checkup, CheckupSource, Item, Observation, ObservedValue, Questionnaire,
};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::matching::SubmittedPerson;
use collabo_domain::member::{Member, Sex};
use jiff::civil::Date;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Where a record, problem or error comes from: the file, the archive member (for a
/// zip or folder: the path of the XML document; for XLSX: the sheet) and the line (for
/// CSV/XLSX: the row).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file opened (archive, folder, XML, CSV or XLSX).
    pub file: PathBuf,
    /// The archive member or sheet, if any.
    pub member: Option<String>,
    /// 1-based line (XML) or row (CSV/XLSX), if known.
    pub line: Option<u64>,
}

impl Origin {
    /// The same origin at another line.
    pub fn at_line(&self, line: u64) -> Origin {
        Origin {
            line: Some(line),
            ..self.clone()
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(member) = &self.member {
            write!(f, ": {member}")?;
        }
        if let Some(line) = self.line {
            write!(f, ": line {line}")?;
        }
        Ok(())
    }
}

/// Something wrong with one record that does not stop the import: a value that could
/// not be read, a contradiction, a duplicate. The record is still yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field: a 17-digit item code, an XML path or a column header.
    pub field: String,
    /// 1-based line (XML) or row (CSV/XLSX) in the member, if known.
    pub line: Option<u64>,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// The 基準範囲外 flag an institution may write beside a value
/// (`<value xsi:type="CD" code="H|L" codeSystem="2.16.840.1.113883.5.83"/>`).
/// Informational only: risk is judged on the number against the MHLW thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFlag {
    /// H: above the input range or the institution's reference range.
    High,
    /// L: below.
    Low,
}

impl RangeFlag {
    /// H / L.
    pub fn code(self) -> &'static str {
        match self {
            RangeFlag::High => "H",
            RangeFlag::Low => "L",
        }
    }
}

/// How an observation was submitted: the exact item code (keeps the method variant,
/// e.g. HbA1c by HPLC `3D046000001920402`) or the CSV column, and its H/L flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationSource {
    /// The domain item.
    pub item: Item,
    /// The 17-digit code or column header it was read from. For blood pressure judged on
    /// the mean of two readings, both codes joined by `+`.
    pub code: String,
    /// The H/L flag, if one was written.
    pub flag: Option<RangeFlag>,
}

/// An item Collabo does not map to a domain item, kept with its raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownItem {
    /// 17-digit code (XML) or column header (CSV/XLSX).
    pub code: String,
    /// The XML表示名 when the code is in an MHLW item table (known to MHLW, unused by
    /// Collabo); `None` when it is in no table (an unknown code).
    pub table_name: Option<&'static str>,
    /// The value as written (`value`, `unit`, `code`/`codeSystem`, text, or "未実施").
    pub raw_value: String,
}

/// One checkup of one person, as submitted: not yet matched to the member register.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckupRecord {
    /// Where it came from, for error messages and the review queue.
    pub origin: Origin,
    /// 保険者番号.
    pub insurer: InsurerNumber,
    /// 記号.
    pub symbol: Symbol,
    /// 番号.
    pub number: CardNumber,
    /// 枝番, when submitted.
    pub branch: Option<Branch>,
    /// 氏名 (カナ) as written.
    pub kana_name: String,
    /// 性別.
    pub sex: Sex,
    /// 生年月日.
    pub birth_date: Date,
    /// 健診実施日 (`serviceEvent/effectiveTime`, not the document date).
    pub exam_date: Date,
    /// One observation per item, readings already chosen (see `cda` for blood pressure).
    pub observations: Vec<Observation>,
    /// How each observation was submitted, one per observation, same order.
    pub sources: Vec<ObservationSource>,
    /// 問診.
    pub questionnaire: Questionnaire,
    /// Items Collabo does not use, kept with their raw values.
    pub unknown_items: Vec<UnknownItem>,
    /// Problems found in this record.
    pub problems: Vec<Problem>,
}

impl CheckupRecord {
    /// A record with no observations yet (for builders such as the synthetic generator).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        origin: Origin,
        insurer: InsurerNumber,
        symbol: Symbol,
        number: CardNumber,
        branch: Option<Branch>,
        kana_name: String,
        sex: Sex,
        birth_date: Date,
        exam_date: Date,
    ) -> Self {
        CheckupRecord {
            origin,
            insurer,
            symbol,
            number,
            branch,
            kana_name,
            sex,
            birth_date,
            exam_date,
            observations: Vec::new(),
            sources: Vec::new(),
            questionnaire: Questionnaire::default(),
            unknown_items: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The record of a domain checkup of a registered member, for writers (the demo and
    /// benchmarks write the society's synthetic checkups in the real formats).
    pub fn from_checkup(checkup: &Checkup, member: &Member) -> Self {
        let mut record = CheckupRecord::new(
            Origin::default(),
            member.key.insurer.clone(),
            member.key.symbol.clone(),
            member.key.number.clone(),
            Some(member.key.branch.clone()),
            member.name_kana.clone(),
            member.sex,
            member.birth_date,
            checkup.exam_date,
        );
        for observation in &checkup.observations {
            record.push(observation.item, observation.value, None, None);
        }
        record.questionnaire = checkup.questionnaire;
        record
    }

    /// Adds an observation, or replaces the value of an item already present. `code`
    /// defaults to the item's canonical 17-digit code.
    pub fn push(
        &mut self,
        item: Item,
        value: ObservedValue,
        code: Option<String>,
        flag: Option<RangeFlag>,
    ) {
        let code = code.unwrap_or_else(|| crate::items::canonical_code(item).to_owned());
        let source = ObservationSource { item, code, flag };
        if let Some(index) = self.observations.iter().position(|o| o.item == item) {
            self.observations[index].value = value;
            self.sources[index] = source;
        } else {
            self.observations.push(Observation { item, value });
            self.sources.push(source);
        }
    }

    /// The value of an item, if present.
    pub fn value(&self, item: Item) -> Option<ObservedValue> {
        self.observations
            .iter()
            .find(|o| o.item == item)
            .map(|o| o.value)
    }

    /// How an item was submitted, if present.
    pub fn source(&self, item: Item) -> Option<&ObservationSource> {
        self.sources.iter().find(|s| s.item == item)
    }

    /// The person as the matcher (`collabo_domain::matching`) wants it; the kana name is
    /// the only name the MHLW format carries.
    pub fn submitted_person(&self) -> SubmittedPerson {
        SubmittedPerson {
            symbol: self.symbol.clone(),
            number: self.number.clone(),
            branch: self.branch.clone(),
            name: self.kana_name.clone(),
            birth_date: self.birth_date,
        }
    }

    /// The domain checkup, once the record has been matched to `member`.
    /// `submitted_by` is the employer that handed it over (`None` for the society's own
    /// 人間ドック).
    pub fn into_checkup(
        self,
        member: MemberKey,
        source: CheckupSource,
        submitted_by: Option<EmployerCode>,
    ) -> Checkup {
        Checkup {
            member,
            exam_date: self.exam_date,
            source,
            submitted_by,
            observations: self.observations,
            questionnaire: self.questionnaire,
        }
    }
}

/// Counts of one import, complete once the reader is exhausted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// The file read.
    pub file: PathBuf,
    /// Documents (XML files) or data rows (CSV/XLSX) seen.
    pub documents: u64,
    /// Records yielded.
    pub records: u64,
    /// Documents that could not become a record (yielded as [`crate::ReadError::Rejected`]).
    pub rejected: u64,
    /// Observations in the yielded records.
    pub observations: u64,
    /// Codes (or columns) in no MHLW item table, with how often each occurred.
    pub unknown_codes: BTreeMap<String, u64>,
    /// Codes in an MHLW table that Collabo does not use, with how often each occurred.
    pub unused_codes: BTreeMap<String, u64>,
    /// Problems in yielded records, plus those of rejected documents.
    pub problems: u64,
    /// Problems with the file as a whole that do not stop the import (index counts that
    /// disagree, an unexpected namespace, ignored 保健指導 documents).
    pub warnings: Vec<String>,
}

impl ImportReport {
    pub(crate) fn count_record(&mut self, record: &CheckupRecord) {
        self.documents += 1;
        self.records += 1;
        self.observations += record.observations.len() as u64;
        self.problems += record.problems.len() as u64;
        for unknown in &record.unknown_items {
            let counts = if unknown.table_name.is_some() {
                &mut self.unused_codes
            } else {
                &mut self.unknown_codes
            };
            *counts.entry(unknown.code.clone()).or_insert(0) += 1;
        }
    }
}
