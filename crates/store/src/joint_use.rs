//! The 共同利用 declaration's versions (個人情報保護法 第27条第5項第3号), one JSON
//! document per version. Which one is in force is the domain's decision
//! (`collabo_domain::joint_use::in_force`), not this module's.

use crate::rows::{self, to_json};
use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::joint_use::JointUseDeclaration;

impl Tx {
    /// Records a new version: its number is one more than the latest stored. Returns the
    /// declaration as stored (with its version).
    pub async fn record_joint_use(
        &mut self,
        declaration: &JointUseDeclaration,
        recorded_at: &str,
        recorded_by: &str,
    ) -> Result<JointUseDeclaration> {
        let insurer = self.insurer.clone();
        let latest: (Option<i64>,) = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT MAX(version) FROM joint_use_declarations WHERE insurer = $1")
                .bind(&insurer).fetch_one(&mut *c).await?
        });
        let mut stored = declaration.clone();
        stored.version = latest.0.unwrap_or(0) + 1;
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO joint_use_declarations (insurer, version, effective_from, declaration, recorded_at, recorded_by)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&insurer).bind(stored.version).bind(stored.effective_from.to_string())
            .bind(to_json(&stored)).bind(recorded_at).bind(recorded_by)
            .execute(&mut *c).await?;
        });
        Ok(stored)
    }
}

impl Reader {
    /// Every recorded version, oldest first.
    pub async fn joint_use_declarations(&mut self) -> Result<Vec<JointUseDeclaration>> {
        let insurer = self.insurer.clone();
        let found: Vec<(String,)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT declaration FROM joint_use_declarations WHERE insurer = $1 ORDER BY version",
            )
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        found
            .iter()
            .map(|(s,)| rows::json("joint_use_declarations", "declaration", s))
            .collect()
    }
}
