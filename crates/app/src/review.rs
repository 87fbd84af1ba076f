//! The review queue: rows that did not match the register cleanly, and notices that
//! cannot be mailed. Listing it names every person shown in the audit log; resolving a
//! row admits it through the same domain rule as an import (a person who opted out is
//! excluded, not stored), in one transaction with its audit record.

use crate::{App, AppError, Result, write};
use collabo_domain::actor::Actor;
use collabo_domain::admission::{
    Admission, Intake, ReviewPayload, ReviewStatus, SubmittedCheckup, SubmittedReferral,
};
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::ids::{InsurerNumber, MemberKey};
use collabo_domain::matching::{Resemblance, review_candidates};
use collabo_domain::member::Member;
use std::collections::HashMap;

pub use collabo_store::review::{ReviewFilter, ReviewItem};

/// An item as the queue shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewEntry {
    /// The item.
    pub item: ReviewItem,
    /// The member an address item is about.
    pub member: Option<Member>,
    /// The likely members for a submitted row, best first, with what fits
    /// (`collabo_domain::matching::review_candidates`).
    pub candidates: Vec<(Member, Resemblance)>,
}

/// Candidates shown per row.
const CANDIDATES: usize = 5;

/// A page of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPage {
    /// The items.
    pub entries: Vec<ReviewEntry>,
    /// Items matching the filter in all.
    pub total: i64,
}

/// What a resolution did with the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The row was stored as the member's.
    Admitted,
    /// The member opted out: the row was dropped, nothing stored.
    Excluded,
    /// An address item was closed.
    Closed,
}

/// What a resolution did, as the audit log says it.
pub fn resolution_text(resolution: &Resolution) -> String {
    match resolution {
        Resolution::Admitted => "指定した加入者の記録として登録",
        Resolution::Excluded => "停止の申出があるため登録せず除外",
        Resolution::Closed => "住所の確認を完了",
    }
    .to_owned()
}

