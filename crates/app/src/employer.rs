//! What an employer contact (and staff on their behalf) sees of an establishment: its
//! submissions and deadlines, its programme R risk-holder list for 事後指導, and its
//! published aggregates. Every checkup shown or counted passes
//! `collabo_domain::visibility::checkup_visible`, and risk holders are chosen by
//! `collabo_domain::risk::risk_holder_flags` — the same rule as the engine's.
//!
//! Deliberately absent: anything derived from claims (visits), letters, cases or
//! outcomes.

use crate::{App, AppError, Result, write};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::aggregates::{AggregateCell, Examined, SuppressionRule, employer_table};
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Access, Action, Scope};
use collabo_domain::calendar::{FiscalYear, yokuyokugetsumatsu};
use collabo_domain::checkup::Checkup;
use collabo_domain::employer::Employer;
use collabo_domain::ids::EmployerCode;
use collabo_domain::joint_use::SharingBasis;
use collabo_domain::member::Member;
use collabo_domain::programme::{ProgrammeBook, ProgrammeCode};
use collabo_domain::referral::CancerType;
use collabo_domain::risk::{RiskFlag, risk_holder_flags};
use collabo_domain::visibility::{EmployerScope, checkup_visible, in_population};
use collabo_store::Reader;
use std::collections::BTreeMap;

pub use collabo_store::imports::ImportRecord;

/// A person on an employer's page: what the employer may know to identify them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EmployeeRef {
    /// Member key text.
    pub member_key: String,
    /// 氏名.
    pub name: String,
    /// 氏名カナ.
    pub name_kana: String,
    /// 記号.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
}

impl EmployeeRef {
    fn of(m: &Member) -> EmployeeRef {
        EmployeeRef {
            member_key: m.key.to_key_string(),
            name: m.name_kanji.clone(),
            name_kana: m.name_kana.clone(),
            symbol: m.key.symbol.as_str().to_owned(),
            number: m.key.number.as_str().to_owned(),
            branch: m.key.branch.as_str().to_owned(),
        }
    }
}

/// A 要精密検査 row with its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralDeadline {
    /// Who.
    pub person: EmployeeRef,
    /// Cancer type.
    pub cancer: CancerType,
    /// 検診実施年月日.
    pub screening_date: Date,
    /// 翌々月末.
    pub due: Option<Date>,
    /// Received on.
    pub received_on: Date,
    /// Received after the deadline.
    pub late: bool,
}

/// An employer's overview page.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The employer.
    pub employer: Employer,
    /// Its uploads, newest first.
    pub submissions: Vec<ImportRecord>,
    /// One page of its 要精密検査 rows with deadlines, newest screening first.
    pub referrals: Vec<ReferralDeadline>,
    /// Its 要精密検査 rows in all.
    pub referrals_total: i64,
    /// A 覚書 for programme C is in force today: only then does it submit 要精密検査
    /// lists (the form is shown only then).
    pub cancer_agreement: bool,
}

/// One risk holder of programme R.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RiskHolder {
    /// Who.
    pub person: EmployeeRef,
    /// 健診日.
    pub exam_date: Date,
    /// Flagged items at the sharing level.
    pub flags: Vec<RiskFlag>,
}

/// The risk-holder list of one fiscal year.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskHolderList {
    /// Fiscal year.
    pub fiscal_year: FiscalYear,
    /// The people of the page asked for.
    pub holders: Vec<RiskHolder>,
    /// Risk holders in all.
    pub total: i64,
}

/// How the risk-holder list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RiskOrder {
    /// カナ順 (then card).
    #[default]
    Kana,
    /// 記号番号, numerically (記号, 番号, 枝番 as numbers where they are digits).
    Card,
    /// 健診日, newest first.
    ExamDate,
}

impl RiskOrder {
    /// Query code.
    pub fn code(self) -> &'static str {
        match self {
            RiskOrder::Kana => "kana",
            RiskOrder::Card => "card",
            RiskOrder::ExamDate => "exam",
        }
    }
    /// From the query code (カナ順 when unknown).
    pub fn from_code(code: &str) -> RiskOrder {
        [RiskOrder::Card, RiskOrder::ExamDate]
            .into_iter()
            .find(|o| o.code() == code)
            .unwrap_or_default()
    }
}

