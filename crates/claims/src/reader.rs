//! The UKE reader: streams a レセプト電算 file one claim at a time and reduces each claim
//! to a [`ReducedClaim`] while it reads, so codes never outlive the line they are on and
//! memory stays flat however large the file is.
//!
//! Physical format (NOTES.md §1): CSV without quotes, CR+LF, Shift_JIS/CP932, optional
//! trailing 0x1A. Lines are split on raw bytes (`,` and CR/LF never occur inside a
//! Shift_JIS character); only the few fields that are text (記号・番号) are decoded,
//! with encoding_rs. Every line with non-ASCII bytes is checked to be well-formed
//! Shift_JIS, and a line that is well-formed UTF-8 with multi-byte characters is refused
//! as a UTF-8 file.
//!
//! Records read (index 0 = record identifier): IR/UK/YK headers (institution, 請求年月,
//! multi-volume id), RE (診療年月, 男女区分, 生年月日), HO (保険者番号, 記号, 番号,
//! 実日数), SN (枝番), SY / SB (DPC) / HS (歯科) diagnoses, SI / SS (歯科) procedures,
//! IY drugs (医科 and 調剤 layouts), TO, CO comments, JD per-day flags, CD (DPC coding
//! data with dates), CZ (調剤年月日), GO (総件数, multi-volume end). Unknown record types,
//! short lines and extra trailing fields are tolerated and counted. Insurer-side
//! variants (NOTES.md §6) are detected, not refused: a numeric `データ識別,行番号,枝番号`
//! prefix on every line is stripped, and the review records MN/JY/EX/RC/ON/… are
//! counted (MN starts a new receipt).
//!
//! Decisions where the sources are silent or uncertain:
//! - TO day columns are 17..=47 on lines of 48+ fields (令和 layout) and 14..=44 on
//!   shorter ones (the 2019 dental sample's layout); SS (歯科) day columns are 78..=108.
//! - An IR whose field 7 is not a month but field 6 is (the old dental layout without
//!   名称) takes 請求年月 from field 6.
//! - JD days count when the value is 1 or 2 (受診); 9 (不一致) does not.
//! - 調剤 CZ 調剤年月日 is read as DD, MMDD or a full date; IY drugs of a 調剤 claim are
//!   dated by the CZ record before them.
//! - A day column with a count on a day the service month does not have is an error.
//! - A `GO` 総件数 that disagrees with the RE count is a note in the summary, not an
//!   error: the public samples disagree (GO 140 for 75 RE).
//! - The last line must end with CR+LF (then 0x1A may follow); a last line without it
//!   is a truncated file, except a complete final `GO` record (…,`99`), which is
//!   accepted with a note.
//! - A claim without 保険者番号, 記号 or 番号 cannot be matched: it is counted in
//!   [`FileSummary::claims_without_identity`] and not yielded.
//! - The kind (医科, DPC, 歯科, 調剤) comes from the records first: the 点数表 of the
//!   IR/UK/YK headers (1 医科, 3 歯科, 4 調剤) and DPC-only records (BU, SB, CD, KK …).
//!   The file name only decides what the records leave open: `RECEIPTD` makes a 医科
//!   header DPC, and a file without any header is read by its name (`RECEIPTC` 医科,
//!   `RECEIPTD` DPC, `RECEIPTS` 歯科, `RECEIPTY` 調剤 — the last two are uncertain in
//!   the sources, so they never override a header). Another 点数表 (老健, 訪問看護),
//!   two kinds in one file, or no header and no known name is refused with the line.
//! - マルチボリューム: the header's 識別情報 is `00` for a single volume or the volume
//!   number; a `GO` of `99` ends the set, `01`–`98` says more volumes follow (and is
//!   the number of this one). A header and a `GO` that name different volumes are
//!   refused. Whether the volumes of a set arrive in order is the caller's check
//!   (`collabo_domain::coverage::check_volume`): one file cannot know.
//!
//! Not here: matching to members (the store), follow-up rules (the domain).

use crate::claim::{ClaimIdentity, ReducedClaim};
use crate::date::{DateStyle, parse_date, parse_month};
use crate::error::ClaimsError;
use crate::groups::{GroupMap, MapKind};
use collabo_domain::calendar::YearMonth;
use collabo_domain::coverage::{ClaimStream, Volume};
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use collabo_domain::visit::{Evidence, GroupKind, ServiceTime};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The longest line accepted (the longest record, SJ 症状詳記, is about 2,500 bytes).
/// Bounds memory on a file that is not a claim file at all.
const MAX_LINE: u64 = 1 << 20;

/// What a claim file holds (from its header record and the records seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClaimFileKind {
    /// 医科 (RECEIPTC.UKE): IR 点数表 1.
    Medical,
    /// DPC (RECEIPTD.UKE): 医科 with BU/SB/CD/KK … records.
    Dpc,
    /// 歯科: UK or IR 点数表 3.
    Dental,
    /// 調剤: YK 点数表 4.
    Pharmacy,
    /// Another 点数表 (老健, 訪問看護 …) or no header seen.
    Other,
}

impl ClaimFileKind {
    /// The claims stream of this kind (none for [`ClaimFileKind::Other`]).
    pub fn stream(self) -> Option<ClaimStream> {
        match self {
            ClaimFileKind::Medical => Some(ClaimStream::Medical),
            ClaimFileKind::Dpc => Some(ClaimStream::Dpc),
            ClaimFileKind::Dental => Some(ClaimStream::Dental),
            ClaimFileKind::Pharmacy => Some(ClaimStream::Pharmacy),
            ClaimFileKind::Other => None,
        }
    }

