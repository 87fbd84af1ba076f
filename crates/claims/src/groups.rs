//! The code → group map: which 傷病名コード evidences which condition group, which
//! 診療行為コード which procedure group, which 医薬品コード which drug group.
//!
//! Masters are replaceable, dated data. [`GroupMap::builtin`] is built from the small
//! derived tables shipped in `data/` (copied from reference/receipt/derived, themselves
//! derived from the 支払基金 masters of 2024); [`GroupMap::load_dir`] builds the map
//! from a directory holding any of: 傷病名マスター `b_*.txt` (ICD-10 columns 16/17
//! matched against `condition_icd10_prefixes.csv`, or the built-in prefixes),
//! `shobyomei_target_conditions.csv`, `followup_procedure_codes.csv`,
//! `diabetes_drug_codes.csv`, `smoking_cessation_codes.csv`, and 医薬品マスター `y_*.csv`
//! (diabetes and smoking-cessation drugs by YJ prefix).
//!
//! Obesity-only GLP-1/GIP products (ウゴービ = semaglutide for 肥満症, YJ 2499418G5–G9;
//! ゼップバウンド = tirzepatide for 肥満症) share their YJ prefixes with the diabetes
//! products (オゼンピック 2499418G1–G3, マンジャロ 2499422), so they are left out of
//! `diabetes_drug` by name and by code: a person treated for obesity is not "under
//! diabetes care" (issue 12; reference/receipt/NOTES.md caveat on 2499418).
//! Smoking cessation (`smoking_cessation` procedures: ニコチン依存症管理料 1/2 and the
//! app's 指導管理料; `smoking_cessation_drug`: varenicline YJ 7990003, nicotine TTS YJ
//! 7990712) lets programme S leave out people already in treatment. The map flattens to [`GroupRow`]s (kind, code, group, valid_from) so the
//! store can persist a loaded version and rebuild it with [`GroupMap::from_rows`].
//!
//! Mapping of `followup_procedure_codes.csv` rows (target, evidence) to groups:
//! - site (`lung` `stomach` `colorectal` `breast` `cervix`) + `strong` → `<site>_exam`;
//! - `lung` + `strong_if_chest` (CT codes) → `lung_exam` **only when the same claim
//!   carries a chest CT comment** (撮影部位（ＣＴ撮影）：胸部・肩 `820182210`, in an
//!   SI/IY/TO comment field or a CO record). The comment exists only to state where a
//!   CT was taken, so a claim with that comment had a chest CT; the line it belongs to
//!   does not matter. Codes that are also `strong` for another site (大腸ＣＴ撮影加算)
//!   are not chest CTs and are left to that site;
//! - site + `supporting` → `<site>_supporting` (not used by the programme defaults);
//! - `diabetes` + `strong` or `supporting` → `diabetes_care`;
//! - `any_cancer` + `supporting` → `any_cancer_supporting`;
//! - `visit_any` + `strong` (初診料, 再診料 …) → `visit`;
//! - `lung_or_breast_bodypart` + `comment` → the chest-CT marker when its name says ＣＴ;
//!   other body-part comments (plain X-ray, MRI) mark nothing;
//! - `colorectal` + `not_valid_followup` (repeat 便潜血) → nothing.
//!
//! Deliberately not here: the codes never leave this module as part of a claim — the
//! reader asks [`GroupMap`] for group ids and drops the code at once.

use crate::error::ClaimsError;
use collabo_domain::visit::GroupKind;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

/// Cancer sites, as the domain names them.
pub const SITES: [&str; 5] = ["lung", "stomach", "colorectal", "breast", "cervix"];

/// Which table a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MapKind {
    /// 傷病名コード (7 digits) → condition group.
    Diagnosis,
    /// 診療行為コード (9 digits) → procedure group.
    Procedure,
    /// 診療行為コード that evidences its group only with a chest CT comment in the claim.
    ProcedureIfChest,
    /// コメントコード that says a CT was of the chest (group `chest_ct`).
    ChestComment,
    /// 医薬品コード (9 digits) → drug group.
    Drug,
}

