//! Admission: what happens to a row someone hands the society. A submitted checkup or
//! 要精密検査 row, or a reduced claim, is matched to the register and checked against
//! the opt-out register (tombstones) here, and only here. The answer is an
//! [`Admission`]: admitted (an [`Admitted`] value that only this module can make, and
//! that the store's insert functions require), sent to review, or excluded.
//!
//! So no path can store an unadmitted row: not an import, not a review resolution,
//! not a future import kind — the type will not let it.

use crate::calendar::yokuyokugetsumatsu;
use crate::checkup::{CheckupSource, Observation, Questionnaire};
use crate::consent::ConsentScope;
use crate::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use crate::matching::{MatchOutcome, ReviewReason, SubmittedPerson, match_person};
use crate::member::{Member, Sex};
use crate::programme::ProgrammeCode;
use crate::referral::CancerType;
use crate::visit::{Evidence, ServiceTime};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// What kind of file an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImportKind {
    /// 資格 register.
    Members,
    /// 特定健診 results.
    Checkups,
    /// 要精密検査 lists.
    Referrals,
    /// Claims (UKE).
    Claims,
    /// Opt-out/opt-in records in bulk.
    Consents,
}

impl ImportKind {
    /// Every kind.
    pub const ALL: [ImportKind; 5] = [
        ImportKind::Members,
        ImportKind::Checkups,
        ImportKind::Referrals,
        ImportKind::Claims,
        ImportKind::Consents,
    ];
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Members => "members",
            ImportKind::Checkups => "checkups",
            ImportKind::Referrals => "referrals",
            ImportKind::Claims => "claims",
            ImportKind::Consents => "consents",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        ImportKind::ALL.into_iter().find(|k| k.code() == code)
    }
    /// Japanese name.
    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Members => "資格（加入者台帳）",
            ImportKind::Checkups => "特定健診結果",
            ImportKind::Referrals => "要精密検査者リスト",
            ImportKind::Claims => "レセプト",
            ImportKind::Consents => "本人の申出（一括）",
        }
    }
}

/// What an import did (stored with the import; shown to the submitter).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportSummary {
    /// The import's id.
    pub import_id: i64,
    /// The same file was imported before: nothing changed.
    pub already_imported: bool,
    /// Rows read.
    pub rows: u64,
    /// Rows stored.
    pub stored: u64,
    /// Rows already present (same person and date).
    pub duplicates: u64,
    /// Rows sent to the review queue.
    pub to_review: u64,
    /// Rows of people who opted out (not stored).
    pub excluded_opted_out: u64,
    /// Referral rows received after 翌々月末.
    pub late: u64,
    /// Claims that matched no member (counted, never guessed).
    pub unmatched: u64,
    /// Service months this import made complete (every expected claims stream in).
    pub months_covered: Vec<String>,
    /// A claims file: its stream, regular month, volume and claims of the month
    /// (absent from every other import's summary, as employers see theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<crate::coverage::StreamArrival>,
    /// Unknown checkup item codes and how often they were seen.
    pub unknown_items: std::collections::BTreeMap<String, u64>,
}

/// A checkup row as submitted, before admission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmittedCheckup {
    /// Line or record number in the file.
    pub line: u64,
    /// The 保険者番号 the row names, if it names one; must be this society's.
    pub insurer: Option<InsurerNumber>,
    /// Who, as submitted.
    pub person: SubmittedPerson,
    /// 健診実施日.
    pub exam_date: Date,
    /// Employer or society dock.
    pub source: CheckupSource,
    /// Observations.
    pub observations: Vec<Observation>,
    /// 問診.
    pub questionnaire: Questionnaire,
    /// Unknown item codes kept as they were.
    pub unknown_items: Vec<String>,
}

/// A 要精密検査 row as submitted, before admission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedReferral {
    /// Line in the file.
    pub line: u64,
    /// Who, as submitted.
    pub person: SubmittedPerson,
    /// がん検診の種類.
    pub cancer: CancerType,
    /// 検診実施年月日.
    pub screening_date: Date,
    /// The employer attests the person's consent (同意) on this row.
    pub consent_attested: bool,
}

impl SubmittedReferral {
    /// Received after 翌々月末 of the screening (accepted, but flagged).
    pub fn is_late(&self, received_on: Date) -> bool {
        yokuyokugetsumatsu(self.screening_date).is_ok_and(|due| received_on > due)
    }
}

/// A claim's identity as the claims file gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimIdentity {
    /// 保険者番号.
    pub insurer: InsurerNumber,
    /// 記号.
    pub symbol: Symbol,
    /// 番号.
    pub number: CardNumber,
    /// 枝番 (absent on claims from before 2021).
    pub branch: Option<Branch>,
    /// 生年月日 from RE.
    pub birth_date: Date,
    /// 性別 from RE.
    pub sex: Sex,
}

