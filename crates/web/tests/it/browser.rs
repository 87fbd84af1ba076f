//! End-to-end in Debian's chromium through chromedriver (WebDriver over plain HTTP on
//! loopback, spoken by a 100-line client below): an employer uploads a 要精密検査 list
//! with a bad row and sees the error with line and field; staff log in with TOTP,
//! prepare a batch of more than 100 letters, download every part of its PDF from the
//! letters page and count every letter in them, confirm 発送済 with a 発送日, and look
//! at the dashboard, a member page and the reports.
//! Screenshots go to /tmp/collabo-web-*.png. Missing chromium fails the test.

use crate::helpers::{TestApp, referral_csv};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    port: u16,
    session: String,
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // chromedriver may keep the connection open: read exactly one response.
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let body = loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        raw.extend_from_slice(&buf[..n]);
        let Some(pos) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            if n == 0 {
                return Err("closed before headers".into());
            }
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..pos]).to_ascii_lowercase();
        let rest = &raw[pos + 4..];
        if let Some(length) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            if rest.len() >= length {
                break String::from_utf8_lossy(&rest[..length]).into_owned();
            }
        } else if head.contains("transfer-encoding: chunked") {
            let text = String::from_utf8_lossy(rest).into_owned();
            if text.contains("\r\n0\r\n") || text.starts_with("0\r\n") {
                break dechunk(&text);
            }
        } else if n == 0 {
            break String::from_utf8_lossy(rest).into_owned();
        }
        if n == 0 {
            return Err("closed mid-body".into());
        }
    };
    serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

