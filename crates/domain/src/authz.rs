//! Who may do what: the one permission table of Collabo.
//!
//! Handlers and services state who is calling and what they want; this module decides.
//! The table is data read top to bottom. Employer contacts are scoped to their own
//! establishment(s) and never see claims-derived facts, letters, cases or outcomes.

use crate::ids::EmployerCode;
use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Society system administrator.
    Admin,
    /// Society health-programme staff (保健事業担当).
    Staff,
    /// An employer's health/HR contact (事業所担当者), scoped to establishments.
    Employer(Vec<EmployerCode>),
    /// Privacy officer.
    Auditor,
}

impl Role {
    /// Stable code of the role kind.
    pub fn code(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Employer(_) => "employer",
            Role::Auditor => "auditor",
        }
    }
    /// Japanese name of the role kind (as the portal and the audit log show it).
    pub fn label(&self) -> &'static str {
        match self {
            Role::Admin => "システム管理者",
            Role::Staff => "保健事業担当",
            Role::Employer(_) => "事業所担当者",
            Role::Auditor => "監査担当",
        }
    }
}

/// What is being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Action {
    /// Manage users.
    ManageUsers,
    /// Manage employers and memoranda.
    ManageEmployers,
    /// Change programme settings and letter templates.
    ManageSettings,
    /// Import the register, checkups, claims.
    ImportSocietyData,
    /// Upload checkups or 要精密検査 lists for an establishment.
    UploadEmployerData,
    /// See an establishment's submissions, deadlines and errors.
    ViewSubmissions,
    /// See the R risk-holder list of an establishment (事後指導).
    ViewRiskHolders,
    /// See aggregate figures (suppressed for employers).
    ViewAggregates,
    /// See cases, outcomes, visit status (claims-derived).
    ViewCases,
    /// See a member's page (personal data).
    ViewMember,
    /// Resolve the review queue.
    ResolveReview,
    /// Record consent (opt-out/opt-in).
    RecordConsent,
    /// Prepare, download, confirm or cancel letter batches.
    ManageLetters,
    /// Run the engine.
    RunEngine,
    /// Full reports (per employer, visit rates).
    ViewReports,
    /// Export personal data.
    Export,
    /// Read and verify the audit log.
    ViewAudit,
    /// Publish employers' aggregate tables.
    PublishAggregates,
    /// List and dispose of records past their retention (実施基準 第10条).
    ManageRetention,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Action; 19] = [
        Action::ManageUsers,
        Action::ManageEmployers,
        Action::ManageSettings,
        Action::ImportSocietyData,
        Action::UploadEmployerData,
        Action::ViewSubmissions,
        Action::ViewRiskHolders,
        Action::ViewAggregates,
        Action::ViewCases,
        Action::ViewMember,
        Action::ResolveReview,
        Action::RecordConsent,
        Action::ManageLetters,
        Action::RunEngine,
        Action::ViewReports,
        Action::Export,
        Action::ViewAudit,
        Action::PublishAggregates,
        Action::ManageRetention,
    ];
}

/// Which establishment the action is about, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Society-wide.
    Society,
    /// One establishment's data.
    Employer(&'a EmployerCode),
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Allowed.
    Allow,
    /// Allowed, but only aggregates with small cells suppressed.
    AllowSuppressed,
    /// Denied.
    Deny,
}

