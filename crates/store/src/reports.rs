//! Reports per programme: identified → notified → visited funnels, re-notices, waiting
//! for claims; and employer aggregates with small cells suppressed.

use crate::{Reader, Result, on_conn};
use collabo_domain::programme::ProgrammeCode;
use std::collections::BTreeMap;

/// One programme's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgrammeFigures {
    /// Cases opened.
    pub identified: i64,
    /// Excluded before any notice (already under care …).
    pub excluded: i64,
    /// A notice was mailed.
    pub notified: i64,
    /// Claims show a visit.
    pub visited: i64,
    /// Decided 未受診 at the end.
    pub not_visited: i64,
    /// A re-notice was mailed.
    pub renotified: i64,
    /// Waiting for claims now.
    pub waiting_for_claims: i64,
    /// Notice due or in a batch not yet mailed.
    pub letters_pending: i64,
    /// Stopped by opt-out.
    pub stopped_opt_out: i64,
    /// C: referral lists received late.
    pub late_referrals: i64,
}

impl ProgrammeFigures {
    /// visited / notified, in percent.
    pub fn visit_rate(&self) -> Option<f64> {
        (self.notified > 0).then(|| 100.0 * self.visited as f64 / self.notified as f64)
    }
}

impl Reader {
    /// Figures per programme, optionally for one fiscal year of triggers.
    pub async fn programme_figures(
        &mut self,
        fiscal_year: Option<i64>,
    ) -> Result<BTreeMap<ProgrammeCode, ProgrammeFigures>> {
        let fy = fiscal_year.unwrap_or(-1);
        let insurer = self.insurer.clone();
        let states: Vec<(String, String, i64)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT programme, state, COUNT(*) FROM cases WHERE insurer = $1 AND ($2 < 0 OR fiscal_year = $2) GROUP BY programme, state")
                .bind(&insurer).bind(fy).fetch_all(&mut *c).await?
        });
        let mailed: Vec<(String, i64, i64)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT programme, n, COUNT(*) FROM (
                   SELECT c.programme AS programme, c.case_key, COUNT(*) AS n FROM cases c JOIN case_events e ON e.case_key = c.case_key
                   WHERE c.insurer = $1 AND ($2 < 0 OR c.fiscal_year = $2) AND e.kind = 'notice_mailed' GROUP BY c.programme, c.case_key
                 ) m GROUP BY programme, n",
            ).bind(&insurer).bind(fy).fetch_all(&mut *c).await?
        });
        let late: Vec<(String, i64)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT 'C', COUNT(*) FROM referrals WHERE insurer = $1 AND late = 1",
            ).bind(&insurer).fetch_all(&mut *c).await?
        });
        let mut out: BTreeMap<ProgrammeCode, ProgrammeFigures> = ProgrammeCode::ALL
            .into_iter()
            .map(|p| (p, ProgrammeFigures::default()))
            .collect();
        for (programme, state, n) in states {
            let Some(f) = ProgrammeCode::from_letter(&programme).and_then(|p| out.get_mut(&p))
            else {
                continue;
            };
            f.identified += n;
            match state.as_str() {
                "excluded" => f.excluded += n,
                "closed_visited" => f.visited += n,
                "closed_not_visited" => f.not_visited += n,
                "waiting_for_claims" => f.waiting_for_claims += n,
                "letter_due" | "letter_prepared" => f.letters_pending += n,
                "closed_opt_out" => f.stopped_opt_out += n,
                _ => {}
            }
        }
        for (programme, times, n) in mailed {
            let Some(f) = ProgrammeCode::from_letter(&programme).and_then(|p| out.get_mut(&p))
            else {
                continue;
            };
            f.notified += n;
            if times >= 2 {
                f.renotified += n;
            }
        }
        if let Some(f) = out.get_mut(&ProgrammeCode::C) {
            f.late_referrals = late.first().map_or(0, |r| r.1);
        }
        Ok(out)
    }

    /// Cases per employer and programme.
    pub async fn cases_by_employer(
        &mut self,
    ) -> Result<BTreeMap<String, BTreeMap<ProgrammeCode, i64>>> {
        let insurer = self.insurer.clone();
        let found: Vec<(String, String, i64)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT employer_code, programme, COUNT(*) FROM cases WHERE insurer = $1 GROUP BY employer_code, programme")
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        let mut out: BTreeMap<String, BTreeMap<ProgrammeCode, i64>> = BTreeMap::new();
        for (employer, programme, n) in found {
            if let Some(p) = ProgrammeCode::from_letter(&programme) {
                out.entry(employer).or_default().insert(p, n);
            }
        }
        Ok(out)
    }
}
