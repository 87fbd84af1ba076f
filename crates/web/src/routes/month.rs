//! The society's month in the browser: staff upload the register (資格), claims files
//! (レセプト, streamed to a temporary file as they arrive, never held in memory) and
//! bulk consents, and start 抽出; each becomes a job (`crate::jobs`) whose page shows
//! its progress, refreshing itself, and then its summary or every problem with its
//! line. The case list with its filters is here too.
//!
//! The imports and the run are the application's (`collabo_app::App`), as for the CLI:
//! same checks, same audit records, same all-or-nothing refusal.

use super::employer::problem_in_japanese;
use super::encode_segment;
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::jobs::{JobKind, JobState};
use crate::view::{
    Block, Cell, Field, Form, PER_PAGE, Page, Table, page_number, pager, query_value, wareki,
    wareki_at,
};
use axum::Extension;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use collabo_app::{AppError, ImportError, ImportSummary};
use collabo_domain::admission::ImportKind;
use collabo_domain::case::CaseState;
use collabo_domain::ids::EmployerCode;
use collabo_domain::programme::ProgrammeCode;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

/// A file received from the browser: in its own temporary folder under its own base
/// name (the claims reader tells a file's kind from its content, and the name only
/// where that is silent), deleted when dropped.
pub struct Received {
    dir: tempfile::TempDir,
    /// The file's base name as the browser sent it.
    pub name: String,
    /// Bytes received.
    pub bytes: u64,
}

impl Received {
    /// Where the file is.
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join(&self.name)
    }
}

/// Streams the `file` part of an upload to a temporary file, chunk by chunk.
pub async fn receive(mut multipart: Multipart) -> WebResult<Received> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        WebError::BadRequest(format!(
            "アップロードを読み取れませんでした（{}）。",
            e.status()
        ))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        let name: String = field
            .file_name()
            .unwrap_or("upload")
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("upload")
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let name = if name.is_empty() || name == "." || name == ".." {
            "upload".to_owned()
        } else {
            name
        };
        let dir = tempfile::Builder::new()
            .prefix("collabo-upload-")
            .tempdir()
            .map_err(|e| WebError::Internal(format!("temporary folder: {e}")))?;
        let path = dir.path().join(&name);
        let mut out = tokio::fs::File::create(&path)
            .await
            .map_err(|e| WebError::Internal(format!("temporary file: {e}")))?;
        let mut bytes = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            bytes += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(|e| WebError::Internal(format!("temporary file: {e}")))?;
        }
        out.flush()
            .await
            .map_err(|e| WebError::Internal(format!("temporary file: {e}")))?;
        if bytes == 0 {
            return Err(WebError::BadRequest(
                "ファイルが選択されていないか、空のファイルです。".into(),
            ));
        }
        return Ok(Received { dir, name, bytes });
    }
    Err(WebError::BadRequest(
        "ファイルが選択されていません。".into(),
    ))
}

fn upload_form(action: &str, csrf: &str, label: &str, hint: &str, submit: &str) -> Form {
    Form {
        action: action.into(),
        multipart: true,
        csrf: csrf.into(),
        fields: vec![Field::new(label, "file", "file").hint(hint)],
        submit: submit.into(),
        get: false,
    }
}