impl MapKind {
    /// Every kind.
    pub const ALL: [MapKind; 5] = [
        MapKind::Diagnosis,
        MapKind::Procedure,
        MapKind::ProcedureIfChest,
        MapKind::ChestComment,
        MapKind::Drug,
    ];
    /// Stable text code for storage.
    pub fn code(self) -> &'static str {
        match self {
            MapKind::Diagnosis => "diagnosis",
            MapKind::Procedure => "procedure",
            MapKind::ProcedureIfChest => "procedure_if_chest",
            MapKind::ChestComment => "chest_comment",
            MapKind::Drug => "drug",
        }
    }
    /// From [`MapKind::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        MapKind::ALL.into_iter().find(|k| k.code() == code)
    }
    /// The evidence kind the group becomes (none for the chest marker).
    pub fn group_kind(self) -> Option<GroupKind> {
        match self {
            MapKind::Diagnosis => Some(GroupKind::Condition),
            MapKind::Procedure | MapKind::ProcedureIfChest => Some(GroupKind::Procedure),
            MapKind::Drug => Some(GroupKind::Drug),
            MapKind::ChestComment => None,
        }
    }
    fn index(self) -> usize {
        match self {
            MapKind::Diagnosis => 0,
            MapKind::Procedure => 1,
            MapKind::ProcedureIfChest => 2,
            MapKind::ChestComment => 3,
            MapKind::Drug => 4,
        }
    }
}

/// One row of the map, as the store persists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupRow {
    /// Which table.
    pub kind: MapKind,
    /// The master code (digits).
    pub code: String,
    /// The group code (`diabetes`, `stomach_exam` …).
    pub group: String,
    /// From when the code is valid (収載年月日 or the master's date), when known.
    pub valid_from: Option<Date>,
}

/// A fast hasher for numeric codes (the reader looks codes up several times per line).
#[derive(Default)]
pub(crate) struct CodeHasher(u64);

impl Hasher for CodeHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0 ^ u64::from(i)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type CodeTable = HashMap<u32, Vec<u16>, BuildHasherDefault<CodeHasher>>;

