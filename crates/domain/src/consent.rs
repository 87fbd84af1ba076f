//! Consent: opt-out (本人の申出 to refuse joint use) and opt-in (同意, needed for
//! cancer-screening results, which are 要配慮個人情報).
//!
//! The latest record (by effective date, then recording order) for a scope wins; a
//! record for one programme is more specific than one for all joint use.

use crate::ids::MemberKey;
use crate::programme::{ConsentMode, ProgrammeCode};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// What the person said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentKind {
    /// Refuses data sharing (オプトアウト).
    OptOut,
    /// Agrees to data sharing (同意).
    OptIn,
}

impl ConsentKind {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            ConsentKind::OptOut => "opt_out",
            ConsentKind::OptIn => "opt_in",
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "opt_out" | "optout" | "out" => Some(ConsentKind::OptOut),
            "opt_in" | "optin" | "in" => Some(ConsentKind::OptIn),
            _ => None,
        }
    }
    /// Japanese name.
    pub fn label(self) -> &'static str {
        match self {
            ConsentKind::OptOut => "停止（データ共有の拒否）",
            ConsentKind::OptIn => "同意",
        }
    }
}

/// Which joint use the record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentScope {
    /// Every programme (共同利用全体).
    All,
    /// One programme.
    Programme(ProgrammeCode),
}

impl ConsentScope {
    /// Storage code: `all` or the programme letter.
    pub fn code(self) -> String {
        match self {
            ConsentScope::All => "all".to_owned(),
            ConsentScope::Programme(p) => p.letter().to_owned(),
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        if code.eq_ignore_ascii_case("all") {
            return Some(ConsentScope::All);
        }
        ProgrammeCode::from_letter(code).map(ConsentScope::Programme)
    }
    /// Japanese name (`すべての事業`, `R リスク保有者の共有`).
    pub fn label(self) -> String {
        match self {
            ConsentScope::All => "すべての事業".to_owned(),
            ConsentScope::Programme(p) => format!("{} {}", p.letter(), p.label()),
        }
    }
}

/// How the society learned of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentChannel {
    /// By telephone.
    Phone,
    /// By letter or form.
    Letter,
    /// Attested by the employer on a submitted row.
    EmployerAttestation,
    /// Bulk CSV from the society's own records.
    Bulk,
    /// Entered in the portal.
    Portal,
}

impl ConsentChannel {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            ConsentChannel::Phone => "phone",
            ConsentChannel::Letter => "letter",
            ConsentChannel::EmployerAttestation => "employer",
            ConsentChannel::Bulk => "bulk",
            ConsentChannel::Portal => "portal",
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "phone" => ConsentChannel::Phone,
            "letter" => ConsentChannel::Letter,
            "employer" => ConsentChannel::EmployerAttestation,
            "bulk" => ConsentChannel::Bulk,
            "portal" => ConsentChannel::Portal,
            _ => return None,
        })
    }
    /// Japanese name (受付方法).
    pub fn label(self) -> &'static str {
        match self {
            ConsentChannel::Phone => "電話",
            ConsentChannel::Letter => "書面",
            ConsentChannel::EmployerAttestation => "事業所経由",
            ConsentChannel::Bulk => "一括登録",
            ConsentChannel::Portal => "窓口",
        }
    }
}

/// One consent record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// Whose.
    pub member: MemberKey,
    /// Opt-out or opt-in.
    pub kind: ConsentKind,
    /// All joint use or one programme.
    pub scope: ConsentScope,
    /// From this day on.
    pub effective: Date,
    /// How it was received.
    pub channel: ConsentChannel,
    /// The staff user who recorded it.
    pub recorded_by: String,
}

/// Whether a programme may use a person's data on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    /// May be used.
    Allowed,
    /// The person refused (opt-out), from this date.
    Refused(Date),
    /// Opt-in programme and no consent on record.
    NoConsent,
}

/// Decides consent for one programme on `date` from a person's records.
/// `attested` is an employer's per-row attestation of consent (programme C).
pub fn decide(
    records: &[ConsentRecord],
    programme: ProgrammeCode,
    mode: ConsentMode,
    date: Date,
    attested: bool,
) -> ConsentDecision {
    let latest = |scope: ConsentScope| {
        records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.scope == scope && r.effective <= date)
            .max_by_key(|(i, r)| (r.effective, *i))
            .map(|(_, r)| r)
    };
    let specific = latest(ConsentScope::Programme(programme));
    let general = latest(ConsentScope::All);
    // A refusal of all joint use overrides any programme consent recorded before it.
    if let Some(all) = general.filter(|r| r.kind == ConsentKind::OptOut)
        && specific.is_none_or(|s| s.effective <= all.effective)
    {
        return ConsentDecision::Refused(all.effective);
    }
    let effective = specific.or(general);
    match (effective.map(|r| r.kind), mode) {
        (Some(ConsentKind::OptOut), _) => {
            ConsentDecision::Refused(effective.map(|r| r.effective).unwrap_or(date))
        }
        (Some(ConsentKind::OptIn), _) => ConsentDecision::Allowed,
        (None, ConsentMode::OptOut) => ConsentDecision::Allowed,
        (None, ConsentMode::OptIn) if attested => ConsentDecision::Allowed,
        (None, ConsentMode::OptIn) => ConsentDecision::NoConsent,
    }
}

