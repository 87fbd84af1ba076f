//! Consent: a person's opt-out (本人の申出) or opt-in (同意), recorded by staff or in
//! bulk. An opt-out purges what `collabo_domain::consent::PurgePlan` says, writes the
//! tombstone, stops the open cases (withdrawing a letter due or in an unmailed batch)
//! and writes its audit record — one transaction, so the purge is whole or not at all.

use crate::{App, AppError, Result, write};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::batch::BatchWithdrawal;
use collabo_domain::case::{CaseEvent, CaseKey, WithdrawalReason};
use collabo_domain::consent::{ConsentRecord, PurgePlan};
use collabo_domain::ids::MemberKey;
use collabo_domain::member::Member;
use collabo_store::Tx;
use collabo_store::cases::CaseFilter;

pub use collabo_store::consent::{PurgeReport, StoredConsent};

/// Applies one consent record inside `tx`: stores it, purges, stops cases, audits.
pub(crate) async fn record_in(
    tx: &mut Tx,
    actor: &Actor,
    record: &ConsentRecord,
    member: &Member,
) -> Result<PurgeReport> {
    let today = actor.today();
    tx.insert_consent(record, actor.now).await?;
    let plan = PurgePlan::for_record(record, today);
    let mut report = tx.purge(member, &plan, record.effective, actor.now).await?;
    if !plan.stop.is_empty() {
        let (cases, _) = tx
            .cases(&CaseFilter {
                member: Some(member.key.clone()),
                limit: 100_000,
                ..CaseFilter::default()
            })
            .await?;
        let keys: Vec<String> = cases
            .iter()
            .filter(|c| c.state.is_open() && plan.stop.contains(&c.key.programme))
            .map(|c| c.key.to_string())
            .collect();
        // A letter due or waiting in an unmailed batch is withdrawn first, then the
        // case closes; the withdrawn letters leave their batches here.
        let timelines = tx.cases_by_keys(&keys).await?;
        let stop: Vec<(CaseKey, CaseEvent)> = timelines
            .iter()
            .flat_map(|case| {
                case.stop(WithdrawalReason::OptedOut)
                    .into_iter()
                    .map(|e| (case.key.clone(), e))
            })
            .collect();
        let leaving: Vec<BatchWithdrawal> = stop
            .iter()
            .filter_map(|(key, event)| match event {
                CaseEvent::LetterWithdrawn {
                    batch: Some(batch),
                    reason,
                    ..
                } => Some(BatchWithdrawal {
                    batch: batch.clone(),
                    case: key.clone(),
                    reason: *reason,
                }),
                _ => None,
            })
            .collect();
        report.cases_stopped = tx.append_case_events(today, &stop).await?;
        report.letters_withdrawn =
            crate::letters::withdraw_from_batches(tx, today, &leaving).await?;
    }
    tx.audit(
        &AuditEntry::new(actor, AuditAction::ConsentRecord)
            .subject(&member.key)
            .employer(&member.employer)
            .detail(format!(
                "{} {} from {} via {}: deleted checkups {}, referrals {}, review rows {}, case values {}; stopped {} cases, {} letters withdrawn from batches",
                record.kind.code(),
                record.scope.code(),
                record.effective,
                record.channel.code(),
                report.checkups,
                report.referrals,
                report.review_rows,
                report.case_values,
                report.cases_stopped,
                report.letters_withdrawn
            )),
    )
    .await?;
    Ok(report)
}

impl App {
    /// Records a consent decision (see the module docs).
    pub async fn record_consent(
        &self,
        actor: &Actor,
        record: &ConsentRecord,
    ) -> Result<PurgeReport> {
        actor.may(Action::RecordConsent, Scope::Society)?;
        let mut tx = write(self).await?;
        let member = tx
            .member(&record.member)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("member {}", record.member)))?;
        let report = record_in(&mut tx, actor, record, &member).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// A member's consent records, oldest first (part of the member page: audited there).
    pub async fn consents_of(
        &self,
        actor: &Actor,
        member: &MemberKey,
    ) -> Result<Vec<StoredConsent>> {
        actor.may(Action::ViewMember, Scope::Society)?;
        let mut r = self.store().read().await?;
        let found = r.consents_of(member).await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::MemberView)
                .subject(member)
                .detail("consent records"),
        )
        .await?;
        Ok(found)
    }
}