impl Driver {
    async fn start() -> Driver {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: install it with scripts/setup.sh (chromium chromium-driver)"
            );
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if let Ok(v) = http(port, "GET", "/status", None).await
                && v["value"]["ready"] == json!(true)
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap().keep();
        let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1366,900", "--lang=ja-JP", format!("--user-data-dir={}", profile.display())]
        }}}});
        let v = http(port, "POST", "/session", Some(&caps)).await.unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        Driver {
            port,
            session,
            child,
        }
    }
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        )
        .await
        .unwrap();
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    }
    async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }
    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }
    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})))
            .await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }
    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }
    async fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }
    async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }
    /// Waits (up to 10 s) until the URL ends with `suffix`; a form submit may still be
    /// navigating when the click returns.
    async fn wait_for_url(&self, suffix: &str) {
        for _ in 0..100 {
            if self.url().await.ends_with(suffix) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "URL is {} (waited for …{suffix}); the page: {}",
            self.url().await,
            self.source().await
        );
    }
    /// Waits (up to 10 s) until the page contains `text`, and returns the page.
    async fn wait_for_text(&self, text: &str) -> String {
        for _ in 0..100 {
            let page = self.source().await;
            if page.contains(text) {
                return page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("page never showed {text:?}: {}", self.source().await);
    }
    async fn screenshot(&self, name: &str) {
        let b64 = self
            .cmd("GET", "/screenshot", None)
            .await
            .as_str()
            .unwrap()
            .to_owned();
        let png = base64_decode(&b64);
        std::fs::write(format!("/tmp/collabo-web-{name}.png"), &png).unwrap();
        // The month's walk keeps its pages together for review (issue 13).
        let _ = std::fs::create_dir_all("/tmp/shots13");
        let _ = std::fs::write(format!("/tmp/shots13/{name}.png"), &png);
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|c| u32::from(value(*c))).collect();
        let n = v
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, x)| acc | (x << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if v.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if v.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

async fn login(d: &Driver, base: &str, user: &str) {
    d.goto(&format!("{base}/login")).await;
    d.type_into("#f-username", user).await;
    d.type_into("#f-password", crate::helpers::PASSWORD).await;
    d.click("form.box button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employer_uploads_and_sees_errors_then_staff_work_with_totp() {
    let app = TestApp::spawn().await;
    // Some history so the staff pages have content.
    app.sign_c("E1").await;
    let staff_api = app.login("staff1").await;
    let seeded = app
        .post_file(
            "/employer/E1/referrals",
            &staff_api,
            "8月分.csv",
            &referral_csv(
                "E1",
                &[
                    (11, "胃", "2026-08-03"),
                    (12, "大腸", "2026-09-10"),
                    (13, "乳", "2026-10-01"),
                ],
            ),
        )
        .await;
    assert_eq!(seeded.status, axum::http::StatusCode::OK, "{}", seeded.body);
    // 120 smokers at E2 (108 more than the fixture): with E1's three 要精密検査 notices
    // a batch of 123 letters, printed as two PDF parts (100 + 23).
    app.app()
        .import_members(
            &app.staff(),
            "members-2.csv",
            &crate::helpers::register_with_e2(120),
        )
        .await
        .unwrap();
    let smokers: Vec<_> = (1..=120)
        .map(|n| crate::helpers::exam(n, 5.0, true))
        .collect();
    app.add_checkups("E2", Some("E2"), &smokers).await;
    app.run_engine().await;
    app.publish(&staff_api).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = collabo_web::router(app.state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let d = Driver::start().await;

    // Employer: log in (no second factor), upload a list with one bad row.
    login(&d, &base, "emp1").await;
    d.wait_for_url("/employer/E1").await;
    d.screenshot("employer-overview").await;
    let mut csv = String::from_utf8(referral_csv("E1", &[(1, "肺", "2026-10-05")])).unwrap();
    csv.push_str("E1,2,試験 太郎2,1980-04-01,肝臓,2026-10-05,1\n");
    let file = std::env::temp_dir().join(format!("要精密検査_{}.csv", std::process::id()));
    std::fs::write(&file, csv).unwrap();
    d.type_into(
        "form[action$='/referrals'] input[type=file]",
        &file.display().to_string(),
    )
    .await;
    d.click("form[action$='/referrals'] button[type=submit]")
        .await;
    let page = d.wait_for_text("取込できませんでした").await;
    d.screenshot("employer-upload-error").await;
    assert!(page.contains("取込できませんでした"), "{page}");
    assert!(
        page.contains("がん検診の種類")
            && page.contains("のいずれか")
            && page.contains("<td class=\"num\">3</td>"),
        "the error names line 3 and the field: {page}"
    );
    d.screenshot("employer-upload-error").await;
    d.goto(&format!("{base}/employer/E1/aggregates")).await;
    let aggregates = d.source().await;
    assert!(
        aggregates.contains("公表日時") && aggregates.contains("—（秘匿）"),
        "{aggregates}"
    );
    d.screenshot("employer-aggregates").await;
    // The employer's own 健康スコアリングレポート: published shares next to the society's.
    d.goto(&format!("{base}/employer/E1/report")).await;
    let score = d.source().await;
    assert!(
        score.contains("健康スコアリングレポート") && score.contains("組合全体"),
        "{score}"
    );
    assert!(!score.contains("未受診") && !score.contains("再勧奨"));
    d.screenshot("employer-score-report").await;
    d.goto(&format!("{base}/employer/E1/risk-holders")).await;
    d.screenshot("employer-risk-holders").await;
    d.click("header form button").await;
    d.wait_for_url("/login").await;

    // Staff: password, then TOTP, then the dashboard.
    login(&d, &base, "staff1").await;
    d.wait_for_url("/totp").await;
    let code = app.next_code();
    d.type_into("#f-code", &code).await;
    d.click("form.box button[type=submit]").await;
    d.wait_for_url("/staff").await;
    assert!(d.source().await.contains("事業別・状態別の件数"));
    d.screenshot("staff-dashboard").await;
    assert!(
        d.source().await.contains("レセプト取込済"),
        "the dashboard says how far claims are complete"
    );
    d.goto(&format!("{base}/staff/letters")).await;
    d.screenshot("staff-letters").await;
    d.click("form[action='/staff/letters/prepare'] button")
        .await;
    let prepared = d.wait_for_text("を作成しました").await;
    d.screenshot("staff-letters-prepare").await;
    assert!(
        prepared.contains("を作成しました（123通・封筒123通・")
            && prepared.contains("PDF 2ファイル"),
        "{prepared}"
    );
    // The letters page offers every part of the batch's PDF.
    d.goto(&format!("{base}/staff/letters")).await;
    let list = d.source().await;
    d.screenshot("staff-letters-batch").await;
    assert!(list.contains("印刷待ち") && list.contains("発送リスト（委託先用）"));
    let parts: Vec<String> = ["PDF 1/2", "PDF 2/2"]
        .iter()
        .map(|label| {
            let end = list
                .find(&format!("\">{label}</a>"))
                .unwrap_or_else(|| panic!("no link {label}: {list}"));
            let start = list[..end].rfind("href=\"").unwrap() + 6;
            list[start..end].replace("&amp;", "&")
        })
        .collect();
    assert!(!list.contains("PDF 3/"), "two parts only");
    // Download each with the browser's own session (same origin, the session cookie)
    // and count every letter in it: one 親展 and one 整理番号 per envelope.
    let script = "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.arrayBuffer().then(b => { const u = new Uint8Array(b); let s = ''; for (let i = 0; i < u.length; i += 8192) { s += String.fromCharCode(...u.subarray(i, i + 8192)); } done([r.status, r.headers.get('content-type'), r.headers.get('content-disposition'), btoa(s)]); }));";
    let mut references = std::collections::BTreeSet::new();
    let mut per_part = Vec::new();
    for (i, href) in parts.iter().enumerate() {
        let got = d
            .cmd(
                "POST",
                "/execute/async",
                Some(json!({ "script": script, "args": [href] })),
            )
            .await;
        assert_eq!(got[0], json!(200), "{href}");
        assert_eq!(got[1], json!("application/pdf"));
        let disposition = got[2].as_str().unwrap();
        assert!(
            disposition.contains(&format!("_%E9%80%9A%E7%9F%A5_{}of2.pdf", i + 1)),
            "named B…_通知_{}of2.pdf: {disposition}",
            i + 1
        );
        let pdf = base64_decode(got[3].as_str().unwrap());
        assert!(pdf.starts_with(b"%PDF-"));
        let path = std::env::temp_dir().join(format!(
            "collabo-web-part-{}-{}.pdf",
            std::process::id(),
            i + 1
        ));
        std::fs::write(&path, &pdf).unwrap();
        let out = Command::new("pdftotext")
            .args([path.to_str().unwrap(), "-"])
            .output()
            .expect("pdftotext (poppler-utils, scripts/setup.sh)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let found: std::collections::BTreeSet<String> = text
            .match_indices("B20261124-01-")
            .filter_map(|(at, _)| text.get(at..at + 18).map(str::to_owned))
            .filter(|r| r[13..].bytes().all(|b| b.is_ascii_digit()))
            .collect();
        assert_eq!(
            text.matches("親展").count(),
            found.len(),
            "one envelope per 整理番号"
        );
        per_part.push(found.len());
        references.extend(found);
        let _ = std::fs::remove_file(&path);
    }
    assert_eq!(per_part, [100, 23], "every letter, in two parts");
    assert_eq!(references.len(), 123, "no letter twice, none missing");
    // Two days later (a new login: the session of the 24th has ended), 発送済 with the
    // 発送日 of the day before, after a confirmation naming the parts and the count.
    app.clock.advance(2 * 86_400);
    login(&d, &base, "staff1").await;
    d.wait_for_url("/totp").await;
    let code =
        collabo_web::auth::totp_code(crate::helpers::TOTP, collabo_web::Clock::now(&*app.clock))
            .unwrap();
    d.type_into("#f-code", &code).await;
    d.click("form.box button[type=submit]").await;
    d.wait_for_url("/staff").await;
    let batch = "B20261124-01";
    d.goto(&format!("{base}/staff/letters/{batch}")).await;
    let page = d.source().await;
    assert!(page.contains("封筒123通"), "{page}");
    d.cmd(
        "POST",
        "/execute/sync",
        Some(json!({ "script": "document.getElementById('f-on').value = '2026-11-25';", "args": [] })),
    )
    .await;
    d.screenshot("staff-batch-mailed-form").await;
    // Under the content security policy a confirmation still asks first: dismissed,
    // nothing is posted.
    d.click("form[action$='/mailed'] button").await;
    d.cmd("POST", "/alert/dismiss", Some(json!({}))).await;
    assert!(
        d.source().await.contains("発送済にする"),
        "dismissed: nothing posted"
    );
    d.click("form[action$='/mailed'] button").await;
    let question = d.cmd("GET", "/alert/text", None).await;
    let question = question.as_str().unwrap_or_default().to_owned();
    assert!(
        question.contains("PDF 2ファイル（1/2・2/2）の封筒123通"),
        "{question}"
    );
    d.cmd("POST", "/alert/accept", Some(json!({}))).await;
    let mailed = d.wait_for_text("発送日 令和8年11月25日").await;
    d.screenshot("staff-batch-mailed").await;
    assert!(mailed.contains("発送済"), "{mailed}");
    d.goto(&format!("{base}/staff/letters")).await;
    assert!(d.source().await.contains("発送済（令和8年11月25日）"));
    let key = crate::helpers::key_text("E1", 11);
    d.goto(&format!("{base}/staff/members/{key}")).await;
    assert!(d.source().await.contains("試験 太郎11"));
    d.screenshot("staff-member").await;
    d.goto(&format!("{base}/staff/reports")).await;
    let reports = d.source().await;
    // Rates on a fixed 0–100 % axis, text never stretched, a 年度 selector, the
    // effect report with its exports.
    let compact: String = reports.split_whitespace().collect();
    assert!(
        compact.contains(">100%</text>") && compact.contains(">0%</text>"),
        "{reports}"
    );
    assert!(!reports.contains("preserveAspectRatio"), "{reports}");
    assert!(reports.contains("name=\"fy\"") && reports.contains("年度別の推移"));
    assert!(reports.contains("効果測定") && reports.contains("effects.xlsx"));
    d.screenshot("staff-reports").await;
    d.goto(&format!("{base}/staff/review")).await;
    d.screenshot("staff-review").await;

    // Under the content security policy (no inline style or script) the style sheet
    // still applies and a confirmation still asks first.
    let style = d
        .cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": "return getComputedStyle(document.querySelector('header')).borderBottomStyle;", "args": [] })),
        )
        .await;
    assert_eq!(style, json!("solid"), "the style sheet is applied");
    d.cmd("DELETE", "", None).await;
}

/// Sets a file input to a file written under the temp folder.
async fn choose_file(d: &Driver, form_action: &str, name: &str, bytes: &[u8]) {
    let dir = std::env::temp_dir().join(format!("collabo-month-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    d.type_into(
        &format!("form[action='{form_action}'] input[type=file]"),
        &path.display().to_string(),
    )
    .await;
}

/// Waits (up to 60 s) until a job's page, reloading itself, shows `text`.
async fn wait_for_job(d: &Driver, text: &str) -> String {
    for _ in 0..600 {
        let page = d.source().await;
        if page.contains(text) {
            return page;
        }
        if page.contains("取り込みませんでした") || page.contains("完了できませんでした")
        {
            panic!("the job failed: {page}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the job never showed {text:?}: {}", d.source().await);
}

async fn staff_login(d: &Driver, app: &TestApp, base: &str) {
    login(d, base, "staff1").await;
    d.wait_for_url("/totp").await;
    let code = app.next_code();
    d.type_into("#f-code", &code).await;
    d.click("form.box button[type=submit]").await;
    d.wait_for_url("/staff").await;
}

/// Issue 13's month, in chromium: staff upload the register and a claims file, run
/// 抽出, resolve a review item from its candidates, record an opt-out through its
/// confirmation, prepare and download a batch and confirm 発送済 with a date; an
/// employer uploads a list, picks a 年度, pages through its risk list and exports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_in_the_browser() {
    let app = TestApp::spawn().await;
    app.sign_c("E1").await;
    // E2 with 120 本人 whose checkups (令和8年度) make them risk holders: two pages.
    let exams: Vec<_> = (1..=120)
        .map(|n| crate::helpers::exam(n, 7.0, false))
        .collect();
    // A 要精密検査 row whose 番号 was mistyped (77 for 7): a review item with a candidate.
    let staff_api = app.login("staff1").await;
    let mut csv = String::from_utf8(referral_csv("E1", &[(11, "胃", "2026-10-03")])).unwrap();
    csv.push_str("E1,77,試験 太郎7,1980-04-01,大腸,2026-10-03,1\n");
    let seeded = app
        .post_file(
            "/employer/E1/referrals",
            &staff_api,
            "10月分.csv",
            csv.as_bytes(),
        )
        .await;
    assert_eq!(seeded.status, axum::http::StatusCode::OK, "{}", seeded.body);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = collabo_web::router(app.state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let d = Driver::start().await;
    staff_login(&d, &app, &base).await;
    d.screenshot("m01-dashboard-before").await;

    // The register (now with E2's 120) and a claims file, each as a job.
    d.goto(&format!("{base}/staff/imports")).await;
    d.screenshot("m02-imports").await;
    choose_file(
        &d,
        "/staff/imports/members",
        "台帳_202611.csv",
        &crate::helpers::register_with_e2(120),
    )
    .await;
    d.click("form[action='/staff/imports/members'] button")
        .await;
    let done = wait_for_job(&d, "完了しました").await;
    d.screenshot("m03-register-job").await;
    assert!(done.contains("登録した行"), "{done}");
    app.add_checkups("E2", Some("E2"), &exams).await;
    d.goto(&format!("{base}/staff/imports")).await;
    choose_file(
        &d,
        "/staff/imports/claims",
        "RECEIPTC_202610.UKE",
        &crate::helpers::uke_bytes("2026-10", &[1, 2, 3, 4]),
    )
    .await;
    d.click("form[action='/staff/imports/claims'] button").await;
    let done = wait_for_job(&d, "完了しました").await;
    d.screenshot("m04-claims-job").await;
    assert!(done.contains("登録した行: 4"), "{done}");

    // 抽出.
    d.goto(&format!("{base}/staff/imports")).await;
    d.click("form[action='/staff/run'] button").await;
    let done = wait_for_job(&d, "判定した加入者").await;
    d.screenshot("m05-run-job").await;
    assert!(done.contains("D 糖尿病"), "{done}");
    d.goto(&format!("{base}/staff")).await;
    let dashboard = d.source().await;
    d.screenshot("m06-dashboard-after").await;
    assert!(dashboard.contains("前回の抽出"), "{dashboard}");
    d.goto(&format!("{base}/staff/cases?programme=D")).await;
    d.screenshot("m07-cases").await;
    assert!(d.source().await.contains("E2-1-00"));

    // The review item, resolved from its candidate in one click.
    d.goto(&format!("{base}/staff/review")).await;
    let queue = d.source().await;
    d.screenshot("m08-review").await;
    assert!(queue.contains("E1-7-00 試験 太郎7"), "{queue}");
    d.click("td form.inline:has(input[type=hidden][name=member]) button")
        .await;
    d.wait_for_url("/staff/review").await;
    let after = d.wait_for_text("照合待ちはありません").await;
    assert!(!after.contains("E1-77"), "{after}");

    // An opt-out: search, the decision, the confirmation (nothing recorded yet), then
    // the confirmed question.
    d.goto(&format!("{base}/staff/consents?q=%E5%A4%AA%E9%83%8E9"))
        .await;
    d.screenshot("m09-consent-search").await;
    d.click("a[href^='/staff/consents?member=']").await;
    d.wait_for_text("確認画面へ").await;
    d.screenshot("m10-consent-form").await;
    d.click("form[action='/staff/consents/confirm'] button")
        .await;
    let confirm = d.wait_for_text("まだ登録していません").await;
    d.screenshot("m11-consent-confirm").await;
    assert!(
        confirm.contains("生年月日") && confirm.contains("削除する"),
        "{confirm}"
    );
    d.click("form[action='/staff/consents'] button").await;
    let question = d.cmd("GET", "/alert/text", None).await;
    assert!(
        question
            .as_str()
            .unwrap_or_default()
            .contains("元に戻せません"),
        "{question}"
    );
    d.cmd("POST", "/alert/accept", Some(json!({}))).await;
    d.wait_for_text("同意・停止を登録しました").await;
    d.screenshot("m12-consent-done").await;
    d.goto(&format!("{base}/staff/consents/register")).await;
    d.screenshot("m13-consent-register").await;
    assert!(d.source().await.contains("試験 太郎9"));

    // A batch: prepared, its PDF downloaded, 発送済 on a 発送日.
    d.goto(&format!("{base}/staff/letters")).await;
    d.click("form[action='/staff/letters/prepare'] button")
        .await;
    let prepared = d.wait_for_text("を作成しました").await;
    d.screenshot("m14-batch-prepared").await;
    let end = prepared.find("\">PDF 1/").expect("a PDF link");
    let start = prepared[..end].rfind("href=\"").unwrap() + 6;
    let href = prepared[start..end].replace("&amp;", "&");
    let script = "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.status, r.headers.get('content-type'), b.byteLength])));";
    let got = d
        .cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": [href] })),
        )
        .await;
    assert_eq!(got[0], json!(200));
    assert_eq!(got[1], json!("application/pdf"));
    let batch = prepared
        .split("/staff/letters/")
        .nth(1)
        .and_then(|rest| rest.split(['"', '/']).next())
        .unwrap()
        .to_owned();
    d.goto(&format!("{base}/staff/letters/{batch}")).await;
    d.click("form[action$='/mailed'] button").await;
    d.cmd("POST", "/alert/accept", Some(json!({}))).await;
    d.wait_for_text("発送日 令和8年11月24日").await;
    d.screenshot("m15-batch-mailed").await;
    d.goto(&format!(
        "{base}/staff/members/{}",
        crate::helpers::key_text("E1", 9)
    ))
    .await;
    let member = d.source().await;
    d.screenshot("m16-member-opted-out").await;
    assert!(member.contains("データ共有停止中"), "{member}");
    d.click("header form button").await;
    d.wait_for_url("/login").await;

    // The employer of E1 uploads a list; the employer of E2 picks a 年度, pages
    // through its risk list and exports it.
    login(&d, &base, "emp1").await;
    d.wait_for_url("/employer/E1").await;
    let overview = d.source().await;
    d.screenshot("m17-employer-overview").await;
    assert!(overview.contains("締切"), "what is due next: {overview}");
    let list = referral_csv("E1", &[(21, "肺", "2026-10-20")]);
    let crlf = String::from_utf8(list).unwrap().replace('\n', "\r\n");
    choose_file(
        &d,
        "/employer/E1/referrals",
        "要精密_11月.csv",
        crlf.as_bytes(),
    )
    .await;
    d.click("form[action$='/referrals'] button").await;
    d.wait_for_text("を受け付けました").await;
    d.screenshot("m18-employer-upload").await;
    d.click("header form button").await;
    d.wait_for_url("/login").await;
    login(&d, &base, "emp2").await;
    d.wait_for_url("/employer/E2").await;
    d.goto(&format!("{base}/employer/E2/risk-holders")).await;
    d.cmd(
        "POST",
        "/execute/sync",
        Some(json!({ "script": "document.getElementById('f-fy').value = '2026'; document.getElementById('f-order').value = 'card';", "args": [] })),
    )
    .await;
    d.click("form[action='/employer/E2/risk-holders'] button")
        .await;
    let first = d.wait_for_text("全120件中 1〜100件目").await;
    d.screenshot("m19-risk-page1").await;
    assert!(first.contains("令和8年度"), "{first}");
    d.click("a[href*='page=2']").await;
    let second = d.wait_for_text("全120件中 101〜120件目").await;
    d.screenshot("m20-risk-page2").await;
    assert!(second.contains("E2-120-00"), "{second}");
    let export = second
        .split("href=\"")
        .filter_map(|h| h.split('"').next())
        .find(|h| h.starts_with("/employer/E2/risk-holders/export") && !h.contains("xlsx"))
        .unwrap()
        .replace("&amp;", "&");
    let script = "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t])));";
    let got = d
        .cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": [export] })),
        )
        .await;
    assert_eq!(got[0], json!(200));
    let text = got[1].as_str().unwrap();
    assert_eq!(text.lines().count(), 121, "header and 120 people");

    // The administrator changes D's settings in the form: a typo is refused with what
    // was typed kept and the reason under the field; corrected, it is saved.
    d.click("header form button").await;
    d.wait_for_url("/login").await;
    login(&d, &base, "admin1").await;
    d.wait_for_url("/totp").await;
    let code = app.next_code();
    d.type_into("#f-code", &code).await;
    d.click("form.box button[type=submit]").await;
    d.wait_for_text("ログアウト").await;
    d.goto(&format!("{base}/admin/settings?programme=D&year=2026"))
        .await;
    d.screenshot("m21-settings-form").await;
    d.type_into("#f-hba1c_threshold", "65").await;
    d.type_into("#f-interrupted_months", "6").await;
    d.click("form[action='/admin/settings'] button").await;
    let refused = d.wait_for_text("保存していません").await;
    d.screenshot("m22-settings-refused").await;
    assert!(
        refused.contains("HbA1c の基準は4〜15で指定してください"),
        "{refused}"
    );
    assert!(refused.contains("value=\"65\"") && refused.contains("value=\"6\""));
    d.type_into("#f-hba1c_threshold", "7.0").await;
    d.click("form[action='/admin/settings'] button").await;
    d.wait_for_url("/admin/settings?programme=D&year=2026")
        .await;
    assert!(d.source().await.contains("value=\"7\""));

    // The administrator disables the employer contact who left, from the user's page,
    // after a question naming them; the list then says 無効.
    d.goto(&format!("{base}/admin/users")).await;
    d.click("a[href='/admin/users/emp2']").await;
    d.wait_for_text("パスワードを再設定する").await;
    d.screenshot("m23-user-page").await;
    d.click("form[action='/admin/users/emp2/disable'] button")
        .await;
    let question = d.cmd("GET", "/alert/text", None).await;
    assert!(
        question
            .as_str()
            .unwrap_or_default()
            .contains("emp2（emp2）を無効にします"),
        "{question}"
    );
    d.cmd("POST", "/alert/accept", Some(json!({}))).await;
    let disabled = d
        .wait_for_text("無効（どのパスワードでもログインできません）")
        .await;
    d.screenshot("m24-user-disabled").await;
    assert!(!disabled.contains("/admin/users/emp2/disable"));
    // The forms an employer fills in, column by column.
    d.goto(&format!("{base}/forms")).await;
    d.screenshot("m25-forms").await;
    assert!(d.source().await.contains("検診実施年月日"));
    d.cmd("DELETE", "", None).await;
}
