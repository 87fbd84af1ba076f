//! The UKE writer: writes synthetic claims one claim at a time, from a description in
//! groups rather than codes, as a 医科 (RECEIPTC), DPC (RECEIPTD: the 医科 records plus a
//! `BU` 診断群分類 record per claim), 歯科 (IR 点数表 3; diagnoses as `HS`, procedures as
//! `SS`) or 調剤 file (`YK` header; `CZ` 調剤年月日 and drugs in the 調剤 `IY` layout; no
//! diagnoses), optionally as one volume of a multi-volume set. For every group asked for it
//! picks a real code from the [`GroupMap`] whose groups are as few as possible (a code
//! that evidences only `stomach_exam`), so reading the file back and reducing it gives
//! the groups asked for. Where no code evidences a group alone (`diabetic_nephropathy`
//! codes are also `diabetes` and `ckd`), the others come along.
//!
//! Every service day gets a 再診料 line (so `visit` is always evidenced when the claim
//! has days), and [`Filler`] lines with unmapped codes (急性上気道炎, 末梢血液一般検査,
//! ロキソニン, free-text comments) make the record mix realistic. `lung_exam` is written
//! as a CT line plus the chest CT comment `820182210`, the way real claims say it.
//!
//! Text is CP932 via encoding_rs after a normalisation step: `,` becomes `，`, control
//! characters are dropped, a character CP932 cannot hold is replaced by its NFKC form
//! when that fits, else by 〓 (the conventional 代替文字). Lines end with CR+LF; the
//! 0x1A end mark is optional. An `IR` is written whenever the institution changes; `GO`
//! with the claim count ends the file.
//!
//! Not here: the full DPC coding (`CD` records), 歯科 加算 pairs, amounts that add up
//! (points are placeholders).

use crate::claim::ClaimIdentity;
use crate::date::{DateStyle, format_date, format_month};
use crate::error::ClaimsError;
use crate::groups::{GroupMap, MapKind};
use crate::reader::ClaimFileKind;
use collabo_domain::calendar::YearMonth;
use collabo_domain::coverage::Volume;
use collabo_domain::visit::GroupKind;
use jiff::civil::Date;
use std::collections::HashMap;
use std::io::Write;
use unicode_normalization::UnicodeNormalization;

/// One group a synthetic claim must evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Condition, procedure or drug.
    pub kind: GroupKind,
    /// Group code (`diabetes`, `stomach_exam`, `diabetes_drug` …).
    pub group: String,
    /// 「の疑い」 (conditions only).
    pub suspected: bool,
    /// 診療開始日 (conditions only); the claim's first day when `None`.
    pub started_on: Option<Date>,
    /// Day of the month a procedure or drug was given; the first service day when `None`.
    pub day: Option<i8>,
}

impl GroupSpec {
    fn of(kind: GroupKind, group: &str) -> Self {
        GroupSpec {
            kind,
            group: group.to_owned(),
            suspected: false,
            started_on: None,
            day: None,
        }
    }
    /// A condition group.
    pub fn condition(group: &str) -> Self {
        Self::of(GroupKind::Condition, group)
    }
    /// A procedure group.
    pub fn procedure(group: &str) -> Self {
        Self::of(GroupKind::Procedure, group)
    }
    /// A drug group.
    pub fn drug(group: &str) -> Self {
        Self::of(GroupKind::Drug, group)
    }
    /// Marks a condition 「の疑い」.
    pub fn suspected(mut self) -> Self {
        self.suspected = true;
        self
    }
    /// Sets 診療開始日.
    pub fn started_on(mut self, date: Date) -> Self {
        self.started_on = Some(date);
        self
    }
    /// Sets the day of the month of a procedure or drug.
    pub fn on_day(mut self, day: i8) -> Self {
        self.day = Some(day);
        self
    }
}

/// Unmapped lines added to a claim for a realistic record mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filler {
    /// Unrelated diagnoses (SY).
    pub diagnoses: u8,
    /// Unrelated procedures (SI), on the first day.
    pub procedures: u8,
    /// Unrelated drugs (IY), on the first day.
    pub drugs: u8,
    /// Free-text comments (CO).
    pub comments: u8,
}

impl Filler {
    /// No filler lines.
    pub const NONE: Filler = Filler {
        diagnoses: 0,
        procedures: 0,
        drugs: 0,
        comments: 0,
    };
}