/// A reduced claim before matching: visit facts only (serialisable, so an import can
/// spool them to disk between parsing and storing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingVisit {
    /// Who.
    pub identity: ClaimIdentity,
    /// When.
    pub time: ServiceTime,
    /// 医療機関コード.
    pub institution: String,
    /// Groups evidenced.
    pub evidence: BTreeSet<Evidence>,
}

/// A row that passed admission: matched to one member who has not refused this use of
/// their data. Only this module constructs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted<T> {
    member: MemberKey,
    row: T,
}

impl<T> Admitted<T> {
    /// Whose row it is.
    pub fn member(&self) -> &MemberKey {
        &self.member
    }
    /// The row.
    pub fn row(&self) -> &T {
        &self.row
    }
}

/// The answer of admission.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission<T> {
    /// Store it.
    Admitted(Admitted<T>),
    /// Staff must decide (the row goes to the review queue).
    Review(ReviewReason, T),
    /// The person refused this use of their data: count the row, store nothing.
    Excluded,
}

/// Which data an opt-out register entry keeps out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmittedData {
    /// Checkups handed over by an employer.
    EmployerCheckup,
    /// The society's own 人間ドック results.
    SocietyCheckup,
    /// 要精密検査 rows (programme C).
    Referral,
    /// Visit facts from claims.
    Visit,
}

/// The tombstones: people who refused joint use (all of it, or programme C), from the
/// day recorded. Their future submissions are excluded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptOutRegister {
    scopes: HashMap<String, ConsentScope>,
}

impl OptOutRegister {
    /// A register of (member key text, scope) tombstones.
    pub fn new(entries: impl IntoIterator<Item = (String, ConsentScope)>) -> Self {
        OptOutRegister {
            scopes: entries.into_iter().collect(),
        }
    }
    /// The tombstone keeps this kind of data out for this member.
    pub fn excludes(&self, member: &MemberKey, data: SubmittedData) -> bool {
        match self.scopes.get(&member.to_key_string()) {
            None => false,
            Some(ConsentScope::All) => true,
            Some(ConsentScope::Programme(ProgrammeCode::C)) => data == SubmittedData::Referral,
            Some(ConsentScope::Programme(_)) => false,
        }
    }
    /// Number of tombstones.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }
    /// No tombstones.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }
}

/// A row that can be admitted: it names a person and is one kind of data.
pub trait Submitted {
    /// The person as submitted.
    fn person(&self) -> &SubmittedPerson;
    /// Which data it is (for the opt-out register).
    fn data(&self) -> SubmittedData;
    /// The 保険者番号 the row names, if any.
    fn named_insurer(&self) -> Option<&InsurerNumber> {
        None
    }
}

impl Submitted for SubmittedCheckup {
    fn person(&self) -> &SubmittedPerson {
        &self.person
    }
    fn data(&self) -> SubmittedData {
        match self.source {
            CheckupSource::Employer => SubmittedData::EmployerCheckup,
            CheckupSource::SocietyDock => SubmittedData::SocietyCheckup,
        }
    }
    fn named_insurer(&self) -> Option<&InsurerNumber> {
        self.insurer.as_ref()
    }
}

impl Submitted for SubmittedReferral {
    fn person(&self) -> &SubmittedPerson {
        &self.person
    }
    fn data(&self) -> SubmittedData {
        SubmittedData::Referral
    }
}

/// The staff decision on a review item could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveRefused {
    /// The chosen member is insured through another employer than the submitter.
    #[error("the member is insured through employer {member_employer}, not {submitter}")]
    OtherEmployer {
        /// The member's employer.
        member_employer: String,
        /// The submitting employer.
        submitter: String,
    },
}

/// Admission of one file's rows: the society, who submitted, and the tombstones.
#[derive(Debug, Clone, Copy)]
pub struct Intake<'a> {
    /// This society's 保険者番号.
    pub insurer: &'a InsurerNumber,
    /// The submitting employer (`None` for the society's own data).
    pub submitter: Option<&'a EmployerCode>,
    /// Tombstones.
    pub opt_outs: &'a OptOutRegister,
}