    /// The kind a file name says (`RECEIPTC.UKE` → 医科 …), if it says one.
    pub fn from_file_name(name: &str) -> Option<ClaimFileKind> {
        let upper = name.to_uppercase();
        [
            ("RECEIPTC", ClaimFileKind::Medical),
            ("RECEIPTD", ClaimFileKind::Dpc),
            ("RECEIPTS", ClaimFileKind::Dental),
            ("RECEIPTY", ClaimFileKind::Pharmacy),
        ]
        .into_iter()
        .find(|(prefix, _)| upper.starts_with(prefix))
        .map(|(_, kind)| kind)
    }
}

/// An insurer-side shape detected in the file (NOTES.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FileVariant {
    /// Lines prefixed with `データ識別,行番号,枝番号` (返戻/再審査 style).
    LinePrefix,
    /// 審査 / management records (MN, JY, EX, RC, ON …) from the 支払基金.
    InsurerRecords,
    /// IR without the 医療機関名称 field (old dental layout).
    OldDentalHeader,
}

/// A non-fatal observation about the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// 1-based line.
    pub line: u64,
    /// What was seen.
    pub message: String,
}

/// What a file contained, available once the reader has reached the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    /// The file.
    pub file: PathBuf,
    /// 医科, DPC, 歯科 or 調剤.
    pub kind: ClaimFileKind,
    /// Lines read.
    pub lines: u64,
    /// Records by type.
    pub records: BTreeMap<String, u64>,
    /// Claims (RE records).
    pub claims: u64,
    /// Claims yielded (with identity).
    pub claims_yielded: u64,
    /// Claims without 保険者番号, 記号 or 番号 (not yielded).
    pub claims_without_identity: u64,
    /// Claims by service month (診療年月).
    pub service_months: BTreeMap<YearMonth, u64>,
    /// 請求年月 of the headers (IR / UK / YK).
    pub billing_months: BTreeSet<YearMonth>,
    /// 月遅れ: service months older than the file's regular month (請求年月 − 1, or
    /// the latest service month when there is no header).
    pub late_months: BTreeSet<YearMonth>,
    /// Claims in late months.
    pub late_claims: u64,
    /// Record types this reader does not know.
    pub unknown_records: BTreeMap<String, u64>,
    /// Insurer-side shapes detected.
    pub variants: BTreeSet<FileVariant>,
    /// Date styles seen (和暦, 西暦).
    pub date_styles: BTreeSet<DateStyle>,
    /// Multi-volume ids of the GO records ("99" = last volume). A `GO` 総件数 is
    /// compared with the RE records since the previous final `GO`.
    pub volumes: Vec<String>,
    /// Sum of GO 総件数.
    pub declared_claims: u64,
    /// The place of the file in its multi-volume set (from the header and `GO`).
    pub volume: Volume,
    /// 1-based line of the first header record (0 when there is none).
    pub header_line: u64,
    /// Non-fatal observations (at most 100 kept).
    pub notes: Vec<Note>,
}

impl FileSummary {
    fn new(file: PathBuf) -> Self {
        FileSummary {
            file,
            kind: ClaimFileKind::Other,
            lines: 0,
            records: BTreeMap::new(),
            claims: 0,
            claims_yielded: 0,
            claims_without_identity: 0,
            service_months: BTreeMap::new(),
            billing_months: BTreeSet::new(),
            late_months: BTreeSet::new(),
            late_claims: 0,
            unknown_records: BTreeMap::new(),
            variants: BTreeSet::new(),
            date_styles: BTreeSet::new(),
            volumes: Vec::new(),
            declared_claims: 0,
            volume: Volume::SINGLE,
            header_line: 0,
            notes: Vec::new(),
        }
    }

    /// The regular service month of the file: the month before the latest 請求年月
    /// (claims are billed the month after service), when a header gave one.
    pub fn regular_month(&self) -> Option<YearMonth> {
        self.billing_months
            .iter()
            .next_back()
            .map(|b| prev_month(*b))
    }

    /// The service months this file makes complete for the claims-lag rule: every
    /// 診療年月 seen except the 月遅れ ones (a late claim does not complete its month).
    /// The regular month is not added when the file has no claim of it: a file of only
    /// late or re-billed claims must not mark a month complete (a re-notice sent
    /// because claims were missing is the worst outcome).
    pub fn covered_months(&self) -> BTreeSet<YearMonth> {
        self.service_months
            .keys()
            .filter(|m| !self.late_months.contains(m))
            .copied()
            .collect()
    }

    /// The file ends a multi-volume set, or is a single volume (GO "99").
    pub fn is_final_volume(&self) -> bool {
        self.volumes.last().is_some_and(|v| v == "99")
    }

    /// The claims stream of the file (医科, DPC, 歯科, 調剤).
    pub fn stream(&self) -> Option<ClaimStream> {
        self.kind.stream()
    }

    /// The service month the file is for: its regular month, or without a header its
    /// latest service month.
    pub fn month(&self) -> Option<YearMonth> {
        self.regular_month()
            .or_else(|| self.service_months.keys().next_back().copied())
    }

    /// Claims of [`FileSummary::month`] itself (not 月遅れ). A file with none (only
    /// late claims) cannot complete its month.
    pub fn regular_claims(&self) -> u64 {
        self.month()
            .and_then(|m| self.service_months.get(&m).copied())
            .unwrap_or(0)
    }

    fn note(&mut self, line: u64, message: String) {
        if self.notes.len() < 100 {
            self.notes.push(Note { line, message });
        }
    }

    fn count(&mut self, id: &[u8]) {
        let key = String::from_utf8_lossy(id);
        match self.records.get_mut(key.as_ref()) {
            Some(n) => *n += 1,
            None => {
                self.records.insert(key.into_owned(), 1);
            }
        }
    }
}

fn prev_month(m: YearMonth) -> YearMonth {
    if m.month() == 1 {
        YearMonth::new(m.year() - 1, 12).unwrap_or(m)
    } else {
        YearMonth::new(m.year(), m.month() - 1).unwrap_or(m)
    }
}

