//! Society staff pages: dashboard (cases by programme and state, waiting for claims,
//! the 「レセプト取込済」 line), claims completeness per service month with manual
//! close and reopen, review queue, consent register, letter batches (every PDF part,
//! withdrawn and 差止 letters, 発送済 with a 発送日), member pages, reports with charts,
//! CSV export. Every page that shows a person writes an audit record naming them.

use super::{csv_response, encode_segment};
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{
    Bars, Block, Button, Cell, Field, Form, PER_PAGE, Page, Table, page_number, pager, query_value,
    wareki,
};
use axum::Extension;
use axum::extract::{Form as FormData, Path, Query, State};
use axum::response::{IntoResponse, Response};
use collabo_domain::batch::{LetterStatus, MailingConfirmation};
use collabo_domain::case::CaseState;
use collabo_domain::consent::ConsentKind;
use collabo_domain::coverage::{ClaimStream, StreamStatus};
use collabo_domain::ids::MemberKey;
use collabo_domain::member::MemberOrder;
use collabo_domain::programme::{BatchStatus, ProgrammeCode};
use serde::Deserialize;

/// GET /staff.
pub async fn dashboard(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let dash = state.app.dashboard(&who.actor()).await?;
    let counts = &dash.counts;
    let mut page = Page::new("ダッシュボード", &who);
    let sum = |wanted: CaseState| -> i64 {
        counts
            .iter()
            .filter(|((_, s), _)| *s == wanted)
            .map(|(_, n)| n)
            .sum()
    };
    let waiting = sum(CaseState::WaitingForClaims);
    // The month at a glance: every count a link to the list behind it.
    page.push(Block::Links(vec![
        ("/staff/claims".into(), dash.claims.headline()),
        (
            "/staff/imports".into(),
            match dash.last_run {
                Some(at) => format!("前回の抽出: {}", crate::view::wareki_at(at)),
                None => "抽出はまだ実行していません".into(),
            },
        ),
        (
            "/staff/review".into(),
            format!("照合待ち {}件", dash.open_review),
        ),
        (
            "/staff/letters".into(),
            format!("通知待ち {}件", dash.letters_due),
        ),
        (
            format!("/staff/cases?state={}", CaseState::WaitingForClaims.code()),
            format!("レセプト待ち {waiting}件"),
        ),
    ]));
    let pending = dash.claims.pending();
    if !pending.is_empty() {
        page.notice(
            "warn",
            pending
                .iter()
                .map(|(month, missing)| {
                    format!(
                        "{}診療分: {} が未完了（受診判定に使いません）",
                        collabo_domain::calendar::format_wareki_month(*month),
                        ClaimStream::join_labels(missing)
                    )
                })
                .collect(),
        );
    }
    // The latest months, stream by stream and since when (all months: /staff/claims).
    let recent: Vec<_> = dash.claims.table().into_iter().rev().take(4).collect();
    if !recent.is_empty() {
        page.push(Block::Table(claims_table(&recent)));
    }
    page.push(Block::Links(vec![(
        "/staff/claims".into(),
        "レセプト取込状況（すべての診療月・手動確定）".into(),
    )]));
    if waiting > 0 {
        page.notice("warn", vec![format!("{waiting}件は対象月のレセプトが未取込のため、受診判定を保留しています。再勧奨は取込後に判定します。")]);
    }
    page.push(Block::Heading("事業別・状態別の件数".into()));
    let mut rows = Vec::new();
    for ((programme, case_state), n) in counts {
        rows.push(vec![
            Cell::Text(format!("{} {}", programme.letter(), programme.label())),
            if *case_state == CaseState::WaitingForClaims {
                Cell::Badge(case_state.label().to_owned(), "warn")
            } else {
                Cell::Text(case_state.label().to_owned())
            },
            Cell::Link(
                format!(
                    "/staff/cases?programme={}&state={}",
                    programme.letter(),
                    case_state.code()
                ),
                n.to_string(),
            ),
        ]);
    }
    page.push(Block::Table(Table {
        headers: ["事業", "状態", "件数"].map(String::from).to_vec(),
        rows,
        empty: "対象者はまだいません。「取込・抽出」の画面で資格・健診・レセプトを取り込み、抽出を実行してください。".into(),
    }));
    Ok(page.html()?.into_response())
}

