//! Isolation between employers, published aggregates with complementary suppression,
//! opt-out from the UI, audit tamper detection, CSRF, TOTP enrolment, upload errors,
//! login audits and risk holders (the login's own defences are in `security.rs`).

use crate::helpers::{FY, TestApp, code, exam, key, key_text, referral_csv};
use axum::http::StatusCode;
use collabo_app::audit::AuditFilter;
use collabo_app::members::CaseFilter;
use collabo_domain::case::{CaseState, Outcome};

#[tokio::test]
async fn an_employer_cannot_reach_another_employers_data_by_changing_an_id() {
    let app = TestApp::spawn().await;
    let staff = app.login("staff1").await;
    let up = app
        .post_file(
            "/employer/E2/referrals",
            &staff,
            "e2.csv",
            &referral_csv("E2", &[(3, "胃", "2026-10-01")]),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let e2_upload = app
        .app()
        .submissions(&app.staff(), &code("E2"), 1)
        .await
        .unwrap()[0]
        .id;
    app.publish(&staff).await;
    // Staff can open E2's pages, so the 404s below are about who asks.
    let staff_view = app
        .get(&format!("/employer/E2/uploads/{e2_upload}"), &staff)
        .await;
    assert_eq!(staff_view.status, StatusCode::OK);
    assert!(staff_view.body.contains("e2.csv"));
    let emp1 = app.login("emp1").await;
    let missing = app.get("/employer/NOSUCH", &emp1).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for path in [
        "/employer/E2".to_owned(),
        "/employer/E2/risk-holders".to_owned(),
        format!("/employer/E2/aggregates?fy={FY}"),
        format!("/employer/E2/aggregates.csv?fy={FY}"),
        format!("/employer/E2/uploads/{e2_upload}"),
        format!("/employer/E1/uploads/{e2_upload}"),
    ] {
        let r = app.get(&path, &emp1).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            r.body, missing.body,
            "{path} must look exactly like a missing page"
        );
        assert!(
            !r.body.contains("テスト二") && !r.body.contains("太郎3") && !r.body.contains("e2.csv"),
            "{path} leaks"
        );
    }
    let upload = app
        .post_file(
            "/employer/E2/referrals",
            &emp1,
            "x.csv",
            &referral_csv("E2", &[(4, "肺", "2026-10-01")]),
        )
        .await;
    assert_eq!(upload.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.app()
            .submissions(&app.staff(), &code("E2"), 10)
            .await
            .unwrap()
            .len(),
        1,
        "the refused upload stored nothing"
    );
    // The API with a token of emp1 (narrowed to E1) behaves the same.
    let api = app.api_client("emp1").await;
    for path in [
        "/api/v1/employers/E2/submissions",
        "/api/v1/employers/E2/aggregates",
        "/api/v1/employers/E2/risk-holders",
    ] {
        let r = app.get(path, &api).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!r.body.contains("e2.csv"));
    }
    let own = app.get("/api/v1/employers/E1/submissions", &api).await;
    assert_eq!(own.status, StatusCode::OK);
    let staff_api = app.api_client("staff1").await;
    let e2 = app
        .get("/api/v1/employers/E2/submissions", &staff_api)
        .await;
    assert_eq!(e2.status, StatusCode::OK);
    assert!(e2.body.contains("e2.csv"), "{}", e2.body);
}

/// The data rows of an aggregates CSV: (label, shown value).
fn csv_rows(body: &str) -> Vec<(String, String)> {
    body.trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            assert_eq!(cols.len(), 5, "{l}");
            (cols[2].to_owned(), cols[3].to_owned())
        })
        .collect()
}

fn csv_cell(body: &str, label: &str) -> String {
    csv_rows(body)
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no row {label} in {body}"))
}

const POPULATION: &str = "加入者数（本人）";
const EXAMINED: &str = "健診受診者数";
const RISK: &str = "リスク保有者数（いずれかの項目）";
const SMOKERS: &str = "喫煙者数";
const HBA1C: &str = "リスク保有者数：HbA1c";