impl Intake<'_> {
    /// Admits a submitted row given the members with its 記号番号 (`candidates`).
    /// A row naming another 保険者番号, matching nobody cleanly, or naming a member of
    /// another employer than the submitter goes to review; a row of a person whose
    /// tombstone keeps this data out is excluded.
    pub fn admit<T: Submitted>(&self, row: T, candidates: &[&Member]) -> Admission<T> {
        if row.named_insurer().is_some_and(|i| i != self.insurer) {
            return Admission::Review(ReviewReason::NotFound, row);
        }
        match match_person(row.person(), candidates) {
            MatchOutcome::Review(reason) => Admission::Review(reason, row),
            MatchOutcome::Matched(key) => {
                let employer = candidates
                    .iter()
                    .find(|m| m.key == key)
                    .map(|m| &m.employer);
                if let (Some(submitter), Some(own)) = (self.submitter, employer)
                    && submitter != own
                {
                    return Admission::Review(ReviewReason::OtherEmployer, row);
                }
                self.seal(key, row)
            }
        }
    }

    /// Admits a review item that staff resolved to `member`: the same tombstone rule,
    /// and the member must be the submitter's own.
    pub fn admit_resolved<T: Submitted>(
        &self,
        row: T,
        member: &Member,
    ) -> Result<Admission<T>, ResolveRefused> {
        if let Some(submitter) = self.submitter
            && submitter != &member.employer
        {
            return Err(ResolveRefused::OtherEmployer {
                member_employer: member.employer.as_str().to_owned(),
                submitter: submitter.as_str().to_owned(),
            });
        }
        Ok(self.seal(member.key.clone(), row))
    }

    /// Admits a reduced claim: 記号番号 (+ 枝番 when the claim has one), 生年月日 and 性別
    /// must single out one member of this society. `None` when it matches nobody
    /// (counted, never guessed).
    pub fn admit_visit(
        &self,
        visit: IncomingVisit,
        candidates: &[&Member],
    ) -> Option<Admission<IncomingVisit>> {
        let key = crate::matching::match_claim(&visit.identity, candidates, self.insurer)?;
        if self.opt_outs.excludes(&key, SubmittedData::Visit) {
            return Some(Admission::Excluded);
        }
        Some(Admission::Admitted(Admitted {
            member: key,
            row: visit,
        }))
    }

    /// [`Intake::admit_visit`] against the register's [`crate::matching::CardIndex`].
    pub fn admit_visit_indexed(
        &self,
        visit: IncomingVisit,
        register: &crate::matching::CardIndex,
    ) -> Option<Admission<IncomingVisit>> {
        let key = register.match_claim(&visit.identity)?;
        if self.opt_outs.excludes(&key, SubmittedData::Visit) {
            return Some(Admission::Excluded);
        }
        Some(Admission::Admitted(Admitted {
            member: key,
            row: visit,
        }))
    }

    fn seal<T: Submitted>(&self, member: MemberKey, row: T) -> Admission<T> {
        if self.opt_outs.excludes(&member, row.data()) {
            Admission::Excluded
        } else {
            Admission::Admitted(Admitted { member, row })
        }
    }
}

/// What a review item holds: the submitted row itself (so a resolution admits exactly
/// what was submitted), or, for an address item, the notice that could not be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewPayload {
    /// A checkup row.
    Checkup(SubmittedCheckup),
    /// A 要精密検査 row.
    Referral(SubmittedReferral),
    /// A due notice whose recipient has no usable address.
    Address {
        /// The case.
        case_key: String,
        /// The recipient.
        member: MemberKey,
    },
}

impl ReviewPayload {
    /// The kind of item.
    pub fn kind(&self) -> ReviewKind {
        match self {
            ReviewPayload::Checkup(_) => ReviewKind::Checkup,
            ReviewPayload::Referral(_) => ReviewKind::Referral,
            ReviewPayload::Address { .. } => ReviewKind::Address,
        }
    }
    /// The person as submitted (none for an address item).
    pub fn person(&self) -> Option<&SubmittedPerson> {
        match self {
            ReviewPayload::Checkup(c) => Some(&c.person),
            ReviewPayload::Referral(r) => Some(&r.person),
            ReviewPayload::Address { .. } => None,
        }
    }
}

/// Which review-queue item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReviewKind {
    /// A checkup row that did not match cleanly.
    Checkup,
    /// A 要精密検査 row that did not match cleanly.
    Referral,
    /// A notice whose recipient has no usable address.
    Address,
}

impl ReviewKind {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReviewKind::Checkup => "checkups",
            ReviewKind::Referral => "referrals",
            ReviewKind::Address => "address",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            ReviewKind::Checkup,
            ReviewKind::Referral,
            ReviewKind::Address,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
    /// Japanese name.
    pub fn label(self) -> &'static str {
        match self {
            ReviewKind::Checkup => "健診結果",
            ReviewKind::Referral => "要精密検査",
            ReviewKind::Address => "住所不備",
        }
    }
}

/// Where a review item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReviewStatus {
    /// Waiting for staff.
    Open,
    /// Resolved to a member (the row was admitted, or excluded by a tombstone).
    Resolved,
    /// Rejected: about no member of ours.
    Rejected,
}