/// A card part as a number where it is digits, so 番号 2 sorts before 10.
fn numeric(part: &str) -> (u64, String) {
    (part.parse::<u64>().unwrap_or(u64::MAX), part.to_owned())
}

/// Orders risk holders as asked.
pub fn order_risk_holders(holders: &mut [RiskHolder], order: RiskOrder) {
    let card = |h: &RiskHolder| {
        (
            numeric(&h.person.symbol),
            numeric(&h.person.number),
            numeric(&h.person.branch),
        )
    };
    match order {
        RiskOrder::Kana => holders.sort_by(|a, b| {
            collabo_domain::matching::normalise_name(&a.person.name_kana)
                .cmp(&collabo_domain::matching::normalise_name(
                    &b.person.name_kana,
                ))
                .then_with(|| card(a).cmp(&card(b)))
        }),
        RiskOrder::Card => holders.sort_by_key(card),
        RiskOrder::ExamDate => holders.sort_by(|a, b| {
            b.exam_date
                .cmp(&a.exam_date)
                .then_with(|| card(a).cmp(&card(b)))
        }),
    }
}

/// A cell as the viewer may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownCell {
    /// Which cell.
    pub cell: AggregateCell,
    /// The count, `None` when suppressed for this viewer.
    pub count: Option<u64>,
    /// Suppressed for employers.
    pub suppressed: bool,
}

/// Published aggregates as the viewer may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateView {
    /// Fiscal year.
    pub fiscal_year: FiscalYear,
    /// The publication, if any: when, and its cells.
    pub published: Option<(jiff::Timestamp, Vec<ShownCell>)>,
    /// The rule applied.
    pub rule: SuppressionRule,
    /// Fiscal years with a publication, newest first.
    pub years: Vec<i64>,
}

/// Latest visible checkup per person of one fiscal year, with the person. The
/// `_basis` is the proof that the reader may receive it (the society's own staff, or an
/// employer under the 共同利用 declaration in force): there is no way here without it.
async fn visible_checkups(
    r: &mut Reader,
    _basis: &SharingBasis,
    employer: &EmployerCode,
    fy: FiscalYear,
    today: Date,
    book: &ProgrammeBook,
) -> Result<Vec<(Member, Checkup)>> {
    let scope = EmployerScope {
        employer,
        today,
        book,
    };
    let mut latest: BTreeMap<String, (Member, Checkup)> = BTreeMap::new();
    for c in r
        .employer_candidate_checkups(employer, fy.first_day(), fy.last_day())
        .await?
    {
        if checkup_visible(&scope, &c.member, &c.periods, &c.checkup, &c.consents).is_err() {
            continue;
        }
        let key = c.member.key.to_key_string();
        match latest.get(&key) {
            Some((_, existing)) if existing.exam_date >= c.checkup.exam_date => {}
            _ => {
                latest.insert(key, (c.member, c.checkup));
            }
        }
    }
    Ok(latest.into_values().collect())
}

/// Fiscal years the risk-holder list offers (this one and those before it).
pub const YEARS_OFFERED: i16 = 5;

async fn holders_of(
    r: &mut Reader,
    basis: &SharingBasis,
    code: &EmployerCode,
    fy: FiscalYear,
    today: Date,
    book: &ProgrammeBook,
) -> Result<Vec<RiskHolder>> {
    let mut holders = Vec::new();
    for (member, checkup) in visible_checkups(r, basis, code, fy, today, book).await? {
        let Some(settings) = book.for_year(ProgrammeCode::R, FiscalYear::of(checkup.exam_date))
        else {
            continue;
        };
        let flags = risk_holder_flags(&checkup, member.sex, settings);
        if flags.is_empty() {
            continue;
        }
        holders.push(RiskHolder {
            person: EmployeeRef::of(&member),
            exam_date: checkup.exam_date,
            flags,
        });
    }
    Ok(holders)
}

/// The audit detail's note of the declaration an employer read under.
fn shared_under(basis: &SharingBasis) -> String {
    basis
        .declaration()
        .map(|v| format!("（共同利用 第{v}版）"))
        .unwrap_or_default()
}