impl Default for Filler {
    fn default() -> Self {
        Filler {
            diagnoses: 1,
            procedures: 2,
            drugs: 1,
            comments: 1,
        }
    }
}

/// A synthetic claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSpec {
    /// Who (保険者番号, 記号, 番号, 枝番, 生年月日, 性別). A `None` branch writes no SN.
    pub identity: ClaimIdentity,
    /// 氏名 in カタカナ (written as 氏名 and カタカナ氏名).
    pub name_kana: String,
    /// 都道府県 (2) + 点数表 (1) + 医療機関コード (7), ten digits.
    pub institution: String,
    /// 診療年月.
    pub month: YearMonth,
    /// Service days (1–31); empty writes a claim without day columns (month only).
    pub days: Vec<i8>,
    /// Groups to evidence.
    pub groups: Vec<GroupSpec>,
    /// Unmapped lines.
    pub filler: Filler,
}

/// File-level settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// 和暦 or 西暦 dates.
    pub style: DateStyle,
    /// 請求年月 written in IR.
    pub billing_month: YearMonth,
    /// 審査支払機関 (1 支払基金, 2 国保連).
    pub examiner: u8,
    /// Write the 0x1A end mark after the last line.
    pub eof_mark: bool,
    /// 医科, DPC, 歯科 or 調剤.
    pub kind: ClaimFileKind,
    /// Single volume, or which volume of a set (written in the header and `GO`).
    pub volume: Volume,
}

impl WriterOptions {
    /// A single-volume 医科 file in 和暦 from 支払基金, billed in `billing_month`.
    pub fn medical(billing_month: YearMonth) -> Self {
        WriterOptions {
            style: DateStyle::Wareki,
            billing_month,
            examiner: 1,
            eof_mark: true,
            kind: ClaimFileKind::Medical,
            volume: Volume::SINGLE,
        }
    }
    /// The same options for another kind of file.
    pub fn of_kind(self, kind: ClaimFileKind) -> Self {
        WriterOptions { kind, ..self }
    }
    /// The same options for one volume of a set.
    pub fn volume(self, number: u16, final_volume: bool) -> Self {
        WriterOptions {
            volume: Volume {
                number,
                final_volume,
            },
            ..self
        }
    }
}

const FILLER_DIAGNOSES: [&str; 3] = ["4659007", "3721002", "8830747"];
const FILLER_PROCEDURES: [&str; 5] = [
    "160008010",
    "160000310",
    "160022410",
    "160019210",
    "120002910",
];
const FILLER_DRUGS: [&str; 3] = ["620098801", "620160501", "611170005"];
const FILLER_COMMENTS: [&str; 3] = ["１日３回毎食後", "疼痛時，頓用", "次回再診予定"];
const REVISIT: &str = "112007410";
/// 歯科 再診料 (unmapped: it only carries the service days).
const DENTAL_REVISIT: &str = "301001610";
/// A DPC 診断群分類 code (内分泌疾患, an unmapped placeholder).
const DPC_CODE: &str = "100070xxxxxxxx";

/// Streams synthetic claims into a UKE file.
pub struct UkeWriter<W: Write> {
    out: W,
    options: WriterOptions,
    picks: HashMap<(GroupKind, String), Vec<(MapKind, String)>>,
    chest_comment: Option<String>,
    institution: Option<String>,
    claims: u64,
    points: u64,
    line: Vec<u8>,
}

