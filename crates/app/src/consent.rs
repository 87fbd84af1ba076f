//! Consent: a person's opt-out (本人の申出) or opt-in (同意), recorded by staff or in
//! bulk. An opt-out purges what `collabo_domain::consent::PurgePlan` says, writes the
//! tombstone, stops the open cases and writes its audit record — one transaction, so
//! the purge is whole or not at all.

use crate::{App, AppError, Result, write};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::case::{CaseEvent, Outcome};
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
        let stop: Vec<_> = cases
            .into_iter()
            .filter(|c| c.state.is_open() && plan.stop.contains(&c.key.programme))
            .map(|c| (c.key, CaseEvent::Closed(Outcome::StoppedOptOut)))
            .collect();
        report.cases_stopped = tx.append_case_events(today, &stop).await?;
    }
    tx.audit(
        &AuditEntry::new(actor, AuditAction::ConsentRecord)
            .subject(&member.key)
            .employer(&member.employer)
            .detail(format!(
                "{} {} from {} via {}: deleted checkups {}, referrals {}, review rows {}, case values {}; stopped {} cases",
                record.kind.code(),
                record.scope.code(),
                record.effective,
                record.channel.code(),
                report.checkups,
                report.referrals,
                report.review_rows,
                report.case_values,
                report.cases_stopped
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