/// GET /staff/imports: the month's files and 抽出, and the jobs started here.
pub async fn imports_page(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let mut page = Page::new("取込・抽出", &who);
    page.push(Block::Para("毎月の作業は上から順に行います。①資格（加入者台帳）②レセプト（医科・DPC・歯科・調剤）③同意・停止の一括登録 ④抽出。取込は1行でも誤りがあればファイル全体を取り込みません（同じファイルの再取込は前回の結果を表示します）。".into()));
    page.push(Block::Heading("① 資格（加入者台帳）".into()));
    page.push(Block::Form(upload_form(
        "/staff/imports/members",
        who.csrf(),
        "台帳ファイル（CSV・XLSX）",
        "列: 保険者番号, 記号, 番号, 枝番, 氏名, 氏名カナ, 性別, 生年月日, 郵便番号, 住所, 住所2, 事業所記号, 本人家族, 資格取得日, 資格喪失日",
        "資格を取り込む",
    )));
    page.push(super::forms::links(ImportKind::Members));
    page.push(Block::Heading("② レセプト".into()));
    page.push(Block::Form(upload_form(
        "/staff/imports/claims",
        who.csrf(),
        "レセプト電算ファイル（UKE）",
        "数GBのファイルもそのまま送れます（受信しながらディスクに書き込みます）。",
        "レセプトを取り込む",
    )));
    page.push(Block::Heading("③ 同意・停止の一括登録".into()));
    page.push(Block::Form(upload_form(
        "/staff/imports/consents",
        who.csrf(),
        "同意・停止ファイル（CSV・XLSX）",
        "列: 記号, 番号, 枝番, 区分（オプトアウト/同意）, 範囲（all・R・S・D・C）, 適用日, 経路。停止は登録と同時にデータを削除します。",
        "一括登録する",
    )));
    page.push(super::forms::links(ImportKind::Consents));
    page.push(Block::Heading("④ 抽出".into()));
    page.push(Block::Para(format!(
        "{}時点で、全加入者について対象者を判定し、通知待ち・レセプト待ちなどを更新します。何度実行しても同じ結果になります。",
        wareki(state.today())
    )));
    page.push(Block::Form(Form {
        action: "/staff/run".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: Vec::new(),
        submit: "抽出を実行".into(),
        get: false,
    }));
    page.push(Block::Heading("このサーバーで実行した処理".into()));
    page.push(Block::Table(jobs_table(&state)));
    Ok(page.html()?.into_response())
}

fn state_badge(job: &crate::jobs::Job) -> Cell {
    match &job.state {
        JobState::Running => Cell::Badge("実行中".into(), "warn"),
        JobState::Done(_) => Cell::Badge("完了".into(), "ok"),
        JobState::Failed(_) => Cell::Badge("取込できませんでした".into(), "error"),
    }
}

fn jobs_table(state: &AppState) -> Table {
    Table {
        headers: ["No.", "処理", "ファイル", "開始", "実行者", "状態"]
            .map(String::from)
            .to_vec(),
        rows: state
            .jobs
            .list()
            .iter()
            .map(|j| {
                vec![
                    Cell::Link(format!("/staff/jobs/{}", j.id), j.id.to_string()),
                    Cell::Text(j.kind.label().into()),
                    Cell::Text(j.file.clone()),
                    Cell::Text(wareki_at(j.started_at)),
                    Cell::Text(j.started_by.clone()),
                    state_badge(j),
                ]
            })
            .collect(),
        empty: "まだありません。".into(),
    }
}

/// The lines of a finished import.
fn import_lines(file: &str, summary: &ImportSummary) -> Vec<String> {
    let mut lines = Vec::new();
    if summary.already_imported {
        lines.push(format!(
            "{file} は取込済みです（前回の結果を表示しています。内容は変わっていません）。"
        ));
    }
    lines.push(format!("読み込んだ行: {}", summary.rows));
    lines.push(format!("登録した行: {}", summary.stored));
    if summary.duplicates > 0 {
        lines.push(format!("登録済みと重複: {}", summary.duplicates));
    }
    if summary.unmatched > 0 {
        lines.push(format!("資格と一致しない行: {}", summary.unmatched));
    }
    if summary.to_review > 0 {
        lines.push(format!("照合待ちに回した行: {}", summary.to_review));
    }
    if summary.excluded_opted_out > 0 {
        lines.push(format!(
            "本人の申出（停止）により除外: {}",
            summary.excluded_opted_out
        ));
    }
    lines
}

/// The lines of a refusal: every problem with its line and field.
fn failure_lines(file: &str, error: AppError) -> Vec<String> {
    let mut lines = vec![format!(
        "{file} にエラーがあるため、取り込みませんでした（1行も登録していません）。"
    )];
    match error {
        AppError::Import(ImportError::Rows { ref problems }) => {
            lines.extend(problems.iter().map(|p| {
                format!(
                    "{}行目 {}: {}",
                    p.line,
                    p.field,
                    problem_in_japanese(&p.message)
                )
            }));
        }
        AppError::Import(other) => lines.push(problem_in_japanese(&other.to_string())),
        other => lines.push(WebError::from(other).user_message()),
    }
    lines
}

