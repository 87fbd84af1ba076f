//! Programme figures: identified → notified → visited, re-notices, waiting for claims
//! (counts, no personal data).

use crate::{App, Result};
use collabo_domain::actor::Actor;
use collabo_domain::authz::{Action, Scope};
use collabo_domain::programme::ProgrammeCode;
use std::collections::BTreeMap;

pub use collabo_store::reports::ProgrammeFigures;

/// Case counts of one employer by programme.
pub type EmployerCaseCounts = BTreeMap<ProgrammeCode, i64>;

impl App {
    /// Figures per programme, optionally for one fiscal year of triggers.
    pub async fn programme_figures(
        &self,
        actor: &Actor,
        fiscal_year: Option<i64>,
    ) -> Result<BTreeMap<ProgrammeCode, ProgrammeFigures>> {
        actor.may(Action::ViewReports, Scope::Society)?;
        Ok(self
            .store()
            .read()
            .await?
            .programme_figures(fiscal_year)
            .await?)
    }

    /// Cases per employer and programme (staff reports).
    pub async fn cases_by_employer(
        &self,
        actor: &Actor,
    ) -> Result<BTreeMap<String, EmployerCaseCounts>> {
        actor.may(Action::ViewReports, Scope::Society)?;
        Ok(self.store().read().await?.cases_by_employer().await?)
    }
}
