//! Claims completeness as stored: one arrival per claims file (stream, regular service
//! month, volume, claims of the month), the manual closes and reopens, and the streams
//! the society expects (a society setting). Whether a month is complete is decided by
//! `collabo_domain::coverage::ClaimsLedger` over what is read here.

use crate::rows;
use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::calendar::YearMonth;
use collabo_domain::coverage::{ClaimStream, ClaimsLedger, MonthAction, StreamArrival, Volume};
use std::collections::BTreeSet;

/// The society setting holding the expected streams (`medical,dpc,dental,pharmacy`).
pub const EXPECTED_STREAMS: &str = "claims.expected_streams";

#[derive(sqlx::FromRow)]
struct ArrivalRow {
    stream: String,
    month: String,
    volume: i64,
    final_volume: i64,
    regular_claims: i64,
    arrived_on: String,
    file_name: String,
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    stream: String,
    month: String,
    action: String,
    reason: String,
    actor: String,
    on_date: String,
}

fn stream(table: &'static str, text: &str) -> Result<ClaimStream> {
    rows::code(table, "stream", text, |t| {
        ClaimStream::ALL.into_iter().find(|s| s.code() == t)
    })
}

fn month(table: &'static str, text: &str) -> Result<YearMonth> {
    YearMonth::parse(text).map_err(|e| rows::corrupt(table, "month", e))
}

impl Reader {
    /// The streams the society expects; all four when it never said.
    pub async fn expected_streams(&mut self) -> Result<BTreeSet<ClaimStream>> {
        match self.society_setting(EXPECTED_STREAMS).await? {
            None => Ok(ClaimStream::ALL.into_iter().collect()),
            Some(text) => text
                .split(',')
                .filter(|c| !c.is_empty())
                .map(|c| stream("society_settings", c))
                .collect(),
        }
    }

    /// Everything the completeness rule reads: expected streams, arrivals, actions.
    pub async fn claims_ledger(&mut self) -> Result<ClaimsLedger> {
        let insurer = self.insurer.clone();
        let expected = self.expected_streams().await?;
        let arrivals: Vec<ArrivalRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT stream, month, volume, final_volume, regular_claims, arrived_on, file_name
                 FROM claims_arrivals WHERE insurer = $1 ORDER BY month, stream, import_id",
            )
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        let actions: Vec<ActionRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT stream, month, action, reason, actor, on_date FROM claims_month_actions
                 WHERE insurer = $1 ORDER BY id",
            )
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        let t = "claims_arrivals";
        let arrivals = arrivals
            .into_iter()
            .map(|r| {
                Ok(StreamArrival {
                    stream: stream(t, &r.stream)?,
                    month: month(t, &r.month)?,
                    volume: Volume {
                        number: u16::try_from(r.volume)
                            .map_err(|e| rows::corrupt(t, "volume", e))?,
                        final_volume: r.final_volume != 0,
                    },
                    regular_claims: u64::try_from(r.regular_claims).unwrap_or(0),
                    arrived_on: rows::date(t, "arrived_on", &r.arrived_on)?,
                    file: r.file_name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let t = "claims_month_actions";
        let actions = actions
            .into_iter()
            .map(|r| {
                Ok(MonthAction {
                    stream: stream(t, &r.stream)?,
                    month: month(t, &r.month)?,
                    close: rows::code(t, "action", &r.action, |a| match a {
                        "close" => Some(true),
                        "reopen" => Some(false),
                        _ => None,
                    })?,
                    reason: r.reason,
                    by: r.actor,
                    on: rows::date(t, "on_date", &r.on_date)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ClaimsLedger {
            expected,
            arrivals,
            actions,
        })
    }
}

impl Tx {
    /// Records one claims file's arrival.
    pub async fn add_arrival(&mut self, import_id: i64, arrival: &StreamArrival) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO claims_arrivals (insurer, import_id, stream, month, volume, final_volume, regular_claims, arrived_on, file_name)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&insurer).bind(import_id).bind(arrival.stream.code()).bind(arrival.month.to_string())
            .bind(i64::from(arrival.volume.number)).bind(i64::from(arrival.volume.final_volume))
            .bind(i64::try_from(arrival.regular_claims).unwrap_or(i64::MAX))
            .bind(arrival.arrived_on.to_string()).bind(&arrival.file)
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Records a manual close or reopen.
    pub async fn add_month_action(
        &mut self,
        action: &MonthAction,
        at: jiff::Timestamp,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO claims_month_actions (insurer, stream, month, action, reason, actor, on_date, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&insurer).bind(action.stream.code()).bind(action.month.to_string())
            .bind(if action.close { "close" } else { "reopen" }).bind(&action.reason)
            .bind(&action.by).bind(action.on.to_string()).bind(at.to_string())
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Sets the streams the society expects.
    pub async fn set_expected_streams(&mut self, streams: &BTreeSet<ClaimStream>) -> Result<()> {
        let text = streams
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
            .join(",");
        self.set_society_setting(EXPECTED_STREAMS, &text).await
    }
}
