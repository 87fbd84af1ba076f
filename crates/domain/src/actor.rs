//! Who is acting: the user, their role (with an employer contact's establishments),
//! where the request came from, and when. Every business operation takes an [`Actor`];
//! "now" is part of it, so a replayed day (`--date`) dates every effect and every audit
//! record of that day alike.

use crate::authz::{self, Access, Action, Role, Scope};
use crate::calendar::japan_date;
use jiff::civil::Date;

/// The acting user of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Login name, or `cli:<os user>` for the command line.
    pub user: String,
    /// Role and scope.
    pub role: Role,
    /// Client address, or `cli`.
    pub origin: String,
    /// When the operation happens (the caller's clock, or the day given by `--date`).
    pub now: jiff::Timestamp,
}

/// The permission table refused an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{user} ({role}) may not {action:?}")]
pub struct Denied {
    /// Who asked.
    pub user: String,
    /// Their role code.
    pub role: &'static str,
    /// What they asked for.
    pub action: Action,
}

impl Actor {
    /// An actor at `now`.
    pub fn new(
        user: impl Into<String>,
        role: Role,
        origin: impl Into<String>,
        now: jiff::Timestamp,
    ) -> Actor {
        Actor {
            user: user.into(),
            role,
            origin: origin.into(),
            now,
        }
    }
    /// The society's calendar day of `now`.
    pub fn today(&self) -> Date {
        japan_date(self.now)
    }
    /// The decision of the permission table, or [`Denied`].
    pub fn may(&self, action: Action, scope: Scope<'_>) -> Result<Access, Denied> {
        match authz::decide(&self.role, action, scope) {
            Access::Deny => Err(Denied {
                user: self.user.clone(),
                role: self.role.code(),
                action,
            }),
            granted => Ok(granted),
        }
    }
    /// The same person a moment later (a long operation's later steps).
    pub fn at(&self, now: jiff::Timestamp) -> Actor {
        Actor {
            now,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EmployerCode;

    #[test]
    fn today_is_the_japanese_calendar_day() {
        // 2026-03-31 23:30 UTC is already 1 April in Japan.
        let now: jiff::Timestamp = "2026-03-31T23:30:00Z".parse().unwrap();
        let a = Actor::new("u", Role::Staff, "cli", now);
        assert_eq!(a.today(), Date::constant(2026, 4, 1));
    }

    #[test]
    fn an_employer_contact_is_denied_another_employer() {
        let mine = EmployerCode::parse("E1").unwrap();
        let other = EmployerCode::parse("E2").unwrap();
        let a = Actor::new(
            "e",
            Role::Employer(vec![mine.clone()]),
            "x",
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert!(
            a.may(Action::ViewRiskHolders, Scope::Employer(&mine))
                .is_ok()
        );
        assert!(
            a.may(Action::ViewRiskHolders, Scope::Employer(&other))
                .is_err()
        );
    }
}
