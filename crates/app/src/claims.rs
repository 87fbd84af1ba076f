//! Claims imports and claims completeness: a UKE file is read and reduced to visit
//! facts by `collabo-claims` (codes are dropped right after the group lookup), admitted
//! by the domain (`Intake::admit_visit`: 記号番号, 枝番, 生年月日, 性別), and stored with
//! its arrival (stream, regular service month, volume, claims of the month) — all in one
//! transaction with its audit record. A malformed file, a file whose kind cannot be
//! told, a volume without the ones before it or beyond its set's final volume stores
//! nothing. Whether a month is complete is `collabo_domain::coverage::ClaimsLedger`'s
//! decision; staff close a stream by hand for a month without claims of it, and reopen
//! it, with a reason, each audited. The file is read once — hashed, parsed and reduced
//! before the write transaction begins, its visit facts spooled to a temporary file —
//! while the register is read into a [`CardIndex`]; in the transaction each claim is
//! matched by a hash lookup and the visits are inserted in bulk (issue 15).

use crate::imports::{blocking, file_name, import_entry};
use crate::{App, AppError, ImportError, ImportReport, Progress, Result, write};
use collabo_claims::{ClaimReader, GroupMap};
use collabo_domain::actor::Actor;
use collabo_domain::admission::{
    Admission, ClaimIdentity, ImportKind, ImportSummary, IncomingVisit, Intake,
};
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::calendar::YearMonth;
use collabo_domain::coverage::{
    ClaimStream, ClaimsLedger, MonthAction, StreamArrival, check_volume,
};
use collabo_domain::ids::InsurerNumber;
use collabo_domain::matching::CardIndex;
use collabo_store::Tx;
use collabo_store::imports::Begun;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

/// Visits admitted and inserted at a time.
const CHUNK: usize = 20_000;

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

/// Admits a chunk of visits against the register's index and inserts the admitted.
async fn store_visits(
    tx: &mut Tx,
    intake: &Intake<'_>,
    register: &CardIndex,
    import_id: i64,
    visits: Vec<IncomingVisit>,
    summary: &mut ImportSummary,
) -> Result<()> {
    summary.rows += visits.len() as u64;
    let mut admitted = Vec::with_capacity(visits.len());
    for v in visits {
        match intake.admit_visit_indexed(v, register) {
            Some(Admission::Admitted(a)) => admitted.push(a),
            // The society's own data, but nobody needs it once the person opted out.
            Some(_) => summary.excluded_opted_out += 1,
            None => summary.unmatched += 1,
        }
    }
    summary.stored += tx.insert_visits(import_id, &admitted).await?;
    Ok(())
}

/// The register's card index and the register generation it was read at.
async fn card_index(
    r: &mut collabo_store::Reader,
    insurer: &InsurerNumber,
) -> Result<(i64, Arc<CardIndex>)> {
    let generation = r.register_generation().await?;
    let holders = r.card_holders().await?;
    Ok((generation, Arc::new(CardIndex::new(insurer, holders))))
}

/// The last card index an [`App`] built, kept while the register generation is the
/// same: a month of claims comes as several files, each matched against the same
/// register.
pub(crate) type CardIndexCache = Arc<std::sync::Mutex<Option<(i64, Arc<CardIndex>)>>>;

impl App {
    /// The card index of the register as it is now (from the cache when no register was
    /// imported since it was built).
    async fn current_card_index(&self, insurer: &InsurerNumber) -> Result<(i64, Arc<CardIndex>)> {
        let mut r = self.store().read().await?;
        let generation = r.register_generation().await?;
        let cached = self
            .card_index
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .filter(|(g, _)| *g == generation);
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let built = card_index(&mut r, insurer).await?;
        if let Ok(mut c) = self.card_index.lock() {
            *c = Some(built.clone());
        }
        Ok(built)
    }
}