/// Which society file an upload is.
#[derive(Clone, Copy)]
enum SocietyFile {
    Members,
    Claims,
    Consents,
}

async fn start_import(
    state: &AppState,
    who: &Identity,
    kind: SocietyFile,
    multipart: Multipart,
) -> WebResult<Response> {
    let received = receive(multipart).await?;
    let job_kind = match kind {
        SocietyFile::Members => JobKind::Members,
        SocietyFile::Claims => JobKind::Claims,
        SocietyFile::Consents => JobKind::Consents,
    };
    let id = state.jobs.start(
        job_kind,
        &received.name,
        &who.username,
        state.now(),
        "バイト",
    );
    state.jobs.progress(id, 0, received.bytes);
    let (app, jobs, actor) = (state.app.clone(), state.jobs.clone(), who.actor());
    let data_dir = state.config.data_dir.clone();
    tokio::spawn(async move {
        let file = received.name.clone();
        let path = received.path();
        let outcome: Result<Vec<String>, AppError> = async {
            match kind {
                SocietyFile::Claims => {
                    let map = tokio::task::spawn_blocking(move || {
                        collabo_app::claims::group_map_in_force(&data_dir)
                    })
                    .await
                    .map_err(|e| AppError::Invalid(format!("分類表の読込: {e}")))??;
                    // The job's bar follows the bytes the import has read, four times a
                    // second, until it ends.
                    let read = collabo_app::Progress::default();
                    let ticker = {
                        let (jobs, read, total) = (jobs.clone(), read.clone(), received.bytes);
                        tokio::spawn(async move {
                            let mut every =
                                tokio::time::interval(std::time::Duration::from_millis(250));
                            loop {
                                every.tick().await;
                                jobs.progress(id, read.get().min(total), total);
                            }
                        })
                    };
                    let report = app
                        .import_claims_with_progress(&actor, &path, &map, &read)
                        .await;
                    ticker.abort();
                    let report = report?;
                    Ok(import_lines(&file, &report.summary))
                }
                SocietyFile::Members | SocietyFile::Consents => {
                    let bytes = tokio::fs::read(&path)
                        .await
                        .map_err(|source| AppError::Io {
                            path: path.clone(),
                            source,
                        })?;
                    if matches!(kind, SocietyFile::Members) {
                        let report = app.import_members(&actor, &file, &bytes).await?;
                        Ok(import_lines(&file, &report.summary))
                    } else {
                        let n = app.import_consents(&actor, &file, &bytes).await?;
                        Ok(vec![format!("{file}: {n}件の同意・停止を登録しました。")])
                    }
                }
            }
        }
        .await;
        jobs.finish(
            id,
            match outcome {
                Ok(lines) => JobState::Done(lines),
                Err(e) => JobState::Failed(failure_lines(&file, e)),
            },
        );
        drop(received);
    });
    Ok(Redirect::to(&format!("/staff/jobs/{id}")).into_response())
}

/// POST /staff/imports/members.
pub async fn upload_members(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    multipart: Multipart,
) -> WebResult<Response> {
    start_import(&state, &who, SocietyFile::Members, multipart).await
}

/// POST /staff/imports/claims.
pub async fn upload_claims(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    multipart: Multipart,
) -> WebResult<Response> {
    start_import(&state, &who, SocietyFile::Claims, multipart).await
}

/// POST /staff/imports/consents.
pub async fn upload_consents(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    multipart: Multipart,
) -> WebResult<Response> {
    start_import(&state, &who, SocietyFile::Consents, multipart).await
}

/// A skip reason of a run, as staff read it.
fn skip_label(reason: collabo_domain::engine::SkipReason) -> &'static str {
    use collabo_domain::engine::SkipReason::*;
    match reason {
        OptedOut => "本人の申出（停止）",
        NoConsent => "同意なし（同意が必要な事業）",
        NotInsured => "契機日に資格なし",
        NotCoveredByAgreement => "覚書の対象外（締結前の検診・覚書なし）",
        ProgrammeDisabled => "事業が無効",
        OutsideAgeRange => "対象年齢外",
    }
}

