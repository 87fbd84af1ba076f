//! The audit log for the auditor: reading it (itself audited) and verifying its keyed
//! chain against the anchors kept outside the database.

use crate::{App, Result};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};

pub use collabo_store::audit::{AuditFilter, AuditRecord, ChainCheck};

/// An instant as an audit detail writes it: the time in Japan to the minute
/// (`2026-12-04 19:00`), as the auditor reads every other time of the society.
pub(crate) fn japan_time(at: jiff::Timestamp) -> String {
    jiff::tz::offset(9)
        .to_datetime(at)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// The filter of a log page, as its audit detail says it: each condition given, or
/// that there was none.
fn filter_text(filter: &AuditFilter) -> String {
    let mut parts = Vec::new();
    if let Some(actor) = filter.actor.as_deref().filter(|a| !a.is_empty()) {
        parts.push(format!("操作者 {actor}"));
    }
    if let Some(prefix) = filter.action_prefix.as_deref().filter(|a| !a.is_empty()) {
        let action = AuditAction::from_code(prefix).map_or(prefix, |a| a.label());
        parts.push(format!("操作 {action}"));
    }
    if filter.member_key.is_some() {
        parts.push("加入者を指定".to_owned());
    }
    if let Some(since) = filter.since {
        parts.push(format!("{}以降", japan_time(since)));
    }
    if let Some(until) = filter.until {
        parts.push(format!("{}より前", japan_time(until)));
    }
    if parts.is_empty() {
        "絞込条件なし".to_owned()
    } else {
        format!("絞込条件: {}", parts.join("、"))
    }
}

/// The outcome of a verification, as its audit detail says it.
fn check_text(check: &ChainCheck) -> String {
    let mut text = format!("記録{}件、アンカー{}件を検証", check.records, check.anchors);
    if check.is_intact() {
        text.push_str(": 改ざんなし");
    }
    if let Some(seq) = check.first_broken {
        text.push_str(&format!("、No.{seq} でハッシュの連鎖が不一致"));
    }
    if let Some((seq, why)) = &check.anchor_mismatch {
        text.push_str(&format!("、アンカー（No.{seq}）と不一致: {why}"));
    }
    text
}

impl App {
    /// A page of the log, newest first, with the total matching.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditRecord>, i64)> {
        actor.may(Action::ViewAudit, Scope::Society)?;
        let found = self.store().read().await?.audit_records(filter).await?;
        let mut entry = AuditEntry::new(actor, AuditAction::AuditView).detail(filter_text(filter));
        if let Some(m) = &filter.member_key {
            entry = entry.subjects([m.clone()]);
        }
        self.audit_alone(&entry).await?;
        Ok(found)
    }

    /// Recomputes the chain and compares it with every anchor; audited.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<ChainCheck> {
        actor.may(Action::ViewAudit, Scope::Society)?;
        let check = self.store().verify_audit().await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::AuditVerify).detail(check_text(&check)),
        )
        .await?;
        Ok(check)
    }
}
