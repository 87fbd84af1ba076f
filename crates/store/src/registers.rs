//! Registers of the society: employers, memoranda (覚書), programme settings per
//! fiscal year, and the society's own settings (key → value).

use crate::rows::{self, to_json};
use crate::{Reader, Result, StoreError, Tx, on_conn};
use collabo_domain::employer::{Agreement, AgreementStatus, Employer};
use collabo_domain::ids::EmployerCode;
use collabo_domain::programme::{ProgrammeBook, ProgrammeCode, ProgrammeSettings};

#[derive(sqlx::FromRow)]
struct EmployerRow {
    code: String,
    name: String,
    contact: String,
}

#[derive(sqlx::FromRow)]
struct AgreementRow {
    id: i64,
    employer_code: String,
    programme: String,
    status: String,
    signed_on: Option<String>,
    ended_on: Option<String>,
}

impl AgreementRow {
    fn into_agreement(self) -> Result<(i64, Agreement)> {
        Ok((
            self.id,
            Agreement {
                employer: rows::employer("agreements", "employer_code", &self.employer_code)?,
                programme: rows::code(
                    "agreements",
                    "programme",
                    &self.programme,
                    ProgrammeCode::from_letter,
                )?,
                status: rows::code(
                    "agreements",
                    "status",
                    &self.status,
                    AgreementStatus::from_code,
                )?,
                signed_on: rows::opt_date("agreements", "signed_on", self.signed_on.as_deref())?,
                ended_on: rows::opt_date("agreements", "ended_on", self.ended_on.as_deref())?,
            },
        ))
    }
}

impl Tx {
    /// Adds or updates an employer.
    pub async fn upsert_employer(&mut self, e: &Employer) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO employers (insurer, code, name, contact) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (insurer, code) DO UPDATE SET name = excluded.name, contact = excluded.contact",
            )
            .bind(&insurer).bind(e.code.as_str()).bind(&e.name).bind(&e.contact)
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Records a memorandum; returns its id.
    pub async fn add_agreement(&mut self, a: &Agreement) -> Result<i64> {
        let insurer = self.insurer.clone();
        let (id,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "INSERT INTO agreements (insurer, employer_code, programme, status, signed_on, ended_on)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&insurer).bind(a.employer.as_str()).bind(a.programme.letter()).bind(a.status.code())
            .bind(a.signed_on.map(|d| d.to_string())).bind(a.ended_on.map(|d| d.to_string()))
            .fetch_one(&mut *c).await?
        });
        Ok(id)
    }

    /// Stores a memorandum's new state.
    pub async fn put_agreement(&mut self, id: i64, a: &Agreement) -> Result<()> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query("UPDATE agreements SET status = $1, signed_on = $2, ended_on = $3 WHERE id = $4 AND insurer = $5")
                .bind(a.status.code()).bind(a.signed_on.map(|d| d.to_string())).bind(a.ended_on.map(|d| d.to_string()))
                .bind(id).bind(&insurer)
                .execute(&mut *c).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("agreement {id}")));
        }
        Ok(())
    }

    /// Stores a programme settings version (from its fiscal year on).
    pub async fn save_programme_settings(&mut self, settings: &ProgrammeSettings) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO programme_settings (insurer, programme, from_year, settings) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (insurer, programme, from_year) DO UPDATE SET settings = excluded.settings",
            )
            .bind(&insurer).bind(settings.code.letter())
            .bind(i64::from(settings.from_year.year())).bind(to_json(settings))
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Sets one of the society's settings.
    pub async fn set_society_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO society_settings (insurer, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (insurer, key) DO UPDATE SET value = excluded.value",
            )
            .bind(&insurer).bind(key).bind(value)
            .execute(&mut *c).await?;
        });
        Ok(())
    }
}

impl Reader {
    /// Every employer, by code.
    pub async fn employers(&mut self) -> Result<Vec<Employer>> {
        let insurer = self.insurer.clone();
        let found: Vec<EmployerRow> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT code, name, contact FROM employers WHERE insurer = $1 ORDER BY code")
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        found
            .into_iter()
            .map(|r| {
                Ok(Employer {
                    code: rows::employer("employers", "code", &r.code)?,
                    name: r.name,
                    contact: r.contact,
                })
            })
            .collect()
    }

    /// One employer.
    pub async fn employer(&mut self, code: &EmployerCode) -> Result<Option<Employer>> {
        Ok(self
            .employers()
            .await?
            .into_iter()
            .find(|e| &e.code == code))
    }

    /// Every memorandum with its id.
    pub async fn agreements_with_ids(&mut self) -> Result<Vec<(i64, Agreement)>> {
        let insurer = self.insurer.clone();
        let found: Vec<AgreementRow> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT id, employer_code, programme, status, signed_on, ended_on FROM agreements WHERE insurer = $1 ORDER BY id")
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        found
            .into_iter()
            .map(AgreementRow::into_agreement)
            .collect()
    }

    /// Every memorandum.
    pub async fn agreements(&mut self) -> Result<Vec<Agreement>> {
        Ok(self
            .agreements_with_ids()
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    /// One memorandum.
    pub async fn agreement(&mut self, id: i64) -> Result<Option<Agreement>> {
        Ok(self
            .agreements_with_ids()
            .await?
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, a)| a))
    }

    /// Programme settings of every stored fiscal-year version, over the defaults.
    pub async fn programme_book(&mut self) -> Result<ProgrammeBook> {
        let insurer = self.insurer.clone();
        let found: Vec<(String,)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT settings FROM programme_settings WHERE insurer = $1")
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        let versions = found
            .iter()
            .map(|(s,)| rows::json::<ProgrammeSettings>("programme_settings", "settings", s))
            .collect::<Result<Vec<_>>>()?;
        Ok(ProgrammeBook::new(versions))
    }

    /// One of the society's settings.
    pub async fn society_setting(&mut self, key: &str) -> Result<Option<String>> {
        let insurer = self.insurer.clone();
        let found: Option<(String,)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT value FROM society_settings WHERE insurer = $1 AND key = $2")
                .bind(&insurer).bind(key).fetch_optional(&mut *c).await?
        });
        Ok(found.map(|(v,)| v))
    }
}