/// A claim being read.
#[derive(Default)]
struct Builder {
    active: bool,
    line: u64,
    month: Option<YearMonth>,
    days_in_month: u8,
    birth: Option<Date>,
    sex: Option<Sex>,
    insurer: Option<InsurerNumber>,
    symbol: Option<Symbol>,
    number: Option<CardNumber>,
    branch: Option<Branch>,
    institution: String,
    days: u32,
    conditions: Vec<(u16, bool, Option<Date>)>,
    items: Vec<(u16, GroupKind, u32)>,
    chest_cts: Vec<(u16, u32)>,
    chest_comment: bool,
    pharmacy_days: u32,
}

impl Builder {
    fn start(&mut self, line: u64, institution: &str) {
        self.active = true;
        self.line = line;
        self.month = None;
        self.days_in_month = 31;
        self.birth = None;
        self.sex = None;
        self.insurer = None;
        self.symbol = None;
        self.number = None;
        self.branch = None;
        self.institution.clear();
        self.institution.push_str(institution);
        self.days = 0;
        self.conditions.clear();
        self.items.clear();
        self.chest_cts.clear();
        self.chest_comment = false;
        self.pharmacy_days = 0;
    }
}

/// Streams claims out of one UKE file. Iterate it for `Result<ReducedClaim, ClaimsError>`;
/// after the last claim (or the first error, after which it yields nothing more) read
/// [`ClaimReader::summary`].
pub struct ClaimReader<'m, R> {
    input: R,
    file: PathBuf,
    map: &'m GroupMap,
    buf: Vec<u8>,
    /// End offset of every field of the line in `buf` (the start is one past the
    /// previous end); the first `skip` fields are a line prefix to ignore.
    fields: Vec<u32>,
    skip: usize,
    line: u64,
    claim: Builder,
    institution: String,
    block_claims: u64,
    record_counts: Vec<u64>,
    saw_go: bool,
    finished: bool,
    /// The kind the file name says.
    name_kind: Option<ClaimFileKind>,
    /// The kind of the first header's 点数表, and its line.
    table_kind: Option<(ClaimFileKind, u64)>,
    /// The first header's マルチボリューム識別情報, and its line.
    header_volume: Option<(Vec<u8>, u64)>,
    /// The first `GO` line.
    go_line: u64,
    summary: FileSummary,
}

impl<'m> ClaimReader<'m, BufReader<File>> {
    /// Opens a file.
    pub fn open(path: &Path, map: &'m GroupMap) -> Result<Self, ClaimsError> {
        let file = File::open(path).map_err(|e| ClaimsError::io(path, e))?;
        Ok(ClaimReader::new(
            BufReader::with_capacity(1 << 20, file),
            path,
            map,
        ))
    }
}

impl<'m, R: BufRead> ClaimReader<'m, R> {
    /// Reads from any buffered source; `name` is used in errors, and its file name
    /// tells the kind where the records do not (see the module docs).
    pub fn new(input: R, name: &Path, map: &'m GroupMap) -> Self {
        let name_kind = name
            .file_name()
            .and_then(|n| ClaimFileKind::from_file_name(&n.to_string_lossy()));
        let mut summary = FileSummary::new(name.to_path_buf());
        if name_kind == Some(ClaimFileKind::Dpc) {
            summary.kind = ClaimFileKind::Dpc;
        }
        ClaimReader {
            input,
            file: name.to_path_buf(),
            map,
            buf: Vec::with_capacity(512),
            fields: Vec::with_capacity(128),
            skip: 0,
            line: 0,
            claim: Builder::default(),
            institution: String::new(),
            block_claims: 0,
            record_counts: vec![0; 26 * 26],
            saw_go: false,
            finished: false,
            name_kind,
            table_kind: None,
            header_volume: None,
            go_line: 0,
            summary,
        }
    }

    /// What the file contained. Complete once iteration has returned `None`.
    pub fn summary(&self) -> &FileSummary {
        &self.summary
    }

    /// Consumes the reader, returning the summary.
    pub fn into_summary(self) -> FileSummary {
        self.summary
    }

    /// Consumes the reader, returning its input (e.g. to finish a hash of the bytes
    /// read) and the summary.
    pub fn into_parts(self) -> (R, FileSummary) {
        (self.input, self.summary)
    }

    /// Reads every claim, handing each to `each`, and returns the summary. Stops at the
    /// first error.
    pub fn for_each_claim(
        mut self,
        mut each: impl FnMut(ReducedClaim),
    ) -> Result<FileSummary, ClaimsError> {
        for claim in self.by_ref() {
            each(claim?);
        }
        Ok(self.summary)
    }

    fn field_range(&self, index: usize) -> Option<(usize, usize)> {
        let at = index + self.skip;
        let end = *self.fields.get(at)? as usize;
        let start = match at.checked_sub(1) {
            Some(prev) => *self.fields.get(prev)? as usize + 1,
            None => 0,
        };
        Some((start, end))
    }

    fn field(&self, index: usize) -> &[u8] {
        match self.field_range(index) {
            Some((a, b)) => self.buf.get(a..b).unwrap_or(&[]),
            None => &[],
        }
    }

    fn field_count(&self) -> usize {
        self.fields.len().saturating_sub(self.skip)
    }

    fn field_error(
        &self,
        record: &[u8],
        index: usize,
        name: &'static str,
        reason: impl Into<String>,
    ) -> ClaimsError {
        ClaimsError::Field {
            file: self.file.clone(),
            line: self.line,
            record: String::from_utf8_lossy(record).into_owned(),
            index,
            field: name,
            value: encoding_rs::SHIFT_JIS
                .decode_without_bom_handling(self.field(index))
                .0
                .into_owned(),
            reason: reason.into(),
        }
    }