/// The table: for each role kind, what it may do.
pub fn decide(role: &Role, action: Action, scope: Scope<'_>) -> Access {
    use Action::*;
    match role {
        Role::Admin => match action {
            ManageUsers | ManageEmployers | ManageSettings => Access::Allow,
            ViewAggregates | ViewReports => Access::Allow,
            _ => Access::Deny,
        },
        Role::Staff => match action {
            ImportSocietyData | ViewSubmissions | ViewRiskHolders | ViewAggregates | ViewCases
            | ViewMember | ResolveReview | RecordConsent | ManageLetters | RunEngine
            | ViewReports | Export | PublishAggregates | ManageRetention => Access::Allow,
            UploadEmployerData => Access::Allow,
            ManageUsers | ManageEmployers | ManageSettings | ViewAudit => Access::Deny,
        },
        Role::Employer(own) => {
            let Scope::Employer(code) = scope else {
                return Access::Deny;
            };
            if !own.contains(code) {
                return Access::Deny;
            }
            match action {
                UploadEmployerData | ViewSubmissions | ViewRiskHolders => Access::Allow,
                ViewAggregates => Access::AllowSuppressed,
                _ => Access::Deny,
            }
        }
        Role::Auditor => match action {
            ViewAudit => Access::Allow,
            _ => Access::Deny,
        },
    }
}

/// A cell of an employer's aggregate: shown only when the employer has at least
/// `min_population` insured and the cell has at least `min_cell` people
/// (健康スコアリングレポート convention: 50 and 10).
pub fn suppress(count: u64, population: u64, min_population: u64, min_cell: u64) -> Option<u64> {
    (population >= min_population && count >= min_cell).then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_table_is_exactly_this() {
        let mine = EmployerCode::parse("1001").unwrap();
        let other = EmployerCode::parse("2002").unwrap();
        let employer = Role::Employer(vec![mine.clone()]);
        // (role, allowed actions on own scope); every other cell must be Deny.
        let expected: [(&Role, &[Action]); 4] = [
            (
                &Role::Admin,
                &[
                    Action::ManageUsers,
                    Action::ManageEmployers,
                    Action::ManageSettings,
                    Action::ViewAggregates,
                    Action::ViewReports,
                ],
            ),
            (
                &Role::Staff,
                &[
                    Action::ImportSocietyData,
                    Action::UploadEmployerData,
                    Action::ViewSubmissions,
                    Action::ViewRiskHolders,
                    Action::ViewAggregates,
                    Action::ViewCases,
                    Action::ViewMember,
                    Action::ResolveReview,
                    Action::RecordConsent,
                    Action::ManageLetters,
                    Action::RunEngine,
                    Action::ViewReports,
                    Action::Export,
                    Action::PublishAggregates,
                    Action::ManageRetention,
                ],
            ),
            (
                &employer,
                &[
                    Action::UploadEmployerData,
                    Action::ViewSubmissions,
                    Action::ViewRiskHolders,
                    Action::ViewAggregates,
                ],
            ),
            (&Role::Auditor, &[Action::ViewAudit]),
        ];
        for (role, allowed) in expected {
            for action in Action::ALL {
                let got = decide(role, action, Scope::Employer(&mine));
                let want_allowed = allowed.contains(&action);
                assert_eq!(got != Access::Deny, want_allowed, "{role:?} {action:?}");
            }
        }
        for action in Action::ALL {
            assert_eq!(
                decide(&employer, action, Scope::Employer(&other)),
                Access::Deny,
                "other employer {action:?}"
            );
            assert_eq!(
                decide(&employer, action, Scope::Society),
                Access::Deny,
                "society scope {action:?}"
            );
        }
    }

    #[test]
    fn employers_never_see_cases_letters_or_members() {
        let mine = EmployerCode::parse("1001").unwrap();
        let employer = Role::Employer(vec![mine.clone()]);
        for action in [
            Action::ViewCases,
            Action::ViewMember,
            Action::ManageLetters,
            Action::Export,
            Action::ViewReports,
        ] {
            assert_eq!(
                decide(&employer, action, Scope::Employer(&mine)),
                Access::Deny
            );
        }
        assert_eq!(
            decide(&employer, Action::ViewAggregates, Scope::Employer(&mine)),
            Access::AllowSuppressed
        );
    }

    #[test]
    fn small_cells_and_small_employers_are_suppressed() {
        assert_eq!(suppress(9, 100, 50, 10), None);
        assert_eq!(suppress(10, 100, 50, 10), Some(10));
        assert_eq!(suppress(30, 49, 50, 10), None);
    }
}