/// GET /staff/letters: every batch with its files (one link per PDF part), counts and
/// what was withdrawn; the button to prepare a batch.
pub async fn letters(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let actor = who.actor();
    let mut batches = state.app.batches(&actor).await?;
    if batches
        .iter()
        .any(|b| b.status == BatchStatus::Prepared && b.files_stale)
    {
        // A letter left a batch since its files were written: write them again first,
        // so no link below hands out a withdrawn letter.
        let renderer = state.renderer().await?;
        state.app.refresh_batches(&actor, &renderer).await?;
        batches = state.app.batches(&actor).await?;
    }
    let due = state.app.letters_due_count(&actor).await?;
    let mut page = Page::new("通知バッチ", &who);
    page.push(Block::Facts(vec![("通知待ち".into(), format!("{due}件"))]));
    page.push(Block::Form(Form {
        action: "/staff/letters/prepare".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: Vec::new(),
        submit: "通知待ちから印刷バッチを作成".into(),
        get: false,
    }));
    page.push(Block::Para("バッチのPDFはすべてのファイル（1/2・2/2 …）を印刷してください。発送日の入力と発送済の確認は、バッチ番号から開く画面で行います。".into()));
    let rows = batches
        .iter()
        .map(|b| {
            let id = encode_segment(&b.id);
            let served = b.status != BatchStatus::Cancelled;
            let total = usize::try_from(b.parts).unwrap_or(0);
            let pdfs = if served && total > 0 {
                Cell::Links(
                    (0..total)
                        .map(|i| {
                            (
                                format!("/staff/letters/{id}/pdf?part={i}"),
                                format!("PDF {}/{total}", i + 1),
                            )
                        })
                        .collect(),
                )
            } else {
                Cell::Text("—".into())
            };
            let withdrawn = match (b.removed, b.stopped) {
                (0, 0) => String::new(),
                (r, 0) => format!("取下げ {r}"),
                (0, s) => format!("差止 {s}"),
                (r, s) => format!("取下げ {r}・差止 {s}"),
            };
            vec![
                Cell::Link(format!("/staff/letters/{id}"), b.id.clone()),
                Cell::Text(wareki(b.prepared_on)),
                Cell::Badge(
                    match (b.status, b.mailed_on) {
                        (BatchStatus::Mailed, Some(on)) => format!("発送済（{}）", wareki(on)),
                        (status, _) => status.label().to_owned(),
                    },
                    match b.status {
                        BatchStatus::Mailed => "ok",
                        BatchStatus::Cancelled => "muted",
                        BatchStatus::Prepared => "warn",
                    },
                ),
                Cell::Num(b.envelopes.to_string()),
                Cell::Num(b.active_letters.to_string()),
                Cell::Num(b.pages.to_string()),
                pdfs,
                if served {
                    Cell::Link(
                        format!("/staff/letters/{id}/csv"),
                        "発送リスト（委託先用）".into(),
                    )
                } else {
                    Cell::Text("—".into())
                },
                if withdrawn.is_empty() {
                    Cell::Text(String::new())
                } else {
                    Cell::Badge(withdrawn, "error")
                },
            ]
        })
        .collect();
    page.push(Block::Table(Table {
        headers: [
            "バッチ",
            "作成日",
            "状態",
            "封筒",
            "通知",
            "頁",
            "印刷（PDF）",
            "発送リスト",
            "取下げ・差止",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        empty: "バッチはまだありません。".into(),
    }));
    Ok(page.html()?.into_response())
}

/// POST /staff/letters/prepare: one batch of every notice due (collabo_app::letters).
pub async fn prepare_batch(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let renderer = state.renderer().await?;
    let prepared = state
        .app
        .prepare_letters(&who.actor(), &renderer, &state.config.batches_dir)
        .await?;
    let mut page = Page::new("通知バッチ", &who);
    match prepared {
        None => page.notice(
            "warn",
            vec!["通知待ちがないため、バッチは作成しませんでした。".into()],
        ),
        Some(b) => {
            let mut lines = vec![format!(
                "バッチ {} を作成しました（{}通・封筒{}通・{}頁・PDF {}ファイル）。すべてのPDFを印刷・封入し、発送後にバッチの画面で発送日を入れて「発送済にする」を押してください。",
                b.id,
                b.letters,
                b.envelopes,
                b.pages,
                b.parts.len()
            )];
            if b.unmailable > 0 {
                lines.push(format!(
                    "住所が不完全な {}件は照合待ちに回しました。",
                    b.unmailable
                ));
            }
            page.notice("ok", lines);
            let id = encode_segment(&b.id);
            let total = b.parts.len();
            let mut links: Vec<(String, String)> = (0..total)
                .map(|i| {
                    (
                        format!("/staff/letters/{id}/pdf?part={i}"),
                        format!("PDF {}/{total}", i + 1),
                    )
                })
                .collect();
            links.push((
                format!("/staff/letters/{id}"),
                format!("バッチ {} の内容と発送", b.id),
            ));
            links.push(("/staff/letters".into(), "通知バッチ一覧へ".into()));
            page.push(Block::Links(links))
        }
    };
    Ok(page.html()?.into_response())
}

/// GET /staff/letters/{id}: the batch's files, counts and withdrawn letters, and the
/// 発送済 confirmation (発送日, naming the parts and the number of envelopes).
pub async fn batch_page(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let actor = who.actor();
    let renderer = state.renderer().await?;
    let view = state.app.batch_view(&actor, &renderer, &id).await?;
    let b = &view.batch;
    let mut page = Page::new(&format!("通知バッチ {}", b.id), &who);
    let status = match (b.status, b.mailed_on, b.cancelled_on) {
        (BatchStatus::Mailed, Some(on), _) => format!("発送済（発送日 {}）", wareki(on)),
        (BatchStatus::Cancelled, _, Some(on)) => format!("取消（{}）", wareki(on)),
        (status, _, _) => status.label().to_owned(),
    };
    page.push(Block::Facts(vec![
        ("状態".into(), status),
        ("作成日".into(), wareki(b.prepared_on)),
        (
            "発送する封筒".into(),
            format!("{}通（通知 {}件）", b.envelopes, b.active_letters),
        ),
        ("頁数".into(), format!("{}頁", b.pages)),
        ("PDF".into(), format!("{}ファイル", view.parts.len())),
    ]));
    let id_seg = encode_segment(&b.id);
    let total = view.parts.len();
    let mut links: Vec<(String, String)> = view
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            (
                format!("/staff/letters/{id_seg}/pdf?part={i}"),
                format!("PDF {}/{total}（{}）", i + 1, part.name),
            )
        })
        .collect();
    if view.csv.is_some() {
        links.push((
            format!("/staff/letters/{id_seg}/csv"),
            "発送リスト（委託先用）".into(),
        ));
    }
    if !links.is_empty() {
        page.push(Block::Links(links));
    }
    if !view.withdrawn.is_empty() {
        let stopped = view
            .withdrawn
            .iter()
            .filter(|w| w.letter.status == LetterStatus::Stopped)
            .count();
        let mut lines = vec![format!(
            "このバッチから{}通を取り下げました。",
            view.withdrawn.len()
        )];
        if stopped > 0 {
            lines.push(format!("差止 {stopped}通は印刷済みのPDFに含まれています。下の整理番号の封筒は発送しないでください。"));
        }
        page.notice("error", lines);
        page.push(Block::Heading("取下げ・差止".into()));
        page.push(Block::Table(Table {
            headers: [
                "整理番号",
                "氏名",
                "通知",
                "状態",
                "理由",
                "ファイル",
                "開始頁",
            ]
            .map(String::from)
            .to_vec(),
            rows: view
                .withdrawn
                .iter()
                .map(|w| {
                    let l = &w.letter;
                    vec![
                        Cell::Text(w.reference.clone()),
                        Cell::Text(l.member.name_kanji.clone()),
                        Cell::Text(l.kind.title().to_owned()),
                        Cell::Badge(
                            l.status.label().to_owned(),
                            if l.status == LetterStatus::Stopped {
                                "error"
                            } else {
                                "muted"
                            },
                        ),
                        Cell::Text(
                            l.withdrawn_reason
                                .map(|r| r.label().to_owned())
                                .unwrap_or_default(),
                        ),
                        Cell::Text(if l.status == LetterStatus::Stopped {
                            w.part_name.clone()
                        } else {
                            "（PDFから除外済）".into()
                        }),
                        Cell::Num(if l.status == LetterStatus::Stopped {
                            l.first_page.to_string()
                        } else {
                            String::new()
                        }),
                    ]
                })
                .collect(),
            empty: String::new(),
        }));
    }
    if b.status == BatchStatus::Prepared {
        let shown = view.confirmation();
        let names: Vec<String> = (1..=total).map(|i| format!("{i}/{total}")).collect();
        let question = format!(
            "PDF {}ファイル（{}）の封筒{}通{}を発送済にします。発送日から受診確認の期間が始まります。よろしいですか？",
            total,
            names.join("・"),
            shown.envelopes,
            if shown.stopped > 0 {
                format!("（差止 {}通を除く）", shown.stopped)
            } else {
                String::new()
            }
        );
        page.push(Block::Heading("発送".into()));
        page.push(Block::Para(format!(
            "PDF {}ファイル（{}）をすべて印刷・封入し、封筒{}通を発送したら、発送日を入れて発送済にしてください。",
            total,
            names.join("・"),
            shown.envelopes
        )));
        page.push(Block::Action(Button {
            action: format!("/staff/letters/{id_seg}/mailed"),
            label: "発送済にする".into(),
            csrf: who.csrf().into(),
            fields: vec![
                Field::new("発送日", "on", "date").value(state.today().to_string()),
                Field::hidden("envelopes", shown.envelopes.to_string()),
                Field::hidden("parts", shown.parts.to_string()),
                Field::hidden("stopped", shown.stopped.to_string()),
            ],
            confirm: question,
        }));
        page.push(Block::Action(Button {
            action: format!("/staff/letters/{id_seg}/cancel"),
            label: "このバッチを取り消す".into(),
            csrf: who.csrf().into(),
            fields: Vec::new(),
            confirm: "このバッチを取り消しますか？通知は再び通知待ちに戻り、PDFと発送リストは削除されます。".into(),
        }));
    }
    page.push(Block::Links(vec![(
        "/staff/letters".into(),
        "通知バッチ一覧へ".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// The 発送済 form: the 発送日 and what the page showed.
#[derive(Deserialize)]
pub struct MailedForm {
    on: String,
    envelopes: u64,
    parts: u64,
    stopped: u64,
}

/// POST /staff/letters/{id}/mailed.
pub async fn batch_mailed(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    FormData(form): FormData<MailedForm>,
) -> WebResult<Response> {
    let actor = who.actor();
    let on = collabo_app::parse_date(&form.on)
        .map_err(|m| WebError::BadRequest(format!("発送日: {m}")))?;
    state
        .app
        .mark_mailed(
            &actor,
            &id,
            on,
            MailingConfirmation {
                envelopes: form.envelopes,
                parts: form.parts,
                stopped: form.stopped,
            },
        )
        .await?;
    Ok(
        axum::response::Redirect::to(&format!("/staff/letters/{}", encode_segment(&id)))
            .into_response(),
    )
}

/// POST /staff/letters/{id}/cancel.
pub async fn batch_cancel(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> WebResult<Response> {
    state.app.cancel_batch(&who.actor(), &id).await?;
    Ok(axum::response::Redirect::to("/staff/letters").into_response())
}

/// Which part of a batch to download.
#[derive(Deserialize)]
pub struct PartQuery {
    #[serde(default)]
    part: usize,
}

async fn download(
    file: &collabo_app::letters::BatchFile,
    content_type: &str,
) -> WebResult<Response> {
    let bytes = tokio::fs::read(&file.path)
        .await
        .map_err(|e| WebError::Internal(format!("{}: {e}", file.path.display())))?;
    Ok(super::download_response(&file.name, content_type, bytes))
}

/// GET /staff/letters/{id}/pdf?part=N (0-based), named `B20250716-01_通知_1of2.pdf`.
pub async fn batch_pdf(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<PartQuery>,
) -> WebResult<Response> {
    let renderer = state.renderer().await?;
    let file = state
        .app
        .download_batch_part(&who.actor(), &renderer, &id, q.part)
        .await?;
    download(&file, "application/pdf").await
}

/// GET /staff/letters/{id}/csv: the mailing list for the print and mail vendor.
pub async fn batch_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let renderer = state.renderer().await?;
    let file = state
        .app
        .download_mailing_list(&who.actor(), &renderer, &id)
        .await?;
    download(&file, "text/csv; charset=utf-8").await
}

/// GET /staff/claims: which claims streams are in for each service month, since when,
/// and the forms to close a stream by hand (no claims of it that month) or reopen it.
pub async fn claims(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let ledger = state.app.claims_ledger(&who.actor()).await?;
    let mut page = Page::new("レセプト取込状況", &who);
    page.push(Block::Para(ledger.headline()));
    page.push(Block::Para(format!(
        "診療月ごとに、受け取る請求の種類（{}）がすべて揃った月だけを受診判定に使います。分割ファイルは最終巻まで、月遅れ分だけのファイルはその月を揃えません。その月に請求がなかった種類は、理由を入れて手動で確定できます。",
        ClaimStream::join_labels(&ledger.expected)
    )));
    let months: Vec<_> = ledger.table().into_iter().rev().collect();
    page.push(Block::Table(claims_table(&months)));
    let options: Vec<(String, String)> = ledger
        .expected
        .iter()
        .map(|s| (s.code().to_owned(), s.label().to_owned()))
        .collect();
    let stream_field = |label: &str| {
        let mut f = Field::new(label, "stream", "select");
        f.options = options.clone();
        f
    };
    for (action, heading, submit) in [
        ("close", "請求なしとして手動で確定する", "確定する"),
        ("reopen", "手動の確定を取り消す", "取り消す"),
    ] {
        page.push(Block::Heading(heading.into()));
        page.push(Block::Form(Form {
            action: format!("/staff/claims/{action}"),
            multipart: false,
            csrf: who.csrf().into(),
            fields: vec![
                Field::new("診療月（YYYY-MM）", "month", "text"),
                stream_field("請求の種類"),
                Field::new("理由", "reason", "text").hint("監査ログに残ります。"),
            ],
            submit: submit.into(),
            get: false,
        }));
    }
    Ok(page.html()?.into_response())
}

/// Months × streams: each stream's status and since when, and whether the month counts.
fn claims_table(months: &[collabo_domain::coverage::MonthCoverage]) -> Table {
    let streams: Vec<ClaimStream> = ClaimStream::ALL.into_iter().collect();
    let rows = months
        .iter()
        .map(|m| {
            let mut row = vec![Cell::Text(format!(
                "{}（{}）",
                collabo_domain::calendar::format_wareki_month(m.month),
                m.month
            ))];
            for s in &streams {
                row.push(match m.streams.get(s) {
                    None => Cell::Text("（対象外）".into()),
                    Some(status) => {
                        let text = match status.since() {
                            Some(on) => format!("{}（{}）", status.label(), wareki(on)),
                            None => status.label(),
                        };
                        let kind = match status {
                            StreamStatus::Arrived { .. } => "ok",
                            StreamStatus::ClosedByHand { .. } => "muted",
                            _ => "warn",
                        };
                        Cell::Badge(text, kind)
                    }
                });
            }
            row.push(if m.complete {
                Cell::Badge("完了".into(), "ok")
            } else {
                Cell::Badge("未完了".into(), "warn")
            });
            row
        })
        .collect();
    let mut headers = vec!["診療月".to_owned()];
    headers.extend(streams.iter().map(|s| s.label().to_owned()));
    headers.push("判定に使用".into());
    Table {
        headers,
        rows,
        empty: "レセプトはまだ取り込まれていません。".into(),
    }
}

/// The close / reopen form.
#[derive(Deserialize)]
pub struct MonthForm {
    month: String,
    stream: String,
    reason: String,
}

async fn month_action(
    state: &AppState,
    who: &Identity,
    form: &MonthForm,
    close: bool,
) -> WebResult<Response> {
    let month = collabo_domain::calendar::YearMonth::parse(form.month.trim())
        .map_err(|_| WebError::BadRequest("診療月は YYYY-MM で入力してください。".into()))?;
    let stream = ClaimStream::parse(&form.stream)
        .ok_or_else(|| WebError::BadRequest("請求の種類が正しくありません。".into()))?;
    let actor = who.actor();
    if close {
        state
            .app
            .close_claims_month(&actor, stream, month, &form.reason)
            .await?;
    } else {
        state
            .app
            .reopen_claims_month(&actor, stream, month, &form.reason)
            .await?;
    }
    Ok(axum::response::Redirect::to("/staff/claims").into_response())
}

/// POST /staff/claims/close.
pub async fn claims_close(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<MonthForm>,
) -> WebResult<Response> {
    month_action(&state, &who, &form, true).await
}

/// POST /staff/claims/reopen.
pub async fn claims_reopen(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<MonthForm>,
) -> WebResult<Response> {
    month_action(&state, &who, &form, false).await
}

/// Member search query.
#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    page: Option<i64>,
}

/// The 並び順 select of the member search.
fn order_field(order: MemberOrder) -> Field {
    let mut field = Field::new("並び順", "order", "select").value(order.code());
    field.options = MemberOrder::ALL
        .into_iter()
        .map(|o| (o.code().to_owned(), o.label().to_owned()))
        .collect();
    field
}

/// GET /staff/members?q=&order=&page=.
pub async fn member_search(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<SearchQuery>,
) -> WebResult<Response> {
    let order = MemberOrder::from_code(&q.order);
    let mut page = Page::new("加入者検索", &who);
    page.push(Block::Form(Form {
        action: "/staff/members".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![
            Field::new("氏名・カナ・記号-番号", "q", "text").value(q.q.clone()),
            order_field(order),
        ],
        submit: "検索".into(),
        get: true,
    }));
    if q.q.trim().chars().count() >= 2 {
        let current = page_number(q.page);
        let (found, total) = state
            .app
            .search_members_ordered(
                &who.actor(),
                &q.q,
                order,
                collabo_app::Paging::page(current, PER_PAGE),
            )
            .await?;
        let employers = state.app.employers(&who.actor()).await?;
        pager(
            &mut page,
            &format!(
                "/staff/members?q={}&order={}&",
                query_value(&q.q),
                order.code()
            ),
            current,
            total,
        );
        let rows = found
            .iter()
            .map(|m| {
                let key = m.key.to_key_string();
                vec![
                    Cell::Link(
                        format!("/staff/members/{}", encode_segment(&key)),
                        m.name_kanji.clone(),
                    ),
                    Cell::Text(m.name_kana.clone()),
                    Cell::Text(m.key.card()),
                    Cell::Text(wareki(m.birth_date)),
                    Cell::Text(super::employer_name(&employers, &m.employer)),
                ]
            })
            .collect();
        page.push(Block::Links(vec![
            (
                format!(
                    "/staff/members/export.csv?q={}&order={}",
                    query_value(&q.q),
                    order.code()
                ),
                "検索結果をCSVで保存".into(),
            ),
            (
                format!(
                    "/staff/members/export.xlsx?q={}&order={}",
                    query_value(&q.q),
                    order.code()
                ),
                "Excelで保存".into(),
            ),
        ]));
        page.push(Block::Table(Table {
            headers: ["氏名", "カナ", "記号-番号-枝番", "生年月日", "事業所"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: "該当する加入者はいません。".into(),
        }));
    } else if !q.q.is_empty() {
        page.notice("warn", vec!["2文字以上で検索してください。".into()]);
    }
    Ok(page.html()?.into_response())
}

/// GET /staff/members/export.csv?q=: every member the search finds, as CSV.
pub async fn member_search_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<SearchQuery>,
) -> WebResult<Response> {
    member_search_export(&state, &who, &q, false).await
}

/// GET /staff/members/export.xlsx?q=: the same as an Excel sheet.
pub async fn member_search_xlsx(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<SearchQuery>,
) -> WebResult<Response> {
    member_search_export(&state, &who, &q, true).await
}

async fn member_search_export(
    state: &AppState,
    who: &Identity,
    q: &SearchQuery,
    xlsx: bool,
) -> WebResult<Response> {
    let actor = who.actor();
    let (found, _) = state
        .app
        .search_members_ordered(
            &actor,
            &q.q,
            MemberOrder::from_code(&q.order),
            collabo_app::Paging::all(),
        )
        .await?;
    let employers = state.app.employers(&actor).await?;
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|m| {
            vec![
                m.key.card(),
                m.name_kanji.clone(),
                m.name_kana.clone(),
                m.birth_date.to_string(),
                m.relationship.label().to_owned(),
                super::employer_name(&employers, &m.employer),
            ]
        })
        .collect();
    super::table_download(
        xlsx,
        "加入者検索",
        &[
            "記号-番号-枝番",
            "氏名",
            "カナ",
            "生年月日",
            "本人・家族",
            "事業所",
        ],
        &rows,
    )
}

/// GET /staff/members/{member}.
pub async fn member_page(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(key): Path<String>,
) -> WebResult<Response> {
    let key = MemberKey::parse_key_string(&key).map_err(|_| WebError::NotFound)?;
    let actor = who.actor();
    let view = state.app.member_page(&actor, &key).await?;
    let member = &view.member;
    let employer_name = state
        .app
        .employers(&actor)
        .await?
        .into_iter()
        .find(|e| e.code == member.employer)
        .map_or_else(|| member.employer.to_string(), |e| e.name);
    let mut page = Page::new(&format!("{}（{}）", member.label(), member.name_kana), &who);
    // The person's standing decision first: an opt-out in force is the first thing
    // staff must see.
    let records: Vec<_> = view.consents.iter().map(|c| c.record.clone()).collect();
    let refused = collabo_domain::consent::refused_programmes(&records, state.today());
    if !refused.is_empty() {
        let which: Vec<String> = refused
            .iter()
            .map(|(p, since)| format!("{} {}（{}から）", p.letter(), p.label(), wareki(*since)))
            .collect();
        page.notice(
            "error",
            vec![
                "データ共有停止中".into(),
                format!("本人の申出により停止: {}", which.join("、")),
            ],
        );
    }
    page.push(Block::Facts(vec![
        ("記号-番号-枝番".into(), member.key.card()),
        ("保険者番号".into(), member.key.insurer.to_string()),
        ("本人・家族".into(), member.relationship.label().into()),
        ("性別".into(), member.sex.label().into()),
        ("生年月日".into(), wareki(member.birth_date)),
        (
            "住所".into(),
            format!(
                "{} {} {}",
                member.address.postal_code_display(),
                member.address.line1,
                member.address.line2
            ),
        ),
        (
            "事業所".into(),
            format!("{employer_name}（{}）", member.employer),
        ),
        (
            "資格".into(),
            format!(
                "{}取得{}",
                wareki(member.qualified_from),
                member
                    .qualified_until
                    .map_or_else(String::new, |d| format!("・{}喪失", wareki(d)))
            ),
        ),
    ]));
    page.push(Block::Links(vec![(
        format!(
            "/staff/consents?member={}",
            query_value(&key.to_key_string())
        ),
        "同意・停止を登録".into(),
    )]));
    page.push(Block::Heading("案件と経過".into()));
    for (row, case) in &view.cases {
        page.push(Block::Para(format!(
            "{} {} ／ 契機 {} ／ 状態 {}",
            row.key.programme.letter(),
            row.key.programme.label(),
            wareki(row.key.trigger.date()),
            row.state.label()
        )));
        page.push(Block::Table(Table {
            headers: ["日付", "経過"].map(String::from).to_vec(),
            rows: case
                .events
                .iter()
                .map(|e| vec![Cell::Text(wareki(e.on)), Cell::Text(event_label(&e.event))])
                .collect(),
            empty: String::new(),
        }));
    }
    if view.cases.is_empty() {
        page.push(Block::Para("案件はありません。".into()));
    }
    page.push(Block::Heading("同意・停止の記録".into()));
    page.push(Block::Table(Table {
        headers: ["内容", "範囲", "効力発生日", "受付方法", "登録者"]
            .map(String::from)
            .to_vec(),
        rows: view
            .consents
            .iter()
            .map(|c| {
                let r = &c.record;
                vec![
                    Cell::Text(match r.kind {
                        ConsentKind::OptOut => "停止".into(),
                        ConsentKind::OptIn => "同意".into(),
                    }),
                    Cell::Text(r.scope.label()),
                    Cell::Text(wareki(r.effective)),
                    Cell::Text(r.channel.label().to_owned()),
                    Cell::Text(r.recorded_by.clone()),
                ]
            })
            .collect(),
        empty: "記録はありません。".into(),
    }));
    Ok(page.html()?.into_response())
}

fn event_label(event: &collabo_domain::case::CaseEvent) -> String {
    use collabo_domain::case::CaseEvent::*;
    match event {
        Identified {
            late,
            warnings,
            priority,
            ..
        } => {
            let mut label = if *late {
                "抽出（期限後の提出）".to_owned()
            } else {
                "抽出".to_owned()
            };
            if *priority {
                label.push_str("［優先: 腎機能］");
            }
            // C: a referral that does not fit the person is kept and flagged (issue 12).
            for w in warnings {
                label.push_str(&format!("［要確認: {}］", w.label()));
            }
            label
        }
        Excluded(reason) => format!("対象外: {}", reason.label()),
        NoticeDue(kind) => format!("通知待ち: {}", kind.title()),
        NoticePrepared { batch } => format!("印刷バッチ {batch} に追加"),
        NoticeMailed => "通知を発送".into(),
        VariantAssigned(v) => format!("通知文案 {}（無作為に割付）", v.code()),
        BatchCancelled { batch } => format!("バッチ {batch} を取消"),
        WaitingForClaims { missing, .. } => {
            format!("レセプト待ち（{}か月分が未取込）", missing.len())
        }
        VisitFound { late_claim, .. } => {
            if *late_claim {
                "受診を確認（月遅れ請求）".into()
            } else {
                "受診を確認".into()
            }
        }
        NoVisitFound { .. } => "受診なし（対象期間のレセプト取込済み）".into(),
        RenoticeDue(kind) => format!("再勧奨待ち: {}", kind.title()),
        LetterWithdrawn {
            letter,
            batch,
            reason,
        } => match batch {
            Some(b) => format!(
                "{} を取下げ（{}）: 印刷バッチ {b} から除外",
                letter.title(),
                reason.label()
            ),
            None => format!("{} を取下げ（{}）", letter.title(), reason.label()),
        },
        MailedBeforeEvidence { letter, mailed_on } => format!(
            "{} は{}に発送済みでした（その後に受診の記録が届いたため、結果を受診に訂正）",
            letter.title(),
            wareki(*mailed_on)
        ),
        TreatmentInterrupted { .. } => event.label_ja(),
        Closed(outcome) => format!("終了: {}", outcome.label()),
    }
}

/// The 年度 of a report page or export (`?fy=2025`).
#[derive(Deserialize, Default)]
pub struct YearQuery {
    /// 年度 (西暦); absent: last fiscal year.
    pub fy: Option<i16>,
}

/// The cohort asked for, or last fiscal year (the latest whose people can have had a
/// next checkup).
fn cohort(state: &AppState, q: &YearQuery) -> collabo_domain::calendar::FiscalYear {
    let this = collabo_domain::calendar::FiscalYear::of(state.today()).year();
    collabo_domain::calendar::FiscalYear::new(q.fy.unwrap_or(this - 1).clamp(2000, this))
}

/// GET /staff/reports: the year's funnel, year-on-year columns, and the effect report
/// of the chosen 年度 with rate charts on a fixed 0–100 % axis.
pub async fn reports(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let actor = who.actor();
    let fy = cohort(&state, &q);
    let this = collabo_domain::calendar::FiscalYear::of(state.today()).year();
    let years: Vec<i16> = (fy.year().min(this - 2)..=this).collect();
    let mut page = Page::new("実績レポート", &who);
    let options: Vec<(String, String)> = (2020..=this)
        .rev()
        .map(|y| (y.to_string(), format!("{y}年度（令和{}年度）", y - 2018)))
        .collect();
    let mut select = Field::new("年度", "fy", "select").value(fy.year().to_string());
    select.options = options;
    page.push(Block::Form(Form {
        action: "/staff/reports".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![select],
        submit: "表示".into(),
        get: true,
    }));
    let figures = state
        .app
        .programme_figures(&actor, Some(i64::from(fy.year())))
        .await?;
    page.push(Block::Heading(format!(
        "{}年度（令和{}年度）の件数",
        fy.year(),
        fy.year() - 2018
    )));
    page.push(Block::Para("R（リスク保有者の共有）は事業所への共有だけの事業で、受診の追跡はありません。S は通知だけで受診の判定はなく、効果は次回健診の禁煙で測ります（下の効果測定）。".into()));
    page.push(Block::Table(Table {
        headers: [
            "事業",
            "抽出",
            "対象外",
            "通知",
            "受診",
            "未受診",
            "再勧奨",
            "レセプト待ち",
            "停止（申出）",
            "期限後提出",
        ]
        .map(String::from)
        .to_vec(),
        rows: figures
            .iter()
            .map(|(p, f)| {
                let mut row = vec![Cell::Text(format!("{} {}", p.letter(), p.label()))];
                let follow_up = matches!(p, ProgrammeCode::D | ProgrammeCode::C);
                row.extend(
                    [
                        Some(f.identified),
                        Some(f.excluded),
                        (*p != ProgrammeCode::R || f.notified > 0).then_some(f.notified),
                        follow_up.then_some(f.visited),
                        follow_up.then_some(f.not_visited),
                        follow_up.then_some(f.renotified),
                        follow_up.then_some(f.waiting_for_claims),
                        Some(f.stopped_opt_out),
                        (*p == ProgrammeCode::C).then_some(f.late_referrals),
                    ]
                    .into_iter()
                    .map(|n| Cell::Num(n.map_or_else(|| "—".to_owned(), |n| n.to_string()))),
                );
                row
            })
            .collect(),
        empty: String::new(),
    }));
    // D and C decide 受診 from claims: their rate over decided cases, with interval.
    let rates: Vec<(String, Option<collabo_domain::effects::Rate>)> = figures
        .iter()
        .filter(|(p, _)| matches!(p, ProgrammeCode::D | ProgrammeCode::C))
        .map(|(p, f)| {
            (
                format!("{} {}", p.letter(), p.label()),
                collabo_domain::effects::rate(
                    f.visited.max(0) as u64,
                    (f.visited + f.not_visited).max(0) as u64,
                ),
            )
        })
        .collect();
    page.push(Block::Bars(Bars::rates(
        "受診率（受診 ÷ 判定済み、判定待ちは除く）",
        &rates,
    )));

    // Year on year: the same figures for each 年度.
    let mut by_year = Vec::new();
    for y in &years {
        by_year.push((
            *y,
            state
                .app
                .programme_figures(&actor, Some(i64::from(*y)))
                .await?,
        ));
    }
    page.push(Block::Heading("年度別の推移".into()));
    let mut headers = vec!["事業".to_owned()];
    for (y, _) in &by_year {
        headers.push(format!("{y} 通知"));
        headers.push(format!("{y} 受診率"));
    }
    page.push(Block::Table(Table {
        headers,
        rows: ProgrammeCode::ALL
            .into_iter()
            .map(|p| {
                let mut row = vec![Cell::Text(format!("{} {}", p.letter(), p.label()))];
                for (_, f) in &by_year {
                    let f = f.get(&p).cloned().unwrap_or_default();
                    row.push(Cell::Num(f.notified.to_string()));
                    let decided = f.visited + f.not_visited;
                    row.push(Cell::Num(
                        if matches!(p, ProgrammeCode::D | ProgrammeCode::C) && decided > 0 {
                            format!("{:.1}%", 100.0 * f.visited as f64 / decided as f64)
                        } else {
                            "—".to_owned()
                        },
                    ));
                }
                row
            })
            .collect(),
        empty: String::new(),
    }));

    // What the programmes achieved for this year's people.
    let report = state.app.effect_report(&actor, fy).await?;
    page.push(Block::Heading(format!(
        "効果測定：{}年度に抽出した人（次回健診とレセプトで追跡）",
        fy.year()
    )));
    let mut effect_rates = vec![
        ("S 次回健診で禁煙".to_owned(), report.smoking.quit),
        ("D 通知後6か月以内の受診".to_owned(), report.diabetes.visit),
        ("D 次回 HbA1c 7.0 未満".to_owned(), report.diabetes.below_7),
        (
            "D 次回 HbA1c 6.5 未満".to_owned(),
            report.diabetes.below_6_5,
        ),
        (
            "D 1年後も未治療".to_owned(),
            report.diabetes.untreated_after_year,
        ),
    ];
    for c in &report.cancer {
        effect_rates.push((format!("C {} 初回通知後", c.label), c.after_notice));
        effect_rates.push((format!("C {} 再勧奨後", c.label), c.after_renotice));
    }
    page.push(Block::Bars(Bars::rates("効果（率）", &effect_rates)));
    let mean = |e: &Option<collabo_domain::effects::Estimate>| {
        e.map_or_else(
            || "—".to_owned(),
            |e| format!("{:+.2}（{:+.2} 〜 {:+.2}）", e.value, e.low, e.high),
        )
    };
    let d = &report.diabetes;
    let mut facts = vec![
        (
            "S 禁煙治療（レセプト）".to_owned(),
            if report.smoking.cessation_measured {
                "集計あり".to_owned()
            } else {
                "未集計（禁煙治療のレセプト区分がまだありません）".to_owned()
            },
        ),
        (
            "D HbA1c 変化（判定済みの通知者）".to_owned(),
            format!(
                "{}　{}人",
                mean(&d.hba1c_change),
                d.hba1c_people.0 + d.hba1c_people.1
            ),
        ),
        (
            "D HbA1c 変化 受診した人 / しなかった人".to_owned(),
            format!(
                "{}（{}人） / {}（{}人）",
                mean(&d.hba1c_change_visited),
                d.hba1c_people.0,
                mean(&d.hba1c_change_not_visited),
                d.hba1c_people.1
            ),
        ),
    ];
    facts.push((
        format!("D 通知の効果（回帰不連続、HbA1c {:.1}）", d.rd_threshold),
        match &d.discontinuity {
            Some(rd) => format!(
                "受診割合 {:+.1} ポイント（{:+.1} 〜 {:+.1}）、帯域幅 {:.2}、閾値未満 {}人・以上 {}人",
                100.0 * rd.effect.value,
                100.0 * rd.effect.low,
                100.0 * rd.effect.high,
                rd.bandwidth,
                rd.n_below,
                rd.n_above
            ),
            None => format!("推定できません（閾値付近 {}人）", d.rd_people),
        },
    ));
    page.push(Block::Facts(facts));
    page.push(Block::Links(vec![
        (
            format!("/staff/reports/effects.csv?fy={}", fy.year()),
            "効果測定をCSVでダウンロード".into(),
        ),
        (
            format!("/staff/reports/effects.xlsx?fy={}", fy.year()),
            "効果測定をExcel（XLSX）でダウンロード".into(),
        ),
        (
            format!("/staff/reports/effects.pdf?fy={}", fy.year()),
            "組合会用の効果測定報告（PDF）".into(),
        ),
    ]));
    for a in collabo_domain::effect_report::ASSUMPTIONS {
        page.push(Block::Para((*a).to_owned()));
    }
    page.push(Block::Heading("事業所別の案件数".into()));
    let employers = state.app.employers(&actor).await?;
    let by_employer = state.app.cases_by_employer(&actor).await?;
    let rows = employers
        .iter()
        .map(|e| {
            let mine = by_employer.get(e.code.as_str());
            let mut row = vec![Cell::Text(e.code.to_string()), Cell::Text(e.name.clone())];
            row.extend(ProgrammeCode::ALL.into_iter().map(|p| {
                Cell::Num(
                    mine.and_then(|m| m.get(&p))
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                )
            }));
            row
        })
        .collect();
    page.push(Block::Table(Table {
        headers: [
            "事業所記号",
            "事業所名",
            "R 案件",
            "S 案件",
            "D 案件",
            "C 案件",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        empty: "事業所が登録されていません。".into(),
    }));
    page.push(Block::Heading("事業所集計の公表".into()));
    page.push(Block::Para("事業所向けの集計（少数秘匿つき）を年度ごとに公表します。事業所には公表した内容だけが、次の公表まで変わらずに表示されます。".into()));
    page.push(Block::Form(Form {
        action: "/staff/aggregates/publish".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: vec![
            Field::new("年度（西暦）", "fy", "number").value(
                collabo_domain::calendar::FiscalYear::of(state.today())
                    .year()
                    .to_string(),
            ),
        ],
        submit: "この年度の集計を公表".into(),
        get: false,
    }));
    page.push(Block::Links(vec![
        (
            "/staff/exports/cases.csv".into(),
            "案件一覧をCSVでダウンロード".into(),
        ),
        ("/staff/exports/cases.xlsx".into(), "Excel（xlsx）".into()),
    ]));
    Ok(page.html()?.into_response())
}

/// GET /staff/exports/cases.csv.
pub async fn cases_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    cases_export(&state, &who, false).await
}

/// GET /staff/exports/cases.xlsx.
pub async fn cases_xlsx(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    cases_export(&state, &who, true).await
}

async fn cases_export(state: &AppState, who: &Identity, xlsx: bool) -> WebResult<Response> {
    let cases = state.app.export_cases(&who.actor()).await?;
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            vec![
                c.key.programme.letter().to_owned(),
                c.key.member.to_key_string(),
                c.employer.to_string(),
                c.key.trigger.date().to_string(),
                c.state.label().to_owned(),
                c.opened_on.to_string(),
                c.updated_on.to_string(),
            ]
        })
        .collect();
    super::table_download(
        xlsx,
        "cases",
        &[
            "事業",
            "加入者",
            "事業所",
            "契機日",
            "状態",
            "開始日",
            "更新日",
        ],
        &rows,
    )
}

