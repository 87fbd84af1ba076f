//! Claims imports: a UKE file is read and reduced to visit facts by `collabo-claims`
//! (codes are dropped right after the group lookup), admitted by the domain
//! (`Intake::admit_visit`: 記号番号, 枝番, 生年月日, 性別), and stored with its complete
//! service months as claims coverage — all in one transaction with its audit record.
//! A malformed file stores nothing.

use crate::imports::{by_card, file_name, import_entry};
use crate::{App, AppError, ImportError, ImportReport, Result, write};
use collabo_claims::{ClaimReader, GroupMap};
use collabo_domain::actor::Actor;
use collabo_domain::admission::{
    Admission, ClaimIdentity, ImportKind, ImportSummary, IncomingVisit, Intake,
};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::ids::InsurerNumber;
use collabo_store::Tx;
use collabo_store::imports::Begun;
use std::path::Path;

const CHUNK: usize = 4000;

fn identity(id: &collabo_claims::claim::ClaimIdentity) -> ClaimIdentity {
    ClaimIdentity {
        insurer: id.insurer.clone(),
        symbol: id.symbol.clone(),
        number: id.number.clone(),
        branch: id.branch.clone(),
        birth_date: id.birth_date,
        sex: id.sex,
    }
}

async fn store_visits(
    tx: &mut Tx,
    intake: &Intake<'_>,
    import_id: i64,
    visits: Vec<IncomingVisit>,
    summary: &mut ImportSummary,
) -> Result<()> {
    summary.rows += visits.len() as u64;
    let mut cards: Vec<(String, String)> = visits
        .iter()
        .map(|v| {
            (
                v.identity.symbol.as_str().to_owned(),
                v.identity.number.as_str().to_owned(),
            )
        })
        .collect();
    cards.sort();
    cards.dedup();
    let members = tx.members_with_cards(&cards).await?;
    let by_card = by_card(&members);
    let mut admitted = Vec::new();
    for v in visits {
        let candidates = by_card
            .get(&(v.identity.symbol.as_str(), v.identity.number.as_str()))
            .cloned()
            .unwrap_or_default();
        match intake.admit_visit(v, &candidates) {
            Some(Admission::Admitted(a)) => admitted.push(a),
            // The society's own data, but nobody needs it once the person opted out.
            Some(_) => summary.excluded_opted_out += 1,
            None => summary.unmatched += 1,
        }
    }
    summary.stored += tx.insert_visits(import_id, &admitted).await?;
    Ok(())
}

impl App {
    /// Imports one UKE file with the given group map.
    pub async fn import_claims(
        &self,
        actor: &Actor,
        path: &Path,
        map: &GroupMap,
    ) -> Result<ImportReport> {
        actor.may(Action::ImportSocietyData, Scope::Society)?;
        let file = file_name(path);
        match self.import_claims_inner(actor, path, &file, map).await {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .refused(actor, ImportKind::Claims, &file, None, e)
                .await),
        }
    }

    async fn import_claims_inner(
        &self,
        actor: &Actor,
        path: &Path,
        file: &str,
        map: &GroupMap,
    ) -> Result<ImportReport> {
        let bytes = crate::imports::read_file(path)?;
        let sha256 = crate::sha256_hex(&bytes);
        drop(bytes);
        let malformed = |e: collabo_claims::ClaimsError| {
            AppError::Import(ImportError::Malformed {
                file: file.to_owned(),
                line: e.line().unwrap_or(0),
                message: e.to_string(),
            })
        };
        let mut reader = ClaimReader::open(path, map).map_err(malformed)?;
        let mut tx = write(self).await?;
        let import_id = match tx
            .begin_import(
                ImportKind::Claims,
                file,
                &sha256,
                None,
                &actor.user,
                actor.now,
            )
            .await?
        {
            Begun::New(id) => id,
            Begun::Repeat(summary) => return Ok(ImportReport { summary, sha256 }),
        };
        let insurer =
            InsurerNumber::parse(self.insurer()).map_err(|e| AppError::Invalid(e.to_string()))?;
        let opt_outs = tx.opt_out_register().await?;
        let intake = Intake {
            insurer: &insurer,
            submitter: None,
            opt_outs: &opt_outs,
        };
        let mut summary = ImportSummary {
            import_id,
            ..ImportSummary::default()
        };
        let mut chunk = Vec::with_capacity(CHUNK);
        let default_branch = collabo_domain::ids::Branch::parse("00")
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        for claim in &mut reader {
            let claim = claim.map_err(malformed)?;
            let id = identity(&claim.identity);
            // Per-day facts keep a detailed exam on the 20th from being dated to the 3rd.
            let placeholder = collabo_domain::ids::MemberKey {
                insurer: claim.identity.insurer.clone(),
                symbol: claim.identity.symbol.clone(),
                number: claim.identity.number.clone(),
                branch: claim
                    .identity
                    .branch
                    .clone()
                    .unwrap_or_else(|| default_branch.clone()),
            };
            for fact in claim.daily_visit_facts(&placeholder) {
                chunk.push(IncomingVisit {
                    identity: id.clone(),
                    time: fact.time,
                    institution: fact.institution,
                    evidence: fact.evidence,
                });
            }
            if chunk.len() >= CHUNK {
                store_visits(
                    &mut tx,
                    &intake,
                    import_id,
                    std::mem::take(&mut chunk),
                    &mut summary,
                )
                .await?;
            }
        }
        store_visits(&mut tx, &intake, import_id, chunk, &mut summary).await?;
        let file_summary = reader.into_summary();
        let months: Vec<_> = file_summary.covered_months().into_iter().collect();
        tx.add_coverage(import_id, &months).await?;
        summary.months_covered = months.iter().map(|m| m.to_string()).collect();
        // Claims without 保険者番号, 記号 or 番号 cannot be matched to anyone: counted as unmatched.
        summary.unmatched += file_summary.claims_without_identity;
        tx.finish_import(import_id, &summary).await?;
        tx.audit(&import_entry(
            actor,
            ImportKind::Claims,
            file,
            None,
            &summary,
        ))
        .await?;
        tx.commit().await?;
        Ok(ImportReport { summary, sha256 })
    }
}