impl ReviewStatus {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Resolved => "resolved",
            ReviewStatus::Rejected => "rejected",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            ReviewStatus::Open,
            ReviewStatus::Resolved,
            ReviewStatus::Rejected,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
    /// Japanese name.
    pub fn label(self) -> &'static str {
        match self {
            ReviewStatus::Open => "未処理",
            ReviewStatus::Resolved => "確定",
            ReviewStatus::Rejected => "却下",
        }
    }
}

/// The key a submitted row names, for the audit log and the purge: the member key
/// when it names a 枝番, else `insurer:symbol:number:`.
pub fn submitted_subject(insurer: &InsurerNumber, person: &SubmittedPerson) -> String {
    format!(
        "{}:{}:{}:{}",
        insurer,
        person.symbol,
        person.number,
        person.branch.as_ref().map_or("", |b| b.as_str())
    )
}

/// A submitted row names this member: same 記号番号, and the same 枝番 when it gives
/// one, else the same 生年月日 (dependants share the 記号番号).
pub fn names_member(person: &SubmittedPerson, member: &Member) -> bool {
    person.symbol == member.key.symbol
        && person.number == member.key.number
        && match &person.branch {
            Some(b) => b == &member.key.branch,
            None => person.birth_date == member.birth_date,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use crate::member::{Address, Relationship};

    fn member(employer: &str, number: &str, branch: &str) -> Member {
        Member {
            key: MemberKey {
                insurer: InsurerNumber::parse("06130123").unwrap(),
                symbol: Symbol::parse("1001").unwrap(),
                number: CardNumber::parse(number).unwrap(),
                branch: Branch::parse(branch).unwrap(),
            },
            name_kanji: "試験 花子".into(),
            name_kana: "シケン ハナコ".into(),
            sex: Sex::Female,
            birth_date: Date::constant(1980, 5, 5),
            address: Address::default(),
            employer: EmployerCode::parse(employer).unwrap(),
            relationship: Relationship::Insured,
            qualified_from: Date::constant(2010, 4, 1),
            qualified_until: None,
        }
    }

    fn referral(number: &str) -> SubmittedReferral {
        SubmittedReferral {
            line: 2,
            person: SubmittedPerson {
                symbol: Symbol::parse("1001").unwrap(),
                number: CardNumber::parse(number).unwrap(),
                branch: None,
                name: "試験花子".into(),
                birth_date: Date::constant(1980, 5, 5),
            },
            cancer: CancerType::Breast,
            screening_date: Date::constant(2026, 6, 5),
            consent_attested: true,
        }
    }

    #[test]
    fn a_tombstone_excludes_on_every_path_including_resolution() {
        let m = member("E1", "7", "00");
        let insurer = m.key.insurer.clone();
        let e1 = EmployerCode::parse("E1").unwrap();
        let opt_outs = OptOutRegister::new([(m.key.to_key_string(), ConsentScope::All)]);
        let intake = Intake {
            insurer: &insurer,
            submitter: Some(&e1),
            opt_outs: &opt_outs,
        };
        assert!(matches!(
            intake.admit(referral("7"), &[&m]),
            Admission::Excluded
        ));
        assert!(matches!(
            intake.admit_resolved(referral("8"), &m),
            Ok(Admission::Excluded)
        ));
        let none = OptOutRegister::default();
        let open = Intake {
            opt_outs: &none,
            ..intake
        };
        assert!(matches!(
            open.admit_resolved(referral("8"), &m),
            Ok(Admission::Admitted(_))
        ));
    }

    #[test]
    fn an_opt_out_of_c_keeps_referrals_out_but_not_checkups() {
        let m = member("E1", "7", "00");
        let opt_outs = OptOutRegister::new([(
            m.key.to_key_string(),
            ConsentScope::Programme(ProgrammeCode::C),
        )]);
        assert!(opt_outs.excludes(&m.key, SubmittedData::Referral));
        assert!(!opt_outs.excludes(&m.key, SubmittedData::EmployerCheckup));
    }

    #[test]
    fn another_employers_member_goes_to_review_and_cannot_be_resolved_to() {
        let m = member("E2", "7", "00");
        let insurer = m.key.insurer.clone();
        let e1 = EmployerCode::parse("E1").unwrap();
        let none = OptOutRegister::default();
        let intake = Intake {
            insurer: &insurer,
            submitter: Some(&e1),
            opt_outs: &none,
        };
        assert!(matches!(
            intake.admit(referral("7"), &[&m]),
            Admission::Review(ReviewReason::OtherEmployer, _)
        ));
        assert!(intake.admit_resolved(referral("7"), &m).is_err());
    }

    #[test]
    fn a_row_without_branch_names_the_family_member_of_its_birth_date_only() {
        let insured = member("E1", "7", "00");
        let mut spouse = member("E1", "7", "01");
        spouse.birth_date = Date::constant(1982, 1, 1);
        let row = referral("7");
        assert!(names_member(&row.person, &insured));
        assert!(!names_member(&row.person, &spouse));
    }
}
