//! 様式: the empty forms of the lists Collabo reads (register, 要精密検査者 lists,
//! checkups in the CSV/XLSX layout, bulk consents), as CSV and XLSX with the header
//! row only, and a page that says how to fill in each column. The columns come from
//! [`collabo_app::tabular::list_form`], the same headers the readers look for. Forms
//! hold no personal data; an employer contact is shown the two forms it submits.

use super::table_download;
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{Block, Cell, Page, Table};
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use collabo_app::tabular::list_form;
use collabo_domain::admission::ImportKind;
use collabo_domain::authz::Role;

/// The forms a user is shown: an employer contact submits checkups and 要精密検査者
/// lists; the society's staff also load the register and bulk consents.
fn forms_for(role: &Role) -> &'static [ImportKind] {
    match role {
        Role::Employer(_) => &[ImportKind::Referrals, ImportKind::Checkups],
        _ => &[
            ImportKind::Members,
            ImportKind::Referrals,
            ImportKind::Checkups,
            ImportKind::Consents,
        ],
    }
}

/// The file name of a kind's form, without extension (`要精密検査者リスト_様式`).
fn stem(kind: ImportKind) -> String {
    format!("{}_様式", kind.label())
}

/// The download links of a kind's form (CSV, Excel, and the column notes).
pub fn links(kind: ImportKind) -> Block {
    Block::Links(vec![
        (
            format!("/forms/{}.csv", kind.code()),
            "様式をダウンロード（CSV）".into(),
        ),
        (
            format!("/forms/{}.xlsx", kind.code()),
            "様式をダウンロード（Excel）".into(),
        ),
        ("/forms".into(), "各列の書き方".into()),
    ])
}

/// GET /forms: every form the user submits, column by column.
pub async fn forms_page(Extension(who): Extension<Identity>) -> WebResult<Response> {
    let mut page = Page::new("提出ファイルの様式", &who);
    page.push(Block::Para("各様式は見出しの行だけのファイルです。2行目から1人1行で記入してください。列の順番は自由で、見出しの上に表題の行があってもかまいません。必須の列がないファイルは取り込みません。CSV は UTF-8 と Shift_JIS のどちらでも読み込みます。".into()));
    for kind in forms_for(&who.role) {
        let Some(columns) = list_form(*kind) else {
            continue;
        };
        page.push(Block::Heading(kind.label().to_owned()));
        page.push(links(*kind));
        page.push(Block::Table(Table {
            headers: ["列の見出し", "必須", "書き方", "記入例（架空）"]
                .map(String::from)
                .to_vec(),
            rows: columns
                .iter()
                .map(|c| {
                    vec![
                        Cell::Key(c.header.to_owned()),
                        if c.required {
                            Cell::Badge("必須".into(), "warn")
                        } else {
                            Cell::Text("任意".into())
                        },
                        Cell::Text(c.how.to_owned()),
                        Cell::Key(c.example.to_owned()),
                    ]
                })
                .collect(),
            empty: String::new(),
        }));
    }
    Ok(page.html()?.into_response())
}

/// GET /forms/{kind}.csv or .xlsx: the header row of a form.
pub async fn form_file(
    State(_state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(file): Path<String>,
) -> WebResult<Response> {
    let (code, xlsx) = if let Some(code) = file.strip_suffix(".csv") {
        (code, false)
    } else if let Some(code) = file.strip_suffix(".xlsx") {
        (code, true)
    } else {
        return Err(WebError::NotFound);
    };
    let kind = ImportKind::from_code(code)
        .filter(|k| forms_for(&who.role).contains(k))
        .ok_or(WebError::NotFound)?;
    let columns = list_form(kind).ok_or(WebError::NotFound)?;
    let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
    table_download(xlsx, &stem(kind), &headers, &[])
}