    /// Reads the next line into `buf` without its line end. `Ok(false)` at the end.
    fn next_line(&mut self) -> Result<bool, ClaimsError> {
        self.buf.clear();
        let n = self
            .input
            .by_ref()
            .take(MAX_LINE)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| ClaimsError::io(&self.file, e))?;
        if n as u64 == MAX_LINE && self.buf.last() != Some(&b'\n') {
            return Err(ClaimsError::Structure {
                file: self.file.clone(),
                line: self.line + 1,
                record: String::from_utf8_lossy(self.buf.get(..2).unwrap_or(&[])).into_owned(),
                detail: format!("line longer than {MAX_LINE} bytes: not a claim file"),
            });
        }
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        } else {
            // No line end: only the EOF mark (0x1A) may stand here, or a complete
            // final GO record whose CR+LF a generator left out (noted).
            while matches!(self.buf.last(), Some(0x1A | b'\r' | b' ')) {
                self.buf.pop();
            }
            let complete_go = self.buf.starts_with(b"GO,")
                && self.buf.iter().filter(|b| **b == b',').count() >= 3
                && self.buf.ends_with(b"99");
            if complete_go {
                self.summary.note(
                    self.line,
                    "the last record has no line end (CR+LF)".to_owned(),
                );
            } else if !self.buf.is_empty() {
                return Err(ClaimsError::Truncated {
                    file: self.file.clone(),
                    line: self.line,
                    detail: "the last record has no line end (CR+LF)".to_owned(),
                });
            }
        }
        if self.buf.first() == Some(&0x1A) {
            self.buf.clear();
        }
        Ok(true)
    }

    fn check_encoding(&self) -> Result<(), ClaimsError> {
        if self.buf.is_ascii() {
            return Ok(());
        }
        let bytes = &self.buf;
        if self.line == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
            return Err(self.encoding_error(None, "UTF-8 byte-order mark"));
        }
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                0x00..=0x7F | 0xA1..=0xDF => i += 1,
                0x81..=0x9F | 0xE0..=0xFC => {
                    let ok = bytes
                        .get(i + 1)
                        .is_some_and(|t| matches!(t, 0x40..=0x7E | 0x80..=0xFC));
                    if !ok {
                        return Err(self.encoding_error(
                            Some(self.field_at(i)),
                            "broken double-byte character",
                        ));
                    }
                    i += 2;
                }
                _ => {
                    return Err(
                        self.encoding_error(Some(self.field_at(i)), &format!("byte 0x{b:02X}"))
                    );
                }
            }
        }
        if let Ok(text) = std::str::from_utf8(bytes)
            && text.chars().any(|c| c.len_utf8() >= 3)
        {
            return Err(
                self.encoding_error(None, "the line is UTF-8 text; claim files are Shift_JIS")
            );
        }
        Ok(())
    }

    fn field_at(&self, pos: usize) -> usize {
        self.buf
            .get(..pos)
            .map(|b| b.iter().filter(|c| **c == b',').count())
            .unwrap_or(0)
    }

    fn encoding_error(&self, field: Option<usize>, detail: &str) -> ClaimsError {
        ClaimsError::Encoding {
            file: self.file.clone(),
            line: self.line,
            field,
            detail: detail.to_owned(),
        }
    }

    /// Splits `buf` on commas into `fields`, eight bytes at a time (SWAR: a comma is
    /// a zero byte of `word ^ 0x2C2C…`; the test below is exact, without the false
    /// positives of the short zero-byte trick).
    fn split(&mut self) {
        const ONES_7F: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const COMMAS: u64 = 0x2C2C_2C2C_2C2C_2C2C;
        let mut fields = std::mem::take(&mut self.fields);
        fields.clear();
        self.skip = 0;
        let buf = &self.buf;
        let mut base = 0usize;
        let mut chunks = buf.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let x = u64::from_le_bytes(word) ^ COMMAS;
            let mut zero = !(((x & ONES_7F) + ONES_7F) | x) & HIGH;
            while zero != 0 {
                let pos = base + (zero.trailing_zeros() / 8) as usize;
                fields.push(pos as u32);
                zero &= zero - 1;
            }
            base += 8;
        }
        for (k, byte) in chunks.remainder().iter().enumerate() {
            if *byte == b',' {
                fields.push((base + k) as u32);
            }
        }
        fields.push(buf.len() as u32);
        self.fields = fields;
    }

    /// Finishes the current claim, if any.
    fn finish_claim(&mut self) -> Option<ReducedClaim> {
        if !self.claim.active {
            return None;
        }
        self.claim.active = false;
        let c = &mut self.claim;
        let (Some(month), Some(birth), Some(sex)) = (c.month, c.birth, c.sex) else {
            return None;
        };
        let (Some(insurer), Some(symbol), Some(number)) =
            (c.insurer.take(), c.symbol.take(), c.number.take())
        else {
            self.summary.claims_without_identity += 1;
            return None;
        };
        let map = self.map;
        let first = month.first_day();
        let day_of = |d: u32| first.checked_add(jiff::Span::new().days(i64::from(d))).ok();
        let mut evidence = BTreeSet::new();
        let mut dated: BTreeMap<Date, BTreeSet<Evidence>> = BTreeMap::new();
        for (gid, suspected, started_on) in &c.conditions {
            if let Some(name) = map.group_name(*gid) {
                evidence.insert(Evidence {
                    kind: GroupKind::Condition,
                    group: name.to_owned(),
                    suspected: *suspected,
                    started_on: *started_on,
                });
            }
        }
        if c.chest_comment {
            for (gid, mask) in std::mem::take(&mut c.chest_cts) {
                c.items.push((gid, GroupKind::Procedure, mask));
            }
        }
        for (gid, kind, mask) in &c.items {
            let Some(name) = map.group_name(*gid) else {
                continue;
            };
            let e = Evidence {
                kind: *kind,
                group: name.to_owned(),
                suspected: false,
                started_on: None,
            };
            let mut m = *mask;
            while m != 0 {
                let bit = m.trailing_zeros();
                m &= m - 1;
                if let Some(day) = day_of(bit) {
                    dated.entry(day).or_default().insert(e.clone());
                }
            }
            evidence.insert(e);
        }
        let mut days = Vec::with_capacity(c.days.count_ones() as usize);
        let mut m = c.days;
        while m != 0 {
            let bit = m.trailing_zeros();
            m &= m - 1;
            if let Some(day) = day_of(bit) {
                days.push(day);
            }
        }
        let time = days
            .first()
            .map_or(ServiceTime::Month(month), |d| ServiceTime::Day(*d));
        self.summary.claims_yielded += 1;
        Some(ReducedClaim {
            identity: ClaimIdentity {
                insurer,
                symbol,
                number,
                branch: c.branch.take(),
                birth_date: birth,
                sex,
            },
            institution: c.institution.clone(),
            month,
            time,
            days,
            evidence,
            dated,
            line: c.line,
        })
    }

    fn require_claim(&self, id: &[u8]) -> Result<(), ClaimsError> {
        if self.claim.active {
            Ok(())
        } else {
            Err(ClaimsError::Structure {
                file: self.file.clone(),
                line: self.line,
                record: String::from_utf8_lossy(id).into_owned(),
                detail: "claim detail outside a claim (no RE record before it)".to_owned(),
            })
        }
    }

    fn month_field(
        &mut self,
        id: &[u8],
        index: usize,
        name: &'static str,
    ) -> Result<YearMonth, ClaimsError> {
        match parse_month(self.field(index)) {
            Ok((m, style)) => {
                self.summary.date_styles.insert(style);
                Ok(m)
            }
            Err(reason) => Err(self.field_error(id, index, name, reason)),
        }
    }

    fn date_field(
        &mut self,
        id: &[u8],
        index: usize,
        name: &'static str,
    ) -> Result<Option<Date>, ClaimsError> {
        if self.field(index).is_empty() {
            return Ok(None);
        }
        match parse_date(self.field(index)) {
            Ok((d, style)) => {
                self.summary.date_styles.insert(style);
                Ok(Some(d))
            }
            Err(reason) => Err(self.field_error(id, index, name, reason)),
        }
    }

    fn count_field(
        &self,
        id: &[u8],
        index: usize,
        name: &'static str,
    ) -> Result<Option<u64>, ClaimsError> {
        let raw = self.field(index);
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let mut n: u64 = 0;
        for b in trimmed {
            if !b.is_ascii_digit() || n > u64::MAX / 100 {
                return Err(self.field_error(id, index, name, "expected a count (digits)"));
            }
            n = n * 10 + u64::from(b - b'0');
        }
        Ok(Some(n))
    }

    /// Decodes a text field (記号・番号 may be full-width).
    fn text_field(
        &self,
        id: &[u8],
        index: usize,
        name: &'static str,
    ) -> Result<std::borrow::Cow<'_, str>, ClaimsError> {
        let raw = self.field(index);
        if raw.is_ascii() {
            return Ok(String::from_utf8_lossy(raw));
        }
        encoding_rs::SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(raw)
            .ok_or_else(|| self.field_error(id, index, name, "not Shift_JIS text"))
    }

    /// Per-day count columns `first..first+31` → a day bit mask.
    fn day_columns(&self, id: &[u8], first: usize) -> Result<u32, ClaimsError> {
        let mut mask = 0u32;
        for day in 0..31usize {
            let index = first + day;
            let Some((a, b)) = self.field_range(index) else {
                break;
            };
            if a == b {
                continue; // empty: the usual case
            }
            let raw = self.buf.get(a..b).unwrap_or(&[]);
            let count = match raw {
                [b'1'] => 1,
                [b'0'] => 0,
                _ => self.count_field(id, index, "日の情報")?.unwrap_or(0),
            };
            if count > 0 {
                if day >= usize::from(self.claim.days_in_month) {
                    return Err(self.field_error(
                        id,
                        index,
                        "日の情報",
                        format!("day {} does not exist in the service month", day + 1),
                    ));
                }
                mask |= 1 << day;
            }
        }
        Ok(mask)
    }

    fn add_items(&mut self, kind: MapKind, code: usize, mask: u32) {
        let Some(group_kind) = kind.group_kind() else {
            return;
        };
        let raw = self.field(code);
        for gid in self.map.lookup(kind, raw) {
            self.claim.items.push((*gid, group_kind, mask));
        }
    }

    fn add_chest_cts(&mut self, code: usize, mask: u32) {
        let raw = self.field(code);
        for gid in self.map.lookup(MapKind::ProcedureIfChest, raw) {
            self.claim.chest_cts.push((*gid, mask));
        }
    }

    fn check_chest_comment(&mut self, index: usize) {
        if !self
            .map
            .lookup(MapKind::ChestComment, self.field(index))
            .is_empty()
        {
            self.claim.chest_comment = true;
        }
    }

    fn add_diagnosis(&mut self, code: usize, modifiers: usize, started: Option<Date>) {
        let raw = self.field(code);
        let gids = self.map.lookup(MapKind::Diagnosis, raw);
        if gids.is_empty() {
            return;
        }
        let suspected = self.field(modifiers).chunks(4).any(|m| m == b"8002");
        for gid in gids {
            self.claim.conditions.push((*gid, suspected, started));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn header(
        &mut self,
        id: &[u8],
        pref: usize,
        table: usize,
        code: usize,
        billing: usize,
        volume: usize,
    ) -> Result<(), ClaimsError> {
        let table_no = self.field(table).to_vec();
        let kind = match table_no.as_slice() {
            b"1" => ClaimFileKind::Medical,
            b"3" => ClaimFileKind::Dental,
            b"4" => ClaimFileKind::Pharmacy,
            _ => {
                return Err(ClaimsError::Kind {
                    file: self.file.clone(),
                    line: self.line,
                    detail: format!(
                        "{} 点数表 {:?} is not 医科 (1), 歯科 (3) or 調剤 (4)",
                        String::from_utf8_lossy(id),
                        String::from_utf8_lossy(&table_no)
                    ),
                });
            }
        };
        match self.table_kind {
            None => {
                self.table_kind = Some((kind, self.line));
                self.summary.header_line = self.line;
            }
            Some((first, line)) if first != kind => {
                return Err(ClaimsError::Kind {
                    file: self.file.clone(),
                    line: self.line,
                    detail: format!(
                        "点数表 {} after 点数表 {} on line {line}: one file holds one kind of claims",
                        String::from_utf8_lossy(&table_no),
                        match first {
                            ClaimFileKind::Dental => "3",
                            ClaimFileKind::Pharmacy => "4",
                            _ => "1",
                        }
                    ),
                });
            }
            Some(_) => {}
        }
        if !(self.summary.kind == ClaimFileKind::Dpc && kind == ClaimFileKind::Medical) {
            self.summary.kind = kind;
        }
        let mut institution = String::new();
        for i in [pref, table, code] {
            institution.push_str(&String::from_utf8_lossy(self.field(i).trim_ascii()));
        }
        self.institution = institution;
        let old_dental = parse_month(self.field(billing)).is_err()
            && id == b"IR"
            && parse_month(self.field(billing - 1)).is_ok();
        let month = if old_dental {
            self.summary.variants.insert(FileVariant::OldDentalHeader);
            self.month_field(id, billing - 1, "請求年月")?
        } else {
            self.month_field(id, billing, "請求年月")?
        };
        self.summary.billing_months.insert(month);
        // The old dental IR has no マルチボリューム識別情報 (its UK carries it).
        if !old_dental && self.header_volume.is_none() {
            let raw = self.field(volume).trim_ascii().to_vec();
            if !raw.is_empty() {
                self.header_volume = Some((raw, self.line));
            }
        }
        Ok(())
    }

    /// Decides the file's kind and volume once every record has been read.
    fn settle_kind_and_volume(&mut self) -> Result<(), ClaimsError> {
        let kind = match (self.table_kind, self.name_kind) {
            (Some((ClaimFileKind::Medical, _)), name) => {
                if self.summary.kind == ClaimFileKind::Dpc || name == Some(ClaimFileKind::Dpc) {
                    ClaimFileKind::Dpc
                } else {
                    ClaimFileKind::Medical
                }
            }
            (Some((kind, _)), _) => kind,
            (None, _) if self.summary.kind == ClaimFileKind::Dpc => ClaimFileKind::Dpc,
            (None, Some(name)) => name,
            (None, None) => {
                return Err(ClaimsError::Kind {
                    file: self.file.clone(),
                    line: 1,
                    detail: "no IR, UK or YK header record, and the file name is not \
                             RECEIPTC (医科), RECEIPTD (DPC), RECEIPTS (歯科) or RECEIPTY (調剤)"
                        .to_owned(),
                });
            }
        };
        self.summary.kind = kind;
        let parse_two = |raw: &[u8]| -> Option<u16> {
            (raw.len() == 2 && raw.iter().all(u8::is_ascii_digit))
                .then(|| u16::from(raw[0] - b'0') * 10 + u16::from(raw[1] - b'0'))
        };
        let header = match &self.header_volume {
            Some((raw, line)) => match parse_two(raw) {
                Some(n) if n <= 98 => Some((n, *line)),
                _ => {
                    return Err(ClaimsError::Volume {
                        file: self.file.clone(),
                        line: *line,
                        detail: format!(
                            "header マルチボリューム識別情報 {:?} is not 00 (single) or a volume number 01–98",
                            String::from_utf8_lossy(raw)
                        ),
                    });
                }
            },
            None => None,
        };
        let first_go = self
            .summary
            .volumes
            .first()
            .and_then(|v| parse_two(v.as_bytes()));
        let final_volume = self.summary.is_final_volume();
        let number = match (header, first_go) {
            (Some((n, _)), Some(g)) if n > 0 && g != 99 && g != n => {
                return Err(ClaimsError::Volume {
                    file: self.file.clone(),
                    line: self.go_line,
                    detail: format!("the header says volume {n} but GO says volume {g}"),
                });
            }
            (Some((n, _)), _) if n > 0 => n,
            (_, Some(g)) if g != 99 => g,
            _ => 0,
        };
        self.summary.volume = Volume {
            number,
            final_volume,
        };
        Ok(())
    }

    /// Processes the line in `buf`; returns a claim when the line ended one.
    fn process(&mut self) -> Result<Option<ReducedClaim>, ClaimsError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        self.check_encoding()?;
        self.split();
        let is_id = |f: &[u8]| f.len() == 2 && f.iter().all(|b| b.is_ascii_uppercase());
        if !is_id(self.field(0))
            && self.field(0).iter().all(u8::is_ascii_digit)
            && is_id(self.field(3))
        {
            self.skip = 3;
            self.summary.variants.insert(FileVariant::LinePrefix);
        }
        let id: [u8; 2] = match self.field(0) {
            [a, b] if is_id(&[*a, *b]) => [*a, *b],
            _ => [b'?', b'?'],
        };
        if id[0] == b'?' {
            let other = self.field(0).iter().take(8).copied().collect::<Vec<u8>>();
            self.summary.count(&other);
        } else {
            let slot = usize::from(id[0] - b'A') * 26 + usize::from(id[1] - b'A');
            if let Some(n) = self.record_counts.get_mut(slot) {
                *n += 1;
            }
        }
        let mut done = None;
        match &id {
            b"IR" => {
                done = self.finish_claim();
                self.header(&id, 2, 3, 4, 7, 8)?;
            }
            b"UK" => {
                done = self.finish_claim();
                self.header(&id, 2, 3, 4, 7, 9)?;
            }
            b"YK" => {
                done = self.finish_claim();
                self.header(&id, 2, 3, 4, 6, 7)?;
            }
            b"MN" => {
                self.summary.variants.insert(FileVariant::InsurerRecords);
                done = self.finish_claim();
            }
            b"JY" | b"EX" | b"RC" | b"ON" | b"MK" | b"MD" | b"RT" | b"JR" | b"HI" | b"HR"
            | b"HG" => {
                self.summary.variants.insert(FileVariant::InsurerRecords);
            }
            b"RE" => {
                done = self.finish_claim();
                self.summary.claims += 1;
                self.block_claims += 1;
                let institution = std::mem::take(&mut self.institution);
                self.claim.start(self.line, &institution);
                self.institution = institution;
                let month = self.month_field(&id, 3, "診療年月")?;
                self.claim.month = Some(month);
                self.claim.days_in_month = month.last_day().day() as u8;
                *self.summary.service_months.entry(month).or_insert(0) += 1;
                let sex = match self.field(5) {
                    b"1" => Some(Sex::Male),
                    b"2" => Some(Sex::Female),
                    _ => None,
                }
                .ok_or_else(|| self.field_error(&id, 5, "男女区分", "expected 1 or 2"))?;
                self.claim.sex = Some(sex);
                let birth = self
                    .date_field(&id, 6, "生年月日")?
                    .ok_or_else(|| self.field_error(&id, 6, "生年月日", "missing"))?;
                self.claim.birth = Some(birth);
            }
            b"HO" => {
                self.require_claim(&id)?;
                self.count_field(&id, 4, "診療実日数")?;
                let (insurer, symbol, number) = {
                    let insurer = self.text_field(&id, 1, "保険者番号")?;
                    let symbol = self.text_field(&id, 2, "記号")?;
                    let number = self.text_field(&id, 3, "番号")?;
                    let insurer =
                        if insurer.trim().is_empty() {
                            None
                        } else {
                            Some(InsurerNumber::parse(&insurer).map_err(|e| {
                                self.field_error(&id, 1, "保険者番号", e.to_string())
                            })?)
                        };
                    let symbol_parsed = Symbol::parse(&symbol).ok();
                    if symbol_parsed.is_none() && !symbol.trim().is_empty() {
                        return Err(self.field_error(&id, 2, "記号", "not a valid 記号"));
                    }
                    let number_parsed = CardNumber::parse(&number).ok();
                    if number_parsed.is_none() && !number.trim().is_empty() {
                        return Err(self.field_error(&id, 3, "番号", "not a valid 番号"));
                    }
                    (insurer, symbol_parsed, number_parsed)
                };
                self.claim.insurer = insurer;
                self.claim.symbol = symbol;
                self.claim.number = number;
            }
            b"SN" => {
                self.require_claim(&id)?;
                if self.field(1) == b"1" && !self.field(6).is_empty() && self.claim.branch.is_none()
                {
                    let raw = self.text_field(&id, 6, "枝番")?;
                    let branch = Branch::parse(&raw)
                        .map_err(|e| self.field_error(&id, 6, "枝番", e.to_string()))?;
                    self.claim.branch = Some(branch);
                }
            }
            b"SY" => {
                self.require_claim(&id)?;
                let started = self.date_field(&id, 2, "診療開始日")?;
                self.add_diagnosis(1, 4, started);
            }
            b"SB" => {
                self.require_claim(&id)?;
                self.summary.kind = ClaimFileKind::Dpc;
                self.add_diagnosis(1, 2, None);
            }
            b"HS" => {
                self.require_claim(&id)?;
                self.add_diagnosis(4, usize::MAX, None);
            }
            b"SI" => {
                self.require_claim(&id)?;
                let mask = self.day_columns(&id, 13)?;
                self.claim.days |= mask;
                self.add_items(MapKind::Procedure, 3, mask);
                self.add_chest_cts(3, mask);
                for c in [7, 9, 11] {
                    self.check_chest_comment(c);
                }
            }
            b"IY" => {
                self.require_claim(&id)?;
                if self.summary.kind == ClaimFileKind::Pharmacy {
                    let mask = self.claim.pharmacy_days;
                    self.add_items(MapKind::Drug, 2, mask);
                } else {
                    let mask = self.day_columns(&id, 13)?;
                    self.claim.days |= mask;
                    self.add_items(MapKind::Drug, 3, mask);
                    for c in [7, 9, 11] {
                        self.check_chest_comment(c);
                    }
                }
            }
            b"TO" => {
                self.require_claim(&id)?;
                if self.summary.kind != ClaimFileKind::Pharmacy {
                    let first = if self.field_count() >= 48 { 17 } else { 14 };
                    let mask = self.day_columns(&id, first)?;
                    self.claim.days |= mask;
                }
            }
            b"SS" => {
                self.require_claim(&id)?;
                let mask = self.day_columns(&id, 78)?;
                self.claim.days |= mask;
                self.add_items(MapKind::Procedure, 3, mask);
            }
            b"CO" => {
                self.require_claim(&id)?;
                let index = if self.summary.kind == ClaimFileKind::Pharmacy {
                    1
                } else {
                    3
                };
                self.check_chest_comment(index);
            }
            b"JD" => {
                self.require_claim(&id)?;
                let mut mask = 0u32;
                for day in 0..31usize {
                    let index = 2 + day;
                    match self.field(index) {
                        b"1" | b"2" => {
                            if day >= usize::from(self.claim.days_in_month) {
                                return Err(self.field_error(
                                    &id,
                                    index,
                                    "受診等区分",
                                    "day not in the service month",
                                ));
                            }
                            mask |= 1 << day;
                        }
                        b"" | b"0" | b"9" => {}
                        _ => {
                            return Err(self.field_error(
                                &id,
                                index,
                                "受診等区分",
                                "expected 1, 2 or 9",
                            ));
                        }
                    }
                }
                self.claim.days |= mask;
            }
            b"CD" => {
                self.require_claim(&id)?;
                self.summary.kind = ClaimFileKind::Dpc;
                let date = self.date_field(&id, 1, "実施年月日")?;
                let mask = match (date, self.claim.month) {
                    (Some(d), Some(m)) if YearMonth::of(d) == m => 1u32 << (d.day() - 1),
                    _ => 0,
                };
                self.claim.days |= mask;
                self.add_items(MapKind::Procedure, 5, mask);
                self.add_items(MapKind::Drug, 5, mask);
                self.add_chest_cts(5, mask);
            }
            b"CZ" => {
                self.require_claim(&id)?;
                let raw = self.field(3).trim_ascii();
                let month = self.claim.month;
                let day = match (raw.len(), month) {
                    (2, Some(_)) => {
                        crate::groups::code_number(raw).and_then(|d| u8::try_from(d).ok())
                    }
                    (4, Some(m)) => crate::groups::code_number(raw)
                        .filter(|n| n / 100 == m.month() as u32)
                        .and_then(|n| u8::try_from(n % 100).ok()),
                    (7 | 8, Some(m)) => parse_date(raw)
                        .ok()
                        .filter(|(d, _)| YearMonth::of(*d) == m)
                        .map(|(d, _)| d.day() as u8),
                    _ => None,
                };
                let mask = match day {
                    Some(d) if d >= 1 && d <= self.claim.days_in_month => 1u32 << (d - 1),
                    _ => 0,
                };
                self.claim.pharmacy_days = mask;
                self.claim.days |= mask;
            }
            b"BU" | b"KK" | b"SK" | b"GA" | b"HH" | b"GT" => {
                self.summary.kind = ClaimFileKind::Dpc;
            }
            b"GO" => {
                done = self.finish_claim();
                self.saw_go = true;
                let declared = self.count_field(&id, 1, "総件数")?.unwrap_or(0);
                self.summary.declared_claims += declared;
                let raw = self.field(3).trim_ascii();
                let valid = raw.len() == 2 && raw.iter().all(u8::is_ascii_digit) && raw != b"00";
                if !valid {
                    return Err(self.field_error(
                        &id,
                        3,
                        "マルチボリューム識別情報",
                        "expected 99 (last volume) or 01–98 (more volumes follow)",
                    ));
                }
                let volume = String::from_utf8_lossy(raw).into_owned();
                if self.go_line == 0 {
                    self.go_line = self.line;
                }
                if volume == "99" && declared != self.block_claims {
                    let message = format!(
                        "GO 総件数 {declared} but {} RE records since the header",
                        self.block_claims
                    );
                    self.summary.note(self.line, message);
                }
                if volume == "99" {
                    self.block_claims = 0;
                }
                self.summary.volumes.push(volume);
            }
            b"KO" | b"KH" | b"MF" | b"SJ" | b"TI" | b"TR" | b"TS" | b"NI" | b"GR" | b"SH"
            | b"KI" | b"TK" | b"ST" => {}
            _ => {
                let short: Vec<u8> = self.field(0).iter().take(8).copied().collect();
                let key = String::from_utf8_lossy(&short).into_owned();
                *self.summary.unknown_records.entry(key).or_insert(0) += 1;
            }
        }
        Ok(done)
    }

    /// Moves the per-type counters into the summary.
    fn flush_counts(&mut self) {
        for (slot, n) in self.record_counts.iter_mut().enumerate() {
            if *n > 0 {
                let id = [b'A' + (slot / 26) as u8, b'A' + (slot % 26) as u8];
                let key = String::from_utf8_lossy(&id).into_owned();
                *self.summary.records.entry(key).or_insert(0) += *n;
                *n = 0;
            }
        }
    }

    fn finish_file(&mut self) -> Result<Option<ReducedClaim>, ClaimsError> {
        self.flush_counts();
        let last = self.finish_claim();
        if self.summary.lines == 0 {
            return Err(ClaimsError::Truncated {
                file: self.file.clone(),
                line: 0,
                detail: "empty file".to_owned(),
            });
        }
        if !self.saw_go {
            return Err(ClaimsError::Truncated {
                file: self.file.clone(),
                line: self.line,
                detail: "no GO record at the end".to_owned(),
            });
        }
        self.settle_kind_and_volume()?;
        let reference = self
            .summary
            .regular_month()
            .or_else(|| self.summary.service_months.keys().next_back().copied());
        if let Some(reference) = reference {
            let late: Vec<(YearMonth, u64)> = self
                .summary
                .service_months
                .iter()
                .filter(|(m, _)| **m < reference)
                .map(|(m, n)| (*m, *n))
                .collect();
            for (m, n) in late {
                self.summary.late_months.insert(m);
                self.summary.late_claims += n;
            }
        }
        Ok(last)
    }
}

impl<R: BufRead> Iterator for ClaimReader<'_, R> {
    type Item = Result<ReducedClaim, ClaimsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            let step = match self.next_line() {
                Ok(true) => {
                    self.summary.lines = self.line;
                    self.process()
                }
                Ok(false) => {
                    self.finished = true;
                    return self.finish_file().transpose();
                }
                Err(e) => Err(e),
            };
            match step {
                Ok(Some(claim)) => return Some(Ok(claim)),
                Ok(None) => {}
                Err(e) => {
                    self.finished = true;
                    self.flush_counts();
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Reads a whole file from any reader (for tests and small files).
pub fn read_all<Rd: Read>(
    input: Rd,
    name: &Path,
    map: &GroupMap,
) -> Result<(Vec<ReducedClaim>, FileSummary), ClaimsError> {
    let mut reader = ClaimReader::new(BufReader::new(input), name, map);
    let mut claims = Vec::new();
    for claim in reader.by_ref() {
        claims.push(claim?);
    }
    Ok((claims, reader.into_summary()))
}
