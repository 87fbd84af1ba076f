//! Cases and the facts the engine reads. The engine itself is pure
//! (`collabo_domain::engine`) and is driven by `collabo-app`: it reads a chunk of the
//! register and its facts here ([`Reader::chunk_facts`]) and writes the changes the
//! domain decided ([`Tx::write_case_changes`]). A case's state column mirrors the state
//! derived from its events, for filters; it is written only from that derivation.

use crate::rows::{self, placeholders, to_json};
use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::Date;
use collabo_domain::calendar::YearMonth;
use collabo_domain::case::{Case, CaseEvent, CaseKey, CaseState, DatedEvent};
use collabo_domain::checkup::{Checkup, CheckupSource};
use collabo_domain::consent::ConsentRecord;
use collabo_domain::engine::CaseChange;
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::programme::ProgrammeCode;
use collabo_domain::referral::{CancerType, Referral};
use collabo_domain::visit::{ServiceTime, VisitFact};
use std::collections::{BTreeMap, HashMap};

/// All facts of one chunk of members, grouped by member key text.
#[derive(Debug, Default)]
pub struct ChunkFacts {
    /// Consent records.
    pub consents: HashMap<String, Vec<ConsentRecord>>,
    /// Checkups.
    pub checkups: HashMap<String, Vec<Checkup>>,
    /// Matched referrals.
    pub referrals: HashMap<String, Vec<Referral>>,
    /// Visit facts.
    pub visits: HashMap<String, Vec<VisitFact>>,
    /// Existing cases.
    pub cases: HashMap<String, Vec<Case>>,
}

/// A case as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    /// Identity.
    pub key: CaseKey,
    /// The employer of the person when the case opened.
    pub employer: EmployerCode,
    /// Derived state.
    pub state: CaseState,
    /// Fiscal year of the trigger.
    pub fiscal_year: i64,
    /// Opened.
    pub opened_on: Date,
    /// Last change.
    pub updated_on: Date,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only this programme.
    pub programme: Option<ProgrammeCode>,
    /// Only this state.
    pub state: Option<CaseState>,
    /// Only this person.
    pub member: Option<MemberKey>,
    /// Only this employer.
    pub employer: Option<EmployerCode>,
    /// At most this many (newest change first).
    pub limit: i64,
    /// Skip this many.
    pub offset: i64,
}

#[derive(sqlx::FromRow)]
struct CaseDbRow {
    case_key: String,
    employer_code: String,
    state: String,
    fiscal_year: i64,
    opened_on: String,
    updated_on: String,
}

impl CaseDbRow {
    fn into_row(self) -> Result<CaseRow> {
        Ok(CaseRow {
            key: CaseKey::parse(&self.case_key)
                .map_err(|e| rows::corrupt("cases", "case_key", e))?,
            employer: rows::employer("cases", "employer_code", &self.employer_code)?,
            state: rows::code("cases", "state", &self.state, CaseState::from_code)?,
            fiscal_year: self.fiscal_year,
            opened_on: rows::date("cases", "opened_on", &self.opened_on)?,
            updated_on: rows::date("cases", "updated_on", &self.updated_on)?,
        })
    }
}

fn events_of(rows_in: Vec<(String, String)>) -> Result<Vec<DatedEvent>> {
    rows_in
        .iter()
        .map(|(on, payload)| {
            Ok(DatedEvent {
                on: rows::date("case_events", "on_date", on)?,
                event: rows::json("case_events", "payload", payload)?,
            })
        })
        .collect()
}

