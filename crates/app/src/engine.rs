//! The programme run: walks the register in member-key order a chunk at a time, hands
//! each member's facts to the pure engine (`collabo_domain::engine::run_member`) with
//! the actor's today, and writes each chunk's changes in one transaction with an audit
//! record of what it changed. Memory is bounded by the chunk, whatever the society's
//! size; the run is idempotent, so a run cut short is finished by running again.
//!
//! The engine's records name no one: it is processing, not a person looking at data.
//! Letters the engine withdraws leave their batches in the transaction of the change
//! (`crate::letters::withdraw_from_batches`).

use crate::{App, Result, write};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::engine::{CaseChange, Context, MemberFile, SkipReason, run_member};
use collabo_domain::member::Member;
use collabo_domain::programme::ProgrammeCode;
use collabo_store::cases::ChunkFacts;
use collabo_store::marks::EngineMark;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// One member's facts out of a chunk's.
fn file_of<'a>(member: &'a Member, facts: &'a ChunkFacts) -> MemberFile<'a> {
    let key = member.key.to_key_string();
    MemberFile {
        member,
        consents: facts.consents.get(&key).map_or(&[][..], |v| v),
        checkups: facts.checkups.get(&key).map_or(&[][..], |v| v),
        referrals: facts.referrals.get(&key).map_or(&[][..], |v| v),
        visits: facts.visits.get(&key).map_or(&[][..], |v| v),
        cases: facts.cases.get(&key).map_or(&[][..], |v| v),
    }
}

/// Members per chunk of a run.
const RUN_CHUNK: i64 = 2000;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Members looked at.
    pub members: u64,
    /// Cases opened, by programme.
    pub opened: BTreeMap<ProgrammeCode, u64>,
    /// Events appended to existing cases.
    pub events_appended: u64,
    /// Triggers that opened no case, by programme and reason.
    pub skipped: BTreeMap<(ProgrammeCode, SkipReason), u64>,
    /// Letters taken out of unmailed batches (removed, or 差止 once printed).
    pub withdrawn: u64,
    /// Set when the run was skipped: a complete run on this day already saw every
    /// change recorded since (the watermark), so running again would change nothing.
    pub unchanged_since: Option<collabo_domain::Date>,
}

impl RunSummary {
    /// The run changed nothing.
    pub fn is_empty(&self) -> bool {
        self.opened.values().all(|n| *n == 0) && self.events_appended == 0
    }
}

impl App {
    /// Members in the register (for a progress bar).
    pub async fn register_size(&self, actor: &Actor) -> Result<i64> {
        actor.may(Action::RunEngine, Scope::Society)?;
        Ok(self
            .store()
            .read()
            .await?
            .count(collabo_store::Table::Members)
            .await?)
    }

    /// Runs the programme engine for everyone on the actor's today. `progress` is told
    /// how many members are done.
    pub async fn run_engine(
        &self,
        actor: &Actor,
        mut progress: impl FnMut(u64),
    ) -> Result<RunSummary> {
        actor.may(Action::RunEngine, Scope::Society)?;
        let today = actor.today();
        let mut r = self.store().read().await?;
        let book = r.programme_book().await?;
        let agreements = r.agreements().await?;
        // Only complete months (every expected stream in) count for the claims-lag gate.
        let coverage = r.claims_ledger().await?.coverage();
        let ctx = Context {
            today,
            book: &book,
            agreements: &agreements,
            coverage: &coverage,
        };
        // The watermark: the audit sequence number before anything is read. A run on
        // the same day as the last complete one, with nothing but reads, logins and the
        // engine's own records since, would change nothing: it is skipped.
        let start_seq = r.audit_head_seq().await?;
        if let Some(mark) = r.engine_mark().await?
            && mark.day == today
            && r.audit_actions_since(mark.audit_seq)
                .await?
                .iter()
                .all(|code| {
                    AuditAction::from_code(code).is_some_and(|a| {
                        a == AuditAction::EngineRun || a.leaves_engine_inputs_unchanged()
                    })
                })
        {
            let members = u64::try_from(r.count(collabo_store::Table::Members).await?).unwrap_or(0);
            progress(members);
            return Ok(RunSummary {
                members,
                unchanged_since: Some(today),
                ..RunSummary::default()
            });
        }
        let mut summary = RunSummary::default();
        let mut after: Option<String> = None;
        loop {
            let members = r.members_page(after.as_deref(), RUN_CHUNK).await?;
            let (Some(first), Some(last)) = (members.first(), members.last()) else {
                break;
            };
            let (first, last) = (first.key.to_key_string(), last.key.to_key_string());
            let facts = r.chunk_facts(&first, &last).await?;
            let mut changes = Vec::new();
            let (mut opened, mut appended) = (0u64, 0u64);
            // The pure part on every core; the changes are then taken in member order.
            let outcomes: Vec<_> = members
                .par_iter()
                .map(|member| run_member(&file_of(member, &facts), &ctx))
                .collect();
            for (member, outcome) in members.iter().zip(outcomes) {
                let file = file_of(member, &facts);
                for (programme, reason) in outcome.skipped {
                    *summary.skipped.entry((programme, reason)).or_default() += 1;
                }
                for change in outcome.changes {
                    let existing = match &change {
                        CaseChange::Open(case) => {
                            *summary.opened.entry(case.key.programme).or_default() += 1;
                            opened += 1;
                            None
                        }
                        CaseChange::Append { key, events } => {
                            summary.events_appended += events.len() as u64;
                            appended += events.len() as u64;
                            file.cases.iter().find(|c| &c.key == key).cloned()
                        }
                    };
                    changes.push((member.employer.clone(), change, existing));
                }
            }
            summary.members += members.len() as u64;
            if !changes.is_empty() {
                let case_changes: Vec<CaseChange> =
                    changes.iter().map(|(_, c, _)| c.clone()).collect();
                let leaving = collabo_domain::batch::withdrawals(&case_changes);
                let mut tx = write(self).await?;
                tx.write_case_changes(today, &changes).await?;
                // Letters withdrawn by these changes leave their batches in the same
                // transaction: a letter for someone known to have visited is never mailed.
                let withdrawn =
                    crate::letters::withdraw_from_batches(&mut tx, today, &leaving).await?;
                summary.withdrawn += withdrawn;
                tx.audit(&AuditEntry::new(actor, AuditAction::EngineRun).detail(format!(
                    "{today}: 加入者 {first} ～ {last}: ケース{opened}件を開始、経過{appended}件を記録、レター{withdrawn}件をバッチから取下げ"
                )))
                .await?;
                tx.commit().await?;
            }
            progress(summary.members);
            after = Some(last);
        }
        let mut tx = write(self).await?;
        tx.set_engine_mark(EngineMark {
            day: today,
            audit_seq: start_seq,
        })
        .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::EngineRun)
                .detail(format!("{today}: 判定完了（加入者{}人）", summary.members)),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }
}
