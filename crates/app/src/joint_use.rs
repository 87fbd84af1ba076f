//! The 共同利用 declaration (issue 12, 個人情報保護法 第27条第5項第3号): recorded by the
//! society's administrator as numbered versions, published on the portal's public page,
//! and required before anything is shared with an employer. The shared reads
//! ([`crate::employer`]) take a [`SharingBasis`], which only
//! [`collabo_domain::joint_use::sharing_basis`] makes.

use crate::{App, AppError, Result, write};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::joint_use::{JointUseDeclaration, SharingBasis, in_force, sharing_basis};
use collabo_store::Reader;

/// The public page's content: the declaration in force and the earlier versions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JointUseNotice {
    /// In force on the day asked about.
    pub current: Option<JointUseDeclaration>,
    /// Every version, newest first.
    pub versions: Vec<JointUseDeclaration>,
}

/// The basis on which the actor reads shared data today, read inside `r`.
pub(crate) async fn basis_in(r: &mut Reader, actor: &Actor) -> Result<SharingBasis> {
    let declarations = r.joint_use_declarations().await?;
    sharing_basis(&actor.role, &declarations, actor.today())
        .map_err(|e| AppError::Conflict(e.to_string()))
}

impl App {
    /// The declaration in force on `day` and its history: public (the law asks that
    /// the insured can easily learn it), so no actor and no audit.
    pub async fn joint_use_notice(&self, day: collabo_domain::Date) -> Result<JointUseNotice> {
        let mut r = self.store().read().await?;
        let mut versions = r.joint_use_declarations().await?;
        let current = in_force(&versions, day).cloned();
        versions.reverse();
        Ok(JointUseNotice { current, versions })
    }

    /// Records a new version of the declaration (administrator); it is in force from
    /// its `effective_from` until a later version begins or it is ended. Every item of
    /// the law must be written. Returns the version number.
    pub async fn record_joint_use_declaration(
        &self,
        actor: &Actor,
        declaration: &JointUseDeclaration,
    ) -> Result<i64> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        declaration
            .check()
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        if declaration
            .effective_until
            .is_some_and(|u| u < declaration.effective_from)
        {
            return Err(AppError::Invalid("終了日が開始日より前です。".into()));
        }
        let mut tx = write(self).await?;
        let version = tx
            .record_joint_use_declaration(declaration, actor.now, &actor.user)
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::JointUseRecord).detail(format!(
                "第{version}版 {}から（公表: {}）",
                declaration.effective_from, declaration.published_at
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Ends a version on `until` (its last day in force); with no later version,
    /// employer sharing stops the day after.
    pub async fn end_joint_use_declaration(
        &self,
        actor: &Actor,
        version: i64,
        until: collabo_domain::Date,
    ) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let mut tx = write(self).await?;
        tx.end_joint_use_declaration(version, until).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::JointUseRecord)
                .detail(format!("第{version}版を{until}で終了")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