/// Parses an all-digit code of at most 9 digits.
pub(crate) fn code_number(raw: &[u8]) -> Option<u32> {
    if raw.is_empty() || raw.len() > 9 {
        return None;
    }
    let mut n: u32 = 0;
    for b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

/// Bits of the per-table prefilter (a one-hash Bloom filter that fits in L1): most
/// codes on a claim are not mapped and are rejected without a hash-table probe.
const FILTER_BITS: u32 = 16;

fn filter_slot(n: u32) -> (usize, u64) {
    let h = (u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize;
    (h / 64, 1u64 << (h % 64))
}

/// The code → group map.
#[derive(Debug, Clone)]
pub struct GroupMap {
    groups: Vec<String>,
    tables: [CodeTable; 5],
    filters: [Vec<u64>; 5],
    rows: Vec<GroupRow>,
}

const BUILTIN_PREFIXES: &str = include_str!("../data/condition_icd10_prefixes.csv");
const BUILTIN_SHOBYOMEI: &str = include_str!("../data/shobyomei_target_conditions.csv");
const BUILTIN_PROCEDURES: &str = include_str!("../data/followup_procedure_codes.csv");
const BUILTIN_DRUGS: &str = include_str!("../data/diabetes_drug_codes.csv");
const BUILTIN_SMOKING: &str = include_str!("../data/smoking_cessation_codes.csv");

impl GroupMap {
    /// The map from the tables shipped in this crate (支払基金 masters of 2024).
    pub fn builtin() -> Result<GroupMap, ClaimsError> {
        let mut rows = Vec::new();
        let dir = PathBuf::from("(builtin)");
        rows.extend(shobyomei_rows(
            &dir.join("shobyomei_target_conditions.csv"),
            BUILTIN_SHOBYOMEI.as_bytes(),
        )?);
        rows.extend(procedure_rows(
            &dir.join("followup_procedure_codes.csv"),
            BUILTIN_PROCEDURES.as_bytes(),
        )?);
        rows.extend(drug_list_rows(
            &dir.join("diabetes_drug_codes.csv"),
            BUILTIN_DRUGS.as_bytes(),
        )?);
        rows.extend(smoking_rows(
            &dir.join("smoking_cessation_codes.csv"),
            BUILTIN_SMOKING.as_bytes(),
        )?);
        GroupMap::from_rows(rows)
    }

    /// Builds the map from a directory of master files (see the module header for the
    /// names it recognises). Files it does not recognise are ignored; a directory with
    /// none of them is an error.
    pub fn load_dir(dir: &Path) -> Result<GroupMap, ClaimsError> {
        let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
            .map_err(|e| ClaimsError::io(dir, e))?
            .filter_map(|entry| entry.ok())
            .map(|entry| {
                (
                    entry.file_name().to_string_lossy().to_lowercase(),
                    entry.path(),
                )
            })
            .collect();
        names.sort();
        let read = |path: &Path| std::fs::read(path).map_err(|e| ClaimsError::io(path, e));
        let prefixes = match names
            .iter()
            .find(|(n, _)| n == "condition_icd10_prefixes.csv")
        {
            Some((_, path)) => prefix_table(path, &read(path)?)?,
            None => prefix_table(Path::new("(builtin)"), BUILTIN_PREFIXES.as_bytes())?,
        };
        let mut rows = Vec::new();
        let mut recognised = 0;
        for (name, path) in &names {
            if name.starts_with("b_") && name.ends_with(".txt") {
                rows.extend(disease_master_rows(
                    path,
                    &read(path)?,
                    &prefixes,
                    file_date(name),
                )?);
            } else if name.starts_with("y_") && name.ends_with(".csv") {
                rows.extend(drug_master_rows(path, &read(path)?, file_date(name))?);
            } else if name == "shobyomei_target_conditions.csv" {
                rows.extend(shobyomei_rows(path, &read(path)?)?);
            } else if name == "followup_procedure_codes.csv" {
                rows.extend(procedure_rows(path, &read(path)?)?);
            } else if name == "diabetes_drug_codes.csv" {
                rows.extend(drug_list_rows(path, &read(path)?)?);
            } else if name == "smoking_cessation_codes.csv" {
                rows.extend(smoking_rows(path, &read(path)?)?);
            } else {
                continue;
            }
            recognised += 1;
        }
        if recognised == 0 {
            return Err(ClaimsError::master(
                dir,
                0,
                "no master file found (expected b_*.txt, y_*.csv, shobyomei_target_conditions.csv, followup_procedure_codes.csv, diabetes_drug_codes.csv or smoking_cessation_codes.csv)",
            ));
        }
        GroupMap::from_rows(rows)
    }

    /// Builds the map from rows (as persisted by the store). Duplicate (kind, code,
    /// group) rows keep the earliest `valid_from`.
    pub fn from_rows(rows: impl IntoIterator<Item = GroupRow>) -> Result<GroupMap, ClaimsError> {
        let mut unique: BTreeMap<(MapKind, String, String), Option<Date>> = BTreeMap::new();
        for row in rows {
            if code_number(row.code.as_bytes()).is_none() {
                return Err(ClaimsError::master(
                    "(rows)",
                    0,
                    format!("code {:?} is not 1–9 digits", row.code),
                ));
            }
            if row.group.is_empty() {
                return Err(ClaimsError::master(
                    "(rows)",
                    0,
                    format!("code {} has no group", row.code),
                ));
            }
            let slot = unique
                .entry((row.kind, row.code, row.group))
                .or_insert(row.valid_from);
            *slot = match (*slot, row.valid_from) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let mut groups: Vec<String> = Vec::new();
        let mut group_ids: HashMap<String, u16> = HashMap::new();
        let mut tables: [CodeTable; 5] = Default::default();
        let mut filters: [Vec<u64>; 5] =
            std::array::from_fn(|_| vec![0u64; 1 << (FILTER_BITS - 6)]);
        let mut out = Vec::with_capacity(unique.len());
        for ((kind, code, group), valid_from) in unique {
            let id = match group_ids.get(&group) {
                Some(id) => *id,
                None => {
                    let id = u16::try_from(groups.len())
                        .map_err(|_| ClaimsError::master("(rows)", 0, "more than 65535 groups"))?;
                    groups.push(group.clone());
                    group_ids.insert(group.clone(), id);
                    id
                }
            };
            if let Some(n) = code_number(code.as_bytes()) {
                let (word, bit) = filter_slot(n);
                if let Some(w) = filters[kind.index()].get_mut(word) {
                    *w |= bit;
                }
                let list = tables[kind.index()].entry(n).or_default();
                if !list.contains(&id) {
                    list.push(id);
                }
            }
            out.push(GroupRow {
                kind,
                code,
                group,
                valid_from,
            });
        }
        Ok(GroupMap {
            groups,
            tables,
            filters,
            rows: out,
        })
    }

    /// Every row, sorted by (kind, code, group).
    pub fn rows(&self) -> &[GroupRow] {
        &self.rows
    }

    /// Number of codes in one table.
    pub fn len(&self, kind: MapKind) -> usize {
        self.tables[kind.index()].len()
    }

    /// No rows at all.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The groups a code evidences (empty when the code is not mapped).
    pub fn groups_of(&self, kind: MapKind, code: &str) -> Vec<&str> {
        self.lookup(kind, code.as_bytes())
            .iter()
            .filter_map(|id| self.group_name(*id))
            .collect()
    }

    /// Every group name of a kind.
    pub fn group_names(&self, kind: MapKind) -> BTreeSet<&str> {
        self.rows
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.group.as_str())
            .collect()
    }

    pub(crate) fn lookup(&self, kind: MapKind, raw: &[u8]) -> &[u16] {
        let Some(n) = code_number(raw) else {
            return &[];
        };
        let (word, bit) = filter_slot(n);
        let filter = &self.filters[kind.index()];
        if filter.get(word).is_none_or(|w| w & bit == 0) {
            return &[];
        }
        self.tables[kind.index()]
            .get(&n)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(crate) fn group_name(&self, id: u16) -> Option<&str> {
        self.groups.get(usize::from(id)).map(String::as_str)
    }
}

/// `b_20240601.txt` → 2024-06-01.
fn file_date(name: &str) -> Option<Date> {
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    crate::date::parse_date(digits.as_bytes()).ok().map(|d| d.0)
}

fn yyyymmdd(text: &str) -> Option<Date> {
    let t = text.trim();
    if t.len() != 8 || t == "99999999" || t == "00000000" {
        return None;
    }
    crate::date::parse_date(t.as_bytes()).ok().map(|d| d.0)
}

/// Decodes a table: UTF-8 (derived tables) or, when that fails, CP932 (支払基金 masters).
fn decode_table(path: &Path, bytes: &[u8]) -> Result<String, ClaimsError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
        .ok_or_else(|| ClaimsError::master(path, 0, "neither UTF-8 nor Shift_JIS (CP932) text"))
}

fn csv_rows(
    path: &Path,
    bytes: &[u8],
    has_headers: bool,
) -> Result<Vec<(u64, csv::StringRecord)>, ClaimsError> {
    let text = decode_table(path, bytes)?;
    let mut out = Vec::new();
    let reader = csv::ReaderBuilder::new()
        .has_headers(has_headers)
        .flexible(true)
        .from_reader(text.as_bytes());
    for (i, record) in reader.into_records().enumerate() {
        let line = i as u64 + if has_headers { 2 } else { 1 };
        let record = record.map_err(|e| ClaimsError::master(path, line, e.to_string()))?;
        out.push((line, record));
    }
    Ok(out)
}

fn field<'r>(
    path: &Path,
    line: u64,
    record: &'r csv::StringRecord,
    index: usize,
    what: &str,
) -> Result<&'r str, ClaimsError> {
    record.get(index).map(str::trim).ok_or_else(|| {
        ClaimsError::master(path, line, format!("column {} ({what}) missing", index + 1))
    })
}

