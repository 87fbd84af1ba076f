//! Registers: employers, memoranda (覚書), programme settings per fiscal year, and the
//! society's own settings. Every change is audited in its own transaction: a 覚書's
//! signing date decides which screenings programme C covers.

use crate::{App, AppError, Result, write};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::aggregates::SuppressionRule;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::employer::{Agreement, AgreementStatus, Employer};
use collabo_domain::ids::EmployerCode;
use collabo_domain::programme::{ProgrammeBook, ProgrammeCode, ProgrammeSettings};

const MIN_POPULATION: &str = "aggregates.min_population";
const MIN_CELL: &str = "aggregates.min_cell";

/// The sender block of every letter: the society's name, section, address, phone and
/// contact hours (the contact for questions and for refusing data sharing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    /// 健康保険組合名.
    pub name: String,
    /// 担当部署.
    pub section: String,
    /// 〒 and address, one line.
    pub address: String,
    /// 電話番号.
    pub phone: String,
    /// 受付時間.
    pub hours: String,
}

impl App {
    /// Registers or changes an employer.
    pub async fn upsert_employer(&self, actor: &Actor, employer: &Employer) -> Result<()> {
        actor.may(Action::ManageEmployers, Scope::Society)?;
        if employer.name.trim().is_empty() {
            return Err(AppError::Invalid("事業所名を入力してください。".into()));
        }
        let mut tx = write(self).await?;
        tx.upsert_employer(employer).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::EmployerPut)
                .employer(&employer.code)
                .detail(employer.name.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every employer (names and codes, no personal data).
    pub async fn employers(&self, actor: &Actor) -> Result<Vec<Employer>> {
        match &actor.role {
            collabo_domain::authz::Role::Employer(own) => Ok(self
                .store()
                .read()
                .await?
                .employers()
                .await?
                .into_iter()
                .filter(|e| own.contains(&e.code))
                .collect()),
            _ => Ok(self.store().read().await?.employers().await?),
        }
    }

    /// One employer the actor may see (an employer contact: only its own).
    pub async fn employer(&self, actor: &Actor, code: &EmployerCode) -> Result<Employer> {
        self.employers(actor)
            .await?
            .into_iter()
            .find(|e| &e.code == code)
            .ok_or_else(|| AppError::NotFound(format!("employer {code}")))
    }

    /// Applies for a memorandum (申込中); returns its id.
    pub async fn apply_agreement(
        &self,
        actor: &Actor,
        employer: &EmployerCode,
        programme: ProgrammeCode,
    ) -> Result<i64> {
        actor.may(Action::ManageEmployers, Scope::Society)?;
        let mut tx = write(self).await?;
        if tx.employer(employer).await?.is_none() {
            return Err(AppError::NotFound(format!("employer {employer}")));
        }
        let id = tx
            .add_agreement(&Agreement {
                employer: employer.clone(),
                programme,
                status: AgreementStatus::Applied,
                signed_on: None,
                ended_on: None,
            })
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::AgreementApply)
                .employer(employer)
                .detail(format!(
                    "覚書 {id}: {} {}の申込",
                    programme.letter(),
                    programme.label()
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Signs (締結) or ends (解約) a memorandum on a date.
    pub async fn set_agreement(
        &self,
        actor: &Actor,
        id: i64,
        status: AgreementStatus,
        on: Date,
    ) -> Result<Agreement> {
        actor.may(Action::ManageEmployers, Scope::Society)?;
        let mut tx = write(self).await?;
        let mut a = tx
            .agreement(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agreement {id}")))?;
        let action = match (a.status, status) {
            (AgreementStatus::Applied, AgreementStatus::Signed) => {
                a.signed_on = Some(on);
                AuditAction::AgreementSign
            }
            (AgreementStatus::Signed, AgreementStatus::Ended) => {
                if a.signed_on.is_some_and(|s| on < s) {
                    return Err(AppError::Invalid("解約日が締結日より前です。".into()));
                }
                a.ended_on = Some(on);
                AuditAction::AgreementEnd
            }
            (from, to) => {
                return Err(AppError::Conflict(format!(
                    "覚書 {id} は「{}」のため「{}」にできません。",
                    from.label(),
                    to.label()
                )));
            }
        };
        a.status = status;
        tx.put_agreement(id, &a).await?;
        tx.audit(
            &AuditEntry::new(actor, action)
                .employer(&a.employer)
                .detail(format!("覚書 {id}: {on}に{}", status.label())),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Every memorandum with its id.
    pub async fn agreements(&self, actor: &Actor) -> Result<Vec<(i64, Agreement)>> {
        actor.may(Action::ManageEmployers, Scope::Society)?;
        Ok(self.store().read().await?.agreements_with_ids().await?)
    }

    /// Whether an employer has a memorandum for a programme in force today (an
    /// employer contact asks about its own).
    pub async fn agreement_in_force(
        &self,
        actor: &Actor,
        employer: &EmployerCode,
        programme: ProgrammeCode,
    ) -> Result<bool> {
        actor.may(Action::ViewSubmissions, Scope::Employer(employer))?;
        let today = actor.today();
        Ok(self
            .store()
            .read()
            .await?
            .agreements()
            .await?
            .iter()
            .any(|a| &a.employer == employer && a.programme == programme && a.in_force_on(today)))
    }

    /// The programme settings of every fiscal year.
    pub async fn programme_book(&self, actor: &Actor) -> Result<ProgrammeBook> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        Ok(self.store().read().await?.programme_book().await?)
    }

    /// Saves a programme's settings from a fiscal year on.
    pub async fn save_programme_settings(
        &self,
        actor: &Actor,
        settings: &ProgrammeSettings,
    ) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        // The domain's one check: nothing out of range or out of order is ever stored.
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(AppError::Invalid(
                problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ));
        }
        let mut tx = write(self).await?;
        tx.save_programme_settings(settings).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::SettingsSave).detail(format!(
                "{} {}の設定（{}年度から）",
                settings.code.letter(),
                settings.code.label(),
                settings.from_year.year()
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The small-cell rule of employer aggregates (society settings, 50 and 10 by default).
    pub async fn suppression_rule(&self) -> Result<SuppressionRule> {
        let mut r = self.store().read().await?;
        let default = SuppressionRule::default();
        let read = |v: Option<String>, d: u64| v.and_then(|v| v.parse().ok()).unwrap_or(d);
        Ok(SuppressionRule {
            min_population: read(
                r.society_setting(MIN_POPULATION).await?,
                default.min_population,
            ),
            min_cell: read(r.society_setting(MIN_CELL).await?, default.min_cell),
        })
    }

    /// Changes the small-cell rule (it applies from the next publication).
    pub async fn set_suppression_rule(&self, actor: &Actor, rule: SuppressionRule) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        if rule.min_cell < 1 {
            return Err(AppError::Invalid(
                "最小セル人数は1以上にしてください。".into(),
            ));
        }
        let mut tx = write(self).await?;
        tx.set_society_setting(MIN_POPULATION, &rule.min_population.to_string())
            .await?;
        tx.set_society_setting(MIN_CELL, &rule.min_cell.to_string())
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::SettingsSave).detail(format!(
                "集計の秘匿基準: 本人{}人未満の事業所は非表示、{}人未満の区分は秘匿",
                rule.min_population, rule.min_cell
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The letters' sender block (admin).
    pub async fn letterhead(&self, actor: &Actor) -> Result<Letterhead> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let mut r = self.store().read().await?;
        let society = r.society().await?;
        let hours = r
            .society_setting(crate::letters::CONTACT_HOURS)
            .await?
            .unwrap_or_else(|| crate::letters::DEFAULT_CONTACT_HOURS.to_owned());
        Ok(Letterhead {
            name: society.name,
            section: society.section,
            address: society.address,
            phone: society.phone,
            hours,
        })
    }

    /// Changes the letters' sender block (admin); it applies from the next batch.
    pub async fn save_letterhead(&self, actor: &Actor, head: &Letterhead) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let required = [
            (&head.name, "健康保険組合名"),
            (&head.phone, "電話番号"),
            (&head.hours, "受付時間"),
        ];
        if let Some((_, label)) = required.iter().find(|(v, _)| v.trim().is_empty()) {
            return Err(AppError::Invalid(format!("{label}を入力してください。")));
        }
        let mut tx = write(self).await?;
        tx.update_society(&collabo_store::Society {
            insurer: self.insurer().to_owned(),
            name: head.name.trim().to_owned(),
            section: head.section.trim().to_owned(),
            address: head.address.trim().to_owned(),
            phone: head.phone.trim().to_owned(),
        })
        .await?;
        tx.set_society_setting(crate::letters::CONTACT_HOURS, head.hours.trim())
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::SettingsSave).detail(format!(
                "レターの差出人: {} / {} / {} / {}",
                head.name.trim(),
                head.section.trim(),
                head.phone.trim(),
                head.hours.trim()
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
