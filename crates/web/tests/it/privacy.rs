//! Isolation between employers, suppression in exports, opt-out from the UI, audit
//! tamper detection, lockout and CSRF.

use crate::helpers::{TestApp, member, referral_csv};
use axum::http::StatusCode;
use collabo_domain::ids::EmployerCode;

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
        .store()
        .submissions(&EmployerCode::parse("E2").unwrap(), 1)
        .await
        .unwrap()[0]
        .id;
    let emp1 = app.login("emp1").await;
    let missing = app.get("/employer/NOSUCH", &emp1).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for path in [
        "/employer/E2".to_owned(),
        "/employer/E2/risk-holders".to_owned(),
        "/employer/E2/aggregates".to_owned(),
        "/employer/E2/aggregates.csv".to_owned(),
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
            !r.body.contains("テスト二") && !r.body.contains("太郎3"),
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
    // The API with a token of E1 behaves the same.
    let api = app.api_client("emp1", Some("E1")).await;
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
}

fn csv_cell(body: &str, label: &str) -> String {
    body.lines()
        .find(|l| l.split(',').nth(1) == Some(label))
        .and_then(|l| l.split(',').nth(2))
        .unwrap_or_else(|| panic!("no row {label} in {body}"))
        .to_owned()
}

#[tokio::test]
async fn suppressed_cells_stay_suppressed_in_the_csv_export() {
    let app = TestApp::spawn().await;
    let emp1 = app.login("emp1").await;
    let csv = app.get("/employer/E1/aggregates.csv", &emp1).await;
    assert_eq!(csv.status, StatusCode::OK);
    // 60 insured: the population is shown, the 0 checkup takers (< 10) are not.
    assert_eq!(csv_cell(&csv.body, "加入者数"), "60");
    assert_eq!(csv_cell(&csv.body, "健診受診者数"), "秘匿");
    let page = app.get("/employer/E1/aggregates", &emp1).await;
    assert!(page.body.contains("—（秘匿）"));
    // E2 has 12 insured (< 50): everything is suppressed, even the population.
    let emp2 = app.login("emp2").await;
    let csv2 = app.get("/employer/E2/aggregates.csv", &emp2).await;
    assert_eq!(csv_cell(&csv2.body, "加入者数"), "秘匿");
    // Staff see the real figures.
    let staff = app.login("staff1").await;
    let staff_csv = app.get("/employer/E2/aggregates.csv", &staff).await;
    assert_eq!(csv_cell(&staff_csv.body, "加入者数"), "12");
    assert_eq!(csv_cell(&staff_csv.body, "健診受診者数"), "0");
}

