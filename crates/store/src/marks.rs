//! The engine's watermark (issue 15): per society, the day of the last complete run
//! and the audit sequence number it began at. What counts as a change is the domain's
//! decision (`AuditAction::leaves_engine_inputs_unchanged`); this module stores the
//! mark and reads the actions recorded since.

use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::Date;

/// The last complete run of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineMark {
    /// The day it ran for.
    pub day: Date,
    /// The society's audit sequence number when it began.
    pub audit_seq: i64,
}

impl Reader {
    /// The society's newest audit sequence number (0 before the first record).
    pub async fn audit_head_seq(&mut self) -> Result<i64> {
        let insurer = self.insurer.clone();
        let (seq,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE insurer = $1")
                .bind(&insurer).fetch_one(&mut *c).await?
        });
        Ok(seq)
    }

    /// The last complete engine run, if any.
    pub async fn engine_mark(&mut self) -> Result<Option<EngineMark>> {
        let insurer = self.insurer.clone();
        let row: Option<(String, i64)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT day, audit_seq FROM engine_marks WHERE insurer = $1")
                .bind(&insurer).fetch_optional(&mut *c).await?
        });
        row.map(|(day, audit_seq)| {
            Ok(EngineMark {
                day: crate::rows::date("engine_marks", "day", &day)?,
                audit_seq,
            })
        })
        .transpose()
    }

    /// The distinct audit action codes recorded after sequence number `seq`.
    pub async fn audit_actions_since(&mut self, seq: i64) -> Result<Vec<String>> {
        let insurer = self.insurer.clone();
        let rows: Vec<(String,)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT DISTINCT action FROM audit_log WHERE insurer = $1 AND seq > $2")
                .bind(&insurer).bind(seq).fetch_all(&mut *c).await?
        });
        Ok(rows.into_iter().map(|(a,)| a).collect())
    }
}

impl Tx {
    /// Records a complete engine run.
    pub async fn set_engine_mark(&mut self, mark: EngineMark) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO engine_marks (insurer, day, audit_seq) VALUES ($1, $2, $3)
                 ON CONFLICT (insurer) DO UPDATE SET day = excluded.day, audit_seq = excluded.audit_seq",
            )
            .bind(&insurer).bind(mark.day.to_string()).bind(mark.audit_seq)
            .execute(&mut *c).await?;
        });
        Ok(())
    }
}