/// The group map in force: the newest `*.json` loaded into `<data>/masters` (a list of
/// `collabo_claims::GroupRow`), else the built-in one. The portal and the CLI both use
/// it, so a file imports alike from either.
pub fn group_map_in_force(data: &Path) -> Result<GroupMap> {
    let dir = data.join("masters");
    let newest = std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max();
    match newest {
        Some(path) => {
            let bytes = std::fs::read(&path).map_err(|source| AppError::Io {
                path: path.clone(),
                source,
            })?;
            let rows: Vec<collabo_claims::GroupRow> =
                serde_json::from_slice(&bytes).map_err(|e| {
                    AppError::Invalid(format!(
                        "{}: 分類表（グループ表）として読めません: {e}",
                        path.display()
                    ))
                })?;
            GroupMap::from_rows(rows)
                .map_err(|e| AppError::Invalid(format!("{}: {e}", path.display())))
        }
        None => {
            GroupMap::builtin().map_err(|e| AppError::Invalid(format!("組み込みの分類表: {e}")))
        }
    }
}

impl App {
    /// Imports one UKE file with the given group map.
    pub async fn import_claims(
        &self,
        actor: &Actor,
        path: &Path,
        map: &GroupMap,
    ) -> Result<ImportReport> {
        self.import_claims_with_progress(actor, path, map, &Progress::default())
            .await
    }

