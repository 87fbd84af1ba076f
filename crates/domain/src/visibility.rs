//! What an employer may see of a person's checkup (programme R, 事後指導), and who
//! counts in an employer's population. One rule for the risk-holder list, the
//! aggregates and the API, so no view can forget a part of it.
//!
//! An employer sees a checkup only when all of these hold:
//! 1. the person is that employer's 本人 today (insured through it, not a dependant);
//! 2. the person was insured through that employer on the exam date, or the employer
//!    itself submitted the checkup;
//! 3. programme R is enabled for the checkup's fiscal year;
//! 4. the person has not refused R or all joint use (as of today);
//! 5. when R is opt-in, the person's consent is recorded.

use crate::calendar::FiscalYear;
use crate::checkup::Checkup;
use crate::consent::{ConsentDecision, ConsentRecord, decide};
use crate::ids::EmployerCode;
use crate::member::{EmployerPeriod, Member};
use crate::programme::{ProgrammeBook, ProgrammeCode};
use jiff::civil::Date;

/// Why a checkup is hidden from an employer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hidden {
    /// A dependant (家族), or 本人/家族 not recorded.
    NotInsuredPerson,
    /// Not insured through this employer today.
    NotCurrentEmployee,
    /// Insured through another employer on the exam date, and not submitted by this one.
    OtherEmployerOnExamDate,
    /// Programme R is off (or has no settings) for the checkup's fiscal year.
    ProgrammeDisabled,
    /// The person refused R or all joint use.
    OptedOut,
    /// R is opt-in and no consent is recorded.
    NoConsent,
}

/// The employer asking, and the day.
#[derive(Debug, Clone, Copy)]
pub struct EmployerScope<'a> {
    /// The employer whose view this is.
    pub employer: &'a EmployerCode,
    /// Today.
    pub today: Date,
    /// Programme settings.
    pub book: &'a ProgrammeBook,
}

/// The person counts in the employer's population today (the ≥ 50 rule and the
/// denominators): its 本人, insured through it today.
pub fn in_population(employer: &EmployerCode, member: &Member, today: Date) -> bool {
    member.is_insured_person() && &member.employer == employer && member.is_insured_on(today)
}

