//! Engine runs and cases. [`Store::run_engine`] walks the register in member-key
//! order, a chunk at a time: it loads each chunk's facts, lets the pure domain engine
//! decide, and writes the chunk's new cases and events in one transaction. Memory stays
//! bounded by the chunk size, whatever the society's size.

use crate::rows::{self, MEMBER_COLUMNS, MemberRow, to_json};
use crate::{Result, Store, in_tx, on_pool};
use collabo_domain::Date;
use collabo_domain::calendar::YearMonth;
use collabo_domain::case::{Case, CaseEvent, CaseKey, CaseState, DatedEvent, Trigger};
use collabo_domain::checkup::{Checkup, CheckupSource};
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::employer::Agreement;
use collabo_domain::engine::{CaseChange, Context, MemberFile, SkipReason, run_member};
use collabo_domain::ids::EmployerCode;
use collabo_domain::member::Member;
use collabo_domain::programme::{ProgrammeBook, ProgrammeCode, ProgrammeSettings};
use collabo_domain::referral::{CancerType, Referral};
use collabo_domain::visit::{ClaimsCoverage, ServiceTime, VisitFact};
use sqlx::QueryBuilder;
use std::collections::{BTreeMap, HashMap};

/// Members per chunk of an engine run.
const RUN_CHUNK: i64 = 2000;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Members looked at.
    pub members: u64,
    /// Cases opened, by programme.
    pub opened: BTreeMap<ProgrammeCode, u64>,
    /// Events appended to existing cases.
    pub events_appended: u64,
    /// Triggers that opened no case, by programme and reason.
    pub skipped: BTreeMap<(ProgrammeCode, SkipReason), u64>,
}

impl RunSummary {
    /// The run changed nothing.
    pub fn is_empty(&self) -> bool {
        self.opened.values().all(|n| *n == 0) && self.events_appended == 0
    }
}

/// All facts of one chunk of members, grouped by member key.
#[derive(Default)]
struct ChunkFacts {
    consents: HashMap<String, Vec<ConsentRecord>>,
    checkups: HashMap<String, Vec<Checkup>>,
    referrals: HashMap<String, Vec<Referral>>,
    visits: HashMap<String, Vec<VisitFact>>,
    cases: HashMap<String, Vec<Case>>,
}

/// A case as listed on the staff dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    /// Key text.
    pub case_key: String,
    /// Programme.
    pub programme: ProgrammeCode,
    /// Member key text.
    pub member_key: String,
    /// Employer.
    pub employer_code: String,
    /// Trigger date.
    pub trigger_date: String,
    /// State code.
    pub state: String,
    /// Opened.
    pub opened_on: String,
    /// Last change.
    pub updated_on: String,
}