/// The programmes whose use of the person's data is refused on `date`, each with the
/// date the refusal took effect (the member page's 「データ共有停止中」).
pub fn refused_programmes(records: &[ConsentRecord], date: Date) -> Vec<(ProgrammeCode, Date)> {
    ProgrammeCode::ALL
        .into_iter()
        .filter_map(
            |p| match decide(records, p, ConsentMode::OptOut, date, false) {
                ConsentDecision::Refused(since) => Some((p, since)),
                _ => None,
            },
        )
        .collect()
}

/// The earliest date from which the person refused all joint use, if any (for purge).
pub fn refused_all_since(records: &[ConsentRecord], date: Date) -> Option<Date> {
    match decide(records, ProgrammeCode::R, ConsentMode::OptOut, date, false) {
        ConsentDecision::Refused(since)
            if records
                .iter()
                .any(|r| r.scope == ConsentScope::All && r.kind == ConsentKind::OptOut) =>
        {
            Some(since)
        }
        _ => None,
    }
}

/// What an opt-out removes, decided once for every door (portal, CLI, bulk file).
///
/// - All joint use: the checkups the employer sent, the 要精密検査 rows, every review
///   row naming the person, and the employer-sent values copied into case timelines
///   (the events stay, their values go); a tombstone keeps future submissions out; every
///   open case stops.
/// - Programme C: the 要精密検査 rows and the review rows of referrals; a tombstone
///   keeps future lists out; open C cases stop.
/// - Another single programme: nothing is deleted (the data serves the other
///   programmes); open cases of that programme stop, and the employer views read the
///   refusal from the consent record.
///
/// The society's own 人間ドック results and visit facts are its own data and stay.
/// An opt-in removes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgePlan {
    /// Delete employer-submitted checkups.
    pub employer_checkups: bool,
    /// Delete 要精密検査 rows.
    pub referrals: bool,
    /// Delete review rows naming the person: checkup rows too (all) or referral rows only.
    pub review_rows: Option<ReviewRowsToPurge>,
    /// Drop the values copied into the person's case timelines.
    pub case_values: bool,
    /// Write (or replace) a tombstone with this scope.
    pub tombstone: Option<ConsentScope>,
    /// Stop open cases of these programmes (if the opt-out is in effect today).
    pub stop: Vec<ProgrammeCode>,
}

/// Which review rows an opt-out deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewRowsToPurge {
    /// Every row naming the person (checkups, referrals, address items).
    All,
    /// Referral rows only.
    Referrals,
}