impl App {
    async fn own_employer(&self, r: &mut Reader, code: &EmployerCode) -> Result<Employer> {
        r.employer(code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("employer {code}")))
    }

    /// Submissions (the newest 100) and a page of the 要精密検査 deadlines of an
    /// employer; audited, naming the people listed.
    pub async fn employer_overview(
        &self,
        actor: &Actor,
        code: &EmployerCode,
        referrals: crate::Paging,
    ) -> Result<Overview> {
        actor.may(Action::ViewSubmissions, Scope::Employer(code))?;
        let mut r = self.store().read().await?;
        let employer = self.own_employer(&mut r, code).await?;
        let submissions = r.imports_of_employer(code, 100).await?;
        let (rows, referrals_total) = r
            .referrals_of_employer(code, referrals.limit, referrals.offset)
            .await?;
        let cancer_agreement = r.agreements().await?.iter().any(|a| {
            &a.employer == code && a.programme == ProgrammeCode::C && a.in_force_on(actor.today())
        });
        let referrals: Vec<ReferralDeadline> = rows
            .into_iter()
            .map(|row| ReferralDeadline {
                person: EmployeeRef::of(&row.member),
                cancer: row.cancer,
                due: yokuyokugetsumatsu(row.screening_date).ok(),
                screening_date: row.screening_date,
                received_on: row.received_on,
                late: row.late,
            })
            .collect();
        drop(r);
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::EmployerOverview)
                .employer(code)
                .subjects(referrals.iter().map(|p| p.person.member_key.clone()))
                .detail("提出状況と提出期限"),
        )
        .await?;
        Ok(Overview {
            employer,
            submissions,
            referrals,
            referrals_total,
            cancer_agreement,
        })
    }

    /// An employer's uploads, newest first (file names and counts; no personal data).
    pub async fn submissions(
        &self,
        actor: &Actor,
        code: &EmployerCode,
        limit: i64,
    ) -> Result<Vec<ImportRecord>> {
        actor.may(Action::ViewSubmissions, Scope::Employer(code))?;
        let mut r = self.store().read().await?;
        self.own_employer(&mut r, code).await?;
        Ok(r.imports_of_employer(code, limit).await?)
    }

    /// One upload of an employer (a foreign id is not found).
    pub async fn upload_report(
        &self,
        actor: &Actor,
        code: &EmployerCode,
        id: i64,
    ) -> Result<ImportRecord> {
        actor.may(Action::ViewSubmissions, Scope::Employer(code))?;
        self.store()
            .read()
            .await?
            .import_of_employer(code, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("upload {id}")))
    }

    /// One page of the programme R risk holders of an employer for a fiscal year (the
    /// actor's current one when `None`), by member key; audited, naming every person on
    /// the page.
    pub async fn risk_holders(
        &self,
        actor: &Actor,
        code: &EmployerCode,
        fiscal_year: Option<FiscalYear>,
        paging: crate::Paging,
    ) -> Result<RiskHolderList> {
        self.risk_holder_list(
            actor,
            code,
            fiscal_year.or(Some(FiscalYear::of(actor.today()))),
            RiskOrder::Card,
            paging,
        )
        .await
    }

    /// The risk holders of a fiscal year in the order asked. Without a year, the
    /// latest of the last [`YEARS_OFFERED`] fiscal years that has any (in December the
    /// year's checkups may not be in yet: the list then opens on the year before).
    pub async fn risk_holder_list(
        &self,
        actor: &Actor,
        code: &EmployerCode,
        fiscal_year: Option<FiscalYear>,
        order: RiskOrder,
        paging: crate::Paging,
    ) -> Result<RiskHolderList> {
        actor.may(Action::ViewRiskHolders, Scope::Employer(code))?;
        let today = actor.today();
        let mut r = self.store().read().await?;
        self.own_employer(&mut r, code).await?;
        let basis = crate::joint_use::basis_in(&mut r, actor).await?;
        let book = r.programme_book().await?;
        let current = FiscalYear::of(today);
        let (fy, mut holders) = match fiscal_year {
            Some(fy) => (
                fy,
                holders_of(&mut r, &basis, code, fy, today, &book).await?,
            ),
            None => {
                let mut chosen = (current, Vec::new());
                for back in 0..YEARS_OFFERED {
                    let fy = FiscalYear::new(current.year() - back);
                    let found = holders_of(&mut r, &basis, code, fy, today, &book).await?;
                    if !found.is_empty() {
                        chosen = (fy, found);
                        break;
                    }
                }
                chosen
            }
        };
        drop(r);
        order_risk_holders(&mut holders, order);
        let total = holders.len() as i64;
        let holders: Vec<RiskHolder> = holders
            .into_iter()
            .skip(usize::try_from(paging.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(paging.limit).unwrap_or(usize::MAX))
            .collect();
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::RiskHoldersView)
                .employer(code)
                .subjects(holders.iter().map(|h| h.person.member_key.clone()))
                .detail(format!(
                    "{}年度のリスク保有者: {total}人中{}人を表示{}",
                    fy.year(),
                    holders.len(),
                    shared_under(&basis)
                )),
        )
        .await?;
        Ok(RiskHolderList {
            fiscal_year: fy,
            holders,
            total,
        })
    }

    /// Computes and publishes every employer's aggregates for a fiscal year, with the
    /// society's small-cell rule; employers see this publication unchanged until the
    /// next one. Returns how many employers were published.
    pub async fn publish_aggregates(&self, actor: &Actor, fy: FiscalYear) -> Result<usize> {
        actor.may(Action::PublishAggregates, Scope::Society)?;
        let today = actor.today();
        let rule = self.suppression_rule().await?;
        let mut r = self.store().read().await?;
        let basis = crate::joint_use::basis_in(&mut r, actor).await?;
        let book = r.programme_book().await?;
        let settings = book
            .for_year(ProgrammeCode::R, fy)
            .cloned()
            .unwrap_or_else(|| {
                collabo_domain::programme::ProgrammeSettings::default_for(ProgrammeCode::R)
            });
        let employers = r.employers().await?;
        let mut tables = Vec::new();
        for e in &employers {
            let population = r
                .members_of_employer(&e.code)
                .await?
                .iter()
                .filter(|m| in_population(&e.code, m, today))
                .count() as u64;
            let visible = visible_checkups(&mut r, &basis, &e.code, fy, today, &book).await?;
            let examined: Vec<Examined<'_>> = visible
                .iter()
                .map(|(m, c)| Examined {
                    checkup: c,
                    sex: m.sex,
                })
                .collect();
            tables.push((
                e.code.clone(),
                employer_table(population, &examined, &settings, rule),
            ));
        }
        drop(r);
        let mut tx = write(self).await?;
        for (code, table) in &tables {
            tx.publish_aggregates(code, i64::from(fy.year()), actor.now, &actor.user, table)
                .await?;
        }
        tx.audit(
            &AuditEntry::new(actor, AuditAction::AggregatesPublish).detail(format!(
                "{}年度: 事業所{}か所の集計を公表（本人{}人未満の事業所は非表示、{}人未満の区分は秘匿）",
                fy.year(),
                tables.len(),
                rule.min_population,
                rule.min_cell
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(tables.len())
    }

    /// The published aggregates of an employer for a fiscal year: an employer contact
    /// sees only the cells the rule lets it see; staff see every count, marked.
    pub async fn aggregates(
        &self,
        actor: &Actor,
        code: &EmployerCode,
        fiscal_year: Option<FiscalYear>,
    ) -> Result<AggregateView> {
        let access = actor.may(Action::ViewAggregates, Scope::Employer(code))?;
        let fy = fiscal_year.unwrap_or_else(|| FiscalYear::of(actor.today()));
        let mut r = self.store().read().await?;
        self.own_employer(&mut r, code).await?;
        let basis = crate::joint_use::basis_in(&mut r, actor).await?;
        let publication = r.publication(code, i64::from(fy.year())).await?;
        let years = r.published_years(code).await?;
        drop(r);
        let rule = match &publication {
            Some(p) => p.table.rule,
            None => self.suppression_rule().await?,
        };
        let published = publication.map(|p| {
            let cells = p
                .table
                .cells
                .iter()
                .map(|c| ShownCell {
                    cell: c.cell,
                    count: (c.shown || access == Access::Allow).then_some(c.count),
                    suppressed: !c.shown,
                })
                .collect();
            (p.published_at, cells)
        });
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::AggregatesView)
                .employer(code)
                .detail(format!("{}年度の集計{}", fy.year(), shared_under(&basis))),
        )
        .await?;
        Ok(AggregateView {
            fiscal_year: fy,
            published,
            rule,
            years,
        })
    }
}
