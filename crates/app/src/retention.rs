//! Retention and disposal (特定健康診査及び特定保健指導の実施に関する基準 第10条): which
//! checkups, referrals, visit facts and closed cases are past their date, listed as a dry
//! run by default and deleted only when confirmed, with an audit record per person and a
//! disposal report. The rule is `collabo_domain::retention`; the period is a society
//! setting (5 years, the legal minimum, by default).

use crate::{App, AppError, Result, write};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::ids::MemberKey;
use collabo_domain::retention::{HeldRecord, RecordKind, RetentionRule, past_retention};
use std::collections::BTreeMap;

/// The society setting holding the retention period in years.
pub const RETENTION_YEARS: &str = "retention_years";

/// One person's records past their date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDisposal {
    /// Whose.
    pub member: MemberKey,
    /// How many records of each kind.
    pub counts: BTreeMap<RecordKind, u64>,
    /// The oldest record's date.
    pub oldest: Date,
}

/// The disposal report (dry run or done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisposalReport {
    /// The day judged.
    pub today: Date,
    /// The period applied.
    pub rule: RetentionRule,
    /// Deleted (`false`: a dry run, nothing changed).
    pub confirmed: bool,
    /// Per person, by member key.
    pub people: Vec<PersonDisposal>,
    /// Records of each kind.
    pub totals: BTreeMap<RecordKind, u64>,
}

impl DisposalReport {
    /// Every record listed.
    pub fn records(&self) -> u64 {
        self.totals.values().sum()
    }
}

impl App {
    /// The retention period (society setting; 5 years by default).
    pub async fn retention_rule(&self) -> Result<RetentionRule> {
        let mut r = self.store().read().await?;
        Ok(r.society_setting(RETENTION_YEARS)
            .await?
            .and_then(|v| v.parse().ok())
            .and_then(RetentionRule::new)
            .unwrap_or_default())
    }

    /// Sets the retention period in years (5 or more).
    pub async fn set_retention_years(&self, actor: &Actor, years: i16) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let rule = RetentionRule::new(years).ok_or_else(|| {
            AppError::Invalid("保存期間は5年以上にしてください（実施基準第10条）。".into())
        })?;
        let mut tx = write(self).await?;
        tx.set_society_setting(RETENTION_YEARS, &rule.years.to_string())
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::SettingsSave)
                .detail(format!("retention: {} years", rule.years)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists (dry run) or deletes (`confirm`) every record past its retention on the
    /// actor's today. A deletion writes one audit record per person in the transaction
    /// of the deletion; a dry run writes one record naming everyone listed.
    pub async fn retention(&self, actor: &Actor, confirm: bool) -> Result<DisposalReport> {
        actor.may(Action::ManageRetention, Scope::Society)?;
        let today = actor.today();
        let rule = self.retention_rule().await?;
        let holdings = self.store().read().await?.holdings().await?;
        let left = |m: &MemberKey| holdings.left.get(&m.to_key_string()).copied();
        let past = past_retention(&holdings.records, left, rule, today);
        let report = report_of(&past, rule, today, confirm);
        if confirm {
            let mut by_person: BTreeMap<String, Vec<&HeldRecord>> = BTreeMap::new();
            for r in &past {
                by_person
                    .entry(r.member.to_key_string())
                    .or_default()
                    .push(r);
            }
            let mut tx = write(self).await?;
            for (key, records) in &by_person {
                tx.dispose(records).await?;
                let person = &records[0].member;
                tx.audit(
                    &AuditEntry::new(actor, AuditAction::RetentionDispose)
                        .subject(person)
                        .detail(format!(
                            "{key}: {} records past retention ({} years) on {today}",
                            records.len(),
                            rule.years
                        )),
                )
                .await?;
            }
            tx.commit().await?;
        } else {
            self.audit_alone(
                &AuditEntry::new(actor, AuditAction::RetentionDispose)
                    .subjects(report.people.iter().map(|p| p.member.to_key_string()))
                    .detail(format!(
                        "dry run on {today}: {} records of {} people",
                        report.records(),
                        report.people.len()
                    )),
            )
            .await?;
        }
        Ok(report)
    }
}

fn report_of(
    past: &[&HeldRecord],
    rule: RetentionRule,
    today: Date,
    confirmed: bool,
) -> DisposalReport {
    let mut people: BTreeMap<String, PersonDisposal> = BTreeMap::new();
    let mut totals = BTreeMap::new();
    for r in past {
        let p = people
            .entry(r.member.to_key_string())
            .or_insert_with(|| PersonDisposal {
                member: r.member.clone(),
                counts: BTreeMap::new(),
                oldest: r.made,
            });
        *p.counts.entry(r.kind).or_insert(0) += 1;
        p.oldest = p.oldest.min(r.made);
        *totals.entry(r.kind).or_insert(0) += 1;
    }
    DisposalReport {
        today,
        rule,
        confirmed,
        people: people.into_values().collect(),
        totals,
    }
}
