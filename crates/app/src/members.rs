//! The staff's views of people: member search and page (with cases and consents), case
//! lists and timelines, the dashboard, and the cases export. Every view that shows a
//! person names them in its audit record, committed before the data is returned.

use crate::{App, AppError, Result};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::case::{Case, CaseKey, CaseState};
use collabo_domain::ids::MemberKey;
use collabo_domain::member::{Member, MemberOrder};
use collabo_domain::programme::ProgrammeCode;
use std::collections::BTreeMap;

pub use collabo_store::cases::{CaseFilter, CaseRow};
pub use collabo_store::consent::StoredConsent;

/// A member's page.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberPage {
    /// The member.
    pub member: Member,
    /// Their cases with timelines, newest change first.
    pub cases: Vec<(CaseRow, Case)>,
    /// Their consent records, oldest first.
    pub consents: Vec<StoredConsent>,
}

/// The staff dashboard's figures (no personal data).
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Cases by programme and state.
    pub counts: BTreeMap<(ProgrammeCode, CaseState), i64>,
    /// Open review items.
    pub open_review: i64,
    /// What has arrived of the claims (for the 「レセプト取込済」 line).
    pub claims: collabo_domain::coverage::ClaimsLedger,
    /// When 抽出 last ran (its last chunk's audit record), if ever.
    pub last_run: Option<jiff::Timestamp>,
    /// Notices due and in no batch yet.
    pub letters_due: i64,
}

impl App {
    /// A member's page; audited.
    pub async fn member_page(&self, actor: &Actor, key: &MemberKey) -> Result<MemberPage> {
        actor.may(Action::ViewMember, Scope::Society)?;
        let mut r = self.store().read().await?;
        let member = r
            .member(key)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("member {key}")))?;
        let (rows, _) = r
            .cases(&CaseFilter {
                member: Some(key.clone()),
                limit: 1000,
                ..CaseFilter::default()
            })
            .await?;
        let keys: Vec<String> = rows.iter().map(|c| c.key.to_string()).collect();
        let mut timelines: BTreeMap<String, Case> = r
            .cases_by_keys(&keys)
            .await?
            .into_iter()
            .map(|c| (c.key.to_string(), c))
            .collect();
        let cases = rows
            .into_iter()
            .filter_map(|row| {
                let case = timelines.remove(&row.key.to_string())?;
                Some((row, case))
            })
            .collect();
        let consents = r.consents_of(key).await?;
        drop(r);
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::MemberView)
                .subject(key)
                .employer(&member.employer)
                .detail("加入者ページ"),
        )
        .await?;
        Ok(MemberPage {
            member,
            cases,
            consents,
        })
    }

    /// One page of the members whose name or 記号-番号 matches, with how many match in
    /// all; audited, naming every member shown.
    pub async fn search_members(
        &self,
        actor: &Actor,
        text: &str,
        paging: crate::Paging,
    ) -> Result<(Vec<Member>, i64)> {
        self.search_members_ordered(actor, text, MemberOrder::default(), paging)
            .await
    }

    /// [`App::search_members`] in the order asked (カナ順, 記号番号順 numerically, 生年月日順).
    pub async fn search_members_ordered(
        &self,
        actor: &Actor,
        text: &str,
        order: MemberOrder,
        paging: crate::Paging,
    ) -> Result<(Vec<Member>, i64)> {
        actor.may(Action::ViewMember, Scope::Society)?;
        if text.trim().chars().count() < 2 {
            return Err(AppError::Invalid("2文字以上で検索してください。".into()));
        }
        let (found, total) = self
            .store()
            .read()
            .await?
            .search_members(text, order, paging.limit, paging.offset)
            .await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::MemberSearch)
                .subjects(found.iter().map(|m| m.key.to_key_string()))
                .detail(format!("該当{total}人中{}人を表示", found.len())),
        )
        .await?;
        Ok((found, total))
    }

    /// Cases matching a filter, with the total; audited, naming every person listed.
    pub async fn cases(&self, actor: &Actor, filter: &CaseFilter) -> Result<(Vec<CaseRow>, i64)> {
        actor.may(Action::ViewCases, Scope::Society)?;
        let (rows, total) = self.store().read().await?.cases(filter).await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::CasesView)
                .subjects(rows.iter().map(|c| c.key.member.to_key_string()))
                .detail(format!("ケース{total}件中{}件を表示", rows.len())),
        )
        .await?;
        Ok((rows, total))
    }

    /// One case with its timeline; audited.
    pub async fn case(&self, actor: &Actor, key: &CaseKey) -> Result<Case> {
        actor.may(Action::ViewCases, Scope::Society)?;
        let case = self
            .store()
            .read()
            .await?
            .case(key)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("case {key}")))?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::CaseView)
                .subject(&key.member)
                .detail(key.to_string()),
        )
        .await?;
        Ok(case)
    }

    /// The staff dashboard (counts only).
    pub async fn dashboard(&self, actor: &Actor) -> Result<Dashboard> {
        actor.may(Action::ViewCases, Scope::Society)?;
        let mut r = self.store().read().await?;
        let (runs, _) = r
            .audit_records(&collabo_store::audit::AuditFilter {
                action_prefix: Some(AuditAction::EngineRun.code().to_owned()),
                limit: 1,
                ..Default::default()
            })
            .await?;
        Ok(Dashboard {
            counts: r.case_counts().await?,
            open_review: r.open_review_count().await?,
            claims: r.claims_ledger().await?,
            last_run: runs.first().map(|record| record.at),
            letters_due: i64::try_from(r.letters_due().await?.len()).unwrap_or(i64::MAX),
        })
    }

    /// Every case, for the CSV export; audited, naming everyone in it.
    pub async fn export_cases(&self, actor: &Actor) -> Result<Vec<CaseRow>> {
        actor.may(Action::Export, Scope::Society)?;
        let (rows, _) = self
            .store()
            .read()
            .await?
            .cases(&CaseFilter {
                limit: i64::MAX / 2,
                ..CaseFilter::default()
            })
            .await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::CasesExport)
                .subjects(rows.iter().map(|c| c.key.member.to_key_string()))
                .detail(format!("ケース{}件を出力", rows.len())),
        )
        .await?;
        Ok(rows)
    }
}