impl PurgePlan {
    /// The plan for a consent record recorded on `today`.
    pub fn for_record(record: &ConsentRecord, today: Date) -> PurgePlan {
        let none = PurgePlan {
            employer_checkups: false,
            referrals: false,
            review_rows: None,
            case_values: false,
            tombstone: None,
            stop: Vec::new(),
        };
        if record.kind != ConsentKind::OptOut {
            return none;
        }
        let in_effect = record.effective <= today;
        match record.scope {
            ConsentScope::All => PurgePlan {
                employer_checkups: true,
                referrals: true,
                review_rows: Some(ReviewRowsToPurge::All),
                case_values: true,
                tombstone: Some(ConsentScope::All),
                stop: if in_effect {
                    ProgrammeCode::ALL.to_vec()
                } else {
                    Vec::new()
                },
            },
            ConsentScope::Programme(ProgrammeCode::C) => PurgePlan {
                referrals: true,
                review_rows: Some(ReviewRowsToPurge::Referrals),
                tombstone: Some(record.scope),
                stop: if in_effect {
                    vec![ProgrammeCode::C]
                } else {
                    Vec::new()
                },
                ..none
            },
            ConsentScope::Programme(p) => PurgePlan {
                stop: if in_effect { vec![p] } else { Vec::new() },
                ..none
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;

    fn key() -> MemberKey {
        MemberKey {
            insurer: InsurerNumber::parse("06130123").unwrap(),
            symbol: Symbol::parse("1001").unwrap(),
            number: CardNumber::parse("1").unwrap(),
            branch: Branch::parse("00").unwrap(),
        }
    }

    fn record(kind: ConsentKind, scope: ConsentScope, effective: Date) -> ConsentRecord {
        ConsentRecord {
            member: key(),
            kind,
            scope,
            effective,
            channel: ConsentChannel::Phone,
            recorded_by: "staff1".into(),
        }
    }

    #[test]
    fn refused_programmes_name_what_an_opt_out_stops_and_from_when() {
        let d = Date::constant(2026, 7, 1);
        let only_c = [record(
            ConsentKind::OptOut,
            ConsentScope::Programme(ProgrammeCode::C),
            d,
        )];
        assert_eq!(refused_programmes(&only_c, d), [(ProgrammeCode::C, d)]);
        assert!(
            refused_programmes(&only_c, Date::constant(2026, 6, 30)).is_empty(),
            "not yet in force"
        );
        let all = [record(ConsentKind::OptOut, ConsentScope::All, d)];
        assert_eq!(refused_programmes(&all, d).len(), 4);
        assert_eq!(ConsentChannel::Phone.label(), "電話");
        assert_eq!(ConsentScope::All.label(), "すべての事業");
    }

    #[test]
    fn the_purge_plan_follows_the_scope() {
        let d = Date::constant(2026, 7, 1);
        let all = PurgePlan::for_record(&record(ConsentKind::OptOut, ConsentScope::All, d), d);
        assert!(all.employer_checkups && all.referrals && all.case_values);
        assert_eq!(all.review_rows, Some(ReviewRowsToPurge::All));
        assert_eq!(all.stop.len(), 4);
        let c = PurgePlan::for_record(
            &record(
                ConsentKind::OptOut,
                ConsentScope::Programme(ProgrammeCode::C),
                d,
            ),
            d,
        );
        assert!(!c.employer_checkups && c.referrals && !c.case_values);
        assert_eq!(c.stop, vec![ProgrammeCode::C]);
        let r = PurgePlan::for_record(
            &record(
                ConsentKind::OptOut,
                ConsentScope::Programme(ProgrammeCode::R),
                d,
            ),
            d,
        );
        assert!(!r.employer_checkups && r.tombstone.is_none());
        let later = PurgePlan::for_record(
            &record(
                ConsentKind::OptOut,
                ConsentScope::All,
                Date::constant(2026, 8, 1),
            ),
            d,
        );
        assert!(later.stop.is_empty() && later.employer_checkups);
        let optin = PurgePlan::for_record(&record(ConsentKind::OptIn, ConsentScope::All, d), d);
        assert!(optin.tombstone.is_none() && !optin.referrals);
    }

    #[test]
    fn opt_out_applies_from_the_day_recorded() {
        let records = [record(
            ConsentKind::OptOut,
            ConsentScope::All,
            Date::constant(2026, 7, 1),
        )];
        let before = decide(
            &records,
            ProgrammeCode::S,
            ConsentMode::OptOut,
            Date::constant(2026, 6, 30),
            false,
        );
        let after = decide(
            &records,
            ProgrammeCode::S,
            ConsentMode::OptOut,
            Date::constant(2026, 7, 1),
            false,
        );
        assert_eq!(before, ConsentDecision::Allowed);
        assert_eq!(after, ConsentDecision::Refused(Date::constant(2026, 7, 1)));
    }

    #[test]
    fn opt_in_programme_needs_consent_or_attestation() {
        let d = Date::constant(2026, 7, 1);
        assert_eq!(
            decide(&[], ProgrammeCode::C, ConsentMode::OptIn, d, false),
            ConsentDecision::NoConsent
        );
        assert_eq!(
            decide(&[], ProgrammeCode::C, ConsentMode::OptIn, d, true),
            ConsentDecision::Allowed
        );
        let records = [record(
            ConsentKind::OptIn,
            ConsentScope::Programme(ProgrammeCode::C),
            d,
        )];
        assert_eq!(
            decide(&records, ProgrammeCode::C, ConsentMode::OptIn, d, false),
            ConsentDecision::Allowed
        );
    }

    #[test]
    fn opting_out_of_all_overrides_an_earlier_programme_consent() {
        let records = [
            record(
                ConsentKind::OptIn,
                ConsentScope::Programme(ProgrammeCode::C),
                Date::constant(2026, 5, 1),
            ),
            record(
                ConsentKind::OptOut,
                ConsentScope::All,
                Date::constant(2026, 6, 1),
            ),
        ];
        let d = Date::constant(2026, 7, 1);
        assert!(matches!(
            decide(&records, ProgrammeCode::C, ConsentMode::OptIn, d, true),
            ConsentDecision::Refused(_)
        ));
        assert_eq!(
            refused_all_since(&records, d),
            Some(Date::constant(2026, 6, 1))
        );
    }
}