impl Reader {
    /// Every fact of the members with keys in `first..=last`.
    pub async fn chunk_facts(&mut self, first: &str, last: &str) -> Result<ChunkFacts> {
        let mut facts = ChunkFacts::default();
        let consents: Vec<crate::consent::ConsentRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM consents WHERE member_key >= $1 AND member_key <= $2 ORDER BY id",
                crate::consent::CONSENT_COLUMNS
            ))).bind(first).bind(last).fetch_all(&mut *c).await?
        });
        let consents = consents
            .into_iter()
            .map(crate::consent::ConsentRow::into_stored)
            .collect::<Result<Vec<_>>>()?;
        for c in consents {
            facts
                .consents
                .entry(c.record.member.to_key_string())
                .or_default()
                .push(c.record);
        }
        let checkups: Vec<(String, String, String, Option<String>, String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT member_key, exam_date, source, submitted_by, observations, questionnaire FROM checkups
                 WHERE member_key >= $1 AND member_key <= $2",
            ).bind(first).bind(last).fetch_all(&mut *c).await?
        });
        for (key, exam, source, by, obs, q) in checkups {
            let checkup = checkup_of(&key, &exam, &source, by.as_deref(), &obs, &q)?;
            facts.checkups.entry(key).or_default().push(checkup);
        }
        let referrals: Vec<(String, String, String, String, String, i64)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT member_key, employer_code, cancer, screening_date, received_on, consent_attested FROM referrals
                 WHERE member_key >= $1 AND member_key <= $2",
            ).bind(first).bind(last).fetch_all(&mut *c).await?
        });
        for (key, employer, cancer, screening, received, attested) in referrals {
            let referral = Referral {
                member: rows::member_key("referrals", &key)?,
                employer: rows::employer("referrals", "employer_code", &employer)?,
                cancer: rows::code("referrals", "cancer", &cancer, CancerType::from_code)?,
                screening_date: rows::date("referrals", "screening_date", &screening)?,
                received_on: rows::date("referrals", "received_on", &received)?,
                consent_attested: attested != 0,
            };
            facts.referrals.entry(key).or_default().push(referral);
        }
        let visits: Vec<(String, Option<String>, String, String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT member_key, service_day, service_month, institution, evidence FROM visits
                 WHERE member_key >= $1 AND member_key <= $2",
            ).bind(first).bind(last).fetch_all(&mut *c).await?
        });
        for (key, day, month, institution, evidence) in visits {
            let time = match day {
                Some(d) => ServiceTime::Day(rows::date("visits", "service_day", &d)?),
                None => ServiceTime::Month(
                    YearMonth::parse(&month)
                        .map_err(|e| rows::corrupt("visits", "service_month", e))?,
                ),
            };
            let fact = VisitFact {
                member: rows::member_key("visits", &key)?,
                time,
                institution,
                evidence: rows::json("visits", "evidence", &evidence)?,
            };
            facts.visits.entry(key).or_default().push(fact);
        }
        let events: Vec<(String, String, String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT c.member_key, e.case_key, e.on_date, e.payload FROM cases c JOIN case_events e ON e.case_key = c.case_key
                 WHERE c.member_key >= $1 AND c.member_key <= $2 ORDER BY e.case_key, e.seq",
            ).bind(first).bind(last).fetch_all(&mut *c).await?
        });
        let mut by_case: BTreeMap<String, (String, Vec<(String, String)>)> = BTreeMap::new();
        for (member_key, case_key, on, payload) in events {
            by_case
                .entry(case_key)
                .or_insert_with(|| (member_key, Vec::new()))
                .1
                .push((on, payload));
        }
        for (case_key, (member_key, events)) in by_case {
            let key =
                CaseKey::parse(&case_key).map_err(|e| rows::corrupt("cases", "case_key", e))?;
            facts.cases.entry(member_key).or_default().push(Case {
                key,
                events: events_of(events)?,
            });
        }
        Ok(facts)
    }

    /// Cases, filtered, newest change first, with the total matching.
    pub async fn cases(&mut self, filter: &CaseFilter) -> Result<(Vec<CaseRow>, i64)> {
        let mut sql = String::from(" FROM cases WHERE insurer = $1");
        let mut binds: Vec<String> = vec![self.insurer.clone()];
        // Each filter is added only when given, so the member filter can use its index.
        for (column, value) in [
            ("programme", filter.programme.map(|p| p.letter().to_owned())),
            ("state", filter.state.map(|s| s.code().to_owned())),
            (
                "member_key",
                filter.member.as_ref().map(MemberKey::to_key_string),
            ),
            (
                "employer_code",
                filter.employer.as_ref().map(|e| e.as_str().to_owned()),
            ),
        ] {
            if let Some(v) = value {
                binds.push(v);
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        let count_sql = format!("SELECT COUNT(*){sql}");
        let limit = if filter.limit <= 0 { 100 } else { filter.limit };
        let select = format!(
            "SELECT case_key, employer_code, state, fiscal_year, opened_on, updated_on{sql}
             ORDER BY updated_on DESC, case_key LIMIT {limit} OFFSET {}",
            filter.offset.max(0)
        );
        let (total,): (i64,) = on_conn!(self.conn(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(count_sql));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_one(&mut *c).await?
        });
        let found: Vec<CaseDbRow> = on_conn!(self.conn(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(select));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_all(&mut *c).await?
        });
        let list = found
            .into_iter()
            .map(CaseDbRow::into_row)
            .collect::<Result<Vec<_>>>()?;
        Ok((list, total))
    }

    /// One case with its timeline.
    pub async fn case(&mut self, key: &CaseKey) -> Result<Option<Case>> {
        Ok(self
            .cases_by_keys(&[key.to_string()])
            .await?
            .into_iter()
            .next())
    }

    /// Cases by key text, with their timelines (missing keys are skipped).
    pub async fn cases_by_keys(&mut self, keys: &[String]) -> Result<Vec<Case>> {
        let insurer = self.insurer.clone();
        let mut out = Vec::new();
        for chunk in keys.chunks(400) {
            let sql = format!(
                "SELECT e.case_key, e.on_date, e.payload FROM case_events e JOIN cases c ON c.case_key = e.case_key
                 WHERE c.insurer = $1 AND e.case_key IN ({}) ORDER BY e.case_key, e.seq",
                placeholders(2, chunk.len())
            );
            let found: Vec<(String, String, String)> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for k in chunk {
                    q = q.bind(k.clone());
                }
                q.fetch_all(&mut *c).await?
            });
            let mut by_case: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            for (key, on, payload) in found {
                by_case.entry(key).or_default().push((on, payload));
            }
            for (key, events) in by_case {
                out.push(Case {
                    key: CaseKey::parse(&key).map_err(|e| rows::corrupt("cases", "case_key", e))?,
                    events: events_of(events)?,
                });
            }
        }
        Ok(out)
    }

    /// The employer recorded on cases, by case key text.
    pub async fn case_employers(
        &mut self,
        keys: &[String],
    ) -> Result<HashMap<String, EmployerCode>> {
        let insurer = self.insurer.clone();
        let mut out = HashMap::new();
        for chunk in keys.chunks(400) {
            let sql = format!(
                "SELECT case_key, employer_code FROM cases WHERE insurer = $1 AND case_key IN ({})",
                placeholders(2, chunk.len())
            );
            let found: Vec<(String, String)> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for k in chunk {
                    q = q.bind(k.clone());
                }
                q.fetch_all(&mut *c).await?
            });
            for (key, employer) in found {
                out.insert(key, rows::employer("cases", "employer_code", &employer)?);
            }
        }
        Ok(out)
    }

    /// Case counts by programme and state.
    pub async fn case_counts(&mut self) -> Result<BTreeMap<(ProgrammeCode, CaseState), i64>> {
        let insurer = self.insurer.clone();
        let found: Vec<(String, String, i64)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT programme, state, COUNT(*) FROM cases WHERE insurer = $1 GROUP BY programme, state")
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        let mut out = BTreeMap::new();
        for (programme, state, n) in found {
            out.insert(
                (
                    rows::code("cases", "programme", &programme, ProgrammeCode::from_letter)?,
                    rows::code("cases", "state", &state, CaseState::from_code)?,
                ),
                n,
            );
        }
        Ok(out)
    }
}