impl Store {
    /// Programme settings of every stored fiscal-year version, over the defaults.
    pub async fn programme_book(&self) -> Result<ProgrammeBook> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT settings FROM programme_settings WHERE insurer = $1")
                .bind(&self.insurer).fetch_all(p).await?
        });
        let versions = rows
            .iter()
            .map(|(s,)| rows::json::<ProgrammeSettings>("programme_settings", "settings", s))
            .collect::<Result<Vec<_>>>()?;
        Ok(ProgrammeBook::new(versions))
    }

    /// Stores a programme settings version (from its fiscal year on).
    pub async fn save_programme_settings(&self, settings: &ProgrammeSettings) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO programme_settings (insurer, programme, from_year, settings) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (insurer, programme, from_year) DO UPDATE SET settings = excluded.settings",
            )
            .bind(&self.insurer).bind(settings.code.letter())
            .bind(i64::from(settings.from_year.year())).bind(to_json(settings))
            .execute(p).await?;
        });
        Ok(())
    }

    /// Which claims months are loaded.
    pub async fn claims_coverage(&self) -> Result<ClaimsCoverage> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT month FROM claims_coverage WHERE insurer = $1")
                .bind(&self.insurer).fetch_all(p).await?
        });
        let months = rows
            .iter()
            .map(|(m,)| {
                YearMonth::parse(m).map_err(|e| rows::corrupt("claims_coverage", "month", e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ClaimsCoverage::new(months))
    }

    /// Runs the programme engine for everyone on `today`. Idempotent.
    pub async fn run_engine(
        &self,
        today: Date,
        mut progress: impl FnMut(u64),
    ) -> Result<RunSummary> {
        let book = self.programme_book().await?;
        let agreements = self.agreements().await?;
        let coverage = self.claims_coverage().await?;
        let ctx = Context {
            today,
            book: &book,
            agreements: &agreements,
            coverage: &coverage,
        };
        let mut summary = RunSummary::default();
        // Member keys start with the 保険者番号 and ':', so this society's members are the
        // primary-key range ("insurer:", "insurer;"): a pure index range scan per chunk.
        // (Filtering on the insurer column instead let SQLite pick another index and
        // re-sort every chunk, which made the run quadratic.)
        let mut after = format!("{}:", self.insurer);
        let end = format!("{};", self.insurer);
        loop {
            let members: Vec<MemberRow> = on_pool!(self, p => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {MEMBER_COLUMNS} FROM members WHERE member_key > $1 AND member_key < $2 ORDER BY member_key LIMIT $3"
                )))
                .bind(&after).bind(&end).bind(RUN_CHUNK)
                .fetch_all(p).await?
            });
            let Some(last) = members.last().map(|m| m.0.clone()) else {
                break;
            };
            let first = members[0].0.clone();
            let members = members
                .into_iter()
                .map(rows::member)
                .collect::<Result<Vec<_>>>()?;
            let facts = self.chunk_facts(&first, &last).await?;
            let mut changes = Vec::new();
            for member in &members {
                let key = member.key.to_key_string();
                let file = MemberFile {
                    member,
                    consents: facts.consents.get(&key).map_or(&[][..], |v| v),
                    checkups: facts.checkups.get(&key).map_or(&[][..], |v| v),
                    referrals: facts.referrals.get(&key).map_or(&[][..], |v| v),
                    visits: facts.visits.get(&key).map_or(&[][..], |v| v),
                    cases: facts.cases.get(&key).map_or(&[][..], |v| v),
                };
                let outcome = run_member(&file, &ctx);
                for (programme, reason) in outcome.skipped {
                    *summary.skipped.entry((programme, reason)).or_default() += 1;
                }
                for change in outcome.changes {
                    let existing = match &change {
                        CaseChange::Open(_) => None,
                        CaseChange::Append { key, .. } => file.cases.iter().find(|c| &c.key == key),
                    };
                    changes.push((member.employer.clone(), change, existing.cloned()));
                }
            }
            summary.members += members.len() as u64;
            for (_, change, _) in &changes {
                match change {
                    CaseChange::Open(case) => {
                        *summary.opened.entry(case.key.programme).or_default() += 1
                    }
                    CaseChange::Append { events, .. } => {
                        summary.events_appended += events.len() as u64
                    }
                }
            }
            self.write_changes(today, &changes).await?;
            progress(summary.members);
            after = last;
        }
        Ok(summary)
    }

    async fn chunk_facts(&self, first: &str, last: &str) -> Result<ChunkFacts> {
        let mut facts = ChunkFacts::default();
        let consents: Vec<(String, String, String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT member_key, kind, scope, effective, channel, recorded_by FROM consents
                 WHERE member_key >= $1 AND member_key <= $2 ORDER BY id",
            ).bind(first).bind(last).fetch_all(p).await?
        });
        for (key, kind, scope, effective, channel, by) in consents {
            let record = ConsentRecord {
                member: rows::member_key("consents", &key)?,
                kind: ConsentKind::from_code(&kind)
                    .ok_or_else(|| rows::corrupt("consents", "kind", &kind))?,
                scope: ConsentScope::from_code(&scope)
                    .ok_or_else(|| rows::corrupt("consents", "scope", &scope))?,
                effective: rows::date("consents", "effective", &effective)?,
                channel: ConsentChannel::from_code(&channel)
                    .ok_or_else(|| rows::corrupt("consents", "channel", &channel))?,
                recorded_by: by,
            };
            facts.consents.entry(key).or_default().push(record);
        }
        let checkups: Vec<(String, String, String, Option<String>, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT member_key, exam_date, source, submitted_by, observations, questionnaire FROM checkups
                 WHERE member_key >= $1 AND member_key <= $2",
            ).bind(first).bind(last).fetch_all(p).await?
        });
        for (key, exam, source, by, obs, q) in checkups {
            let checkup = Checkup {
                member: rows::member_key("checkups", &key)?,
                exam_date: rows::date("checkups", "exam_date", &exam)?,
                source: CheckupSource::from_code(&source)
                    .ok_or_else(|| rows::corrupt("checkups", "source", &source))?,
                submitted_by: by
                    .map(|b| EmployerCode::parse(&b))
                    .transpose()
                    .map_err(|e| rows::corrupt("checkups", "submitted_by", e))?,
                observations: rows::json("checkups", "observations", &obs)?,
                questionnaire: rows::json("checkups", "questionnaire", &q)?,
            };
            facts.checkups.entry(key).or_default().push(checkup);
        }
        let referrals: Vec<(String, String, String, String, String, i64)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT member_key, employer_code, cancer, screening_date, received_on, consent_attested FROM referrals
                 WHERE member_key >= $1 AND member_key <= $2",
            ).bind(first).bind(last).fetch_all(p).await?
        });
        for (key, employer, cancer, screening, received, attested) in referrals {
            let referral = Referral {
                member: rows::member_key("referrals", &key)?,
                employer: EmployerCode::parse(&employer)
                    .map_err(|e| rows::corrupt("referrals", "employer_code", e))?,
                cancer: CancerType::from_code(&cancer)
                    .ok_or_else(|| rows::corrupt("referrals", "cancer", &cancer))?,
                screening_date: rows::date("referrals", "screening_date", &screening)?,
                received_on: rows::date("referrals", "received_on", &received)?,
                consent_attested: attested != 0,
            };
            facts.referrals.entry(key).or_default().push(referral);
        }
        let visits: Vec<(String, Option<String>, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT member_key, service_day, service_month, institution, evidence FROM visits
                 WHERE member_key >= $1 AND member_key <= $2",
            ).bind(first).bind(last).fetch_all(p).await?
        });
        for (key, day, month, institution, evidence) in visits {
            let time = match day {
                Some(d) => ServiceTime::Day(rows::date("visits", "service_day", &d)?),
                None => ServiceTime::Month(
                    YearMonth::parse(&month)
                        .map_err(|e| rows::corrupt("visits", "service_month", e))?,
                ),
            };
            facts
                .visits
                .entry(key.clone())
                .or_default()
                .push(VisitFact {
                    member: rows::member_key("visits", &key)?,
                    time,
                    institution,
                    evidence: rows::json("visits", "evidence", &evidence)?,
                });
        }
        let events: Vec<(String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT c.member_key, e.case_key, e.on_date, e.payload FROM cases c JOIN case_events e ON e.case_key = c.case_key
                 WHERE c.member_key >= $1 AND c.member_key <= $2 ORDER BY e.case_key, e.seq",
            ).bind(first).bind(last).fetch_all(p).await?
        });
        let mut by_case: BTreeMap<String, (String, Vec<DatedEvent>)> = BTreeMap::new();
        for (member_key, case_key, on, payload) in events {
            let event: CaseEvent = rows::json("case_events", "payload", &payload)?;
            by_case
                .entry(case_key)
                .or_insert_with(|| (member_key, Vec::new()))
                .1
                .push(DatedEvent {
                    on: rows::date("case_events", "on_date", &on)?,
                    event,
                });
        }
        for (case_key, (member_key, events)) in by_case {
            let key = parse_case_key(&case_key)?;
            facts
                .cases
                .entry(member_key)
                .or_default()
                .push(Case { key, events });
        }
        Ok(facts)
    }

    async fn write_changes(
        &self,
        today: Date,
        changes: &[(EmployerCode, CaseChange, Option<Case>)],
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let insurer = self.insurer.clone();
        // Rows: new cases, events (with seq), state updates.
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
        in_tx!(self, tx => {
            for chunk in new_cases.chunks(300) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO cases (case_key, insurer, programme, member_key, employer_code, trigger_date, fiscal_year, state, opened_on, updated_on) ",
                );
                qb.push_values(chunk, |mut b, c| {
                    b.push_bind(c.0.clone()).push_bind(insurer.clone()).push_bind(c.1).push_bind(c.2.clone())
                        .push_bind(c.3.clone()).push_bind(c.4.clone()).push_bind(c.5).push_bind(c.6)
                        .push_bind(today.clone()).push_bind(today.clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in events.chunks(500) {
                let mut qb = QueryBuilder::new("INSERT INTO case_events (case_key, seq, on_date, kind, payload) ");
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(e.0.clone()).push_bind(e.1).push_bind(e.2.clone()).push_bind(e.3).push_bind(e.4.clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in updates.chunks(400) {
                let mut qb = QueryBuilder::new("UPDATE cases SET state = v.column2, updated_on = ");
                qb.push_bind(today.clone());
                qb.push(" FROM (");
                qb.push_values(chunk, |mut b, u| {
                    b.push_bind(u.0.clone()).push_bind(u.1);
                });
                qb.push(") AS v WHERE cases.case_key = v.column1");
                qb.build().execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Cases, filtered, newest first. Each filter is added only when given, so the
    /// member filter can use its index (an `OR $n = ''` would hide it from the planner).
    pub async fn cases(
        &self,
        programme: Option<ProgrammeCode>,
        state: Option<&str>,
        member_key: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CaseRow>> {
        let mut sql = String::from(
            "SELECT case_key, programme, member_key, employer_code, trigger_date, state, opened_on, updated_on FROM cases WHERE insurer = $1",
        );
        let mut binds: Vec<String> = Vec::new();
        for (column, value) in [
            ("programme", programme.map(|p| p.letter())),
            ("state", state),
            ("member_key", member_key),
        ] {
            if let Some(v) = value {
                binds.push(v.to_owned());
                sql.push_str(&format!(" AND {column} = ${}", binds.len() + 1));
            }
        }
        sql.push_str(&format!(
            " ORDER BY updated_on DESC, case_key LIMIT ${}",
            binds.len() + 2
        ));
        let rows: Vec<(
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        )> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(&self.insurer);
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.bind(limit).fetch_all(p).await?
        });
        rows.into_iter()
            .map(
                |(
                    case_key,
                    programme,
                    member_key,
                    employer_code,
                    trigger_date,
                    state,
                    opened_on,
                    updated_on,
                )| {
                    Ok(CaseRow {
                        programme: ProgrammeCode::from_letter(&programme)
                            .ok_or_else(|| rows::corrupt("cases", "programme", &programme))?,
                        case_key,
                        member_key,
                        employer_code,
                        trigger_date,
                        state,
                        opened_on,
                        updated_on,
                    })
                },
            )
            .collect()
    }

    /// One case with its timeline.
    pub async fn case(&self, case_key: &str) -> Result<Option<Case>> {
        let rows: Vec<(String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT e.on_date, e.payload FROM case_events e JOIN cases c ON c.case_key = e.case_key
                 WHERE c.insurer = $1 AND e.case_key = $2 ORDER BY e.seq",
            ).bind(&self.insurer).bind(case_key).fetch_all(p).await?
        });
        if rows.is_empty() {
            return Ok(None);
        }
        let events = rows
            .iter()
            .map(|(on, payload)| {
                Ok(DatedEvent {
                    on: rows::date("case_events", "on_date", on)?,
                    event: rows::json("case_events", "payload", payload)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Case {
            key: parse_case_key(case_key)?,
            events,
        }))
    }

    /// Case counts by programme and state.
    pub async fn case_counts(&self) -> Result<BTreeMap<(ProgrammeCode, String), i64>> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, p => {
            sqlx::query_as("SELECT programme, state, COUNT(*) FROM cases WHERE insurer = $1 GROUP BY programme, state")
                .bind(&self.insurer).fetch_all(p).await?
        });
        let mut out = BTreeMap::new();
        for (programme, state, n) in rows {
            if let Some(p) = ProgrammeCode::from_letter(&programme) {
                out.insert((p, state), n);
            }
        }
        Ok(out)
    }

    /// Appends events to cases outside an engine run (letters, opt-out), keeping the
    /// stored state in step. Cases that are not found are skipped.
    pub(crate) async fn append_events(
        &self,
        today: Date,
        appends: &[(String, CaseEvent)],
    ) -> Result<u64> {
        let mut changes = Vec::new();
        for (case_key, event) in appends {
            let Some(case) = self.case(case_key).await? else {
                continue;
            };
            let employer: Option<(String,)> = on_pool!(self, p => {
                sqlx::query_as("SELECT employer_code FROM cases WHERE case_key = $1").bind(case_key).fetch_optional(p).await?
            });
            let employer = EmployerCode::parse(&employer.map(|e| e.0).unwrap_or_default())
                .map_err(|e| rows::corrupt("cases", "employer_code", e))?;
            changes.push((
                employer,
                CaseChange::Append {
                    key: case.key.clone(),
                    events: vec![DatedEvent {
                        on: today,
                        event: event.clone(),
                    }],
                },
                Some(case),
            ));
        }
        let n = changes.len() as u64;
        self.write_changes(today, &changes).await?;
        Ok(n)
    }

    /// Every agreement.
    pub async fn agreements(&self) -> Result<Vec<Agreement>> {
        crate::registers::load_agreements(self).await
    }

    /// A member by key.
    pub async fn member(&self, member_key: &str) -> Result<Option<Member>> {
        let row: Option<MemberRow> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {MEMBER_COLUMNS} FROM members WHERE insurer = $1 AND member_key = $2")))
                .bind(&self.insurer).bind(member_key).fetch_optional(p).await?
        });
        row.map(rows::member).transpose()
    }
}

/// Parses the text form of a [`CaseKey`] (`P|member|trigger`).
pub fn parse_case_key(text: &str) -> Result<CaseKey> {
    let bad = || rows::corrupt("cases", "case_key", text);
    let mut parts = text.splitn(3, '|');
    let programme = parts
        .next()
        .and_then(ProgrammeCode::from_letter)
        .ok_or_else(bad)?;
    let member = rows::member_key("cases", parts.next().ok_or_else(bad)?)?;
    let trigger = parts.next().ok_or_else(bad)?;
    let trigger = if let Some(date) = trigger.strip_prefix("checkup:") {
        Trigger::Checkup(rows::date("cases", "case_key", date)?)
    } else if let Some(rest) = trigger.strip_prefix("referral:") {
        let (cancer, date) = rest.split_once(':').ok_or_else(bad)?;
        Trigger::Referral(
            CancerType::from_code(cancer).ok_or_else(bad)?,
            rows::date("cases", "case_key", date)?,
        )
    } else {
        return Err(bad());
    };
    Ok(CaseKey {
        programme,
        member,
        trigger,
    })
}

/// True when a state code is open (for filters).
pub fn state_is_open(code: &str) -> bool {
    !(code.starts_with("closed") || code == CaseState::Excluded.code())
}