    /// [`App::import_claims`], advancing `progress` by the bytes of the file read (for
    /// a progress bar over the file's size).
    pub async fn import_claims_with_progress(
        &self,
        actor: &Actor,
        path: &Path,
        map: &GroupMap,
        progress: &Progress,
    ) -> Result<ImportReport> {
        actor.may(Action::ImportSocietyData, Scope::Society)?;
        let file = file_name(path);
        match self
            .import_claims_inner(actor, path, &file, map, progress)
            .await
        {
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
        progress: &Progress,
    ) -> Result<ImportReport> {
        let insurer =
            InsurerNumber::parse(self.insurer()).map_err(|e| AppError::Invalid(e.to_string()))?;
        // Parse and reduce before the write lock is taken, hashing the bytes as they are
        // read and spooling the visit facts to a temporary file (memory stays flat for a
        // file of gigabytes). Meanwhile the register is read once into a card index
        // (記号番号 → members), so matching is a hash lookup per claim.
        let parse = {
            let (path, file, map, progress) = (
                path.to_owned(),
                file.to_owned(),
                map.clone(),
                progress.clone(),
            );
            blocking(move || spool_visits(&path, &file, &map, &progress))
        };
        let index = self.current_card_index(&insurer);
        let (spooled, index) = tokio::join!(parse, index);
        let spooled = spooled??;
        let (generation, mut register) = index?;
        let sha256 = spooled.sha256.clone();
        if let Some(summary) = self
            .store()
            .read()
            .await?
            .earlier_import(ImportKind::Claims, &sha256)
            .await?
        {
            return Ok(ImportReport { summary, sha256 });
        }
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
        // A register imported meanwhile: index it again, inside the transaction.
        if tx.register_generation().await? != generation {
            register = card_index(&mut tx, &insurer).await?.1;
        }
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
        let spool_error = |e: std::io::Error| {
            AppError::Import(ImportError::Io {
                file: file.to_owned(),
                source: e,
            })
        };
        let mut lines = BufReader::new(spooled.spool).lines();
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            for line in lines.by_ref().take(CHUNK) {
                let line = line.map_err(spool_error)?;
                let visit: IncomingVisit = serde_json::from_str(&line).map_err(|e| {
                    spool_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
                })?;
                chunk.push(visit);
            }
            if chunk.is_empty() {
                break;
            }
            store_visits(&mut tx, &intake, &register, import_id, chunk, &mut summary).await?;
        }
        let file_summary = spooled.summary;
        let refuse = |line: u64, message: String| {
            AppError::Import(ImportError::Malformed {
                file: file.to_owned(),
                line,
                message,
            })
        };
        let (Some(stream), Some(month)) = (file_summary.stream(), file_summary.month()) else {
            return Err(refuse(
                file_summary.header_line.max(1),
                "the file names no service month (no header and no claim)".to_owned(),
            ));
        };
        let arrival = StreamArrival {
            stream,
            month,
            volume: file_summary.volume,
            regular_claims: file_summary.regular_claims(),
            arrived_on: actor.today(),
            file: file.to_owned(),
        };
        let mut ledger = tx.claims_ledger().await?;
        check_volume(&ledger.arrivals, &arrival)
            .map_err(|p| refuse(file_summary.header_line.max(1), p.to_string()))?;
        let was_complete = ledger.is_complete(month);
        tx.add_arrival(import_id, &arrival).await?;
        ledger.arrivals.push(arrival.clone());
        summary.months_covered = if !was_complete && ledger.is_complete(month) {
            vec![month.to_string()]
        } else {
            Vec::new()
        };
        summary.claims = Some(arrival);
        // Claims without 保険者番号, 記号 or 番号 cannot be matched to anyone: counted as unmatched.
        summary.unmatched += file_summary.claims_without_identity;
        tx.finish_import(import_id, &summary).await?;
        let mut entry = import_entry(actor, ImportKind::Claims, file, None, &summary);
        if let Some(a) = &summary.claims {
            entry.detail.push_str(&format!(
                "。{} {}診療分、{}、当月分のレセプト{}件{}",
                a.stream.label(),
                a.month,
                if a.volume.number == 0 {
                    "分割なし".to_owned()
                } else if a.volume.final_volume {
                    format!("第{}巻（最終巻）", a.volume.number)
                } else {
                    format!("第{}巻", a.volume.number)
                },
                a.regular_claims,
                if summary.months_covered.is_empty() {
                    ""
                } else {
                    "、この診療月が揃った"
                }
            ));
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(ImportReport { summary, sha256 })
    }

    /// What has arrived of the claims, month by month (no personal data).
    pub async fn claims_ledger(&self, actor: &Actor) -> Result<ClaimsLedger> {
        actor.may(Action::ImportSocietyData, Scope::Society)?;
        Ok(self.store().read().await?.claims_ledger().await?)
    }

    /// Closes a claims stream for a service month by hand (the month had no claims of
    /// that kind), with a reason; audited.
    pub async fn close_claims_month(
        &self,
        actor: &Actor,
        stream: ClaimStream,
        month: YearMonth,
        reason: &str,
    ) -> Result<ClaimsLedger> {
        self.month_action(actor, stream, month, reason, true).await
    }

    /// Reopens a claims stream closed by hand, with a reason; audited.
    pub async fn reopen_claims_month(
        &self,
        actor: &Actor,
        stream: ClaimStream,
        month: YearMonth,
        reason: &str,
    ) -> Result<ClaimsLedger> {
        self.month_action(actor, stream, month, reason, false).await
    }

    async fn month_action(
        &self,
        actor: &Actor,
        stream: ClaimStream,
        month: YearMonth,
        reason: &str,
        close: bool,
    ) -> Result<ClaimsLedger> {
        actor.may(Action::ImportSocietyData, Scope::Society)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid("理由を入力してください。".into()));
        }
        let mut tx = write(self).await?;
        let mut ledger = tx.claims_ledger().await?;
        let allowed = if close {
            ledger.may_close(stream, month, actor.today())
        } else {
            ledger.may_reopen(stream, month)
        };
        allowed.map_err(|p| AppError::Conflict(p.to_string()))?;
        let action = MonthAction {
            stream,
            month,
            close,
            reason: reason.to_owned(),
            by: actor.user.clone(),
            on: actor.today(),
        };
        tx.add_month_action(&action, actor.now).await?;
        ledger.actions.push(action);
        tx.audit(
            &AuditEntry::new(
                actor,
                if close {
                    AuditAction::ClaimsMonthClose
                } else {
                    AuditAction::ClaimsMonthReopen
                },
            )
            .detail(format!(
                "{} {month}診療分: {reason}（この診療月は{}）",
                stream.label(),
                if ledger.is_complete(month) {
                    "揃った"
                } else {
                    "まだ揃っていない"
                }
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(ledger)
    }

    /// Sets which claims streams the society receives per service month (admin).
    pub async fn set_expected_streams(
        &self,
        actor: &Actor,
        streams: &BTreeSet<ClaimStream>,
    ) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        if streams.is_empty() {
            return Err(AppError::Invalid(
                "受け取る請求の種類を1つ以上選んでください。".into(),
            ));
        }
        let mut tx = write(self).await?;
        tx.set_expected_streams(streams).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::SettingsSave).detail(format!(
                "受け取る請求の種類: {}",
                streams
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The claims streams the society receives (anyone who runs the society's data).
    pub async fn expected_streams(&self) -> Result<BTreeSet<ClaimStream>> {
        Ok(self.store().read().await?.expected_streams().await?)
    }
}

/// The visit facts of a claims file, spooled (one JSON line each), and what the file
/// contained.
struct Spooled {
    spool: std::fs::File,
    /// SHA-256 of the file's bytes, computed while reading them.
    sha256: String,
    summary: collabo_claims::FileSummary,
}

/// Reads and reduces a UKE file into visit facts on a temporary file (deleted when
/// closed); a malformed file fails here, before anything is written.
fn spool_visits(path: &Path, file: &str, map: &GroupMap, progress: &Progress) -> Result<Spooled> {
    // The claims reader's message names the file and line itself.
    let malformed = |e: collabo_claims::ClaimsError| match e {
        collabo_claims::ClaimsError::Io { source, .. } => AppError::Import(ImportError::Io {
            file: file.to_owned(),
            source,
        }),
        // A problem at a line keeps its file and line as fields (the message without
        // the reader's own "file:line: " prefix, so neither is said twice).
        other => match other.line() {
            Some(line) => {
                let text = other.to_string();
                let prefix = format!("{file}:{line}: ");
                AppError::Import(ImportError::Malformed {
                    file: file.to_owned(),
                    line,
                    message: text.strip_prefix(&prefix).unwrap_or(&text).to_owned(),
                })
            }
            None => AppError::Import(ImportError::Claims {
                message: other.to_string(),
            }),
        },
    };
    let io = |source: std::io::Error| {
        AppError::Import(ImportError::Io {
            file: file.to_owned(),
            source,
        })
    };
    // The reader is given the file's name, not its path: its messages are shown to
    // the person who sent it (an upload's temporary path means nothing to them).
    let input = HashingRead {
        inner: progress.reader(std::fs::File::open(path).map_err(io)?),
        hasher: Sha256::new(),
    };
    let mut reader = ClaimReader::new(
        BufReader::with_capacity(1 << 20, input),
        Path::new(file),
        map,
    );
    let mut out = BufWriter::new(tempfile::tempfile().map_err(io)?);
    let default_branch =
        collabo_domain::ids::Branch::parse("00").map_err(|e| AppError::Invalid(e.to_string()))?;
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
            let visit = IncomingVisit {
                identity: id.clone(),
                time: fact.time,
                institution: fact.institution,
                evidence: fact.evidence,
            };
            serde_json::to_writer(&mut out, &visit).map_err(|e| io(std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(io)?;
        }
    }
    let mut spool = out.into_inner().map_err(|e| io(e.into_error()))?;
    spool.seek(SeekFrom::Start(0)).map_err(io)?;
    let (input, summary) = reader.into_parts();
    // The reader stops at the end of the input; whatever it left unread (nothing, for
    // a whole file) is hashed too, so the hash is always that of the whole file.
    let mut input = input.into_inner();
    std::io::copy(&mut input, &mut std::io::sink()).map_err(io)?;
    Ok(Spooled {
        spool,
        sha256: hex::encode(input.hasher.finalize()),
        summary,
    })
}

/// A reader that hashes what passes through it.
struct HashingRead<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
