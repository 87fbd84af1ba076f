//! The `collabo` binary end to end: what a staff member types, what they see, and what
//! ends up in the database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use collabo_app::members::CaseFilter;
use collabo_app::{Actor, App};
use collabo_domain::authz::Role;
use collabo_domain::programme::ProgrammeCode;
use std::path::Path;
use std::process::{Command, Output};

mod commands;
mod uploads;

fn collabo(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collabo"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run collabo")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const MEMBERS: &str = "保険者番号,記号,番号,枝番,氏名,氏名カナ,性別,生年月日,郵便番号,住所,住所2,事業所記号,本人家族,資格取得日,資格喪失日
06139999,1001,1,00,髙橋　花子,タカハシ　ハナコ,2,1975-03-03,1000001,東京都千代田区架空町1-1,,1001,本人,2010-04-01,
06139999,1001,2,00,佐藤　恵子,サトウ　ケイコ,2,1968-08-20,1000002,東京都千代田区架空町1-2,,1001,本人,2010-04-01,
";

fn setup(dir: &Path) {
    let o = collabo(
        dir,
        &["init", "--insurer", "06139999", "--name", "テスト健保"],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(dir.join("members.csv"), MEMBERS).unwrap();
    let o = collabo(
        dir,
        &[
            "--date",
            "2025-04-01",
            "import",
            "members",
            dir.join("members.csv").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(dir, &["employer", "1001", "架空精機"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// The database of a data folder, read directly (counts, audit records).
async fn db(file: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap()
}

async fn count(pool: &sqlx::SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The application over a data folder's database, as a staff member.
async fn app(data: &Path) -> (App, Actor) {
    let app = App::open(
        &format!("sqlite:{}", data.join("collabo.sqlite").display()),
        None,
        data,
    )
    .await
    .unwrap();
    let staff = Actor::new(
        "test:staff",
        Role::Staff,
        "test",
        collabo_domain::calendar::japan_noon(jiff::civil::Date::constant(2026, 3, 31)),
    );
    (app, staff)
}

#[tokio::test]
async fn a_bad_row_names_file_line_and_field_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let list = "記号,番号,氏名,生年月日,がん検診の種類,検診実施年月日,同意\n1001,1,高橋花子,1975/3/3,胃,2025/6/5,1\n1001,2,佐藤恵子,1968/8/20,胃,2025/13/40,1\n1001,2,佐藤恵子,1968/8/20,膵臓,2025/6/5,1\n";
    let path = dir.path().join("要精密検査者.csv");
    std::fs::write(&path, list).unwrap();
    let o = collabo(
        dir.path(),
        &[
            "--date",
            "2025-07-10",
            "import",
            "referrals",
            path.to_str().unwrap(),
            "--employer",
            "1001",
        ],
    );
    assert!(!o.status.success());
    let out = text(&o);
    assert!(
        out.contains("3行目 「検診実施年月日」: 「2025/13/40」"),
        "{out}"
    );
    assert!(
        out.contains("4行目 「がん検診の種類」: 「膵臓」は使えません。"),
        "{out}"
    );
    assert!(
        out.contains("要精密検査者.csv に 2 件の誤りがあるため、取り込みませんでした"),
        "{out}"
    );
    assert_eq!(
        out.matches("要精密検査者.csv").count(),
        1,
        "the file is named once: {out}"
    );
    let pool = db(&dir.path().join("collabo.sqlite")).await;
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM referrals").await,
        0,
        "the good row 2 is not stored either"
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM imports").await,
        1,
        "only the register import is recorded"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'import.rejected'"
        )
        .await,
        1,
        "the refused file is audited"
    );
    pool.close().await;
}

#[tokio::test]
async fn a_shift_jis_list_imports_once_and_a_repeat_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let o = collabo(dir.path(), &["agreement", "apply", "--employer", "1001"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(
        dir.path(),
        &["--date", "2025-04-01", "agreement", "sign", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let list = "記号,番号,枝番,氏名,生年月日,がん検診の種類,検診実施年月日,同意\r\n１００１,１,,ﾀｶﾊｼ ﾊﾅｺ,昭和50年3月3日,胃がん,令和7年6月5日,1\r\n1001,2,,佐藤恵子,1968/8/20,大腸,2025/6/5,1\r\n1001,9,,山田花子,1980/1/1,肺,2025/6/5,1\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(list);
    assert!(!unmappable);
    let path = dir.path().join("list.csv");
    std::fs::write(&path, &bytes).unwrap();
    let args = [
        "--date",
        "2025-09-10",
        "import",
        "referrals",
        path.to_str().unwrap(),
        "--employer",
        "1001",
    ];
    let first = collabo(dir.path(), &args);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("登録 2"), "{}", text(&first));
    assert!(text(&first).contains("照合保留 1"), "{}", text(&first));
    let second = collabo(dir.path(), &args);
    assert!(second.status.success());
    assert!(text(&second).contains("取込済み"), "{}", text(&second));
    let pool = db(&dir.path().join("collabo.sqlite")).await;
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM referrals").await, 2);
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM review_items").await, 1);
    // `--date` dates the import itself, not only its rules: its audit record falls on that day.
    let at: String =
        sqlx::query_scalar("SELECT at FROM audit_log WHERE action = 'import.referrals'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        collabo_domain::calendar::japan_date(at.parse().unwrap()),
        jiff::civil::Date::constant(2025, 9, 10),
        "{at}"
    );
    pool.close().await;
    // Screening 5 June, received 10 September: after 翌々月末 (31 August), flagged late.
    let (s, staff) = app(dir.path()).await;
    let figures = s.programme_figures(&staff, None).await.unwrap();
    assert_eq!(figures[&ProgrammeCode::C].late_referrals, 2);
    s.close().await;
    let o = collabo(dir.path(), &["--date", "2025-09-15", "run"]);
    assert!(o.status.success(), "{}", text(&o));
    let again = collabo(dir.path(), &["--date", "2025-09-15", "run"]);
    assert!(
        text(&again).contains("変更はありません"),
        "{}",
        text(&again)
    );
    let o = collabo(dir.path(), &["audit", "verify"]);
    assert!(
        o.status.success() && text(&o).contains("正常"),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn the_demo_replays_two_years_from_real_format_files_and_ends_with_their_effects() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let o = collabo(
        dir.path(),
        &[
            "demo",
            "--members",
            "600",
            "--employers",
            "4",
            "--dir",
            demo.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("年度 (令和7年度) の結果"), "{out}");
    // The closing table names each programme in Japanese.
    for name in [
        "リスク保有者の共有",
        "禁煙治療の勧奨",
        "糖尿病重症化予防",
        "がん検診の精密検査勧奨",
    ] {
        assert!(out.contains(name), "{name}: {out}");
    }
    assert!(out.contains("年度 (令和8年度) の結果"), "{out}");
    // It ends with the effect table of the first year's people, each rate with its
    // interval and denominator, and the PDF is in the demo folder.
    let tail = &out[out
        .rfind("2025年度 (令和7年度) に抽出した人の効果")
        .expect(&out)..];
    for line in ["次回健診で禁煙", "6か月以内の受診率"] {
        let l = tail.lines().find(|l| l.contains(line)).expect(line);
        assert!(l.contains('[') && l.contains('/'), "{l}");
    }
    // A mean change: its interval and the number of people behind it, overall and the
    // two groups adding up to it.
    let l = tail
        .lines()
        .find(|l| l.contains("次回健診の HbA1c 変化"))
        .expect("HbA1c");
    assert!(l.contains('[') && l.contains(','), "{l}");
    let ns: Vec<u64> = l
        .split("n=")
        .skip(1)
        .map(|t| {
            t.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(ns.len() == 3 && ns[0] > 0 && ns[0] == ns[1] + ns[2], "{l}");
    assert!(tail.contains("初回通知後"), "{tail}");
    let pdf = std::fs::read(demo.join("effects_2025.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    // The inputs are the real formats.
    let inbox = demo.join("inbox");
    let files = |sub: &str, ext: &str| {
        walk(&inbox.join(sub))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .count()
    };
    assert!(
        files("checkups", "zip") > 0 && files("claims", "UKE") > 0 && files("referrals", "csv") > 0
    );
    let (s, staff) = app(&demo).await;
    let f = s.programme_figures(&staff, None).await.unwrap();
    assert!(f[&ProgrammeCode::S].notified > 0, "{f:?}");
    assert!(
        f[&ProgrammeCode::D].identified > 0 && f[&ProgrammeCode::D].notified > 0,
        "{f:?}"
    );
    assert!(f[&ProgrammeCode::C].identified > 0, "{f:?}");
    assert!(
        f[&ProgrammeCode::D].visited
            + f[&ProgrammeCode::D].not_visited
            + f[&ProgrammeCode::D].waiting_for_claims
            > 0,
        "{f:?}"
    );
    // Letters were printed as PDFs with a mailing list.
    let pdfs = walk(&demo.join("letters"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .count();
    assert!(pdfs > 0);
    // Every 未受診 decision was taken with the claims of its whole window loaded. In the
    // demo, claims for month M arrive on the 5th of M+2, so a decision on day X may only
    // cover windows ending in month(X) − 2 or earlier.
    use collabo_domain::calendar::{YearMonth, add_months};
    use collabo_domain::case::{CaseEvent, ClaimsCheck};
    let mut decisions = 0;
    for programme in [ProgrammeCode::D, ProgrammeCode::C] {
        let filter = CaseFilter {
            programme: Some(programme),
            limit: 100_000,
            ..CaseFilter::default()
        };
        let (rows, _) = s.cases(&staff, &filter).await.unwrap();
        for row in rows {
            let c = s.case(&staff, &row.key).await.unwrap();
            let mailings: Vec<_> = c
                .events
                .iter()
                .filter(|e| matches!(e.event, CaseEvent::NoticeMailed))
                .map(|e| e.on)
                .collect();
            for e in &c.events {
                let CaseEvent::NoVisitFound { check } = e.event else {
                    continue;
                };
                let mailed = if check == ClaimsCheck::AfterRenotice {
                    mailings[1]
                } else {
                    mailings[0]
                };
                let months = if programme == ProgrammeCode::D { 6 } else { 4 };
                let window_end = YearMonth::of(add_months(mailed, months).unwrap());
                let loaded_to = YearMonth::of(add_months(e.on, -2).unwrap());
                assert!(
                    window_end <= loaded_to,
                    "{}: 未受診 decided on {} for a window ending {window_end}",
                    row.key,
                    e.on
                );
                decisions += 1;
            }
        }
    }
    assert!(decisions > 0, "the demo year decides some 未受診 cases");
    // The demo society receives all four streams: claims are complete through January
    // 2027 (the last service month to arrive by March), with no gap.
    let ledger = s.claims_ledger(&staff).await.unwrap();
    assert_eq!(
        ledger.complete_through(),
        Some(collabo_domain::calendar::YearMonth::new(2027, 1).unwrap()),
        "{}",
        ledger.headline()
    );
    s.close().await;
    // The year's employer aggregates were published.
    let pool = db(&demo.join("collabo.sqlite")).await;
    assert!(
        count(
            &pool,
            "SELECT COUNT(*) FROM aggregate_publications WHERE fiscal_year = 2025"
        )
        .await
            > 0
            && count(
                &pool,
                "SELECT COUNT(*) FROM aggregate_publications WHERE fiscal_year = 2026"
            )
            .await
                > 0
    );
    pool.close().await;
    // Running again on the last day changes nothing; the demo folder is its data folder.
    let o = collabo(
        &demo,
        &[
            "--db",
            &format!("sqlite:{}", demo.join("collabo.sqlite").display()),
            "--date",
            "2027-03-31",
            "run",
        ],
    );
    assert!(text(&o).contains("変更はありません"), "{}", text(&o));
    let o = collabo(&demo, &["audit", "verify"]);
    assert!(
        o.status.success() && text(&o).contains("正常"),
        "{}",
        text(&o)
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// One request to the portal, in process: (status, Set-Cookie, Location).
async fn portal(
    router: &axum::Router,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &str,
) -> (u16, Option<String>, Option<String>) {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        // A bare value is the session cookie; `name=value` is sent as it is.
        let c = if c.contains('=') {
            c.to_owned()
        } else {
            format!("collabo_session={c}")
        };
        req = req.header("cookie", c);
    }
    let req = req
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form.to_owned()))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (
        resp.status().as_u16(),
        header("set-cookie"),
        header("location"),
    )
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The fields an operation's audit record has whichever door it came through.
fn what(
    r: &collabo_app::audit::AuditRecord,
) -> (String, Vec<String>, Option<String>, String, String) {
    (
        r.action_code.clone(),
        r.subjects.clone(),
        r.employer.clone(),
        r.detail.clone(),
        r.role.clone(),
    )
}

#[tokio::test]
async fn one_operation_through_the_cli_and_the_portal_writes_the_same_audit_record() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    // Through the command line: an employer and an opt-out.
    let o = collabo(
        dir.path(),
        &[
            "--date",
            "2025-05-01",
            "employer",
            "1003",
            "架空商事",
            "--contact",
            "kenko@example.jp",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(
        dir.path(),
        &[
            "--date",
            "2025-05-01",
            "consent",
            "--member",
            "06139999:1001:2:00",
            "--kind",
            "opt-out",
            "--effective",
            "2025-05-01",
            "--channel",
            "phone",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));

    // Through the portal: the same two operations by an admin and a staff member.
    let (app, _) = app(dir.path()).await;
    let now = collabo_domain::calendar::japan_noon(jiff::civil::Date::constant(2025, 5, 1));
    let admin = Actor::new("setup", Role::Admin, "test", now);
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    for (name, role) in [("web-admin", Role::Admin), ("web-staff", Role::Staff)] {
        app.put_user_with_totp(
            &admin,
            collabo_app::accounts::NewUser {
                username: name.into(),
                display_name: name.into(),
                password: "correct horse battery".into(),
                role,
            },
            Some(secret),
        )
        .await
        .unwrap();
    }
    let state = collabo_web::AppState::new(
        app.clone(),
        std::sync::Arc::new(collabo_web::FixedClock::new(now)),
        collabo_web::ServeConfig {
            secure_cookies: false,
            data_dir: dir.path().to_owned(),
            ..collabo_web::ServeConfig::default()
        },
    );
    let router = collabo_web::router(state);
    let login = |user: &'static str| {
        let router = router.clone();
        let app = app.clone();
        async move {
            // The login form's token comes with its page (cookie and hidden field).
            let (_, login_cookie, _) = portal(&router, "GET", "/login", None, "").await;
            let login_cookie = login_cookie.unwrap();
            let login_cookie = login_cookie.split(';').next().unwrap();
            let token = login_cookie.trim_start_matches("collabo_login=");
            let (status, cookie, _) = portal(
                &router,
                "POST",
                "/login",
                Some(login_cookie),
                &format!(
                    "_csrf={token}&username={user}&password={}",
                    urlencode("correct horse battery")
                ),
            )
            .await;
            assert_eq!(status, 303);
            let cookie = cookie
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("collabo_session=")
                .to_owned();
            let (session, _) = app.session(&cookie, now).await.unwrap().unwrap();
            let code = collabo_app::accounts::totp_code(secret, now).unwrap();
            let (status, rotated, location) = portal(
                &router,
                "POST",
                "/totp",
                Some(&cookie),
                &format!("_csrf={}&code={code}", session.csrf),
            )
            .await;
            assert_eq!((status, location.as_deref()), (303, Some("/")));
            // The second factor gives the session a new id and form token.
            let cookie = rotated
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("collabo_session=")
                .to_owned();
            let (session, _) = app.session(&cookie, now).await.unwrap().unwrap();
            (cookie, session.csrf)
        }
    };
    let (cookie, csrf) = login("web-admin").await;
    let (status, _, _) = portal(
        &router,
        "POST",
        "/admin/employers",
        Some(&cookie),
        &format!(
            "_csrf={csrf}&code=1003&name={}&contact={}",
            urlencode("架空商事"),
            urlencode("kenko@example.jp")
        ),
    )
    .await;
    assert_eq!(status, 303);
    let (cookie, csrf) = login("web-staff").await;
    let (status, _, _) = portal(
        &router,
        "POST",
        "/staff/consents",
        Some(&cookie),
        &format!(
            "_csrf={csrf}&member={}&kind=opt_out&scope=all&effective=2025-05-01&channel=phone",
            urlencode("06139999:1001:2:00")
        ),
    )
    .await;
    assert_eq!(status, 200);

    let auditor = Actor::new("check", Role::Auditor, "test", now);
    for action in ["admin.employer.put", "consent.record"] {
        let (records, _) = app
            .audit_log(
                &auditor,
                &collabo_app::audit::AuditFilter {
                    action_prefix: Some(action.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (web, cli): (Vec<_>, Vec<_>) = records
            .iter()
            .filter(|r| r.employer.as_deref() != Some("1001") || action != "admin.employer.put")
            .partition(|r| r.actor.starts_with("web-"));
        assert_eq!((web.len(), cli.len()), (1, 1), "{action}: {records:?}");
        assert!(cli[0].actor.starts_with("cli:") && cli[0].origin == "cli");
        assert_eq!(
            what(web[0]),
            what(cli[0]),
            "{action}: the two doors audit alike"
        );
    }
}

#[test]
fn claims_coverage_shows_each_stream_and_a_month_is_closed_and_reopened_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let map = collabo_claims::GroupMap::builtin().unwrap();
    let member = collabo_claims::ClaimIdentity {
        insurer: collabo_domain::ids::InsurerNumber::parse("06139999").unwrap(),
        symbol: collabo_domain::ids::Symbol::parse("1001").unwrap(),
        number: collabo_domain::ids::CardNumber::parse("1").unwrap(),
        branch: Some(collabo_domain::ids::Branch::parse("00").unwrap()),
        birth_date: jiff::civil::Date::constant(1975, 3, 3),
        sex: collabo_domain::member::Sex::Female,
    };
    let month = collabo_domain::calendar::YearMonth::new(2025, 11).unwrap();
    for (kind, stem, institution) in [
        (
            collabo_claims::ClaimFileKind::Medical,
            "RECEIPTC",
            "1310000001",
        ),
        (collabo_claims::ClaimFileKind::Dpc, "RECEIPTD", "1310000002"),
        (
            collabo_claims::ClaimFileKind::Pharmacy,
            "RECEIPTY",
            "1340000001",
        ),
    ] {
        let path = dir.path().join(format!("{stem}.UKE"));
        let options = collabo_claims::WriterOptions::medical(month.next()).of_kind(kind);
        let mut w =
            collabo_claims::UkeWriter::new(std::fs::File::create(&path).unwrap(), &map, options);
        w.write_claim(&collabo_claims::ClaimSpec {
            identity: member.clone(),
            name_kana: "タカハシ ハナコ".into(),
            institution: institution.into(),
            month,
            days: vec![4],
            groups: Vec::new(),
            filler: collabo_claims::Filler::NONE,
        })
        .unwrap();
        w.finish().unwrap();
        let o = collabo(
            dir.path(),
            &[
                "--date",
                "2026-01-05",
                "import",
                "claims",
                path.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = collabo(dir.path(), &["--date", "2026-01-06", "claims", "coverage"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("2025-11  未完了"), "{out}");
    assert!(out.contains("歯科 未着"), "{out}");
    assert!(out.contains("医科 取込済 (2026-01-05)"), "{out}");
    assert!(
        out.contains("レセプト取込済: 完了した診療月はまだありません（医科・DPC・歯科・調剤）"),
        "{out}"
    );
    let o = collabo(
        dir.path(),
        &[
            "--date",
            "2026-01-06",
            "claims",
            "close",
            "--month",
            "2025-11",
            "--stream",
            "歯科",
            "--reason",
            "",
        ],
    );
    assert!(!o.status.success(), "a reason is required: {}", text(&o));
    let o = collabo(
        dir.path(),
        &[
            "--date",
            "2026-01-06",
            "claims",
            "close",
            "--month",
            "2025-11",
            "--stream",
            "dental",
            "--reason",
            "歯科の請求なし",
        ],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("2025-11  完了"), "{out}");
    assert!(
        out.contains("レセプト取込済: 令和7年11月診療分まで（医科・DPC・歯科・調剤）"),
        "{out}"
    );
    let o = collabo(
        dir.path(),
        &[
            "--date",
            "2026-01-07",
            "claims",
            "reopen",
            "--month",
            "2025-11",
            "--stream",
            "dental",
            "--reason",
            "歯科の月遅れが届く",
        ],
    );
    assert!(
        o.status.success() && text(&o).contains("2025-11  未完了"),
        "{}",
        text(&o)
    );
    let o = collabo(dir.path(), &["claims", "streams"]);
    assert!(
        text(&o).contains("受け取る請求の種類: 医科・DPC・歯科・調剤"),
        "{}",
        text(&o)
    );
}
