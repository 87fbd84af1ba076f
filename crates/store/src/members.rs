//! The member register: members, the employers they worked for (periods), and the
//! lookups imports and pages need.

use crate::rows::{self, MEMBER_COLUMNS, MemberRow, placeholders};
use crate::{Conn, Reader, Result, Tx, on_conn};
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::matching::{CardHolder, SubmittedPerson};
use collabo_domain::member::MemberOrder;
use collabo_domain::member::{EmployerPeriod, Member, Sex};
use std::collections::HashMap;

/// Rows per multi-row statement (well under SQLite's 32766 bound parameters).
const CHUNK: usize = 400;

/// A change of employer periods for one member, as the domain decided it.
#[derive(Debug, Clone)]
pub struct PeriodChange {
    /// Whose.
    pub member: MemberKey,
    /// Open periods to end (employer, new end).
    pub close: Vec<EmployerPeriod>,
    /// A period to open.
    pub open: Option<EmployerPeriod>,
}

#[derive(sqlx::FromRow)]
struct PeriodRow {
    member_key: String,
    employer_code: String,
    since: String,
    until: Option<String>,
}

impl Tx {
    /// Adds or updates register rows.
    pub async fn upsert_members(&mut self, members: &[Member]) -> Result<()> {
        let insurer = self.insurer.clone();
        for chunk in members.chunks(CHUNK / 2) {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO members (member_key, insurer, symbol, number, branch, name_kanji, name_kana, sex, birth_date,
                     postal_code, address1, address2, employer_code, relationship, qualified_from, qualified_until) ",
                );
                qb.push_values(chunk, |mut b, m| {
                    b.push_bind(m.key.to_key_string())
                        .push_bind(insurer.clone())
                        .push_bind(m.key.symbol.as_str().to_owned())
                        .push_bind(m.key.number.as_str().to_owned())
                        .push_bind(m.key.branch.as_str().to_owned())
                        .push_bind(m.name_kanji.clone())
                        .push_bind(m.name_kana.clone())
                        .push_bind(m.sex.code())
                        .push_bind(m.birth_date.to_string())
                        .push_bind(m.address.postal_code.clone())
                        .push_bind(m.address.line1.clone())
                        .push_bind(m.address.line2.clone())
                        .push_bind(m.employer.as_str().to_owned())
                        .push_bind(m.relationship.code())
                        .push_bind(m.qualified_from.to_string())
                        .push_bind(m.qualified_until.map(|d| d.to_string()));
                });
                qb.push(
                    " ON CONFLICT (member_key) DO UPDATE SET name_kanji = excluded.name_kanji, name_kana = excluded.name_kana,
                     sex = excluded.sex, birth_date = excluded.birth_date, postal_code = excluded.postal_code,
                     address1 = excluded.address1, address2 = excluded.address2, employer_code = excluded.employer_code,
                     relationship = excluded.relationship,
                     qualified_from = excluded.qualified_from, qualified_until = excluded.qualified_until",
                );
                qb.build().execute(&mut *c).await?;
            });
        }
        Ok(())
    }

    /// Writes employer period changes.
    pub async fn record_periods(&mut self, changes: &[PeriodChange]) -> Result<()> {
        let insurer = self.insurer.clone();
        for change in changes {
            let key = change.member.to_key_string();
            for p in &change.close {
                on_conn!(self.conn(), c => {
                    sqlx::query(
                        "UPDATE employer_periods SET until = $1 WHERE insurer = $2 AND member_key = $3 AND employer_code = $4 AND until IS NULL",
                    )
                    .bind(p.until.map(|d| d.to_string())).bind(&insurer).bind(&key).bind(p.employer.as_str())
                    .execute(&mut *c).await?;
                });
            }
        }
        let opens: Vec<(String, &EmployerPeriod)> = changes
            .iter()
            .filter_map(|c| c.open.as_ref().map(|p| (c.member.to_key_string(), p)))
            .collect();
        for chunk in opens.chunks(CHUNK) {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO employer_periods (insurer, member_key, employer_code, since, until) ",
                );
                qb.push_values(chunk, |mut b, (key, p)| {
                    b.push_bind(insurer.clone()).push_bind(key.clone()).push_bind(p.employer.as_str().to_owned())
                        .push_bind(p.since.to_string()).push_bind(p.until.map(|d| d.to_string()));
                });
                qb.build().execute(&mut *c).await?;
            });
        }
        Ok(())
    }
}

impl Reader {
    /// Refreshes the query planner's statistics of the member register after a bulk
    /// change. Without them SQLite's planner takes `members_birth (insurer)` for
    /// `insurer = ? AND member_key IN (…)` and reads every member of the society; with
    /// them it uses the primary key. SQLite samples (`analysis_limit`), so this stays
    /// well under a second at a million members; PostgreSQL's `ANALYZE` samples too.
    pub async fn refresh_member_statistics(&mut self) -> Result<()> {
        match self.conn() {
            Conn::Sqlite(c) => {
                sqlx::raw_sql("PRAGMA analysis_limit = 1000; ANALYZE members;")
                    .execute(&mut *c)
                    .await?;
            }
            Conn::Postgres(c) => {
                sqlx::raw_sql("ANALYZE members").execute(&mut *c).await?;
            }
        }
        Ok(())
    }