impl<W: Write> UkeWriter<W> {
    /// Starts a file. Nothing is written until the first claim.
    pub fn new(out: W, map: &GroupMap, options: WriterOptions) -> Self {
        // (kind, group) → (table, code, how many groups the code evidences).
        type Candidates = Vec<(MapKind, String, usize)>;
        let mut picks: HashMap<(GroupKind, String), Candidates> = HashMap::new();
        for row in map.rows() {
            let Some(kind) = row.kind.group_kind() else {
                continue;
            };
            let breadth = map.groups_of(row.kind, &row.code).len();
            picks.entry((kind, row.group.clone())).or_default().push((
                row.kind,
                row.code.clone(),
                breadth,
            ));
        }
        let picks = picks
            .into_iter()
            .map(|(key, mut list)| {
                // lung_exam is written as CT + chest comment when possible.
                let prefer_chest = list.iter().any(|(k, _, _)| *k == MapKind::ProcedureIfChest);
                if prefer_chest {
                    list.retain(|(k, _, _)| *k == MapKind::ProcedureIfChest);
                }
                let least = list.iter().map(|(_, _, b)| *b).min().unwrap_or(1);
                list.retain(|(_, _, b)| *b == least);
                list.sort();
                (key, list.into_iter().map(|(k, c, _)| (k, c)).collect())
            })
            .collect();
        let chest_comment = map
            .rows()
            .iter()
            .find(|r| r.kind == MapKind::ChestComment)
            .map(|r| r.code.clone());
        UkeWriter {
            out,
            options,
            picks,
            chest_comment,
            institution: None,
            claims: 0,
            points: 0,
            line: Vec::with_capacity(256),
        }
    }

    /// Claims written so far.
    pub fn claims(&self) -> u64 {
        self.claims
    }

    fn io(e: std::io::Error) -> ClaimsError {
        ClaimsError::Writer(e.to_string())
    }

    fn emit(&mut self) -> Result<(), ClaimsError> {
        self.line.extend_from_slice(b"\r\n");
        self.out.write_all(&self.line).map_err(Self::io)?;
        self.line.clear();
        Ok(())
    }