impl App {
    /// A page of the queue (open items unless the filter says otherwise); audited,
    /// naming every person shown.
    pub async fn review_queue(&self, actor: &Actor, filter: &ReviewFilter) -> Result<ReviewPage> {
        actor.may(Action::ResolveReview, Scope::Society)?;
        let mut r = self.store().read().await?;
        let (items, total) = r.review_items(filter).await?;
        let keys: Vec<String> = items
            .iter()
            .filter_map(|i| match &i.payload {
                Some(ReviewPayload::Address { member, .. }) => Some(member.to_key_string()),
                _ => None,
            })
            .collect();
        let members: HashMap<String, Member> = r
            .members_by_keys(&keys)
            .await?
            .into_iter()
            .map(|m| (m.key.to_key_string(), m))
            .collect();
        // The pool of candidates: the same 記号番号, and the same 生年月日 (a mistyped
        // card); the domain picks and orders them.
        let people: Vec<_> = items
            .iter()
            .filter_map(|i| i.payload.as_ref().and_then(|p| p.person()))
            .collect();
        let mut cards: Vec<(String, String)> = people
            .iter()
            .map(|p| (p.symbol.as_str().to_owned(), p.number.as_str().to_owned()))
            .collect();
        cards.sort();
        cards.dedup();
        let births: Vec<_> = people.iter().map(|p| p.birth_date).collect();
        let mut pool = r.members_with_cards(&cards).await?;
        pool.extend(r.members_born_on(&births).await?);
        drop(r);
        let entries: Vec<ReviewEntry> = items
            .into_iter()
            .map(|item| {
                let member = match &item.payload {
                    Some(ReviewPayload::Address { member, .. }) => {
                        members.get(&member.to_key_string()).cloned()
                    }
                    _ => None,
                };
                let candidates = item
                    .payload
                    .as_ref()
                    .and_then(|p| p.person())
                    .map(|person| {
                        review_candidates(person, &pool, CANDIDATES)
                            .into_iter()
                            .map(|(m, fit)| (m.clone(), fit))
                            .collect()
                    })
                    .unwrap_or_default();
                ReviewEntry {
                    item,
                    member,
                    candidates,
                }
            })
            .collect();
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::ReviewView)
                .subjects(entries.iter().flat_map(|e| {
                    std::iter::once(e.item.subject.clone())
                        .chain(e.candidates.iter().map(|(m, _)| m.key.to_key_string()))
                }))
                .detail(format!("照合待ち{}件中{}件を表示", total, entries.len())),
        )
        .await?;
        Ok(ReviewPage { entries, total })
    }

    /// Resolves an open item by naming the member it is about.
    pub async fn resolve_review(
        &self,
        actor: &Actor,
        id: i64,
        member: &MemberKey,
    ) -> Result<Resolution> {
        actor.may(Action::ResolveReview, Scope::Society)?;
        let mut tx = write(self).await?;
        let item = tx
            .review_item(id)
            .await?
            .filter(|i| i.status == ReviewStatus::Open)
            .ok_or_else(|| AppError::NotFound(format!("open review item {id}")))?;
        let m = tx
            .member(member)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("member {member}")))?;
        let insurer =
            InsurerNumber::parse(self.insurer()).map_err(|e| AppError::Invalid(e.to_string()))?;
        let opt_outs = tx.opt_out_register_of(member).await?;
        let intake = Intake {
            insurer: &insurer,
            submitter: item.employer.as_ref(),
            opt_outs: &opt_outs,
        };
        let refused =
            |e: collabo_domain::admission::ResolveRefused| AppError::Conflict(format!("{e}"));
        let resolution = match item.payload.clone() {
            Some(ReviewPayload::Checkup(row)) => {
                match intake
                    .admit_resolved::<SubmittedCheckup>(row, &m)
                    .map_err(refused)?
                {
                    Admission::Admitted(a) => {
                        tx.insert_checkups(item.import_id, item.employer.as_ref(), &[a])
                            .await?;
                        Resolution::Admitted
                    }
                    _ => Resolution::Excluded,
                }
            }
            Some(ReviewPayload::Referral(row)) => {
                let employer = item.employer.clone().ok_or_else(|| {
                    AppError::Conflict(format!("review item {id} has no submitting employer"))
                })?;
                match intake
                    .admit_resolved::<SubmittedReferral>(row, &m)
                    .map_err(refused)?
                {
                    Admission::Admitted(a) => {
                        // The list was received on its import's day, not on the day staff
                        // resolved the row: the 翌々月末 flag follows the employer's date.
                        let received = tx
                            .import_of_employer(&employer, item.import_id)
                            .await?
                            .map_or(actor.today(), |i| {
                                collabo_domain::calendar::japan_date(i.imported_at)
                            });
                        tx.insert_referrals(item.import_id, &employer, received, &[a])
                            .await?;
                        Resolution::Admitted
                    }
                    _ => Resolution::Excluded,
                }
            }
            Some(ReviewPayload::Address { .. }) => Resolution::Closed,
            None => return Err(AppError::Conflict(format!("review item {id} holds no row"))),
        };
        tx.close_review_item(
            id,
            ReviewStatus::Resolved,
            Some(member),
            &actor.user,
            actor.now,
        )
        .await?;
        let mut entry = AuditEntry::new(actor, AuditAction::ReviewResolve)
            .subjects([member.to_key_string(), item.subject.clone()])
            .detail(format!("照合待ち {id}番: {}", resolution_text(&resolution)));
        if let Some(e) = &item.employer {
            entry = entry.employer(e);
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(resolution)
    }

    /// Rejects every open item of one import (a file that was not about our members,
    /// or sent by mistake), giving the reason; one transaction, one audit record
    /// naming everyone the rows named. Returns how many were rejected.
    pub async fn reject_import_reviews(
        &self,
        actor: &Actor,
        import_id: i64,
        reason: &str,
    ) -> Result<u64> {
        actor.may(Action::ResolveReview, Scope::Society)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid(
                "一括却下の理由を入力してください（監査ログに残ります）。".into(),
            ));
        }
        let mut tx = write(self).await?;
        let (items, _) = tx
            .review_items(&ReviewFilter {
                status: Some(ReviewStatus::Open),
                import_id: Some(import_id),
                ..ReviewFilter::default()
            })
            .await?;
        if items.is_empty() {
            return Err(AppError::NotFound(format!(
                "open review items of import {import_id}"
            )));
        }
        for item in &items {
            tx.close_review_item(
                item.id,
                ReviewStatus::Rejected,
                None,
                &actor.user,
                actor.now,
            )
            .await?;
        }
        let mut entry = AuditEntry::new(actor, AuditAction::ReviewReject)
            .subjects(items.iter().map(|i| i.subject.clone()))
            .detail(format!(
                "取込 {import_id}番の照合待ち{}件を一括却下: {reason}",
                items.len()
            ));
        if let Some(e) = items.iter().find_map(|i| i.employer.as_ref()) {
            entry = entry.employer(e);
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(items.len() as u64)
    }

    /// Rejects an open item: it is about no member of ours. The row is dropped.
    pub async fn reject_review(&self, actor: &Actor, id: i64) -> Result<()> {
        actor.may(Action::ResolveReview, Scope::Society)?;
        let mut tx = write(self).await?;
        let item = tx
            .review_item(id)
            .await?
            .filter(|i| i.status == ReviewStatus::Open)
            .ok_or_else(|| AppError::NotFound(format!("open review item {id}")))?;
        tx.close_review_item(id, ReviewStatus::Rejected, None, &actor.user, actor.now)
            .await?;
        let mut entry = AuditEntry::new(actor, AuditAction::ReviewReject)
            .subjects([item.subject.clone()])
            .detail(format!("照合待ち {id}番を却下（当組合の加入者ではない）"));
        if let Some(e) = &item.employer {
            entry = entry.employer(e);
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