/// POST /staff/run: 抽出 as a job, its progress in members.
pub async fn run(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let actor = who.actor();
    let total = u64::try_from(state.app.register_size(&actor).await?).unwrap_or(0);
    let id = state
        .jobs
        .start(JobKind::Run, "", &who.username, state.now(), "人");
    state.jobs.progress(id, 0, total);
    let (app, jobs) = (state.app.clone(), state.jobs.clone());
    tokio::spawn(async move {
        let progress_jobs = jobs.clone();
        let result = app
            .run_engine(&actor, |done| progress_jobs.progress(id, done, total))
            .await;
        jobs.finish(
            id,
            match result {
                Ok(summary) => {
                    let mut lines = vec![format!("判定した加入者: {}人", summary.members)];
                    for p in ProgrammeCode::ALL {
                        let n = summary.opened.get(&p).copied().unwrap_or(0);
                        lines.push(format!("{} {}: 新しい対象者 {n}人", p.letter(), p.label()));
                    }
                    lines.push(format!("経過の更新: {}件", summary.events_appended));
                    if summary.withdrawn > 0 {
                        lines.push(format!(
                            "未発送のバッチから取り下げた通知: {}通",
                            summary.withdrawn
                        ));
                    }
                    for ((p, reason), n) in &summary.skipped {
                        lines.push(format!(
                            "{} {}: 対象外 {n}人（{}）",
                            p.letter(),
                            p.label(),
                            skip_label(*reason)
                        ));
                    }
                    JobState::Done(lines)
                }
                Err(e) => JobState::Failed(vec![
                    "抽出を完了できませんでした。もう一度実行すると続きから判定します。".into(),
                    e.to_string(),
                ]),
            },
        );
    });
    Ok(Redirect::to(&format!("/staff/jobs/{id}")).into_response())
}

/// GET /staff/jobs/{id}: progress while it runs (the page reloads itself every two
/// seconds), then its summary.
pub async fn job_page(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<u64>,
) -> WebResult<Response> {
    let job = state.jobs.get(id).ok_or(WebError::NotFound)?;
    let mut page = Page::new(&format!("{}（No.{}）", job.kind.label(), job.id), &who);
    let mut facts = vec![
        ("開始".to_owned(), wareki_at(job.started_at)),
        ("実行者".to_owned(), job.started_by.clone()),
    ];
    if !job.file.is_empty() {
        facts.insert(0, ("ファイル".into(), job.file.clone()));
    }
    page.push(Block::Facts(facts));
    match &job.state {
        JobState::Running => {
            page.refresh = Some(2);
            let text = if job.kind == JobKind::Run && job.total > 0 {
                format!("{} / {}{}", job.done, job.total, job.unit)
            } else {
                format!(
                    "受信 {} を処理しています…",
                    bytes_text(job.total.max(job.done))
                )
            };
            let (done, total) = if job.kind == JobKind::Run {
                (job.done, job.total)
            } else {
                (0, 0)
            };
            page.push(Block::Progress(done, total, text));
            page.push(Block::Para(
                "このページは自動で更新されます。閉じても処理は続きます。".into(),
            ));
        }
        JobState::Done(lines) => {
            page.notice("ok", vec![format!("{}が完了しました。", job.kind.label())]);
            page.push(Block::Progress(1, 1, "完了".into()));
            page.push(Block::Heading("結果".into()));
            page.push(Block::Table(Table {
                headers: vec!["内容".into()],
                rows: lines.iter().map(|l| vec![Cell::Text(l.clone())]).collect(),
                empty: String::new(),
            }));
        }
        JobState::Failed(lines) => {
            page.notice("error", lines.iter().take(1).cloned().collect());
            page.push(Block::Table(Table {
                headers: vec!["エラー（行・項目・内容）".into()],
                rows: lines
                    .iter()
                    .skip(1)
                    .map(|l| vec![Cell::Text(l.clone())])
                    .collect(),
                empty: String::new(),
            }));
        }
    }
    let mut links = vec![("/staff/imports".to_owned(), "取込・抽出へ戻る".to_owned())];
    if job.kind == JobKind::Run && job.state != JobState::Running {
        links.push(("/staff/cases".into(), "対象者一覧".into()));
        links.push(("/staff".into(), "ダッシュボード".into()));
    }
    page.push(Block::Links(links));
    Ok(page.html()?.into_response())
}