/// Decides whether the employer may see this checkup (see the module docs).
pub fn checkup_visible(
    scope: &EmployerScope<'_>,
    member: &Member,
    periods: &[EmployerPeriod],
    checkup: &Checkup,
    consents: &[ConsentRecord],
) -> Result<(), Hidden> {
    if !member.is_insured_person() {
        return Err(Hidden::NotInsuredPerson);
    }
    if !in_population(scope.employer, member, scope.today) {
        return Err(Hidden::NotCurrentEmployee);
    }
    let submitted_by_this = checkup.submitted_by.as_ref() == Some(scope.employer);
    if !submitted_by_this && !member.employed_by_on(periods, scope.employer, checkup.exam_date) {
        return Err(Hidden::OtherEmployerOnExamDate);
    }
    let Some(settings) = scope
        .book
        .for_year(ProgrammeCode::R, FiscalYear::of(checkup.exam_date))
        .filter(|s| s.enabled)
    else {
        return Err(Hidden::ProgrammeDisabled);
    };
    match decide(
        consents,
        ProgrammeCode::R,
        settings.consent_mode,
        scope.today,
        false,
    ) {
        ConsentDecision::Allowed => Ok(()),
        ConsentDecision::Refused(_) => Err(Hidden::OptedOut),
        ConsentDecision::NoConsent => Err(Hidden::NoConsent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkup::{CheckupSource, Questionnaire};
    use crate::consent::{ConsentChannel, ConsentKind, ConsentScope};
    use crate::ids::*;
    use crate::member::{Address, Relationship, Sex};
    use crate::programme::{ConsentMode, ProgrammeSettings};

    fn code(c: &str) -> EmployerCode {
        EmployerCode::parse(c).unwrap()
    }

    fn member(employer: &str, relationship: Relationship) -> Member {
        Member {
            key: MemberKey {
                insurer: InsurerNumber::parse("06130123").unwrap(),
                symbol: Symbol::parse("1001").unwrap(),
                number: CardNumber::parse("5").unwrap(),
                branch: Branch::parse("00").unwrap(),
            },
            name_kanji: "試験 一郎".into(),
            name_kana: "シケン イチロウ".into(),
            sex: Sex::Male,
            birth_date: Date::constant(1970, 1, 1),
            address: Address::default(),
            employer: code(employer),
            relationship,
            qualified_from: Date::constant(2000, 4, 1),
            qualified_until: None,
        }
    }

    fn checkup(m: &Member, by: Option<&str>, source: CheckupSource) -> Checkup {
        Checkup {
            member: m.key.clone(),
            exam_date: Date::constant(2025, 6, 1),
            source,
            submitted_by: by.map(code),
            observations: Vec::new(),
            questionnaire: Questionnaire::default(),
        }
    }

    fn opt_out(m: &Member, scope: ConsentScope) -> ConsentRecord {
        ConsentRecord {
            member: m.key.clone(),
            kind: ConsentKind::OptOut,
            scope,
            effective: Date::constant(2025, 9, 1),
            channel: ConsentChannel::Phone,
            recorded_by: "s".into(),
        }
    }

    #[test]
    fn each_wall_hides_the_checkup() {
        let book = ProgrammeBook::default();
        let e1 = code("E1");
        let scope = EmployerScope {
            employer: &e1,
            today: Date::constant(2025, 12, 1),
            book: &book,
        };
        let m = member("E1", Relationship::Insured);
        let dock = checkup(&m, None, CheckupSource::SocietyDock);
        assert_eq!(checkup_visible(&scope, &m, &[], &dock, &[]), Ok(()));

        let family = member("E1", Relationship::Dependant);
        assert_eq!(
            checkup_visible(&scope, &family, &[], &dock, &[]),
            Err(Hidden::NotInsuredPerson)
        );
        for s in [ConsentScope::All, ConsentScope::Programme(ProgrammeCode::R)] {
            assert_eq!(
                checkup_visible(&scope, &m, &[], &dock, &[opt_out(&m, s)]),
                Err(Hidden::OptedOut)
            );
        }
        // An opt-out of S alone does not hide R.
        assert_eq!(
            checkup_visible(
                &scope,
                &m,
                &[],
                &dock,
                &[opt_out(&m, ConsentScope::Programme(ProgrammeCode::S))]
            ),
            Ok(())
        );

        let mut optin = ProgrammeSettings::default_for(ProgrammeCode::R);
        optin.consent_mode = ConsentMode::OptIn;
        let mut off = ProgrammeSettings::default_for(ProgrammeCode::R);
        off.enabled = false;
        for (settings, hidden) in [(optin, Hidden::NoConsent), (off, Hidden::ProgrammeDisabled)] {
            let mut book = ProgrammeBook::default();
            book.set(settings);
            let scope = EmployerScope {
                book: &book,
                ..scope
            };
            assert_eq!(checkup_visible(&scope, &m, &[], &dock, &[]), Err(hidden));
        }
    }

    #[test]
    fn a_member_who_moved_is_not_shown_to_the_new_employer_for_an_older_checkup() {
        let book = ProgrammeBook::default();
        let a = code("A");
        let scope = EmployerScope {
            employer: &a,
            today: Date::constant(2025, 12, 1),
            book: &book,
        };
        let m = member("A", Relationship::Insured);
        let periods = [
            EmployerPeriod {
                employer: code("B"),
                since: Date::constant(2000, 4, 1),
                until: Some(Date::constant(2025, 10, 1)),
            },
            EmployerPeriod {
                employer: code("A"),
                since: Date::constant(2025, 10, 1),
                until: None,
            },
        ];
        let by_b = checkup(&m, Some("B"), CheckupSource::Employer);
        let dock = checkup(&m, None, CheckupSource::SocietyDock);
        assert_eq!(
            checkup_visible(&scope, &m, &periods, &by_b, &[]),
            Err(Hidden::OtherEmployerOnExamDate)
        );
        assert_eq!(
            checkup_visible(&scope, &m, &periods, &dock, &[]),
            Err(Hidden::OtherEmployerOnExamDate)
        );
        // The old employer no longer sees its former employee either.
        let b = code("B");
        let old = EmployerScope {
            employer: &b,
            ..scope
        };
        assert_eq!(
            checkup_visible(&old, &m, &periods, &by_b, &[]),
            Err(Hidden::NotCurrentEmployee)
        );
    }
}