/// Checks what an employer's CSV shows against the true counts the staff's CSV shows:
/// every shown count is true, no shown cell is under 10, no remainder from its parent
/// total is under 10, and nothing is shown under 50 本人. Returns how many cells were
/// shown.
fn assert_no_small_cell(employer_csv: &str, staff_csv: &str) -> usize {
    let truth: Vec<(String, u64)> = csv_rows(staff_csv)
        .into_iter()
        .map(|(l, v)| (l, v.parse().unwrap_or_else(|_| panic!("staff see {v}"))))
        .collect();
    let count = |label: &str| truth.iter().find(|(l, _)| l == label).unwrap().1;
    let shown = csv_rows(employer_csv);
    assert_eq!(
        shown.iter().map(|(l, _)| l).collect::<Vec<_>>(),
        truth.iter().map(|(l, _)| l).collect::<Vec<_>>(),
        "the same cells"
    );
    let mut n = 0;
    for (label, value) in &shown {
        if value == "秘匿" {
            continue;
        }
        n += 1;
        let v: u64 = value.parse().unwrap();
        assert_eq!(v, count(label), "{label}");
        assert!(count(POPULATION) >= 50, "{label} shown under 50 本人");
        let parent = match label.as_str() {
            POPULATION => None,
            EXAMINED => Some(POPULATION),
            _ => Some(EXAMINED),
        };
        if let Some(parent) = parent {
            assert!(v >= 10, "{label} = {v} is shown");
            let remainder = count(parent) - v;
            assert!(
                remainder >= 10,
                "{label}: {parent} − {v} = {remainder} is derivable"
            );
        }
    }
    n
}

#[tokio::test]
async fn published_aggregates_suppress_small_cells_and_small_remainders() {
    let app = TestApp::spawn().await;
    // E1: 55 of its 60 本人 examined (the 5 others are a remainder under 10), 12 risk
    // holders, 5 smokers (under 10). E2: 3 examined of 12 本人 (under 50: nothing shown).
    let exams: Vec<_> = (1..=55)
        .map(|n| exam(n, if n <= 12 { 7.0 } else { 5.2 }, n <= 5))
        .collect();
    app.add_checkups("E1", Some("E1"), &exams).await;
    app.add_checkups(
        "E2",
        Some("E2"),
        &[exam(1, 8.0, true), exam(2, 8.0, true), exam(3, 5.0, false)],
    )
    .await;
    let emp1 = app.login("emp1").await;
    let csv_path = format!("/employer/E1/aggregates.csv?fy={FY}");
    // Nothing is shown before staff publish.
    let before = app.get(&csv_path, &emp1).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(csv_rows(&before.body).is_empty(), "{}", before.body);
    let page = app
        .get(&format!("/employer/E1/aggregates?fy={FY}"), &emp1)
        .await;
    assert!(
        page.body.contains("まだ公表されていません"),
        "{}",
        page.body
    );

    let staff = app.login("staff1").await;
    app.publish(&staff).await;
    let csv = app.get(&csv_path, &emp1).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv_cell(&csv.body, POPULATION), "60", "本人 only, not 家族");
    assert_eq!(
        csv_cell(&csv.body, EXAMINED),
        "秘匿",
        "55 of 60 would reveal the 5 not examined"
    );
    assert_eq!(csv_cell(&csv.body, RISK), "12");
    assert_eq!(csv_cell(&csv.body, HBA1C), "12");
    assert_eq!(csv_cell(&csv.body, SMOKERS), "秘匿", "5 smokers");
    let staff_csv = app.get(&csv_path, &staff).await;
    assert_eq!(csv_cell(&staff_csv.body, EXAMINED), "55");
    assert_eq!(csv_cell(&staff_csv.body, SMOKERS), "5");
    assert_eq!(assert_no_small_cell(&csv.body, &staff_csv.body), 3);
    // The page shows the same suppression; staff see the counts, marked.
    let page = app
        .get(&format!("/employer/E1/aggregates?fy={FY}"), &emp1)
        .await;
    assert!(page.body.contains("—（秘匿）"), "{}", page.body);
    assert!(!page.body.contains(">55<") && !page.body.contains("55（"));
    let staff_page = app
        .get(&format!("/employer/E1/aggregates?fy={FY}"), &staff)
        .await;
    assert!(
        staff_page.body.contains("55（事業所には秘匿）"),
        "{}",
        staff_page.body
    );
    // The JSON API serves the same publication.
    let api = app.api_client("emp1").await;
    let json: serde_json::Value =
        serde_json::from_str(&app.get("/api/v1/employers/E1/aggregates", &api).await.body).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 5, "{json}");
    for c in cells {
        let suppressed = c["suppressed"].as_bool().unwrap();
        assert_eq!(c["count"].is_null(), suppressed, "{c}");
        if let Some(n) = c["count"].as_u64() {
            assert!(n >= 10, "{c}");
        }
    }

    // E2 has 12 本人 (< 50): everything is suppressed, even the population.
    let emp2 = app.login("emp2").await;
    let e2_path = format!("/employer/E2/aggregates.csv?fy={FY}");
    let csv2 = app.get(&e2_path, &emp2).await;
    assert!(!csv_rows(&csv2.body).is_empty());
    assert!(
        csv_rows(&csv2.body).iter().all(|(_, v)| v == "秘匿"),
        "{}",
        csv2.body
    );
    let staff_csv2 = app.get(&e2_path, &staff).await;
    assert_eq!(csv_cell(&staff_csv2.body, POPULATION), "12");
    assert_eq!(csv_cell(&staff_csv2.body, EXAMINED), "3");
    assert_eq!(assert_no_small_cell(&csv2.body, &staff_csv2.body), 0);

    // A publication is what employers see until the next one: new checkups change
    // nothing until staff publish again.
    app.add_checkups(
        "E1",
        Some("E1"),
        &(56..=60).map(|n| exam(n, 5.0, true)).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(app.get(&csv_path, &emp1).await.body, csv.body);
    app.publish(&staff).await;
    let again = app.get(&csv_path, &emp1).await;
    assert_eq!(csv_cell(&again.body, SMOKERS), "10", "{}", again.body);
    assert_eq!(csv_cell(&again.body, EXAMINED), "秘匿", "60 of 60");
    let staff_again = app.get(&csv_path, &staff).await;
    assert_no_small_cell(&again.body, &staff_again.body);
}

