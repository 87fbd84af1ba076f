//! Programme settings as a form: what an administrator types is checked by the
//! domain's rule, kept on the page when wrong, saved (and audited) only when right; the
//! JSON export and import go through the same check.

use crate::helpers::TestApp;
use axum::http::StatusCode;

/// The fields of the form posting to `action` as a browser would send them: inputs
/// with their values, each select's chosen option, textareas' text.
fn form_fields(page: &str, action: &str) -> Vec<(String, String)> {
    let start = page
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form {action}: {page}"));
    let form = &page[start..start + page[start..].find("</form>").unwrap()];
    let attr = |el: &str, name: &str| -> Option<String> {
        let at = el.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(unescape(el[at..].split('"').next()?))
    };
    let mut out = Vec::new();
    for el in form.split('<').skip(1) {
        if el.starts_with("input") {
            if let (Some(n), v) = (attr(el, "name"), attr(el, "value"))
                && n != "_csrf"
            {
                out.push((n, v.unwrap_or_default()));
            }
        } else if el.starts_with("select") {
            let name = attr(el, "name").unwrap();
            let rest = &form[form.find(el).unwrap()..];
            let options = &rest[..rest.find("</select>").unwrap()];
            let chosen = options
                .split("<option")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| options.split("<option").nth(1))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            out.push((name, chosen));
        } else if el.starts_with("textarea") {
            let name = attr(el, "name").unwrap();
            let text = el.split_once('>').map_or("", |(_, t)| t);
            out.push((name, unescape(text)));
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let f = fields
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    f.1 = value.to_owned();
}

async fn post(
    app: &TestApp,
    who: &crate::helpers::Client,
    path: &str,
    fields: &[(String, String)],
) -> crate::helpers::Response {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.post_form(path, who, &pairs).await
}

async fn saves(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'admin.settings.save'")
        .await
}

#[tokio::test]
async fn the_settings_form_keeps_what_was_typed_when_wrong_and_saves_it_when_right() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin1").await;
    let page = app
        .get("/admin/settings?programme=D&year=2026", &admin)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    // Japanese labels, no JSON keys, on the form.
    assert!(
        page.body.contains("対象とする HbA1c（%、以上）"),
        "{}",
        page.body
    );
    assert!(page.body.contains("治療中断とみなす期間（か月）"));
    let mut fields = form_fields(&page.body, "/admin/settings");
    assert!(
        fields
            .iter()
            .any(|(n, v)| n == "hba1c_threshold" && v == "6.5"),
        "{fields:?}"
    );
    // A typo (65 for 6.5) beside a correct edit: nothing is saved, both are kept.
    set(&mut fields, "hba1c_threshold", "65");
    set(&mut fields, "interrupted_months", "6");
    let refused = post(&app, &admin, "/admin/settings", &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("保存していません"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("HbA1c の基準は4〜15で指定してください")
    );
    let kept = form_fields(&refused.body, "/admin/settings");
    assert!(
        kept.iter()
            .any(|(n, v)| n == "hba1c_threshold" && v == "65")
    );
    assert!(
        kept.iter()
            .any(|(n, v)| n == "interrupted_months" && v == "6")
    );
    assert_eq!(saves(&app).await, 0);
    // Corrected, it is saved and shown again as saved.
    let mut fields = kept;
    set(&mut fields, "hba1c_threshold", "7.0");
    let saved = post(&app, &admin, "/admin/settings", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saves(&app).await, 1);
    let again = app
        .get("/admin/settings?programme=D&year=2026", &admin)
        .await;
    let shown = form_fields(&again.body, "/admin/settings");
    assert!(
        shown
            .iter()
            .any(|(n, v)| n == "hba1c_threshold" && v == "7"),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|(n, v)| n == "interrupted_months" && v == "6")
    );
    // The year before still has the default.
    let before = app
        .get("/admin/settings?programme=D&year=2025", &admin)
        .await;
    assert!(
        form_fields(&before.body, "/admin/settings")
            .iter()
            .any(|(n, v)| n == "hba1c_threshold" && v == "6.5")
    );

    // R's 判定値 out of order are refused under their item.
    let r = app
        .get("/admin/settings?programme=R&year=2026", &admin)
        .await;
    let mut fields = form_fields(&r.body, "/admin/settings");
    set(&mut fields, "t_HbA1c", "5.6 / 5.0 / 8");
    let refused = post(&app, &admin, "/admin/settings", &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("HbA1c の判定値の順序が正しくありません"),
        "{}",
        refused.body
    );
    assert_eq!(saves(&app).await, 1);

    // The JSON export of D, imported for FY2027 with a typo, is refused by the same
    // check; as exported, it is saved.
    let json = app
        .get("/admin/settings/export?programme=D&year=2026", &admin)
        .await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(
        json.body.contains("\"hba1c_threshold\": 7.0"),
        "{}",
        json.body
    );
    let typo = json
        .body
        .replace("\"hba1c_threshold\": 7.0", "\"hba1c_threshold\": 70.0");
    let refused = app
        .post_form(
            "/admin/settings/import",
            &admin,
            &[("programme", "D"), ("year", "2027"), ("settings", &typo)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("HbA1c の基準は4〜15"),
        "{}",
        refused.body
    );
    let broken = app
        .post_form(
            "/admin/settings/import",
            &admin,
            &[
                ("programme", "D"),
                ("year", "2027"),
                ("settings", "{ \"code\": "),
            ],
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert!(
        broken.body.contains("JSON を読み取れません"),
        "{}",
        broken.body
    );
    assert_eq!(saves(&app).await, 1);
    let imported = app
        .post_form(
            "/admin/settings/import",
            &admin,
            &[
                ("programme", "D"),
                ("year", "2027"),
                ("settings", &json.body),
            ],
        )
        .await;
    assert_eq!(imported.status, StatusCode::SEE_OTHER, "{}", imported.body);
    assert_eq!(saves(&app).await, 2);
    app.finish().await;
}