fn check_code(path: &Path, line: u64, code: &str, digits: usize) -> Result<(), ClaimsError> {
    if code.len() == digits && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ClaimsError::master(
            path,
            line,
            format!("code {code:?} is not {digits} digits"),
        ))
    }
}

/// `condition_icd10_prefixes.csv`: condition → ICD-10 prefixes, in file order.
fn prefix_table(path: &Path, bytes: &[u8]) -> Result<Vec<(String, Vec<String>)>, ClaimsError> {
    let mut out = Vec::new();
    for (line, record) in csv_rows(path, bytes, true)? {
        let condition = field(path, line, &record, 0, "condition_id")?;
        let prefixes = field(path, line, &record, 3, "icd10_prefixes")?;
        let list: Vec<String> = prefixes
            .split(';')
            .map(|p| p.trim().replace('.', ""))
            .filter(|p| !p.is_empty())
            .collect();
        if condition.is_empty() || list.is_empty() {
            return Err(ClaimsError::master(
                path,
                line,
                "condition or prefixes empty",
            ));
        }
        out.push((condition.to_owned(), list));
    }
    Ok(out)
}

/// `shobyomei_target_conditions.csv`: 傷病名コード, name, ICD-10 ×2, conditions (`|`),
/// 変更区分, 収載年月日 ….
fn shobyomei_rows(path: &Path, bytes: &[u8]) -> Result<Vec<GroupRow>, ClaimsError> {
    let mut out = Vec::new();
    for (line, record) in csv_rows(path, bytes, true)? {
        let code = field(path, line, &record, 0, "傷病名コード")?;
        check_code(path, line, code, 7)?;
        let conditions = field(path, line, &record, 4, "conditions")?;
        let valid_from = record.get(6).and_then(yyyymmdd);
        for group in conditions
            .split('|')
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            out.push(GroupRow {
                kind: MapKind::Diagnosis,
                code: code.to_owned(),
                group: group.to_owned(),
                valid_from,
            });
        }
    }
    Ok(out)
}