#[tokio::test]
async fn an_opt_out_recorded_in_the_ui_stops_the_persons_open_cases() {
    let app = TestApp::spawn().await;
    let store = app.store();
    store
        .add_agreement(&collabo_domain::employer::Agreement {
            employer: EmployerCode::parse("E1").unwrap(),
            programme: collabo_domain::programme::ProgrammeCode::C,
            status: collabo_domain::employer::AgreementStatus::Signed,
            signed_on: Some("2026-04-01".parse().unwrap()),
            ended_on: None,
        })
        .await
        .unwrap();
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
    store
        .run_engine("2026-11-24".parse().unwrap(), |_| {})
        .await
        .unwrap();
    let key = member("E1", 5).key.to_key_string();
    let before = store.cases(None, None, Some(&key), 10).await.unwrap();
    assert!(
        !before.is_empty()
            && before
                .iter()
                .all(|c| collabo_store::cases::state_is_open(&c.state)),
        "{before:?}"
    );
    let staff = app.login("staff1").await;
    let r = app
        .post_form(
            "/staff/consents",
            &staff,
            &[
                ("member", &key),
                ("kind", "opt_out"),
                ("scope", "all"),
                ("effective", "2026-11-24"),
                ("channel", "phone"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("停止した案件"));
    let after = store.cases(None, None, Some(&key), 10).await.unwrap();
    assert!(
        after.iter().all(|c| c.state == "closed_opt_out"),
        "{after:?}"
    );
    // The other person's case is untouched.
    let other = store
        .cases(None, None, Some(&member("E1", 6).key.to_key_string()), 10)
        .await
        .unwrap();
    assert!(
        other
            .iter()
            .all(|c| collabo_store::cases::state_is_open(&c.state))
    );
    let audit = store
        .audit_records(&collabo_store::audit::AuditFilter {
            member_key: Some(key),
            action_prefix: Some("consent.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn the_audit_chain_detects_an_edited_record() {
    let app = TestApp::spawn().await;
    let staff = app.login("staff1").await;
    let key = member("E1", 7).key.to_key_string();
    let page = app.get(&format!("/staff/members/{key}"), &staff).await;
    assert_eq!(page.status, StatusCode::OK);
    let reads = app
        .store()
        .audit_records(&collabo_store::audit::AuditFilter {
            member_key: Some(key.clone()),
            action_prefix: Some("member.view".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        reads.len(),
        1,
        "a member page read is audited with the person"
    );
    let auditor = app.login("auditor1").await;
    let ok = app.get("/audit/verify", &auditor).await;
    assert!(ok.body.contains("正しいことを確認"), "{}", ok.body);
    let target = reads[0].id;
    assert_eq!(
        app.store()
            .test_only_tamper_audit_detail(target, "nothing to see")
            .await
            .unwrap(),
        1
    );
    let check = app.store().verify_audit().await.unwrap();
    assert_eq!(check.first_broken, Some(target));
    let bad = app.get("/audit/verify", &auditor).await;
    assert!(bad.body.contains(&format!("No.{target}")), "{}", bad.body);
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let r = app
            .post_form(
                "/login",
                &Default::default(),
                &[("username", "emp1"), ("password", "wrong")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .post_form(
            "/login",
            &Default::default(),
            &[("username", "emp1"), ("password", crate::helpers::PASSWORD)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "locked even with the right password"
    );
    assert!(r.body.contains("ロック"));
    app.clock.advance(16 * 60);
    let _ = app.login("emp1").await;
    let failures = app
        .store()
        .audit_records(&collabo_store::audit::AuditFilter {
            action_prefix: Some("login.failure".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failures.len(), 5);
}

#[tokio::test]
async fn a_form_without_the_session_token_is_refused() {
    let app = TestApp::spawn().await;
    let mut staff = app.login("staff1").await;
    staff.csrf = "forged".into();
    let r = app
        .post_form("/staff/consents", &staff, &[("member", "x")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn staff_without_totp_must_enrol_before_anything_else() {
    let app = TestApp::spawn().await;
    app.store()
        .set_user_totp("staff1", None, false)
        .await
        .unwrap();
    let r = app
        .post_form(
            "/login",
            &Default::default(),
            &[
                ("username", "staff1"),
                ("password", crate::helpers::PASSWORD),
            ],
        )
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
        csrf: String::new(),
        bearer: None,
    };
    let dash = app.get("/staff", &client).await;
    assert_eq!(dash.headers.get("location").unwrap(), "/totp/setup");
    let setup = app.get("/totp/setup", &client).await;
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
    assert_eq!(
        app.store()
            .count(collabo_store::Table::Referrals)
            .await
            .unwrap(),
        0
    );
}

async fn add_checkups(
    app: &TestApp,
    employer: &str,
    numbers: std::ops::RangeInclusive<u32>,
    hba1c: f64,
) {
    use collabo_domain::checkup::{
        CheckupSource, Item, Observation, ObservedValue, Questionnaire, SmokingAnswer,
    };
    let rows: Vec<collabo_store::imports::IncomingCheckup> = numbers
        .map(|n| {
            let m = member(employer, n);
            collabo_store::imports::IncomingCheckup {
                line: u64::from(n),
                insurer: None,
                person: collabo_domain::matching::SubmittedPerson {
                    symbol: m.key.symbol.clone(),
                    number: m.key.number.clone(),
                    branch: Some(m.key.branch.clone()),
                    name: m.name_kanji.clone(),
                    birth_date: m.birth_date,
                },
                exam_date: "2026-06-01".parse().unwrap(),
                source: CheckupSource::Employer,
                observations: vec![Observation {
                    item: Item::HbA1c,
                    value: ObservedValue::Number(hba1c),
                }],
                questionnaire: Questionnaire {
                    smoking: Some(SmokingAnswer::Smokes),
                    ..Questionnaire::default()
                },
                unknown_items: Vec::new(),
            }
        })
        .collect();
    let actor = collabo_store::imports::Actor {
        name: "t".into(),
        role: "employer".into(),
        origin: "t".into(),
    };
    let code = EmployerCode::parse(employer).unwrap();
    let mut session = app
        .store()
        .begin_import(
            collabo_store::ImportKind::Checkups,
            "kenshin.csv",
            &format!("ck-{employer}"),
            Some(&code),
            &actor,
            "2026-11-24".parse().unwrap(),
            crate::helpers::now(),
        )
        .await
        .unwrap()
        .unwrap();
    session.add_checkups(&rows).await.unwrap();
    let summary = session.finish().await.unwrap();
    assert_eq!(summary.stored, rows.len() as u64, "{summary:?}");
}

#[tokio::test]
async fn risk_holders_and_aggregates_come_from_the_employers_own_checkups() {
    let app = TestApp::spawn().await;
    add_checkups(&app, "E1", 1..=12, 7.0).await;
    add_checkups(&app, "E2", 1..=3, 8.0).await;
    let emp1 = app.login("emp1").await;
    let page = app.get("/employer/E1/risk-holders", &emp1).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("試験 太郎12") && page.body.contains("HbA1c"),
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches("<tr>").count(),
        1 + 12,
        "header + 12 risk holders"
    );
    let reads = app
        .store()
        .audit_records(&collabo_store::audit::AuditFilter {
            action_prefix: Some("employer.risk_holders.view".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(reads.len(), 12, "one audit record per person shown");
    assert!(
        reads
            .iter()
            .all(|r| r.entry.employer_code.as_deref() == Some("E1"))
    );
    let csv = app.get("/employer/E1/aggregates.csv", &emp1).await;
    assert_eq!(csv_cell(&csv.body, "健診受診者数"), "12");
    assert_eq!(csv_cell(&csv.body, "喫煙者数"), "12");
    assert_eq!(
        csv_cell(&csv.body, "リスク保有者数（いずれかの項目）"),
        "12"
    );
    let api = app.api_client("emp1", Some("E1")).await;
    let json: serde_json::Value = serde_json::from_str(
        &app.get("/api/v1/employers/E1/risk-holders", &api)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(json["risk_holders"].as_array().unwrap().len(), 12);
    // E2's three people (HbA1c 8.0) never appear for E1, and E2 is too small for figures.
    assert!(!csv.body.contains("8.0"));
    let emp2 = app.login("emp2").await;
    let e2 = app.get("/employer/E2/aggregates.csv", &emp2).await;
    assert_eq!(csv_cell(&e2.body, "健診受診者数"), "秘匿");
}

#[tokio::test]
async fn every_login_is_audited_success_and_failure() {
    let app = TestApp::spawn().await;
    let _ = app.login("emp1").await;
    let _ = app.login("staff1").await;
    let r = app
        .post_form(
            "/login",
            &Default::default(),
            &[("username", "nobody"), ("password", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let log = app
        .store()
        .audit_records(&collabo_store::audit::AuditFilter {
            action_prefix: Some("login.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let has = |actor: &str, action: &str| {
        log.iter()
            .any(|r| r.entry.actor == actor && r.entry.action == action)
    };
    assert!(
        has("emp1", "login.success"),
        "employer without TOTP: password completes the login"
    );
    assert!(
        has("staff1", "login.password") && has("staff1", "login.success"),
        "staff: password, then TOTP"
    );
    assert!(has("nobody", "login.failure"));
}

#[tokio::test]
async fn an_employer_may_enrol_totp_and_is_then_asked_for_it() {
    let app = TestApp::spawn().await;
    let emp1 = app.login("emp1").await;
    let overview = app.get("/employer/E1", &emp1).await;
    assert!(overview.body.contains("/totp/setup"));
    let setup = app.get("/totp/setup", &emp1).await;
    assert_eq!(setup.status, StatusCode::OK);
    let id_hash = collabo_web::auth::sha256_hex(emp1.cookie.as_deref().unwrap());
    let secret = app
        .store()
        .session(&id_hash, crate::helpers::now())
        .await
        .unwrap()
        .unwrap()
        .pending_secret
        .unwrap();
    assert!(setup.body.contains(&secret));
    let wrong = app
        .post_form("/totp/setup", &emp1, &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let code = collabo_web::auth::totp_code(&secret, crate::helpers::now()).unwrap();
    let ok = app
        .post_form("/totp/setup", &emp1, &[("code", &code)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(
        app.store()
            .user("emp1")
            .await
            .unwrap()
            .unwrap()
            .totp_enrolled
    );
    let again = app
        .post_form(
            "/login",
            &Default::default(),
            &[("username", "emp1"), ("password", crate::helpers::PASSWORD)],
        )
        .await;
    assert_eq!(again.headers.get("location").unwrap(), "/totp");
}
