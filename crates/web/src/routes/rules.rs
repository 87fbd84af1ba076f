//! The law's pages (issue 12): the public 共同利用 notice, the administrator's form
//! that records a new version of it, and the staff's retention page (records past
//! their retention, listed and — confirmed — disposed of).

use super::csv_response;
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{Block, Button, Cell, Field, Form, Page, Table, wareki};
use axum::Extension;
use axum::extract::{Form as FormData, State};
use axum::response::{IntoResponse, Redirect, Response};
use collabo_domain::joint_use::JointUseDeclaration;
use serde::Deserialize;

fn items(d: &JointUseDeclaration) -> Vec<(String, String)> {
    vec![
        ("共同利用をする旨".into(), d.statement.clone()),
        ("共同して利用される個人データの項目".into(), d.items.clone()),
        ("共同して利用する者の範囲".into(), d.joint_users.clone()),
        ("利用する者の利用目的".into(), d.purposes.clone()),
        (
            "管理について責任を有する者の名称".into(),
            d.responsible_name.clone(),
        ),
        ("その住所".into(), d.responsible_address.clone()),
        ("代表者の氏名".into(), d.responsible_representative.clone()),
        ("公表の方法".into(), d.published_at.clone()),
        (
            "有効期間".into(),
            format!(
                "{} から{}",
                wareki(d.effective_from),
                d.effective_until
                    .map(|u| format!(" {} まで", wareki(u)))
                    .unwrap_or_default()
            ),
        ),
    ]
}

/// GET /joint-use: the declaration in force, for anyone (the insured must be able to
/// learn it easily; 個人情報保護法 第27条第5項第3号).
pub async fn notice(State(state): State<AppState>) -> WebResult<Response> {
    let notice = state.app.joint_use_notice(state.today()).await?;
    let mut page = Page::bare("個人データの共同利用について");
    match &notice.current {
        Some(d) => {
            page.push(Block::Para(format!(
                "個人情報の保護に関する法律 第27条第5項第3号に基づき、次のとおり公表します（第{}版）。",
                d.version
            )));
            page.push(Block::Facts(items(d)));
        }
        None => {
            page.push(Block::Para(
                "現在、公表している共同利用はありません。健康保険組合から事業所への個人データの提供は行っていません。".into(),
            ));
        }
    }
    if notice.versions.len() > 1 {
        page.push(Block::Heading("これまでの版".into()));
        page.push(Block::Table(versions_table(&notice.versions)));
    }
    Ok(page.html()?.into_response())
}

fn versions_table(versions: &[JointUseDeclaration]) -> Table {
    Table {
        headers: ["版", "有効となる日", "最終日", "公表の方法"]
            .map(String::from)
            .to_vec(),
        rows: versions
            .iter()
            .map(|d| {
                vec![
                    Cell::Num(format!("第{}版", d.version)),
                    Cell::Key(wareki(d.effective_from)),
                    Cell::Key(d.effective_until.map(wareki).unwrap_or_default()),
                    Cell::Text(d.published_at.clone()),
                ]
            })
            .collect(),
        empty: "まだ登録されていません。".into(),
    }
}

/// GET /admin/joint-use: the current declaration and a form for the next version,
/// filled with the current one (or the seed's wording to start from).
pub async fn admin_page(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let today = state.today();
    let notice = state.app.joint_use_notice(today).await?;
    let mut page = Page::new("共同利用の公表事項", &who);
    match &notice.current {
        Some(d) => {
            page.push(Block::Links(vec![(
                "/joint-use".into(),
                format!("第{}版が有効です（公開ページを開く）", d.version),
            )]));
        }
        None => {
            page.notice(
                "error",
                vec!["有効な公表事項がないため、事業所への提供（リスク保有者一覧・集計・スコアリングレポート）は止まっています。".into()],
            );
        }
    }
    let start = match &notice.current {
        Some(d) => {
            let mut next = d.clone();
            next.effective_from = today;
            next
        }
        None => {
            let society = state.app.society().await?;
            JointUseDeclaration::example(today, &society.name, &society.address)
        }
    };
    page.push(Block::Heading("新しい版を登録".into()));
    page.push(Block::Form(Form {
        action: "/admin/joint-use".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: vec![
            Field::new("共同利用をする旨", "statement", "textarea").value(start.statement),
            Field::new("共同して利用される個人データの項目", "items", "textarea")
                .value(start.items),
            Field::new("共同して利用する者の範囲", "joint_users", "textarea")
                .value(start.joint_users),
            Field::new("利用する者の利用目的", "purposes", "textarea").value(start.purposes),
            Field::new(
                "管理について責任を有する者の名称",
                "responsible_name",
                "text",
            )
            .value(start.responsible_name),
            Field::new("その住所", "responsible_address", "text").value(start.responsible_address),
            Field::new("代表者の氏名", "responsible_representative", "text")
                .value(start.responsible_representative),
            Field::new("公表の方法", "published_at", "text")
                .value(start.published_at)
                .hint("ポータルの公開ページ（/joint-use）のほか、組合のウェブサイト・掲示など。"),
            Field::new("有効となる日", "effective_from", "date")
                .value(start.effective_from.to_string()),
        ],
        submit: "この内容で登録".into(),
        get: false,
    }));
    page.push(Block::Heading("これまでの版".into()));
    page.push(Block::Table(versions_table(&notice.versions)));
    Ok(page.html()?.into_response())
}