pub(crate) fn checkup_of(
    key: &str,
    exam: &str,
    source: &str,
    by: Option<&str>,
    observations: &str,
    questionnaire: &str,
) -> Result<Checkup> {
    Ok(Checkup {
        member: rows::member_key("checkups", key)?,
        exam_date: rows::date("checkups", "exam_date", exam)?,
        source: rows::code("checkups", "source", source, CheckupSource::from_code)?,
        submitted_by: by
            .map(|b| rows::employer("checkups", "submitted_by", b))
            .transpose()?,
        observations: rows::json("checkups", "observations", observations)?,
        questionnaire: rows::json("checkups", "questionnaire", questionnaire)?,
    })
}

impl Tx {
    /// Writes what the engine (or a letter or consent step) decided: new cases with
    /// their events, events appended to existing cases (`existing` is the case before
    /// the change), and each case's derived state.
    pub async fn write_case_changes(
        &mut self,
        today: Date,
        changes: &[(EmployerCode, CaseChange, Option<Case>)],
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let insurer = self.insurer.clone();
        let mut new_cases = Vec::new();
        let mut events = Vec::new();
        let mut updates = Vec::new();
        for (employer, change, existing) in changes {
            match change {
                CaseChange::Open(case) => {
                    let fy = case
                        .events
                        .iter()
                        .find_map(|e| match e.event {
                            CaseEvent::Identified { fiscal_year, .. } => {
                                Some(i64::from(fiscal_year.year()))
                            }
                            _ => None,
                        })
                        .unwrap_or_default();
                    new_cases.push((
                        case.key.to_string(),
                        case.key.programme.letter(),
                        case.key.member.to_key_string(),
                        employer.as_str().to_owned(),
                        case.key.trigger.date().to_string(),
                        fy,
                        case.state().code(),
                    ));
                    for (seq, e) in case.events.iter().enumerate() {
                        events.push((
                            case.key.to_string(),
                            seq as i64,
                            e.on.to_string(),
                            e.event.kind_code(),
                            to_json(&e.event),
                        ));
                    }
                }
                CaseChange::Append {
                    key,
                    events: appended,
                } => {
                    let Some(mut case) = existing.clone() else {
                        continue;
                    };
                    let start = case.events.len();
                    for (i, e) in appended.iter().enumerate() {
                        events.push((
                            key.to_string(),
                            (start + i) as i64,
                            e.on.to_string(),
                            e.event.kind_code(),
                            to_json(&e.event),
                        ));
                    }
                    case.events.extend(appended.iter().cloned());
                    updates.push((key.to_string(), case.state().code()));
                }
            }
        }
        let today = today.to_string();
        for chunk in new_cases.chunks(300) {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO cases (case_key, insurer, programme, member_key, employer_code, trigger_date, fiscal_year, state, opened_on, updated_on) ",
                );
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(r.0.clone()).push_bind(insurer.clone()).push_bind(r.1).push_bind(r.2.clone())
                        .push_bind(r.3.clone()).push_bind(r.4.clone()).push_bind(r.5).push_bind(r.6)
                        .push_bind(today.clone()).push_bind(today.clone());
                });
                qb.build().execute(&mut *c).await?;
            });
        }
        for chunk in events.chunks(500) {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO case_events (case_key, seq, on_date, kind, payload) ");
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(e.0.clone()).push_bind(e.1).push_bind(e.2.clone()).push_bind(e.3).push_bind(e.4.clone());
                });
                qb.build().execute(&mut *c).await?;
            });
        }
        for chunk in updates.chunks(400) {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new("UPDATE cases SET state = v.column2, updated_on = ");
                qb.push_bind(today.clone());
                qb.push(" FROM (");
                qb.push_values(chunk, |mut b, u| {
                    b.push_bind(u.0.clone()).push_bind(u.1);
                });
                qb.push(") AS v WHERE cases.case_key = v.column1");
                qb.build().execute(&mut *c).await?;
            });
        }
        Ok(())
    }

    /// Appends one event to each of these cases (letters, opt-out), keeping each case's
    /// derived state in step. Returns how many cases it appended to (missing ones are
    /// skipped).
    pub async fn append_case_events(
        &mut self,
        today: Date,
        appends: &[(CaseKey, CaseEvent)],
    ) -> Result<u64> {
        let keys: Vec<String> = appends.iter().map(|(k, _)| k.to_string()).collect();
        let cases: HashMap<String, Case> = self
            .cases_by_keys(&keys)
            .await?
            .into_iter()
            .map(|c| (c.key.to_string(), c))
            .collect();
        let employers = self.case_employers(&keys).await?;
        // Several events for one case become one append, in order.
        let mut grouped: Vec<(&CaseKey, Vec<DatedEvent>)> = Vec::new();
        let mut index: HashMap<&CaseKey, usize> = HashMap::new();
        for (key, event) in appends {
            let dated = DatedEvent {
                on: today,
                event: event.clone(),
            };
            match index.get(key) {
                Some(&i) => grouped[i].1.push(dated),
                None => {
                    index.insert(key, grouped.len());
                    grouped.push((key, vec![dated]));
                }
            }
        }
        let mut changes = Vec::new();
        for (key, events) in grouped {
            let text = key.to_string();
            let (Some(case), Some(employer)) = (cases.get(&text), employers.get(&text)) else {
                continue;
            };
            changes.push((
                employer.clone(),
                CaseChange::Append {
                    key: key.clone(),
                    events,
                },
                Some(case.clone()),
            ));
        }
        let n = changes.len() as u64;
        self.write_case_changes(today, &changes).await?;
        Ok(n)
    }
}