fn bytes_text(n: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if n >= MB {
        format!("{:.1} MB", n as f64 / MB as f64)
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

/// Filters of the case list.
#[derive(Deserialize, Default)]
pub struct CaseQuery {
    #[serde(default)]
    programme: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    employer: String,
    #[serde(default)]
    page: Option<i64>,
}

/// GET /staff/cases?programme=&state=&employer=&page=: cases, newest change first.
pub async fn cases(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<CaseQuery>,
) -> WebResult<Response> {
    let actor = who.actor();
    let current = page_number(q.page);
    let programme = ProgrammeCode::ALL
        .into_iter()
        .find(|p| p.letter() == q.programme);
    let case_state = CaseState::ALL.into_iter().find(|s| s.code() == q.state);
    let employer = if q.employer.trim().is_empty() {
        None
    } else {
        Some(
            EmployerCode::parse(q.employer.trim())
                .map_err(|_| WebError::BadRequest("事業所記号が正しくありません。".into()))?,
        )
    };
    let paging = collabo_app::Paging::page(current, PER_PAGE);
    let (rows, total) = state
        .app
        .cases(
            &actor,
            &collabo_app::members::CaseFilter {
                programme,
                state: case_state,
                member: None,
                employer,
                limit: paging.limit,
                offset: paging.offset,
            },
        )
        .await?;
    let employers = state.app.employers(&actor).await?;
    let name_of = |code: &EmployerCode| super::employer_name(&employers, code);
    let mut page = Page::new("対象者一覧", &who);
    let mut programme_field = Field::new("事業", "programme", "select").value(q.programme.clone());
    programme_field.options = std::iter::once((String::new(), "すべて".to_owned()))
        .chain(ProgrammeCode::ALL.into_iter().map(|p| {
            (
                p.letter().to_owned(),
                format!("{} {}", p.letter(), p.label()),
            )
        }))
        .collect();
    let mut state_field = Field::new("状態", "state", "select").value(q.state.clone());
    state_field.options = std::iter::once((String::new(), "すべて".to_owned()))
        .chain(
            CaseState::ALL
                .into_iter()
                .map(|s| (s.code().to_owned(), s.label().to_owned())),
        )
        .collect();
    let mut employer_field = Field::new("事業所", "employer", "select").value(q.employer.clone());
    employer_field.options = std::iter::once((String::new(), "すべて".to_owned()))
        .chain(
            employers
                .iter()
                .map(|e| (e.code.to_string(), e.name.clone())),
        )
        .collect();
    page.push(Block::Form(Form {
        action: "/staff/cases".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![programme_field, state_field, employer_field],
        submit: "絞り込む".into(),
        get: true,
    }));
    let base = format!(
        "/staff/cases?programme={}&state={}&employer={}&",
        query_value(&q.programme),
        query_value(&q.state),
        query_value(&q.employer)
    );
    pager(&mut page, &base, current, total);
    let table_rows = rows
        .iter()
        .map(|c| {
            let key = c.key.member.to_key_string();
            vec![
                Cell::Text(format!(
                    "{} {}",
                    c.key.programme.letter(),
                    c.key.programme.label()
                )),
                Cell::Link(
                    format!("/staff/members/{}", encode_segment(&key)),
                    c.key.member.card(),
                ),
                Cell::Text(name_of(&c.employer)),
                Cell::Text(wareki(c.key.trigger.date())),
                if c.state == CaseState::WaitingForClaims {
                    Cell::Badge(c.state.label().to_owned(), "warn")
                } else {
                    Cell::Text(c.state.label().to_owned())
                },
                Cell::Text(wareki(c.updated_on)),
            ]
        })
        .collect();
    page.push(Block::Table(Table {
        headers: ["事業", "加入者", "事業所", "契機日", "状態", "更新日"]
            .map(String::from)
            .to_vec(),
        rows: table_rows,
        empty: "条件に合う対象者はいません。".into(),
    }));
    Ok(page.html()?.into_response())
}