/// The declaration form.
#[derive(Deserialize)]
pub struct DeclarationForm {
    statement: String,
    items: String,
    joint_users: String,
    purposes: String,
    responsible_name: String,
    responsible_address: String,
    responsible_representative: String,
    published_at: String,
    effective_from: String,
}

/// POST /admin/joint-use.
pub async fn record(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<DeclarationForm>,
) -> WebResult<Response> {
    let effective_from = collabo_app::parse_date(&form.effective_from)
        .map_err(|e| WebError::BadRequest(format!("有効となる日: {e}")))?;
    let declaration = JointUseDeclaration {
        version: 0,
        statement: form.statement.trim().to_owned(),
        items: form.items.trim().to_owned(),
        joint_users: form.joint_users.trim().to_owned(),
        purposes: form.purposes.trim().to_owned(),
        responsible_name: form.responsible_name.trim().to_owned(),
        responsible_address: form.responsible_address.trim().to_owned(),
        responsible_representative: form.responsible_representative.trim().to_owned(),
        effective_from,
        effective_until: None,
        published_at: form.published_at.trim().to_owned(),
    };
    state
        .app
        .record_joint_use_declaration(&who.actor(), &declaration)
        .await?;
    Ok(Redirect::to("/admin/joint-use").into_response())
}

/// Rows shown on the page (the CSV has them all).
const SHOWN: usize = 500;

/// GET /staff/retention: the dry run of the day.
pub async fn retention(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let plan = state.app.retention_plan(&who.actor()).await?;
    let mut page = Page::new("保存期間を過ぎた記録", &who);
    page.push(Block::Para(format!(
        "特定健康診査及び特定保健指導の実施に関する基準 第10条により、記録は作成した年度の翌年度から{}年間（加入者でなくなった方は、その翌年度の末日までのいずれか短い期間）保存します。{}時点で期限を過ぎた記録の一覧です（確認のみ。削除は下のボタンで行います）。",
        plan.years,
        wareki(plan.today)
    )));
    let counts: Vec<(String, String)> = plan
        .counts()
        .iter()
        .map(|(k, n)| (k.label().to_owned(), format!("{n} 件")))
        .chain([("対象者".to_owned(), format!("{} 人", plan.people))])
        .collect();
    page.push(Block::Facts(counts));
    page.push(Block::Links(vec![(
        "/staff/retention.csv".into(),
        "一覧をCSVでダウンロード".into(),
    )]));
    if !plan.lines.is_empty() {
        page.push(Block::Action(Button {
            action: "/staff/retention".into(),
            label: format!("{}件を廃棄する", plan.lines.len()),
            csrf: who.csrf().into(),
            fields: Vec::new(),
            confirm: format!(
                "保存期間を過ぎた記録 {} 件（{} 人）を削除します。元に戻せません。よろしいですか？",
                plan.lines.len(),
                plan.people
            ),
        }));
    }
    page.push(Block::Table(Table {
        headers: ["対象者", "種別", "作成日", "保存期限", "資格喪失日"]
            .map(String::from)
            .to_vec(),
        rows: plan
            .lines
            .iter()
            .take(SHOWN)
            .map(|l| {
                vec![
                    Cell::Key(l.person.clone()),
                    Cell::Text(l.kind_label.into()),
                    Cell::Key(wareki(l.made)),
                    Cell::Key(wareki(l.keep_until)),
                    Cell::Key(l.left.map(wareki).unwrap_or_default()),
                ]
            })
            .collect(),
        empty: "保存期間を過ぎた記録はありません。".into(),
    }));
    if plan.lines.len() > SHOWN {
        page.push(Block::Para(format!(
            "先頭の{SHOWN}件を表示しています。すべてはCSVでご覧ください。"
        )));
    }
    Ok(page.html()?.into_response())
}

/// GET /staff/retention.csv: the same list as a file.
pub async fn retention_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let plan = state.app.retention_plan(&who.actor()).await?;
    Ok(csv_response(
        &format!("保存期間経過_{}.csv", plan.today),
        plan.to_csv().into_bytes(),
    ))
}

/// POST /staff/retention: disposes of what is past its date today, and shows the
/// disposal report.
pub async fn dispose(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let done = state.app.dispose_past_retention(&who.actor()).await?;
    let mut page = Page::new("廃棄の報告", &who);
    page.push(Block::Para(format!(
        "{}、保存期間を過ぎた記録を廃棄しました。加入者ごとに監査記録を残しています。",
        wareki(done.plan.today)
    )));
    page.push(Block::Facts(vec![
        ("健診結果".into(), format!("{} 件", done.disposed.checkups)),
        (
            "要精密検査".into(),
            format!("{} 件", done.disposed.referrals),
        ),
        (
            "受診記録（レセプト）".into(),
            format!("{} 件", done.disposed.visits),
        ),
        ("終了ケース".into(), format!("{} 件", done.disposed.cases)),
        ("対象者".into(), format!("{} 人", done.plan.people)),
    ]));
    Ok(page.html()?.into_response())
}
