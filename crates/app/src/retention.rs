//! Retention and disposal (issue 12, 特定健康診査及び特定保健指導の実施に関する基準
//! 第10条): which checkups, 要精密検査 referrals, visit facts and closed cases are past
//! their retention on the actor's day, and — only when confirmed — their deletion, with
//! one audit record per person in the same transaction. The rule and its dates are the
//! domain's (`collabo_domain::retention`).

use crate::{App, AppError, Result, write};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::ids::MemberKey;
use collabo_domain::retention::{RecordKind, RetentionRule, past_retention};
use collabo_store::Reader;
use std::collections::{BTreeMap, HashMap};

pub use collabo_store::retention::Disposed;

/// Society setting: years kept from the fiscal year after the record's (5 and more).
pub const RETENTION_YEARS: &str = "retention_years";

/// One record past its retention.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetentionLine {
    /// Whose.
    #[serde(skip)]
    pub member: MemberKey,
    /// 記号-番号-枝番 氏名 (the card alone when the person is no longer in the register).
    pub person: String,
    /// What.
    #[serde(skip)]
    pub kind: RecordKind,
    /// 健診結果 / 要精密検査 / 受診記録（レセプト） / 終了ケース.
    pub kind_label: &'static str,
    /// Made on (exam, screening, service, closing day).
    pub made: Date,
    /// Kept until (the last day of its retention).
    pub keep_until: Date,
    /// The person's 資格喪失日, if lost.
    pub left: Option<Date>,
}

/// What a retention run finds on its day (a dry run) or disposed of (confirmed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetentionPlan {
    /// The day judged.
    pub today: Date,
    /// Years kept.
    pub years: i16,
    /// Every record past its date, by person then date.
    pub lines: Vec<RetentionLine>,
    /// People concerned.
    pub people: usize,
}

impl RetentionPlan {
    /// How many records of each kind.
    pub fn counts(&self) -> BTreeMap<RecordKind, usize> {
        let mut counts = BTreeMap::new();
        for l in &self.lines {
            *counts.entry(l.kind).or_insert(0) += 1;
        }
        counts
    }

    /// The disposal report as CSV (UTF-8 with BOM, as staff open it in Excel).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{feff}対象者,種別,作成日,保存期限,資格喪失日\r\n");
        for l in &self.lines {
            out.push_str(&format!(
                "{},{},{},{},{}\r\n",
                l.person.replace(',', " "),
                l.kind_label,
                l.made,
                l.keep_until,
                l.left.map(|d| d.to_string()).unwrap_or_default()
            ));
        }
        out
    }
}

/// The records disposed of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisposalReport {
    /// What was past its date (now deleted).
    pub plan: RetentionPlan,
    /// Rows deleted, per kind.
    pub disposed: Disposed,
}