/// The publish form.
#[derive(Deserialize)]
pub struct PublishForm {
    fy: i16,
}

/// POST /staff/aggregates/publish.
pub async fn publish_aggregates(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<PublishForm>,
) -> WebResult<Response> {
    let fy = collabo_domain::calendar::FiscalYear::new(form.fy);
    let n = state.app.publish_aggregates(&who.actor(), fy).await?;
    let mut page = Page::new("事業所集計を公表しました", &who);
    page.notice(
        "ok",
        vec![format!(
            "{}の集計を{}事業所について公表しました。",
            crate::view::nendo(fy),
            n
        )],
    );
    page.push(Block::Links(vec![(
        "/staff/reports".into(),
        "実績レポートへ".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// GET /staff/reports/effects.csv: every figure of the effect report, one per row.
pub async fn effects_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let fy = cohort(&state, &q);
    let report = state.app.effect_report(&who.actor(), fy).await?;
    let io = |e: collabo_export::ExportError| WebError::Internal(e.to_string());
    let mut w = collabo_export::CsvWriter::with_bom(collabo_export::LineEnd::Crlf);
    w.write_row(collabo_app::reports::EFFECT_COLUMNS)
        .map_err(io)?;
    let num = |x: Option<f64>| x.map_or_else(String::new, |x| format!("{x:.4}"));
    let count = |x: Option<u64>| x.map_or_else(String::new, |x| x.to_string());
    for r in collabo_app::reports::effect_rows(&report) {
        w.write_row([
            fy.year().to_string(),
            r.section,
            r.indicator,
            r.kind.to_owned(),
            num(r.value),
            num(r.low),
            num(r.high),
            count(r.k),
            count(r.n),
        ])
        .map_err(io)?;
    }
    let body = w.finish().map_err(io)?;
    Ok(csv_response(&format!("effects_{}.csv", fy.year()), body))
}

/// GET /staff/reports/effects.xlsx: the same rows as the CSV, numbers as numbers.
pub async fn effects_xlsx(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    use collabo_export::XlsxCell;
    let fy = cohort(&state, &q);
    let report = state.app.effect_report(&who.actor(), fy).await?;
    let num = |x: Option<f64>| x.map_or(XlsxCell::Empty, XlsxCell::Number);
    let rows: Vec<Vec<XlsxCell>> = collabo_app::reports::effect_rows(&report)
        .into_iter()
        .map(|r| {
            vec![
                XlsxCell::Number(f64::from(fy.year())),
                XlsxCell::Text(r.section),
                XlsxCell::Text(r.indicator),
                XlsxCell::Text(r.kind.to_owned()),
                num(r.value),
                num(r.low),
                num(r.high),
                num(r.k.map(|k| k as f64)),
                num(r.n.map(|n| n as f64)),
            ]
        })
        .collect();
    let bytes =
        collabo_export::xlsx_table("効果測定", &collabo_app::reports::EFFECT_COLUMNS, &rows)
            .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(super::download_response(
        &format!("effects_{}.xlsx", fy.year()),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    ))
}

/// GET /staff/reports/effects.pdf: the printable annual effect report (組合会用).
pub async fn effects_pdf(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let fy = cohort(&state, &q);
    let renderer = state.renderer().await?;
    let (_, pdf) = state
        .app
        .effect_report_pdf(&who.actor(), &renderer, fy)
        .await?;
    Ok(super::download_response(
        &format!("effects_{}.pdf", fy.year()),
        "application/pdf",
        pdf,
    ))
}