/// 傷病名マスター `b_*.txt` (46 columns, quoted CP932): col 3 code, col 16/17 ICD-10
/// (2013), col 22 収載年月日. Every code whose ICD-10 starts with a condition's prefix.
fn disease_master_rows(
    path: &Path,
    bytes: &[u8],
    prefixes: &[(String, Vec<String>)],
    file_date: Option<Date>,
) -> Result<Vec<GroupRow>, ClaimsError> {
    let mut out = Vec::new();
    for (line, record) in csv_rows(path, bytes, false)? {
        if record.len() < 17 {
            return Err(ClaimsError::master(
                path,
                line,
                format!("{} columns, a 傷病名マスター row has 46", record.len()),
            ));
        }
        let code = field(path, line, &record, 2, "傷病名コード")?;
        check_code(path, line, code, 7)?;
        let icd: Vec<&str> = [15, 16]
            .iter()
            .filter_map(|i| record.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let valid_from = record.get(21).and_then(yyyymmdd).or(file_date);
        for (condition, list) in prefixes {
            if icd
                .iter()
                .any(|i| list.iter().any(|p| i.starts_with(p.as_str())))
            {
                out.push(GroupRow {
                    kind: MapKind::Diagnosis,
                    code: code.to_owned(),
                    group: condition.clone(),
                    valid_from,
                });
            }
        }
    }
    Ok(out)
}

/// `followup_procedure_codes.csv`: target, evidence, 区分番号, code, name …
fn procedure_rows(path: &Path, bytes: &[u8]) -> Result<Vec<GroupRow>, ClaimsError> {
    let rows = csv_rows(path, bytes, true)?;
    // Codes that are strong evidence for some site: not chest CTs.
    let mut strong_elsewhere: BTreeSet<String> = BTreeSet::new();
    for (_, record) in &rows {
        if record.get(1).map(str::trim) == Some("strong")
            && record.get(0).map(str::trim) != Some("lung")
            && let Some(code) = record.get(3)
        {
            strong_elsewhere.insert(code.trim().to_owned());
        }
    }
    let mut out = Vec::new();
    for (line, record) in &rows {
        let line = *line;
        let target = field(path, line, record, 0, "target")?;
        let evidence = field(path, line, record, 1, "evidence")?;
        let code = field(path, line, record, 3, "診療行為コード")?;
        check_code(path, line, code, 9)?;
        let name = record.get(4).unwrap_or("");
        let site = SITES.contains(&target);
        let (kind, group) = match (target, evidence) {
            (_, "strong") if site => (MapKind::Procedure, format!("{target}_exam")),
            ("lung", "strong_if_chest") => {
                if strong_elsewhere.contains(code) {
                    continue;
                }
                (MapKind::ProcedureIfChest, "lung_exam".to_owned())
            }
            (_, "supporting") if site => (MapKind::Procedure, format!("{target}_supporting")),
            ("diabetes", "strong" | "supporting") => {
                (MapKind::Procedure, "diabetes_care".to_owned())
            }
            ("any_cancer", "supporting") => {
                (MapKind::Procedure, "any_cancer_supporting".to_owned())
            }
            ("visit_any", "strong") => (MapKind::Procedure, "visit".to_owned()),
            ("lung_or_breast_bodypart", "comment") => {
                if !name.contains("ＣＴ") {
                    continue;
                }
                (MapKind::ChestComment, "chest_ct".to_owned())
            }
            (_, "not_valid_followup") => continue,
            _ => {
                return Err(ClaimsError::master(
                    path,
                    line,
                    format!("unknown target/evidence {target:?}/{evidence:?}"),
                ));
            }
        };
        out.push(GroupRow {
            kind,
            code: code.to_owned(),
            group,
            valid_from: None,
        });
    }
    Ok(out)
}

/// `diabetes_drug_codes.csv`: 医薬品コード, name, YJ, class …
fn drug_list_rows(path: &Path, bytes: &[u8]) -> Result<Vec<GroupRow>, ClaimsError> {
    let mut out = Vec::new();
    for (line, record) in csv_rows(path, bytes, true)? {
        let code = field(path, line, &record, 0, "医薬品コード")?;
        check_code(path, line, code, 9)?;
        let name = record.get(1).unwrap_or_default();
        let yj = record.get(2).unwrap_or_default();
        if is_obesity_only(name, yj) {
            continue;
        }
        out.push(GroupRow {
            kind: MapKind::Drug,
            code: code.to_owned(),
            group: "diabetes_drug".to_owned(),
            valid_from: None,
        });
    }
    Ok(out)
}

/// `smoking_cessation_codes.csv`: kind (`procedure` or `drug`), code, name, source.
fn smoking_rows(path: &Path, bytes: &[u8]) -> Result<Vec<GroupRow>, ClaimsError> {
    let mut out = Vec::new();
    for (line, record) in csv_rows(path, bytes, true)? {
        let kind = field(path, line, &record, 0, "kind")?;
        let code = field(path, line, &record, 1, "code")?;
        check_code(path, line, code, 9)?;
        let (kind, group) = match kind {
            "procedure" => (MapKind::Procedure, "smoking_cessation"),
            "drug" => (MapKind::Drug, "smoking_cessation_drug"),
            other => {
                return Err(ClaimsError::master(
                    path,
                    line,
                    format!("kind {other:?}: expected procedure or drug"),
                ));
            }
        };
        out.push(GroupRow {
            kind,
            code: code.to_owned(),
            group: group.to_owned(),
            valid_from: None,
        });
    }
    Ok(out)
}

/// Obesity-only products of the GLP-1/GIP classes: ウゴービ (semaglutide 2.4 mg for 肥満症,
/// YJ 2499418G5023–2499418G9029 in `y_ALL20240321.csv`) and ゼップバウンド (tirzepatide for
/// 肥満症, not yet in that master, told by name). Not diabetes drugs.
fn is_obesity_only(name: &str, yj: &str) -> bool {
    const OBESITY_YJ: [&str; 5] = [
        "2499418G5",
        "2499418G6",
        "2499418G7",
        "2499418G8",
        "2499418G9",
    ];
    let name = name.trim_matches('"');
    name.contains("ウゴービ")
        || name.contains("ゼップバウンド")
        || OBESITY_YJ.iter().any(|p| yj.starts_with(p))
}

/// YJ prefixes of smoking-cessation drugs: 7990003 varenicline (チャンピックス), 7990712
/// nicotine TTS (ニコチネルＴＴＳ, prescription only).
fn is_smoking_cessation_yj(yj: &str) -> bool {
    yj.starts_with("7990003") || yj.starts_with("7990712")
}

/// YJ prefixes of diabetes drugs: 396 糖尿病用剤, 2492 インスリン等 (without glucagon
/// 2492700), GLP-1/GIP receptor agonists in 2499 (NOTES.md §7.4). This reproduces
/// `diabetes_drug_codes.csv` exactly from `y_ALL20240321.csv`.
fn is_diabetes_yj(yj: &str) -> bool {
    const GLP1: [&str; 7] = [
        "2499410", "2499411", "2499415", "2499416", "2499418", "2499422", "2499014",
    ];
    (yj.starts_with("396") || (yj.starts_with("2492") && !yj.starts_with("2492700")))
        || GLP1.iter().any(|p| yj.starts_with(p))
}

/// 医薬品マスター `y_*.csv` (40 columns, quoted CP932): col 3 code, col 32 YJ.
fn drug_master_rows(
    path: &Path,
    bytes: &[u8],
    file_date: Option<Date>,
) -> Result<Vec<GroupRow>, ClaimsError> {
    let mut out = Vec::new();
    for (line, record) in csv_rows(path, bytes, false)? {
        if record.len() < 32 {
            return Err(ClaimsError::master(
                path,
                line,
                format!("{} columns, a 医薬品マスター row has 40", record.len()),
            ));
        }
        let code = field(path, line, &record, 2, "医薬品コード")?;
        check_code(path, line, code, 9)?;
        let yj = field(path, line, &record, 31, "薬価基準収載医薬品コード")?;
        let name = record.get(4).unwrap_or_default();
        let group = if is_diabetes_yj(yj) && !is_obesity_only(name, yj) {
            "diabetes_drug"
        } else if is_smoking_cessation_yj(yj) {
            "smoking_cessation_drug"
        } else {
            continue;
        };
        out.push(GroupRow {
            kind: MapKind::Drug,
            code: code.to_owned(),
            group: group.to_owned(),
            valid_from: file_date,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_map_has_the_domain_groups() {
        let map = GroupMap::builtin().unwrap();
        assert_eq!(map.groups_of(MapKind::Diagnosis, "2500013"), ["diabetes"]);
        assert_eq!(
            map.groups_of(MapKind::Diagnosis, "8851031"),
            ["ckd", "diabetes", "diabetic_nephropathy"]
        );
        assert_eq!(
            map.groups_of(MapKind::Procedure, "160093810"),
            ["stomach_exam"]
        );
        assert_eq!(
            map.groups_of(MapKind::Procedure, "160010010"),
            ["diabetes_care"]
        );
        assert_eq!(
            map.groups_of(MapKind::ProcedureIfChest, "170033410"),
            ["lung_exam"]
        );
        // 大腸ＣＴ撮影加算 is colorectal, never a chest CT.
        assert!(
            map.groups_of(MapKind::ProcedureIfChest, "170033970")
                .is_empty()
        );
        assert_eq!(
            map.groups_of(MapKind::Procedure, "170033970"),
            ["colorectal_exam"]
        );
        assert_eq!(
            map.groups_of(MapKind::ChestComment, "820182210"),
            ["chest_ct"]
        );
        assert!(map.groups_of(MapKind::ChestComment, "820181220").is_empty());
        assert!(map.groups_of(MapKind::Procedure, "160006510").is_empty());
        assert_eq!(map.groups_of(MapKind::Drug, "610406390"), ["diabetes_drug"]);
        assert_eq!(map.len(MapKind::Drug), 473 - 5 + 5);
        // ウゴービ (obesity only) is no diabetes drug; オゼンピック (same YJ stem) is.
        for wegovy in [
            "629927101",
            "629927201",
            "629927301",
            "629927401",
            "629927501",
        ] {
            assert!(map.groups_of(MapKind::Drug, wegovy).is_empty(), "{wegovy}");
        }
        assert_eq!(map.groups_of(MapKind::Drug, "629907701"), ["diabetes_drug"]);
        assert_eq!(
            map.groups_of(MapKind::Drug, "620006777"),
            ["smoking_cessation_drug"]
        );
        assert_eq!(
            map.groups_of(MapKind::Procedure, "113008310"),
            ["smoking_cessation"]
        );
        assert_eq!(map.len(MapKind::Diagnosis), 863);
        for site in SITES {
            assert!(
                map.group_names(MapKind::Diagnosis)
                    .contains(format!("cancer_{site}").as_str())
            );
            assert!(
                map.group_names(MapKind::Diagnosis)
                    .contains(format!("finding_{site}").as_str())
            );
        }
    }

    #[test]
    fn rows_round_trip() {
        let map = GroupMap::builtin().unwrap();
        let again = GroupMap::from_rows(map.rows().to_vec()).unwrap();
        assert_eq!(again.rows(), map.rows());
        assert_eq!(
            again.groups_of(MapKind::Diagnosis, "8833421"),
            ["hypertension"]
        );
    }

    #[test]
    fn kind_codes_round_trip() {
        for kind in MapKind::ALL {
            assert_eq!(MapKind::from_code(kind.code()), Some(kind));
        }
    }

    #[test]
    fn glucagon_is_not_a_diabetes_drug() {
        assert!(!is_diabetes_yj("2492700R1022"));
        assert!(is_diabetes_yj("2492415G1020"));
        assert!(is_diabetes_yj("3969004F1020"));
        assert!(is_diabetes_yj("2499418G1023"));
        assert!(!is_diabetes_yj("2149001F1020"));
    }

    /// ウゴービ YJ codes as in y_ALL20240321.csv (2499418G5023 … G9029); オゼンピック
    /// 2499418G1028 and マンジャロ 2499422G1024 stay diabetes drugs.
    #[test]
    fn obesity_only_semaglutide_and_tirzepatide_are_told_apart() {
        assert!(is_obesity_only(
            "ウゴービ皮下注２．４ｍｇ　ＳＤ　０．７５ｍＬ",
            "2499418G9029"
        ));
        assert!(is_obesity_only("", "2499418G5023"));
        assert!(is_obesity_only(
            "ゼップバウンド皮下注２．５ｍｇアテオス",
            ""
        ));
        assert!(!is_obesity_only(
            "オゼンピック皮下注０．２５ｍｇ　ＳＤ",
            "2499418G1028"
        ));
        assert!(!is_obesity_only(
            "マンジャロ皮下注２．５ｍｇアテオス",
            "2499422G1024"
        ));
    }
}
