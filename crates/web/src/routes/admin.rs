//! Administration: users (role, employer scope, TOTP reset, API tokens), employers and
//! memoranda (覚書), and letter template uploads (validated by the letters crate); the
//! programme settings are in [`super::settings`]. Every change is audited.

use super::encode_segment;
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{Block, Cell, Field, Form, Page, Table, button, wareki};
use axum::Extension;
use axum::extract::{Form as FormData, Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use collabo_app::accounts::NewUser;
use collabo_domain::authz::Role;
use collabo_domain::employer::{AgreementStatus, Employer};
use collabo_domain::ids::EmployerCode;
use collabo_domain::programme::ProgrammeCode;
use serde::Deserialize;

fn user_form(csrf: &str) -> Form {
    Form {
        action: "/admin/users".into(),
        multipart: false,
        csrf: csrf.into(),
        fields: vec![
            Field::new("ユーザー名", "username", "text"),
            Field::new("表示名", "display_name", "text"),
            Field::new("初期パスワード（12文字以上）", "password", "password"),
            Field::select(
                "役割",
                "role",
                &[
                    ("staff", "保健事業担当"),
                    ("employer", "事業所担当者"),
                    ("admin", "システム管理者"),
                    ("auditor", "監査担当"),
                ],
            ),
            Field::new(
                "事業所記号（事業所担当者のみ・カンマ区切り）",
                "employers",
                "text",
            ),
        ],
        submit: "作成・更新".into(),
        get: false,
    }
}

/// GET /admin/users.
pub async fn users(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let users = state.app.users(&who.actor()).await?;
    let now = state.now();
    let mut page = Page::new("ユーザー", &who);
    page.push(Block::Para(
        "ロックの解除・無効化・パスワードの再設定は、ユーザー名から各ユーザーのページで行います。"
            .into(),
    ));
    page.push(Block::Table(Table {
        headers: [
            "ユーザー名",
            "表示名",
            "役割",
            "事業所",
            "二要素認証",
            "状態",
            "",
            "",
        ]
        .map(String::from)
        .to_vec(),
        rows: users
            .iter()
            .map(|u| {
                vec![
                    Cell::Link(
                        format!("/admin/users/{}", encode_segment(&u.username)),
                        u.username.clone(),
                    ),
                    Cell::Text(u.display_name.clone()),
                    Cell::Text(crate::view::role_label(&u.role).to_owned()),
                    Cell::Text(match &u.role {
                        Role::Employer(codes) => codes
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        _ => String::new(),
                    }),
                    if u.totp_enrolled {
                        Cell::Badge("設定済".into(), "ok")
                    } else {
                        Cell::Badge("未設定".into(), "muted")
                    },
                    account_state(u, now),
                    crate::view::confirm_button(
                        format!("/admin/users/{}/reset-totp", encode_segment(&u.username)),
                        "二要素認証をリセット",
                        who.csrf(),
                        &format!(
                            "{} の二要素認証をリセットします。次のログインで設定し直すまで、職員・管理者はログインできません。よろしいですか？",
                            u.username
                        ),
                    ),
                    button(
                        format!("/admin/users/{}/token", encode_segment(&u.username)),
                        "APIトークン発行",
                        who.csrf(),
                    ),
                ]
            })
            .collect(),
        empty: "ユーザーはいません。".into(),
    }));
    page.push(Block::Heading("ユーザーの作成・更新".into()));
    page.push(Block::Form(user_form(who.csrf())));
    page.push(Block::Heading("APIトークン".into()));
    page.push(Block::Para(format!(
        "トークンは発行時のユーザーの役割・事業所に限って有効です。役割や事業所を変更すると失効します。有効期間は発行から{}日です。職員・管理者のトークンは、二要素認証を設定したユーザーにだけ発行できます。",
        state.config.token_days
    )));
    let tokens = state.app.api_tokens(&who.actor()).await?;
    page.push(Block::Table(Table {
        headers: [
            "ID",
            "ユーザー",
            "役割",
            "発行",
            "有効期限",
            "最終利用",
            "状態",
            "",
        ]
        .map(String::from)
        .to_vec(),
        rows: tokens
            .iter()
            .map(|t| {
                let status = if t.revoked_at.is_some() {
                    Cell::Badge("失効".into(), "muted")
                } else if t.expires_at.is_none_or(|e| e <= now) {
                    Cell::Badge("期限切れ".into(), "warn")
                } else {
                    Cell::Badge("有効".into(), "ok")
                };
                let live = t.revoked_at.is_none() && t.expires_at.is_some_and(|e| e > now);
                vec![
                    Cell::Text(t.token_hash.chars().take(8).collect()),
                    Cell::Text(t.username.clone()),
                    Cell::Text(
                        t.role
                            .as_ref()
                            .map_or("", crate::view::role_label)
                            .to_owned(),
                    ),
                    Cell::Text(crate::view::wareki_at(t.created_at)),
                    Cell::Text(t.expires_at.map(crate::view::wareki_at).unwrap_or_default()),
                    Cell::Text(
                        t.last_used_at
                            .map_or_else(|| "未使用".to_owned(), crate::view::wareki_at),
                    ),
                    status,
                    if live {
                        crate::view::confirm_button(
                            format!("/admin/tokens/{}/revoke", t.token_hash),
                            "失効させる",
                            who.csrf(),
                            "このトークンを失効させますか？",
                        )
                    } else {
                        Cell::Text(String::new())
                    },
                ]
            })
            .collect(),
        empty: "発行したトークンはありません。".into(),
    }));
    Ok(page.html()?.into_response())
}

/// Whether an account can be used now: 無効 (disabled), ロック中 (too many wrong
/// codes, until when) or 有効.
fn account_state(user: &collabo_app::accounts::PortalUser, now: jiff::Timestamp) -> Cell {
    if collabo_app::accounts::is_disabled(user) {
        Cell::Badge("無効".into(), "error")
    } else if let Some(until) = user.locked_until.filter(|t| *t > now) {
        Cell::Badge(
            format!("ロック中（{}まで）", crate::view::wareki_at(until)),
            "warn",
        )
    } else {
        Cell::Badge("有効".into(), "ok")
    }
}

/// GET /admin/users/{user}: one user, with what an administrator can do to the account
/// (unlock, disable, set a new password).
pub async fn user(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(username): Path<String>,
) -> WebResult<Response> {
    let user = state
        .app
        .user(&who.actor(), &username)
        .await?
        .ok_or(WebError::NotFound)?;
    let now = state.now();
    let base = format!("/admin/users/{}", encode_segment(&user.username));
    let disabled = collabo_app::accounts::is_disabled(&user);
    let locked = user.locked_until.is_some_and(|t| t > now);
    let mut page = Page::new(&format!("ユーザー {}", user.username), &who);
    page.push(Block::Facts(vec![
        ("ユーザー名".into(), user.username.clone()),
        ("表示名".into(), user.display_name.clone()),
        (
            "役割".into(),
            crate::view::role_label(&user.role).to_owned(),
        ),
        (
            "事業所".into(),
            match &user.role {
                Role::Employer(codes) => {
                    let employers = state.app.employers(&who.actor()).await?;
                    codes
                        .iter()
                        .map(|c| {
                            employers
                                .iter()
                                .find(|e| &e.code == c)
                                .map_or_else(|| c.to_string(), |e| format!("{}（{}）", e.name, c))
                        })
                        .collect::<Vec<_>>()
                        .join("、")
                }
                _ => "—".into(),
            },
        ),
        (
            "二要素認証".into(),
            if user.totp_enrolled {
                "設定済"
            } else {
                "未設定"
            }
            .into(),
        ),
        (
            "状態".into(),
            if disabled {
                "無効（どのパスワードでもログインできません）".into()
            } else if locked {
                format!(
                    "ロック中（{}まで。二要素認証の誤りが続いたため）",
                    user.locked_until
                        .map(crate::view::wareki_at)
                        .unwrap_or_default()
                )
            } else {
                "有効".into()
            },
        ),
        (
            "パスワードの誤り（連続）".into(),
            format!("{} 回", user.failed_logins),
        ),
        (
            "二要素認証の誤り（連続）".into(),
            format!("{} 回", user.second_factor_failures),
        ),
    ]));
    if locked || user.failed_logins > 0 || user.second_factor_failures > 0 {
        page.push(Block::Heading("ロックの解除".into()));
        page.push(Block::Action(crate::view::Button {
            action: format!("{base}/unlock"),
            label: "ロックを解除する".into(),
            csrf: who.csrf().into(),
            fields: Vec::new(),
            confirm: format!(
                "{} のロックを解除し、誤りの回数を 0 に戻します。よろしいですか？",
                user.username
            ),
        }));
    }
    page.push(Block::Heading(if disabled {
        "パスワードを設定して有効に戻す".into()
    } else {
        "パスワードの再設定".into()
    }));
    page.push(Block::Para(
        "新しいパスワード（12文字以上）を本人に安全な方法で伝えてください。役割と二要素認証はそのまま、ログイン中のセッションは終了します。"
            .into(),
    ));
    page.push(Block::Action(crate::view::Button {
        action: format!("{base}/password"),
        label: "パスワードを再設定する".into(),
        csrf: who.csrf().into(),
        fields: vec![Field::new(
            "新しいパスワード（12文字以上）",
            "password",
            "password",
        )],
        confirm: format!(
            "{} のパスワードを再設定します。よろしいですか？",
            user.username
        ),
    }));
    if !disabled && user.username != who.actor().user {
        page.push(Block::Heading("無効化".into()));
        page.push(Block::Para(
            "退職・異動した担当者のアカウントを止めます。ログイン中のセッションは終了し、APIトークンは失効します。記録は残り、パスワードを再設定すると有効に戻ります。"
                .into(),
        ));
        page.push(Block::Action(crate::view::Button {
            action: format!("{base}/disable"),
            label: "無効にする".into(),
            csrf: who.csrf().into(),
            fields: Vec::new(),
            confirm: format!(
                "{}（{}）を無効にします。ログインできなくなり、APIトークンは失効します。よろしいですか？",
                user.username, user.display_name
            ),
        }));
    }
    page.push(Block::Links(vec![(
        "/admin/users".into(),
        "ユーザー一覧へ戻る".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// Back to a user's page after a change to the account.
fn back_to_user(username: &str) -> Response {
    Redirect::to(&format!("/admin/users/{}", encode_segment(username))).into_response()
}

/// POST /admin/users/{user}/unlock.
pub async fn unlock_user(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(username): Path<String>,
) -> WebResult<Response> {
    state.app.unlock_user(&who.actor(), &username).await?;
    Ok(back_to_user(&username))
}

/// POST /admin/users/{user}/disable.
pub async fn disable_user(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(username): Path<String>,
) -> WebResult<Response> {
    state.app.disable_user(&who.actor(), &username).await?;
    Ok(back_to_user(&username))
}

/// The new-password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

/// POST /admin/users/{user}/password: a new password (enables a disabled account).
pub async fn set_password(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(username): Path<String>,
    FormData(form): FormData<PasswordForm>,
) -> WebResult<Response> {
    state
        .app
        .set_password(&who.actor(), &username, &form.password)
        .await?;
    Ok(back_to_user(&username))
}

/// The user form.
#[derive(Deserialize)]
pub struct UserForm {
    username: String,
    display_name: String,
    password: String,
    role: String,
    #[serde(default)]
    employers: String,
}

/// POST /admin/users.
pub async fn create_user(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<UserForm>,
) -> WebResult<Response> {
    let employers: Vec<EmployerCode> = form
        .employers
        .split([',', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(EmployerCode::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| WebError::BadRequest(format!("事業所記号: {e}")))?;
    let role = match form.role.as_str() {
        "staff" => Role::Staff,
        "admin" => Role::Admin,
        "auditor" => Role::Auditor,
        "employer" => Role::Employer(employers),
        _ => return Err(WebError::BadRequest("役割が正しくありません。".into())),
    };
    state
        .app
        .put_user(
            &who.actor(),
            NewUser {
                username: form.username,
                display_name: form.display_name,
                password: form.password,
                role,
            },
        )
        .await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// POST /admin/users/{user}/reset-totp.
pub async fn reset_totp(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(username): Path<String>,
) -> WebResult<Response> {
    state.app.reset_totp(&who.actor(), &username).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// POST /admin/users/{user}/token: shows the new token once.
pub async fn create_token(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(username): Path<String>,
) -> WebResult<Response> {
    let token = state
        .app
        .issue_token(&who.actor(), &username, state.config.token_days)
        .await?;
    let mut page = Page::new("APIトークンを発行しました", &who);
    page.notice(
        "warn",
        vec![format!(
            "このトークンは今だけ表示されます。安全な場所に保管してください。有効期間は{}日です。",
            state.config.token_days
        )],
    );
    page.push(Block::Pre(token));
    page.push(Block::Para("利用方法: HTTP ヘッダー Authorization: Bearer <トークン>。仕様は /api/v1/openapi.json を参照してください。".into()));
    Ok(page.html()?.into_response())
}

/// POST /admin/tokens/{token}/revoke ({token}: the token's SHA-256, as listed).
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(token_hash): Path<String>,
) -> WebResult<Response> {
    state.app.revoke_token(&who.actor(), &token_hash).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// GET /admin/employers.
pub async fn employers(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let actor = who.actor();
    let employers = state.app.employers(&actor).await?;
    let agreements = state.app.agreements(&actor).await?;
    let mut page = Page::new("事業所・覚書", &who);
    page.push(Block::Table(Table {
        headers: ["事業所記号", "事業所名", "担当者連絡先"]
            .map(String::from)
            .to_vec(),
        rows: employers
            .iter()
            .map(|e| {
                vec![
                    Cell::Text(e.code.to_string()),
                    Cell::Text(e.name.clone()),
                    Cell::Text(e.contact.clone()),
                ]
            })
            .collect(),
        empty: "事業所は登録されていません。".into(),
    }));
    page.push(Block::Form(Form {
        action: "/admin/employers".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: vec![
            Field::new("事業所記号", "code", "text"),
            Field::new("事業所名", "name", "text"),
            Field::new("担当者連絡先", "contact", "text"),
        ],
        submit: "登録・更新".into(),
        get: false,
    }));
    page.push(Block::Heading("覚書".into()));
    page.push(Block::Table(Table {
        headers: [
            "No.",
            "事業所",
            "事業",
            "状態",
            "締結日",
            "解約日",
            "操作",
        ]
        .map(String::from)
        .to_vec(),
        rows: agreements
            .iter()
            .map(|(id, a)| {
                let status_button = |status: &str, label: &str, confirm: String| {
                    Cell::Button(crate::view::Button {
                        action: format!("/admin/agreements/{id}/status"),
                        label: label.into(),
                        csrf: who.csrf().into(),
                        fields: vec![
                            Field::hidden("status", status),
                            Field::new("日付", "on", "date").value(state.today().to_string()),
                        ],
                        confirm,
                    })
                };
                // Only the step that applies: 締結 while applied, 解約 (asked first)
                // while signed; nothing once ended.
                let action = match a.status {
                    AgreementStatus::Applied => status_button("signed", "締結", String::new()),
                    AgreementStatus::Signed => status_button(
                        "ended",
                        "解約",
                        format!(
                            "{} の覚書（{} {}）を解約します。解約日以降に受け付けた要精密検査者リストは対象外になります。よろしいですか？",
                            a.employer,
                            a.programme.letter(),
                            a.programme.label()
                        ),
                    ),
                    AgreementStatus::Ended => Cell::Text(String::new()),
                };
                vec![
                    Cell::Num(id.to_string()),
                    Cell::Text(a.employer.to_string()),
                    Cell::Text(format!("{} {}", a.programme.letter(), a.programme.label())),
                    Cell::Text(a.status.label().into()),
                    Cell::Text(a.signed_on.map(wareki).unwrap_or_default()),
                    Cell::Text(a.ended_on.map(wareki).unwrap_or_default()),
                    action,
                ]
            })
            .collect(),
        empty: "覚書はありません。".into(),
    }));
    page.push(Block::Form(Form {
        action: "/admin/agreements".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: vec![
            Field::new("事業所記号", "employer", "text"),
            Field::select(
                "事業",
                "programme",
                &[
                    ("C", "C がん検診の精密検査受診勧奨"),
                    ("R", "R リスク保有者情報の共有"),
                    ("S", "S 禁煙"),
                    ("D", "D 重症化予防"),
                ],
            ),
        ],
        submit: "覚書の申込を登録".into(),
        get: false,
    }));
    Ok(page.html()?.into_response())
}

/// The employer form.
#[derive(Deserialize)]
pub struct EmployerForm {
    code: String,
    name: String,
    #[serde(default)]
    contact: String,
}

/// POST /admin/employers.
pub async fn upsert_employer(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<EmployerForm>,
) -> WebResult<Response> {
    let code = EmployerCode::parse(&form.code)
        .map_err(|e| WebError::BadRequest(format!("事業所記号: {e}")))?;
    state
        .app
        .upsert_employer(
            &who.actor(),
            &Employer {
                code,
                name: form.name.trim().into(),
                contact: form.contact.trim().into(),
            },
        )
        .await?;
    Ok(Redirect::to("/admin/employers").into_response())
}

/// The agreement form.
#[derive(Deserialize)]
pub struct AgreementForm {
    employer: String,
    programme: String,
}

/// POST /admin/agreements.
pub async fn add_agreement(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<AgreementForm>,
) -> WebResult<Response> {
    let employer = EmployerCode::parse(&form.employer)
        .map_err(|e| WebError::BadRequest(format!("事業所記号: {e}")))?;
    let programme = ProgrammeCode::from_letter(&form.programme)
        .ok_or_else(|| WebError::BadRequest("事業が正しくありません。".into()))?;
    state
        .app
        .apply_agreement(&who.actor(), &employer, programme)
        .await?;
    Ok(Redirect::to("/admin/employers").into_response())
}

/// The agreement status form.
#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    on: String,
}

/// POST /admin/agreements/{id}/status.
pub async fn agreement_status(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    FormData(form): FormData<StatusForm>,
) -> WebResult<Response> {
    let status = AgreementStatus::from_code(&form.status)
        .ok_or_else(|| WebError::BadRequest("状態が正しくありません。".into()))?;
    let on = collabo_app::parse_date(&form.on)
        .map_err(|m| WebError::BadRequest(format!("日付: {m}")))?;
    state
        .app
        .set_agreement(&who.actor(), id, status, on)
        .await?;
    Ok(Redirect::to("/admin/employers").into_response())
}

fn society_form(csrf: &str, head: &collabo_app::registers::Letterhead, streams: &str) -> Form {
    Form {
        action: "/admin/society".into(),
        multipart: false,
        csrf: csrf.into(),
        fields: vec![
            Field::new("健康保険組合名", "name", "text").value(head.name.clone()),
            Field::new("担当部署", "section", "text").value(head.section.clone()),
            Field::new("所在地（〒を含めて1行）", "address", "text").value(head.address.clone()),
            Field::new("電話番号", "phone", "text").value(head.phone.clone()),
            Field::new("受付時間", "hours", "text")
                .value(head.hours.clone())
                .hint("通知の差出人欄と「お問い合わせ先」（データ共有を希望しない方の申出先）に印刷されます。"),
            Field::new("受け取る請求の種類", "streams", "text")
                .value(streams)
                .hint("医科・DPC・歯科・調剤 のうち、支払基金から毎月届くもの。すべて揃った診療月だけを受診判定に使います。"),
        ],
        submit: "保存".into(),
        get: false,
    }
}

/// GET /admin/society: the letters' sender block and the claims streams expected.
pub async fn society(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let head = state.app.letterhead(&who.actor()).await?;
    let streams =
        collabo_domain::coverage::ClaimStream::join_labels(&state.app.expected_streams().await?);
    let mut page = Page::new("差出人・請求の種類", &who);
    page.push(Block::Form(society_form(who.csrf(), &head, &streams)));
    Ok(page.html()?.into_response())
}

/// The society form.
#[derive(Deserialize)]
pub struct SocietyForm {
    name: String,
    section: String,
    address: String,
    phone: String,
    hours: String,
    streams: String,
}

/// POST /admin/society.
pub async fn save_society(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<SocietyForm>,
) -> WebResult<Response> {
    let streams = collabo_domain::coverage::ClaimStream::parse_list(&form.streams)
        .map_err(|m| WebError::BadRequest(format!("受け取る請求の種類: {m}")))?;
    let actor = who.actor();
    state
        .app
        .save_letterhead(
            &actor,
            &collabo_app::registers::Letterhead {
                name: form.name,
                section: form.section,
                address: form.address,
                phone: form.phone,
                hours: form.hours,
            },
        )
        .await?;
    state.app.set_expected_streams(&actor, &streams).await?;
    Ok(Redirect::to("/admin/society").into_response())
}

/// GET /admin/templates.
pub async fn templates(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let mut page = Page::new("通知テンプレート", &who);
    page.push(Block::Para("通知は Typst 形式（.typ）のテンプレートで作ります。下の名前のファイルだけが使われます。標準テンプレートをダウンロードして編集し、同じ名前でアップロードすると、検証のうえ置き換えます（次に作成するバッチから）。".into()));
    let mut overridden = std::collections::BTreeSet::new();
    if let Ok(mut dir) = tokio::fs::read_dir(&state.config.templates_dir).await {
        while let Ok(Some(entry)) = dir.next_entry().await {
            overridden.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    let rows = collabo_letters::template_names()
        .map(|name| {
            vec![
                Cell::Key(name.to_owned()),
                Cell::Text(template_kind(name).into()),
                if overridden.contains(name) {
                    Cell::Badge("アップロードしたものを使用".into(), "warn")
                } else {
                    Cell::Badge("標準".into(), "ok")
                },
                Cell::Link(
                    format!("/admin/templates/{}/builtin", encode_segment(name)),
                    "標準をダウンロード".into(),
                ),
                if overridden.contains(name) {
                    crate::view::confirm_button(
                        format!("/admin/templates/{}/delete", encode_segment(name)),
                        "削除して標準に戻す",
                        who.csrf(),
                        &format!(
                            "アップロードした {name} を削除し、標準のテンプレートに戻しますか？"
                        ),
                    )
                } else {
                    Cell::Text(String::new())
                },
            ]
        })
        .collect();
    page.push(Block::Table(Table {
        headers: ["ファイル名", "用途", "使用中", "", ""]
            .map(String::from)
            .to_vec(),
        rows,
        empty: String::new(),
    }));
    let unknown: Vec<String> = overridden
        .iter()
        .filter(|n| {
            n.ends_with(".typ") && !collabo_letters::template_names().any(|t| t == n.as_str())
        })
        .cloned()
        .collect();
    if !unknown.is_empty() {
        page.notice(
            "warn",
            vec![format!(
                "次のファイルは名前が一覧にないため使われていません: {}",
                unknown.join("、")
            )],
        );
    }
    page.push(Block::Form(Form {
        action: "/admin/templates".into(),
        multipart: true,
        csrf: who.csrf().into(),
        fields: vec![
            Field::new("テンプレート（.typ）", "file", "file")
                .hint("ファイル名は上の一覧のいずれか（例 R.typ）にしてください。"),
        ],
        submit: "検証して保存".into(),
        get: false,
    }));
    page.push(Block::Heading("保存する前に見る".into()));
    page.push(Block::Para(
        "架空の見本データで通知を作り、PDF で表示します（保存はしません）。".into(),
    ));
    page.push(Block::Form(Form {
        action: "/admin/templates/preview".into(),
        multipart: true,
        csrf: who.csrf().into(),
        fields: vec![Field::new("テンプレート（.typ）", "file", "file")],
        submit: "プレビュー（PDF）".into(),
        get: false,
    }));
    Ok(page.html()?.into_response())
}

/// The one file of a template form: its name (without any folder) and bytes.
async fn template_upload(mut multipart: Multipart) -> WebResult<(String, Vec<u8>)> {
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(e.to_string()))?
    {
        if field.name() == Some("file") {
            let name = field
                .file_name()
                .unwrap_or_default()
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or_default()
                .to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(WebError::BadRequest(
        "ファイルが選択されていません。".into(),
    ))
}

fn template_error_page(
    who: &Identity,
    name: &str,
    message: String,
    saved: bool,
) -> WebResult<Response> {
    let mut page = Page::new("通知テンプレートにエラーがあります", who);
    page.notice(
        "error",
        vec![if saved {
            format!("{name} にエラーがあるため、保存しませんでした（以前の内容のままです）。")
        } else {
            format!("{name} にエラーがあるため、プレビューを作れませんでした。")
        }],
    );
    page.push(Block::Pre(message));
    page.push(Block::Links(vec![(
        "/admin/templates".into(),
        "テンプレート一覧へ".into(),
    )]));
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page.html()?).into_response())
}

/// POST /admin/templates/preview: the sample letters rendered with the uploaded
/// template, as a PDF shown in the browser; nothing is saved.
pub async fn preview_template(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    multipart: Multipart,
) -> WebResult<Response> {
    let (name, bytes) = template_upload(multipart).await?;
    match state
        .app
        .preview_template(&who.actor(), &state.config.templates_dir, &name, &bytes)
        .await?
    {
        Ok(pdf) => Ok((
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/pdf".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    super::attachment(&format!("preview-{name}.pdf")).replacen(
                        "attachment",
                        "inline",
                        1,
                    ),
                ),
            ],
            pdf,
        )
            .into_response()),
        Err(message) => template_error_page(&who, &name, message, false),
    }
}

/// POST /admin/templates/{name}/delete: the uploaded template removed, the built-in
/// one used again.
pub async fn delete_template(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(name): Path<String>,
) -> WebResult<Response> {
    state
        .app
        .delete_template(&who.actor(), &state.config.templates_dir, &name)
        .await?;
    state.forget_renderer().await;
    Ok(Redirect::to("/admin/templates").into_response())
}

/// What a built-in template is for, in Japanese.
fn template_kind(name: &str) -> &'static str {
    match name {
        "layout.typ" => "共通のレイアウト（差出人・宛名・窓）",
        "R.typ" => "R リスク保有者の共有のお知らせ",
        "S.typ" => "S 禁煙治療の勧奨",
        "D.typ" => "D 糖尿病重症化予防の受診勧奨",
        "C.typ" => "C がん検診の精密検査受診勧奨",
        "C2.typ" => "C がん検診の精密検査 再勧奨",
        _ => "",
    }
}

/// GET /admin/templates/{name}/builtin: the built-in source, to start an edit from.
pub async fn builtin_template(Path(name): Path<String>) -> WebResult<Response> {
    let source = collabo_letters::builtin_template(&name).ok_or(WebError::NotFound)?;
    Ok(super::download_response(
        &name,
        "text/plain; charset=utf-8",
        source.as_bytes().to_vec(),
    ))
}

/// POST /admin/templates: stores the file and validates it with the letters crate.
pub async fn upload_template(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    multipart: Multipart,
) -> WebResult<Response> {
    let (name, bytes) = template_upload(multipart).await?;
    let checked = state
        .app
        .save_template(&who.actor(), &state.config.templates_dir, &name, &bytes)
        .await?;
    state.forget_renderer().await;
    if let Err(message) = checked {
        return template_error_page(&who, &name, message, true);
    }
    let mut page = Page::new("通知テンプレートを保存しました", &who);
    page.notice(
        "ok",
        vec![format!(
            "{name} を検証し、保存しました。次に作成する通知バッチから使われます。"
        )],
    );
    page.push(Block::Links(vec![(
        "/admin/templates".into(),
        "テンプレート一覧へ".into(),
    )]));
    Ok(page.html()?.into_response())
}