/// The plan on `actor.today()`, read inside `r` (a transaction when disposing, so the
/// records deleted are exactly those judged).
async fn plan_in(
    r: &mut Reader,
    rule: RetentionRule,
    today: Date,
) -> Result<(RetentionPlan, Vec<collabo_domain::retention::HeldRecord>)> {
    let candidates = r.retention_candidates(rule.cutoffs(today)).await?;
    let left: HashMap<MemberKey, Option<Date>> = candidates
        .iter()
        .map(|c| (c.record.member.clone(), c.left))
        .collect();
    let records: Vec<_> = candidates.into_iter().map(|c| c.record).collect();
    let past: Vec<_> = past_retention(&records, |m| left.get(m).copied().flatten(), rule, today)
        .into_iter()
        .cloned()
        .collect();
    let keys: Vec<String> = {
        let mut k: Vec<String> = past.iter().map(|p| p.member.to_key_string()).collect();
        k.sort();
        k.dedup();
        k
    };
    let names: HashMap<MemberKey, String> = r
        .members_by_keys(&keys)
        .await?
        .into_iter()
        .map(|m| (m.key.clone(), m.label()))
        .collect();
    let mut lines: Vec<RetentionLine> = past
        .iter()
        .map(|p| {
            let gone = left.get(&p.member).copied().flatten();
            RetentionLine {
                member: p.member.clone(),
                person: names
                    .get(&p.member)
                    .cloned()
                    .unwrap_or_else(|| p.member.card()),
                kind: p.kind,
                kind_label: p.kind.label(),
                made: p.made,
                keep_until: rule.keep_until(p.made, gone),
                left: gone,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        (a.member.to_key_string(), a.made, a.kind).cmp(&(b.member.to_key_string(), b.made, b.kind))
    });
    Ok((
        RetentionPlan {
            today,
            years: rule.years,
            people: keys.len(),
            lines,
        },
        past,
    ))
}

impl App {
    /// The society's retention rule (5 years unless a longer period is set).
    pub async fn retention_rule(&self) -> Result<RetentionRule> {
        let mut r = self.store().read().await?;
        Ok(r.society_setting(RETENTION_YEARS)
            .await?
            .and_then(|v| v.parse::<i16>().ok())
            .and_then(RetentionRule::new)
            .unwrap_or_default())
    }

    /// Sets a longer retention (years from the fiscal year after the record's); fewer
    /// than the legal 5 are refused.
    pub async fn set_retention_rule(&self, actor: &Actor, years: i16) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let rule = RetentionRule::new(years).ok_or_else(|| {
            AppError::Invalid(
                "保存期間は5年以上にしてください（特定健康診査及び特定保健指導の実施に関する基準 第10条）。".into(),
            )
        })?;
        let mut tx = write(self).await?;
        tx.set_society_setting(RETENTION_YEARS, &rule.years.to_string())
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::SettingsSave)
                .detail(format!("保存期間 {} 年", rule.years)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The dry run: every record past its retention on the actor's day, changing
    /// nothing. It names people, so it is audited (one record naming them all).
    pub async fn retention_plan(&self, actor: &Actor) -> Result<RetentionPlan> {
        actor.may(Action::ManageRetention, Scope::Society)?;
        let rule = self.retention_rule().await?;
        let mut r = self.store().read().await?;
        let (plan, _) = plan_in(&mut r, rule, actor.today()).await?;
        drop(r);
        let mut subjects: Vec<String> = plan
            .lines
            .iter()
            .map(|l| l.member.to_key_string())
            .collect();
        subjects.dedup();
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::RetentionView)
                .subjects(subjects)
                .detail(format!(
                    "保存期間 {} 年: {} 件（{} 人）が期限経過",
                    rule.years,
                    plan.lines.len(),
                    plan.people
                )),
        )
        .await?;
        Ok(plan)
    }

    /// Deletes every record past its retention on the actor's day, in one
    /// transaction with one audit record per person (what of theirs was deleted).
    pub async fn dispose_past_retention(&self, actor: &Actor) -> Result<DisposalReport> {
        actor.may(Action::ManageRetention, Scope::Society)?;
        let rule = self.retention_rule().await?;
        let mut tx = write(self).await?;
        let (plan, past) = plan_in(&mut tx, rule, actor.today()).await?;
        let refs: Vec<&collabo_domain::retention::HeldRecord> = past.iter().collect();
        let disposed = tx.dispose(&refs).await?;
        let mut per_person: BTreeMap<String, (MemberKey, BTreeMap<&'static str, usize>)> =
            BTreeMap::new();
        for l in &plan.lines {
            let entry = per_person
                .entry(l.member.to_key_string())
                .or_insert_with(|| (l.member.clone(), BTreeMap::new()));
            *entry.1.entry(l.kind_label).or_insert(0) += 1;
        }
        for (member, kinds) in per_person.values() {
            let what: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}件")).collect();
            tx.audit(
                &AuditEntry::new(actor, AuditAction::RetentionDispose)
                    .subject(member)
                    .detail(format!(
                        "保存期間 {} 年の経過により廃棄: {}",
                        rule.years,
                        what.join("、")
                    )),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(DisposalReport { plan, disposed })
    }
}