    fn fields(&mut self, fields: &[&str]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            push_text(&mut self.line, f);
        }
    }

    fn day_columns(&mut self, days: &[i8]) {
        for d in 1..=31i8 {
            self.line.push(b',');
            if days.contains(&d) {
                self.line.push(b'1');
            }
        }
    }

    /// An SI or IY line (44 fields): 診療識別, 負担区分, code, 数量, 点数, 回数, three
    /// comment pairs, 31 day columns.
    fn item(
        &mut self,
        record: &str,
        shikibetsu: &str,
        code: &str,
        comment: Option<&str>,
        days: &[i8],
    ) {
        let count = days.len().max(1).to_string();
        let comment = comment.unwrap_or("");
        self.fields(&[
            record,
            shikibetsu,
            "1",
            code,
            if record == "IY" { "1" } else { "" },
            "50",
            &count,
            comment,
            "",
            "",
            "",
            "",
            "",
        ]);
        self.day_columns(days);
        self.points += 50 * days.len().max(1) as u64;
    }

    fn pick(&self, spec: &GroupSpec) -> Result<(MapKind, String), ClaimsError> {
        let list = self
            .picks
            .get(&(spec.kind, spec.group.clone()))
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                ClaimsError::Writer(format!(
                    "no code in the group map evidences {:?} group {:?}",
                    spec.kind, spec.group
                ))
            })?;
        let index = usize::try_from(self.claims).unwrap_or(0) % list.len();
        list.get(index)
            .cloned()
            .ok_or_else(|| ClaimsError::Writer("empty pick list".to_owned()))
    }

    /// Writes one claim.
    pub fn write_claim(&mut self, claim: &ClaimSpec) -> Result<(), ClaimsError> {
        let style = self.options.style;
        let inst = &claim.institution;
        if inst.len() != 10 || !inst.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ClaimsError::Writer(format!(
                "institution {inst:?} is not 10 digits (都道府県 2 + 点数表 1 + コード 7)"
            )));
        }
        let mut days: Vec<i8> = claim.days.clone();
        days.sort_unstable();
        days.dedup();
        let last_day = claim.month.last_day().day();
        if days.iter().any(|d| *d < 1 || *d > last_day) {
            return Err(ClaimsError::Writer(format!(
                "a day in {:?} is not in {}",
                claim.days, claim.month
            )));
        }
        let kind = self.options.kind;
        let table = match kind {
            ClaimFileKind::Medical | ClaimFileKind::Dpc => "1",
            ClaimFileKind::Dental => "3",
            ClaimFileKind::Pharmacy => "4",
            ClaimFileKind::Other => {
                return Err(ClaimsError::Writer(
                    "the writer writes 医科, DPC, 歯科 or 調剤 files".to_owned(),
                ));
            }
        };
        if &inst[2..3] != table {
            return Err(ClaimsError::Writer(format!(
                "institution {inst:?} has 点数表 {} but the file is {kind:?} (点数表 {table})",
                &inst[2..3]
            )));
        }
        if kind == ClaimFileKind::Pharmacy
            && claim.groups.iter().any(|g| g.kind == GroupKind::Condition)
        {
            return Err(ClaimsError::Writer(
                "a 調剤 claim has no diagnoses".to_owned(),
            ));
        }
        if self.institution.as_deref() != Some(inst.as_str()) {
            let (pref, code) = (&inst[..2], &inst[3..]);
            let examiner = self.options.examiner.to_string();
            let billing = format_month(self.options.billing_month, style);
            let volume = format!("{:02}", self.options.volume.number);
            if kind == ClaimFileKind::Pharmacy {
                let name = format!("合成薬局{code}");
                self.fields(&[
                    "YK",
                    &examiner,
                    pref,
                    table,
                    code,
                    &name,
                    &billing,
                    &volume,
                    "0300000000",
                ]);
            } else {
                let name = format!("合成医院{code}");
                self.fields(&[
                    "IR",
                    &examiner,
                    pref,
                    table,
                    code,
                    "",
                    &name,
                    &billing,
                    &volume,
                    "0300000000",
                ]);
            }
            self.emit()?;
            self.institution = Some(inst.clone());
        }
        self.claims += 1;
        let id = &claim.identity;
        let family = id.branch.as_ref().is_some_and(|b| b.as_str() != "00");
        let mut re: Vec<String> = vec![String::new(); 38];
        re[0] = "RE".into();
        re[1] = (self.claims % 1_000_000).to_string();
        // 4th digit: 2 本人 入院外, 6 家族 入院外 (1 / 5 入院 for DPC); 1st: 点数表.
        let inpatient = kind == ClaimFileKind::Dpc;
        re[2] = format!(
            "{table}11{}",
            match (inpatient, family) {
                (false, false) => '2',
                (false, true) => '6',
                (true, false) => '1',
                (true, true) => '5',
            }
        );
        re[3] = format_month(claim.month, style);
        re[4] = claim.name_kana.clone();
        re[5] = id.sex.code().into();
        re[6] = format_date(id.birth_date, style);
        re[13] = self.claims.to_string();
        re[36] = claim.name_kana.clone();
        let re_refs: Vec<&str> = re.iter().map(String::as_str).collect();
        self.fields(&re_refs);
        self.emit()?;
        let n_days = days.len().to_string();
        self.fields(&[
            "HO",
            id.insurer.as_str(),
            id.symbol.as_str(),
            id.number.as_str(),
            &n_days,
            "0",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]);
        self.emit()?;
        if let Some(branch) = &id.branch {
            self.fields(&["SN", "1", "01", "", "", "", branch.as_str(), "", ""]);
            self.emit()?;
        }
        match kind {
            ClaimFileKind::Pharmacy => self.pharmacy_body(claim, &days)?,
            ClaimFileKind::Dental => self.dental_body(claim, &days)?,
            _ => {
                if kind == ClaimFileKind::Dpc {
                    let admitted = format_date(
                        claim
                            .month
                            .first_day()
                            .with()
                            .day(days.first().copied().unwrap_or(1))
                            .build()
                            .unwrap_or(claim.month.first_day()),
                        style,
                    );
                    self.fields(&["BU", DPC_CODE, &admitted, "", "", ""]);
                    self.emit()?;
                }
                self.medical_body(claim, &days)?;
            }
        }
        Ok(())
    }

    /// The 医科 (and DPC 出来高) lines of a claim: SY, 再診, SI/IY/CO, filler.
    fn medical_body(&mut self, claim: &ClaimSpec, days: &[i8]) -> Result<(), ClaimsError> {
        let style = self.options.style;
        let days: Vec<i8> = days.to_vec();
        let first_day: Vec<i8> = days.first().copied().into_iter().collect();
        let default_start = claim
            .month
            .first_day()
            .with()
            .day(days.first().copied().unwrap_or(1))
            .build()
            .unwrap_or(claim.month.first_day());
        let mut main = true;
        // Conditions first (SY), then filler diagnoses.
        for spec in claim
            .groups
            .iter()
            .filter(|g| g.kind == GroupKind::Condition)
        {
            let (_, code) = self.pick(spec)?;
            let start = format_date(spec.started_on.unwrap_or(default_start), style);
            let modifier = if spec.suspected { "8002" } else { "" };
            self.fields(&[
                "SY",
                &code,
                &start,
                "1",
                modifier,
                "",
                if main { "01" } else { "" },
                "",
            ]);
            self.emit()?;
            main = false;
        }
        for i in 0..usize::from(claim.filler.diagnoses) {
            let code = FILLER_DIAGNOSES[(i + self.claims as usize) % FILLER_DIAGNOSES.len()];
            let start = format_date(default_start, style);
            self.fields(&[
                "SY",
                code,
                &start,
                "1",
                "",
                "",
                if main { "01" } else { "" },
                "",
            ]);
            self.emit()?;
            main = false;
        }
        if !days.is_empty() {
            let revisit: Vec<i8> = days.clone();
            self.item("SI", "12", REVISIT, None, &revisit);
            self.emit()?;
        }
        for spec in claim
            .groups
            .iter()
            .filter(|g| g.kind != GroupKind::Condition)
        {
            let (kind, code) = self.pick(spec)?;
            let on: Vec<i8> = match spec.day {
                Some(d) if !days.is_empty() => {
                    if !days.contains(&d) {
                        return Err(ClaimsError::Writer(format!(
                            "day {d} of {} is not a service day",
                            spec.group
                        )));
                    }
                    vec![d]
                }
                _ => first_day.clone(),
            };
            match kind {
                MapKind::Drug => {
                    self.item("IY", "21", &code, None, &on);
                    self.emit()?;
                }
                MapKind::ProcedureIfChest => {
                    self.item("SI", "70", &code, None, &on);
                    self.emit()?;
                    let comment = self.chest_comment.clone().ok_or_else(|| {
                        ClaimsError::Writer("the group map has no chest CT comment".to_owned())
                    })?;
                    self.fields(&["CO", "70", "1", &comment, ""]);
                    self.emit()?;
                }
                _ => {
                    let shikibetsu = match code.get(..2) {
                        Some("11") => "12",
                        Some("15") => "50",
                        Some("16") => "60",
                        Some("17") => "70",
                        _ => "13",
                    };
                    self.item("SI", shikibetsu, &code, None, &on);
                    self.emit()?;
                }
            }
        }
        for i in 0..usize::from(claim.filler.procedures) {
            let code = FILLER_PROCEDURES[(i + self.claims as usize) % FILLER_PROCEDURES.len()];
            self.item("SI", "60", code, None, &first_day);
            self.emit()?;
        }
        for i in 0..usize::from(claim.filler.drugs) {
            let code = FILLER_DRUGS[(i + self.claims as usize) % FILLER_DRUGS.len()];
            self.item("IY", "21", code, None, &first_day);
            self.emit()?;
        }
        for i in 0..usize::from(claim.filler.comments) {
            let text = FILLER_COMMENTS[(i + self.claims as usize) % FILLER_COMMENTS.len()];
            self.fields(&["CO", "21", "1", "810000001", text]);
            self.emit()?;
        }
        Ok(())
    }

    /// A 歯科 claim: diagnoses as HS, procedures as SS (day columns 78–108), drugs as IY,
    /// and a 歯科 再診 SS line on every service day.
    fn dental_body(&mut self, claim: &ClaimSpec, days: &[i8]) -> Result<(), ClaimsError> {
        let style = self.options.style;
        let start = claim
            .month
            .first_day()
            .with()
            .day(days.first().copied().unwrap_or(1))
            .build()
            .unwrap_or(claim.month.first_day());
        for spec in claim
            .groups
            .iter()
            .filter(|g| g.kind == GroupKind::Condition)
        {
            let (_, code) = self.pick(spec)?;
            let started = format_date(spec.started_on.unwrap_or(start), style);
            self.fields(&["HS", "1", "", "", &code, &started, "1", ""]);
            self.emit()?;
        }
        let ss = |w: &mut Self, code: &str, on: &[i8]| -> Result<(), ClaimsError> {
            w.fields(&["SS", "12", "1", code]);
            for _ in 4..78 {
                w.line.push(b',');
            }
            w.day_columns(on);
            w.points += 50 * on.len().max(1) as u64;
            w.emit()
        };
        if !days.is_empty() {
            ss(self, DENTAL_REVISIT, days)?;
        }
        let first: Vec<i8> = days.first().copied().into_iter().collect();
        for spec in claim
            .groups
            .iter()
            .filter(|g| g.kind != GroupKind::Condition)
        {
            let (kind, code) = self.pick(spec)?;
            let on: Vec<i8> = spec.day.map_or_else(|| first.clone(), |d| vec![d]);
            if kind == MapKind::Drug {
                self.item("IY", "21", &code, None, &on);
                self.emit()?;
            } else {
                ss(self, &code, &on)?;
            }
        }
        Ok(())
    }

    /// A 調剤 claim: 処方 (SH), one CZ per dispensing day, the drugs (調剤 IY layout:
    /// 負担区分, 医薬品コード, 使用量) after the first CZ.
    fn pharmacy_body(&mut self, claim: &ClaimSpec, days: &[i8]) -> Result<(), ClaimsError> {
        self.fields(&["SH", "1", "1", "", "", "", "", "", "", ""]);
        self.emit()?;
        let month = claim.month.month();
        for (i, day) in days.iter().enumerate() {
            let issued = format!("{month:02}{day:02}");
            let dispensed = format!("{day:02}");
            self.fields(&[
                "CZ", "1", &issued, &dispensed, "1", "30", "1", "", "", "", "", "", "", "", "",
            ]);
            self.emit()?;
            self.points += 30;
            if i == 0 {
                for spec in &claim.groups {
                    let (_, code) = self.pick(spec)?;
                    self.fields(&["IY", "1", &code, "3", "", "", "", "", ""]);
                    self.emit()?;
                }
                for k in 0..usize::from(claim.filler.drugs) {
                    let code = FILLER_DRUGS[(k + self.claims as usize) % FILLER_DRUGS.len()];
                    self.fields(&["IY", "1", code, "3", "", "", "", "", ""]);
                    self.emit()?;
                }
            }
        }
        Ok(())
    }

    /// Writes `GO` (and the 0x1A mark when asked), flushes, and returns the output.
    pub fn finish(mut self) -> Result<W, ClaimsError> {
        let total = self.claims.to_string();
        let points = self.points.to_string();
        let volume = if self.options.volume.final_volume {
            "99".to_owned()
        } else {
            format!("{:02}", self.options.volume.number)
        };
        self.fields(&["GO", &total, &points, &volume]);
        self.emit()?;
        if self.options.eof_mark {
            self.out.write_all(&[0x1A]).map_err(Self::io)?;
        }
        self.out.flush().map_err(Self::io)?;
        Ok(self.out)
    }
}

