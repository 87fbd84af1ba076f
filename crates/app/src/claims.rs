//! Claims imports: a UKE file is read and reduced to visit facts by `collabo-claims`
//! (codes are dropped right after the group lookup), matched to members by the store,
//! and its complete service months are recorded as claims coverage — all in one
//! transaction. A malformed file stores nothing.

use crate::{ImportError, ImportReport};
use collabo_claims::{ClaimReader, GroupMap};
use collabo_domain::Date;
use collabo_store::imports::{Actor, ClaimIdentity, IncomingVisit};
use collabo_store::{ImportKind, Store};
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

/// Imports one UKE file with the given group map.
pub async fn import_claims(
    store: &Store,
    path: &Path,
    map: &GroupMap,
    actor: &Actor,
    today: Date,
    now: jiff::Timestamp,
) -> Result<ImportReport, ImportError> {
    let bytes = crate::imports::read_file(path)?;
    let sha256 = crate::sha256_hex(&bytes);
    drop(bytes);
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let malformed = |e: collabo_claims::ClaimsError| ImportError::Malformed {
        file: file.clone(),
        line: 0,
        message: e.to_string(),
    };
    let mut reader = ClaimReader::open(path, map).map_err(malformed)?;
    let mut session = match store
        .begin_import(ImportKind::Claims, &file, &sha256, None, actor, today, now)
        .await?
    {
        Ok(s) => s,
        Err(summary) => return Ok(ImportReport { summary, sha256 }),
    };
    let mut chunk = Vec::with_capacity(CHUNK);
    let default_branch =
        collabo_domain::ids::Branch::parse("00").map_err(|e| ImportError::Malformed {
            file: file.clone(),
            line: 0,
            message: e.to_string(),
        })?;
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
            session.add_visits(&chunk).await?;
            chunk.clear();
        }
    }
    session.add_visits(&chunk).await?;
    let file_summary = reader.into_summary();
    let months: Vec<_> = file_summary.covered_months().into_iter().collect();
    session.add_coverage(&months).await?;
    // Claims without 保険者番号, 記号 or 番号 cannot be matched to anyone: counted as unmatched.
    session.count_unmatched(file_summary.claims_without_identity);
    let summary = session.finish().await?;
    Ok(ImportReport { summary, sha256 })
}
