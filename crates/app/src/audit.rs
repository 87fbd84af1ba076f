//! The audit log for the auditor: reading it (itself audited) and verifying its keyed
//! chain against the anchors kept outside the database.

use crate::{App, Result};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};

pub use collabo_store::audit::{AuditFilter, AuditRecord, ChainCheck};

impl App {
    /// A page of the log, newest first, with the total matching.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditRecord>, i64)> {
        actor.may(Action::ViewAudit, Scope::Society)?;
        let found = self.store().read().await?.audit_records(filter).await?;
        let mut entry = AuditEntry::new(actor, AuditAction::AuditView).detail(format!(
            "actor={} action={}",
            filter.actor.as_deref().unwrap_or(""),
            filter.action_prefix.as_deref().unwrap_or("")
        ));
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
            &AuditEntry::new(actor, AuditAction::AuditVerify).detail(format!(
                "{} records, broken at {:?}, anchor {:?}",
                check.records, check.first_broken, check.anchor_mismatch
            )),
        )
        .await?;
        Ok(check)
    }
}