/// Appends text as CP932, normalised so it fits an unquoted UKE field.
pub fn push_text(out: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .all(|b| b.is_ascii() && b != b',' && !b.is_ascii_control())
    {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for c in text.chars() {
        push_char(out, c);
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    if c == ',' {
        out.extend_from_slice(&[0x81, 0x43]);
        return;
    }
    if c.is_control() {
        return;
    }
    if c.is_ascii() {
        out.push(c as u8);
        return;
    }
    let mut buf = [0u8; 4];
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf));
    if !unmappable {
        out.extend_from_slice(&bytes);
        return;
    }
    let folded: String = std::iter::once(c).nfkc().collect();
    if folded.chars().count() >= 1 && folded.chars().all(|f| f != c) {
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&folded);
        if !unmappable && !bytes.contains(&b',') && !bytes.iter().any(u8::is_ascii_control) {
            out.extend_from_slice(&bytes);
            return;
        }
    }
    out.extend_from_slice(&[0x81, 0xAC]); // 〓
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sjis(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        push_text(&mut out, text);
        out
    }

    #[test]
    fn text_is_normalised_to_cp932() {
        assert_eq!(sjis("ABC"), b"ABC");
        assert_eq!(sjis("a,b"), [b'a', 0x81, 0x43, b'b']);
        assert_eq!(sjis("ア"), [0x83, 0x41]);
        // 𠮷 (U+20BB7) is not in CP932: 〓.
        assert_eq!(sjis("𠮷"), [0x81, 0xAC]);
        // ㈱ is in CP932 (NEC extension); Ⅻ folds or maps.
        assert!(!sjis("㈱").contains(&b','));
        // A line break inside a name is dropped.
        assert_eq!(sjis("A\r\nB"), b"AB");
    }
}
