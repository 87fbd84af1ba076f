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
                "{}について{}、{}から（{}で受付）: 健診結果{}件・要精密検査{}件・照合待ち{}件を削除、ケースの値{}件を消去、ケース{}件を終了、レター{}件をバッチから取下げ",
                record.scope.label(),
                record.kind.label(),
                record.effective,
                record.channel.label(),
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

    /// What recording `record` would do, without doing it: the person (for the
    /// confirmation page: name, 生年月日, 事業所) and what would be deleted and stopped.
    /// The decision is applied in a write transaction that is then rolled back, so the
    /// counts are exactly those [`App::record_consent`] would report now. The view of
    /// the person is audited (`member.view`).
    pub async fn preview_consent(
        &self,
        actor: &Actor,
        record: &ConsentRecord,
    ) -> Result<(Member, PurgeReport)> {
        actor.may(Action::RecordConsent, Scope::Society)?;
        let (member, report) = {
            let mut tx = write(self).await?;
            let member = tx
                .member(&record.member)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("member {}", record.member)))?;
            let report = record_in(&mut tx, actor, record, &member).await?;
            // Dropped without commit: rolled back, nothing (not even its audit record)
            // is kept.
            drop(tx);
            (member, report)
        };
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::MemberView)
                .subject(&member.key)
                .employer(&member.employer)
                .detail(format!(
                    "{}について{}の記録前の確認（まだ記録していない）",
                    record.scope.label(),
                    record.kind.label()
                )),
        )
        .await?;
        Ok((member, report))
    }

    /// The opt-out register: every recorded decision with its person, newest first,
    /// optionally only those whose name, カナ or card contains `query`; audited, naming
    /// everyone shown. Returns the page and the number in all.
    pub async fn consent_register(
        &self,
        actor: &Actor,
        query: &str,
        paging: crate::Paging,
    ) -> Result<(Vec<(StoredConsent, Member)>, i64)> {
        actor.may(Action::RecordConsent, Scope::Society)?;
        let mut r = self.store().read().await?;
        let all = r.all_consents().await?;
        let keys: Vec<String> = all
            .iter()
            .map(|c| c.record.member.to_key_string())
            .collect();
        let members: std::collections::HashMap<String, Member> = r
            .members_by_keys(&keys)
            .await?
            .into_iter()
            .map(|m| (m.key.to_key_string(), m))
            .collect();
        drop(r);
        let wanted = collabo_domain::matching::normalise_name(query);
        let mut found: Vec<(StoredConsent, Member)> = all
            .into_iter()
            .filter_map(|c| {
                let m = members.get(&c.record.member.to_key_string())?.clone();
                Some((c, m))
            })
            .filter(|(_, m)| {
                wanted.is_empty()
                    || collabo_domain::matching::normalise_name(&m.name_kanji).contains(&wanted)
                    || collabo_domain::matching::normalise_name(&m.name_kana).contains(&wanted)
                    || m.key.card().contains(query.trim())
            })
            .collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.0.recorded_at));
        let total = i64::try_from(found.len()).unwrap_or(i64::MAX);
        let start = usize::try_from(paging.offset).unwrap_or(0).min(found.len());
        let end = if paging.limit > 0 {
            start
                .saturating_add(usize::try_from(paging.limit).unwrap_or(usize::MAX))
                .min(found.len())
        } else {
            found.len()
        };
        let page: Vec<(StoredConsent, Member)> = found.drain(start..end).collect();
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::MemberView)
                .subjects(page.iter().map(|(_, m)| m.key.to_key_string()))
                .detail(format!(
                    "本人の申出の一覧: {total}件中{}件を表示",
                    page.len()
                )),
        )
        .await?;
        Ok((page, total))
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
                .detail("本人の申出の記録"),
        )
        .await?;
        Ok(found)
    }
}