    /// A member by key.
    pub async fn member(&mut self, key: &MemberKey) -> Result<Option<Member>> {
        Ok(self
            .members_by_keys(&[key.to_key_string()])
            .await?
            .into_iter()
            .next())
    }

    /// Every member born on one of these days (the review queue's candidates by name
    /// and 生年月日; the caller compares the names).
    pub async fn members_born_on(&mut self, dates: &[jiff::civil::Date]) -> Result<Vec<Member>> {
        let mut days: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
        days.sort();
        days.dedup();
        let mut out = Vec::new();
        for chunk in days.chunks(CHUNK) {
            let sql = format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE insurer = $1 AND birth_date IN ({}) ORDER BY member_key",
                placeholders(2, chunk.len())
            );
            let insurer = self.insurer.clone();
            let found: Vec<MemberRow> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for d in chunk {
                    q = q.bind(d.clone());
                }
                q.fetch_all(&mut *c).await?
            });
            for row in found {
                out.push(row.into_member()?);
            }
        }
        Ok(out)
    }

    /// Members by key text (missing keys are skipped).
    pub async fn members_by_keys(&mut self, keys: &[String]) -> Result<Vec<Member>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let sql = format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE insurer = $1 AND member_key IN ({})",
                placeholders(2, chunk.len())
            );
            let insurer = self.insurer.clone();
            let found: Vec<MemberRow> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for k in chunk {
                    q = q.bind(k.clone());
                }
                q.fetch_all(&mut *c).await?
            });
            for row in found {
                out.push(row.into_member()?);
            }
        }
        Ok(out)
    }

    /// The members a submitted row could be: the exact member when the row names a
    /// 枝番, else every member with the 記号番号 (a family shares it).
    pub async fn candidates(&mut self, people: &[&SubmittedPerson]) -> Result<Vec<Member>> {
        let insurer = self.insurer.clone();
        let mut keys: Vec<String> = Vec::new();
        let mut cards: Vec<(String, String)> = Vec::new();
        for p in people {
            match &p.branch {
                Some(b) => keys.push(format!("{insurer}:{}:{}:{b}", p.symbol, p.number)),
                None => cards.push((p.symbol.as_str().to_owned(), p.number.as_str().to_owned())),
            }
        }
        keys.sort();
        keys.dedup();
        cards.sort();
        cards.dedup();
        let mut found = self.members_by_keys(&keys).await?;
        found.extend(self.members_with_cards(&cards).await?);
        Ok(found)
    }

    /// Every member with one of these 記号番号 (symbol, number). The cards are joined
    /// as a `VALUES` list, so each is one lookup in `members_card` (an OR of ANDs made
    /// SQLite scan the table: about a second per 400 cards at 100,000 members).
    pub async fn members_with_cards(&mut self, cards: &[(String, String)]) -> Result<Vec<Member>> {
        let mut out = Vec::new();
        let insurer = self.insurer.clone();
        for chunk in cards.chunks(CHUNK) {
            let values = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 2, 2 * i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "WITH cards (card_symbol, card_number) AS (VALUES {values})
                 SELECT {MEMBER_COLUMNS} FROM cards JOIN members
                 ON members.insurer = $1 AND members.symbol = cards.card_symbol AND members.number = cards.card_number"
            );
            let found: Vec<MemberRow> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for (symbol, number) in chunk {
                    q = q.bind(symbol.clone()).bind(number.clone());
                }
                q.fetch_all(&mut *c).await?
            });
            for row in found {
                out.push(row.into_member()?);
            }
        }
        Ok(out)
    }

    /// The whole register as claims matching needs it (key, 生年月日, 性別), read in
    /// primary-key pages: one pass per import instead of a query per claim.
    pub async fn card_holders(&mut self) -> Result<Vec<CardHolder>> {
        const PAGE: i64 = 100_000;
        let mut out = Vec::new();
        let mut start = format!("{}:", self.insurer);
        let end = format!("{};", self.insurer);
        loop {
            let found: Vec<(String, String, String)> = on_conn!(self.conn(), c => {
                sqlx::query_as(
                    "SELECT member_key, birth_date, sex FROM members WHERE member_key > $1 AND member_key < $2 ORDER BY member_key LIMIT $3",
                )
                .bind(&start).bind(&end).bind(PAGE)
                .fetch_all(&mut *c).await?
            });
            let n = found.len();
            for (key, birth, sex) in found {
                out.push(CardHolder {
                    key: rows::member_key("members", &key)?,
                    birth_date: rows::date("members", "birth_date", &birth)?,
                    sex: rows::code("members", "sex", &sex, Sex::from_code)?,
                });
                start = key;
            }
            if (n as i64) < PAGE {
                return Ok(out);
            }
        }
    }

    /// A page of the register in member-key order, after `after` (exclusive).
    /// Member keys start with the 保険者番号 and ':', so this society's members are the
    /// primary-key range ("insurer:", "insurer;"): a pure index range scan.
    pub async fn members_page(&mut self, after: Option<&str>, limit: i64) -> Result<Vec<Member>> {
        let start = after.map_or_else(|| format!("{}:", self.insurer), str::to_owned);
        let end = format!("{};", self.insurer);
        let found: Vec<MemberRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE member_key > $1 AND member_key < $2 ORDER BY member_key LIMIT $3"
            )))
            .bind(&start).bind(&end).bind(limit)
            .fetch_all(&mut *c).await?
        });
        found.into_iter().map(MemberRow::into_member).collect()
    }

    /// Members whose name (kanji or kana, spaces ignored) contains `text` — typed in
    /// hiragana or katakana, with or without the space — or whose 記号-番号 or
    /// 記号-番号-枝番 is `text`.
    pub async fn search_members(
        &mut self,
        text: &str,
        order: MemberOrder,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Member>, i64)> {
        let compact: String = text.trim().chars().filter(|c| !c.is_whitespace()).collect();
        // The register holds カナ in katakana: hiragana typed is searched as katakana.
        let katakana: String = compact
            .chars()
            .map(|c| match c {
                '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
                c => c,
            })
            .collect();
        let like = format!("%{compact}%");
        let like_kana = format!("%{katakana}%");
        let insurer = self.insurer.clone();
        const WHERE: &str = "WHERE insurer = $1 AND (REPLACE(REPLACE(name_kanji, ' ', ''), '　', '') LIKE $2 OR REPLACE(REPLACE(name_kana, ' ', ''), '　', '') LIKE $3 OR symbol || '-' || number = $4 OR symbol || '-' || number || '-' || branch = $4)";
        let found: Vec<MemberRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM members {WHERE} ORDER BY {} LIMIT $5 OFFSET $6",
                order_by(order)
            )))
            .bind(&insurer).bind(&like).bind(&like_kana).bind(text.trim()).bind(limit).bind(offset)
            .fetch_all(&mut *c).await?
        });
        let (total,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM members {WHERE}")))
                .bind(&insurer).bind(&like).bind(&like_kana).bind(text.trim())
                .fetch_one(&mut *c).await?
        });
        let members = found
            .into_iter()
            .map(MemberRow::into_member)
            .collect::<Result<Vec<_>>>()?;
        Ok((members, total))
    }

    /// Every member registered with an employer now.
    pub async fn members_of_employer(&mut self, employer: &EmployerCode) -> Result<Vec<Member>> {
        let insurer = self.insurer.clone();
        let found: Vec<MemberRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE insurer = $1 AND employer_code = $2 ORDER BY member_key"
            )))
            .bind(&insurer).bind(employer.as_str())
            .fetch_all(&mut *c).await?
        });
        found.into_iter().map(MemberRow::into_member).collect()
    }

    /// The employer periods of these members, by member key text.
    pub async fn employer_periods(
        &mut self,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<EmployerPeriod>>> {
        let mut out: HashMap<String, Vec<EmployerPeriod>> = HashMap::new();
        let insurer = self.insurer.clone();
        for chunk in keys.chunks(CHUNK) {
            let sql = format!(
                "SELECT member_key, employer_code, since, until FROM employer_periods
                 WHERE insurer = $1 AND member_key IN ({}) ORDER BY member_key, since",
                placeholders(2, chunk.len())
            );
            let found: Vec<PeriodRow> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for k in chunk {
                    q = q.bind(k.clone());
                }
                q.fetch_all(&mut *c).await?
            });
            for row in found {
                out.entry(row.member_key).or_default().push(EmployerPeriod {
                    employer: rows::employer(
                        "employer_periods",
                        "employer_code",
                        &row.employer_code,
                    )?,
                    since: rows::date("employer_periods", "since", &row.since)?,
                    until: rows::opt_date("employer_periods", "until", row.until.as_deref())?,
                });
            }
        }
        Ok(out)
    }
}

/// The `ORDER BY` of a member list. A card part of digits sorts as a number by
/// ordering on its length first (番号 2 before 10) without a cast that would fail on
/// PostgreSQL for a 番号 with letters.
fn order_by(order: MemberOrder) -> &'static str {
    match order {
        MemberOrder::Kana => "name_kana, LENGTH(symbol), symbol, LENGTH(number), number, branch",
        MemberOrder::Card => "LENGTH(symbol), symbol, LENGTH(number), number, branch",
        MemberOrder::BirthDate => {
            "birth_date, LENGTH(symbol), symbol, LENGTH(number), number, branch"
        }
    }
}
