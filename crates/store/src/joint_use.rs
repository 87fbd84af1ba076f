//! The 共同利用 declarations (issue 12): one JSON document per version, as the domain
//! writes it. Which one is in force is the domain's decision (`joint_use::in_force`).

use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::joint_use::JointUseDeclaration;

impl Reader {
    /// Every recorded version of the society's declaration, oldest first.
    pub async fn joint_use_declarations(&mut self) -> Result<Vec<JointUseDeclaration>> {
        let insurer = self.insurer.clone();
        let rows: Vec<(i64, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT version, declaration FROM joint_use_declarations WHERE insurer = $1 ORDER BY version",
            )
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        rows.into_iter()
            .map(|(version, text)| {
                let mut d: JointUseDeclaration =
                    crate::rows::json("joint_use_declarations", "declaration", &text)?;
                d.version = version;
                Ok(d)
            })
            .collect()
    }
}

impl Tx {
    /// Records a new version (numbered after the last) and returns its number.
    pub async fn record_joint_use_declaration(
        &mut self,
        declaration: &JointUseDeclaration,
        recorded_at: jiff::Timestamp,
        recorded_by: &str,
    ) -> Result<i64> {
        let insurer = self.insurer.clone();
        let (last,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM joint_use_declarations WHERE insurer = $1")
                .bind(&insurer).fetch_one(&mut *c).await?
        });
        let version = last + 1;
        let mut stored = declaration.clone();
        stored.version = version;
        let text = crate::rows::to_json(&stored);
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO joint_use_declarations (insurer, version, effective_from, declaration, recorded_at, recorded_by)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&insurer).bind(version).bind(stored.effective_from.to_string()).bind(&text)
            .bind(recorded_at.to_string()).bind(recorded_by)
            .execute(&mut *c).await?;
        });
        Ok(version)
    }

    /// Ends a version on `until` (its last day in force).
    pub async fn end_joint_use_declaration(
        &mut self,
        version: i64,
        until: collabo_domain::Date,
    ) -> Result<()> {
        let mut all = self.joint_use_declarations().await?;
        let Some(found) = all.iter_mut().find(|d| d.version == version) else {
            return Err(crate::StoreError::NotFound(format!(
                "共同利用の公表事項 第{version}版"
            )));
        };
        found.effective_until = Some(until);
        let text = crate::rows::to_json(&*found);
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE joint_use_declarations SET declaration = $1 WHERE insurer = $2 AND version = $3")
                .bind(&text).bind(&insurer).bind(version)
                .execute(&mut *c).await?;
        });
        Ok(())
    }
}