#[tokio::test]
async fn the_employers_score_report_shows_published_checkup_figures_only() {
    let app = TestApp::spawn().await;
    // E1: 55 of 60 本人 examined (suppressed: 5 not examined), 12 HbA1c risk holders.
    let exams: Vec<_> = (1..=55)
        .map(|n| exam(n, if n <= 12 { 7.0 } else { 5.2 }, n <= 20))
        .collect();
    app.add_checkups("E1", Some("E1"), &exams).await;
    app.add_checkups(
        "E2",
        Some("E2"),
        &[exam(1, 8.0, true), exam(2, 8.0, true), exam(3, 5.0, false)],
    )
    .await;
    let emp1 = app.login("emp1").await;
    let path = format!("/employer/E1/report?fy={FY}");
    let before = app.get(&path, &emp1).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(
        before.body.contains("まだ公表されていません"),
        "{}",
        before.body
    );
    let staff = app.login("staff1").await;
    app.publish(&staff).await;
    let page = app.get(&path, &emp1).await;
    assert_eq!(page.status, StatusCode::OK);
    // The society's share of HbA1c risk holders: (12 + 2) / (55 + 3) examined.
    assert!(page.body.contains("24.1%"), "{}", page.body);
    // The employer's shares over a suppressed 受診者数 are not shown.
    assert!(page.body.contains("秘匿・未公表"), "{}", page.body);
    for claims_derived in ["未受診", "再勧奨", "受診率（受診", "通知済", "精密検査"]
    {
        assert!(!page.body.contains(claims_derived), "{claims_derived}");
    }
    let pdf = app
        .get(&format!("/employer/E1/report.pdf?fy={FY}"), &emp1)
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with("%PDF"));
    // Another employer's report is not found.
    let emp2 = app.login("emp2").await;
    assert_eq!(app.get(&path, &emp2).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_opt_out_recorded_in_the_ui_stops_the_persons_open_cases() {
    let app = TestApp::spawn().await;
    app.sign_c("E1").await;
    let emp1 = app.login("emp1").await;
    let up = app
        .post_file(
            "/employer/E1/referrals",
            &emp1,
            "c.csv",
            &referral_csv("E1", &[(5, "大腸", "2026-10-05"), (6, "肺", "2026-10-05")]),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    app.run_engine().await;
    let cases_of = |n: u32| {
        let app = &app;
        async move {
            app.app()
                .cases(
                    &app.staff(),
                    &CaseFilter {
                        member: Some(key("E1", n)),
                        limit: 100,
                        ..CaseFilter::default()
                    },
                )
                .await
                .unwrap()
                .0
        }
    };
    let before = cases_of(5).await;
    assert!(
        !before.is_empty() && before.iter().all(|c| c.state.is_open()),
        "{before:?}"
    );
    let staff = app.login("staff1").await;
    let member = key_text("E1", 5);
    let r = app
        .post_form(
            "/staff/consents",
            &staff,
            &[
                ("member", &member),
                ("kind", "opt_out"),
                ("scope", "all"),
                ("effective", "2026-11-24"),
                ("channel", "phone"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("停止した案件"));
    let after = cases_of(5).await;
    assert_eq!(after.len(), before.len());
    assert!(
        after
            .iter()
            .all(|c| c.state == CaseState::Closed(Outcome::StoppedOptOut)),
        "{after:?}"
    );
    // The other person's case is untouched.
    let other = cases_of(6).await;
    assert!(
        !other.is_empty() && other.iter().all(|c| c.state.is_open()),
        "{other:?}"
    );
    // The 要精密検査 row of the person is purged; the other's stays.
    assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 1);
    let audit = app
        .audit(AuditFilter {
            member_key: Some(member.clone()),
            action_prefix: Some("consent.".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].actor, "staff1");
    assert_eq!(audit[0].subjects, vec![member]);
}

#[tokio::test]
async fn the_audit_chain_detects_an_edited_record() {
    let app = TestApp::spawn().await;
    let staff = app.login("staff1").await;
    let member = key_text("E1", 7);
    let page = app.get(&format!("/staff/members/{member}"), &staff).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("試験 太郎7"));
    let reads = app
        .audit(AuditFilter {
            member_key: Some(member.clone()),
            action_prefix: Some("member.view".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(
        reads.len(),
        1,
        "a member page read is audited with the person: {reads:?}"
    );
    assert_eq!(reads[0].actor, "staff1");
    assert_eq!(reads[0].subjects, vec![member]);
    let auditor = app.login("auditor1").await;
    let ok = app.get("/audit/verify", &auditor).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.body.contains("連鎖が正しく"), "{}", ok.body);
    assert!(
        app.app()
            .verify_audit(&app.auditor())
            .await
            .unwrap()
            .is_intact()
    );
    let target = &reads[0];
    assert_eq!(
        app.sql(&format!(
            "UPDATE audit_log SET detail = 'nothing to see' WHERE id = {}",
            target.id
        ))
        .await,
        1
    );
    let check = app.app().verify_audit(&app.auditor()).await.unwrap();
    assert!(!check.is_intact());
    assert_eq!(check.first_broken, Some(target.seq));
    let bad = app.get("/audit/verify", &auditor).await;
    assert!(
        bad.body.contains(&format!(
            "記録 No.{} でハッシュの連鎖が一致しません",
            target.seq
        )),
        "{}",
        bad.body
    );
    let api = app.api_client("auditor1").await;
    let json: serde_json::Value =
        serde_json::from_str(&app.get("/api/v1/audit/verify", &api).await.body).unwrap();
    assert_eq!(json["first_broken"], serde_json::json!(target.seq));
}

#[tokio::test]
async fn a_form_without_the_session_token_is_refused() {
    let app = TestApp::spawn().await;
    let staff = app.login("staff1").await;
    let member = key_text("E1", 8);
    let fields = [
        ("member", member.as_str()),
        ("kind", "opt_out"),
        ("scope", "all"),
        ("effective", "2026-11-24"),
        ("channel", "phone"),
    ];
    let mut forged = staff.clone();
    forged.csrf = "forged".into();
    let r = app.post_form("/staff/consents", &forged, &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let consents = || {
        app.audit(AuditFilter {
            action_prefix: Some("consent.".into()),
            ..Default::default()
        })
    };
    assert!(consents().await.is_empty(), "nothing was recorded");
    // The same form with the session's token goes through.
    let r = app.post_form("/staff/consents", &staff, &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(consents().await.len(), 1);
}

#[tokio::test]
async fn staff_without_totp_must_enrol_before_anything_else() {
    let app = TestApp::spawn().await;
    app.app().reset_totp(&app.admin(), "staff1").await.unwrap();
    let r = app
        .post_login(None, "staff1", crate::helpers::PASSWORD)
        .await;
    assert_eq!(r.headers.get("location").unwrap(), "/totp/setup");
    let cookie = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("collabo_session=")
        .to_owned();
    let client = crate::helpers::Client {
        cookie: Some(cookie),
        ..Default::default()
    };
    let dash = app.get("/staff", &client).await;
    assert_eq!(dash.status, StatusCode::SEE_OTHER);
    assert_eq!(dash.headers.get("location").unwrap(), "/totp/setup");
    let setup = app.get("/totp/setup", &client).await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.body.contains("otpauth://totp/"), "{}", setup.body);
}

#[tokio::test]
async fn an_upload_with_a_bad_row_names_line_and_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let emp1 = app.login("emp1").await;
    let mut csv = String::from_utf8(referral_csv("E1", &[(1, "肺", "2026-10-05")])).unwrap();
    csv.push_str("E1,2,試験 太郎2,1980-04-01,肝臓,2026-10-05,1\n");
    let r = app
        .post_file("/employer/E1/referrals", &emp1, "bad.csv", csv.as_bytes())
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("がん検診の種類") && r.body.contains("<td class=\"num\">3</td>"),
        "{}",
        r.body
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM imports WHERE kind = 'referrals'")
            .await,
        0
    );
    let refused = app
        .audit(AuditFilter {
            action_prefix: Some("import.rejected".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(refused.len(), 1, "the refusal is audited");
    assert_eq!(refused[0].employer.as_deref(), Some("E1"));
    // The corrected file is accepted.
    let good = app
        .post_file(
            "/employer/E1/referrals",
            &emp1,
            "good.csv",
            &referral_csv("E1", &[(1, "肺", "2026-10-05"), (2, "胃", "2026-10-05")]),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 2);
}

#[tokio::test]
async fn risk_holders_and_aggregates_come_from_the_employers_own_checkups() {
    let app = TestApp::spawn().await;
    // E1: 30 examined, 12 risk holders (HbA1c 7.0), 15 smokers; E2: 3 risk holders.
    let exams: Vec<_> = (1..=30)
        .map(|n| exam(n, if n <= 12 { 7.0 } else { 5.2 }, n <= 15))
        .collect();
    app.add_checkups("E1", Some("E1"), &exams).await;
    app.add_checkups(
        "E2",
        Some("E2"),
        &[exam(1, 8.0, true), exam(2, 8.0, true), exam(3, 8.0, true)],
    )
    .await;
    let emp1 = app.login("emp1").await;
    let page = app.get("/employer/E1/risk-holders", &emp1).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("試験 太郎12") && page.body.contains("HbA1c"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("試験 太郎13<"),
        "13 is not a risk holder"
    );
    assert_eq!(
        page.body.matches("<tr>").count(),
        1 + 12,
        "header + 12 risk holders"
    );
    assert!(!page.body.contains("E2-"), "no one of E2: {}", page.body);
    let reads = app
        .audit(AuditFilter {
            action_prefix: Some("employer.risk_holders.view".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(reads.len(), 1, "one audit record for the page");
    let mut want: Vec<String> = (1..=12).map(|n| key_text("E1", n)).collect();
    want.sort();
    assert_eq!(reads[0].subjects, want, "naming every person shown");
    assert_eq!(reads[0].employer.as_deref(), Some("E1"));
    assert_eq!(reads[0].actor, "emp1");

    let staff = app.login("staff1").await;
    app.publish(&staff).await;
    let csv = app
        .get(&format!("/employer/E1/aggregates.csv?fy={FY}"), &emp1)
        .await;
    assert_eq!(csv_cell(&csv.body, EXAMINED), "30");
    assert_eq!(csv_cell(&csv.body, SMOKERS), "15");
    assert_eq!(csv_cell(&csv.body, RISK), "12");
    let api = app.api_client("emp1").await;
    let json: serde_json::Value = serde_json::from_str(
        &app.get("/api/v1/employers/E1/risk-holders", &api)
            .await
            .body,
    )
    .unwrap();
    let holders = json["risk_holders"].as_array().unwrap();
    assert_eq!(holders.len(), 12, "{json}");
    assert!(
        holders.iter().all(|h| h["member_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}:E1:", crate::helpers::INSURER))),
        "{json}"
    );
    // E2's three people were imported (staff see them) but never appear for E1, and
    // E2 is too small for figures.
    let staff_e2 = app
        .get(&format!("/employer/E2/aggregates.csv?fy={FY}"), &staff)
        .await;
    assert_eq!(csv_cell(&staff_e2.body, EXAMINED), "3");
    let emp2 = app.login("emp2").await;
    let e2 = app
        .get(&format!("/employer/E2/aggregates.csv?fy={FY}"), &emp2)
        .await;
    assert_eq!(csv_cell(&e2.body, EXAMINED), "秘匿");
    let e2_holders = app.get("/employer/E2/risk-holders", &emp2).await;
    assert_eq!(e2_holders.body.matches("<tr>").count(), 1 + 3);
}

#[tokio::test]
async fn the_societys_own_dock_checkups_of_an_employee_are_seen_by_the_employer() {
    // A checkup the society received itself (人間ドック, no submitting employer) of an
    // E1 本人 insured through E1 on the exam date is part of E1's risk holders.
    let app = TestApp::spawn().await;
    app.add_checkups("E1", None, &[exam(9, 7.5, false)]).await;
    let emp1 = app.login("emp1").await;
    let page = app.get("/employer/E1/risk-holders", &emp1).await;
    assert!(page.body.contains("試験 太郎9"), "{}", page.body);
    assert_eq!(page.body.matches("<tr>").count(), 1 + 1);
}

#[tokio::test]
async fn every_login_is_audited_success_and_failure() {
    let app = TestApp::spawn().await;
    let _ = app.login("emp1").await;
    let _ = app.login("staff1").await;
    let r = app.post_login(None, "nobody", "x").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let log = app
        .audit(AuditFilter {
            action_prefix: Some("login.".into()),
            ..Default::default()
        })
        .await;
    let has = |actor: &str, action: &str| {
        log.iter()
            .any(|r| r.actor == actor && r.action_code == action)
    };
    assert!(
        has("emp1", "login.success"),
        "employer without TOTP: password completes the login"
    );
    assert!(!has("emp1", "login.password"), "no second factor for emp1");
    assert!(
        has("staff1", "login.password") && has("staff1", "login.success"),
        "staff: password, then TOTP"
    );
    assert!(has("nobody", "login.failure"));
    assert!(!has("staff1", "login.failure"));
}

#[tokio::test]
async fn an_employer_may_enrol_totp_and_is_then_asked_for_it() {
    let app = TestApp::spawn().await;
    let emp1 = app.login("emp1").await;
    let overview = app.get("/employer/E1", &emp1).await;
    assert!(overview.body.contains("/totp/setup"));
    let setup = app.get("/totp/setup", &emp1).await;
    assert_eq!(setup.status, StatusCode::OK);
    let (session, _) = app
        .app()
        .session(emp1.cookie.as_deref().unwrap(), crate::helpers::now())
        .await
        .unwrap()
        .unwrap();
    let secret = session.pending_secret.unwrap();
    assert!(setup.body.contains(&secret));
    let wrong = app
        .post_form("/totp/setup", &emp1, &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let enrolled = || async {
        app.app()
            .user(&app.admin(), "emp1")
            .await
            .unwrap()
            .unwrap()
            .totp_enrolled
    };
    assert!(!enrolled().await);
    let code = collabo_web::auth::totp_code(&secret, crate::helpers::now()).unwrap();
    let ok = app
        .post_form("/totp/setup", &emp1, &[("code", &code)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(enrolled().await);
    // Enrolment completes the login in a new session; the old id is worth nothing.
    let stale = app.get("/employer/E1", &emp1).await;
    assert_eq!(stale.headers.get("location").unwrap(), "/login");
    let emp1 = crate::helpers::Client {
        cookie: TestApp::session_cookie_of(&ok),
        ..Default::default()
    };
    let overview = app.get("/employer/E1", &emp1).await;
    assert!(!overview.body.contains("/totp/setup"), "no longer offered");
    let again = app.post_login(None, "emp1", crate::helpers::PASSWORD).await;
    assert_eq!(again.headers.get("location").unwrap(), "/totp");
}
