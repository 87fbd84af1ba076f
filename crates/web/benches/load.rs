//! Load test on loopback: a SQLite database of 1,000,000 synthetic members (imported
//! through `collabo_app::App` as register CSV files), the portal served in process, and
//! 50 concurrent keep-alive clients hammering the staff dashboard and the member page.
//! Prints requests/s and p50/p99 latency per page.
//!
//! Run: `cargo bench -p collabo-web --bench load` (env: LOAD_MEMBERS, LOAD_SECONDS,
//! LOAD_CLIENTS, LOAD_DB to reuse a database file between runs; its audit key lives in
//! `<LOAD_DB>.data`).

// A benchmark harness stops at the first failure by design: panicking is its error report.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use collabo_app::accounts::{NewUser, SecondFactorOutcome, totp_code};
use collabo_app::{Actor, App, Society};
use collabo_domain::authz::Role;
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, MemberKey, Symbol};
use collabo_web::{AppState, Clock, ServeConfig, SystemClock};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INSURER: &str = "06130012";
const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const PASSWORD: &str = "load-test-password";
/// Register rows per imported file.
const FILE_ROWS: u64 = 50_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn employer_of(i: u64) -> String {
    format!("E{:03}", i % 500)
}

fn key_of(i: u64) -> MemberKey {
    MemberKey {
        insurer: InsurerNumber::parse(INSURER).unwrap_or_else(|e| panic!("{e}")),
        symbol: Symbol::parse(&employer_of(i)).unwrap_or_else(|e| panic!("{e}")),
        number: CardNumber::parse(&format!("{i:07}")).unwrap_or_else(|e| panic!("{e}")),
        branch: Branch::parse("00").unwrap_or_else(|e| panic!("{e}")),
    }
}

/// One register row (layout of `collabo_app::imports::parse_members`).
fn register_row(i: u64) -> String {
    const FAMILY: [&str; 10] = [
        "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    ];
    const GIVEN: [&str; 10] = [
        "太郎", "花子", "一郎", "美咲", "健太", "陽子", "翔", "由美", "大輔", "彩",
    ];
    let employer = employer_of(i);
    format!(
        "{INSURER},{employer},{i:07},00,{} {},シケン,{},{:04}-{:02}-{:02},1000001,東京都千代田区,,{employer},{},2010-04-01,\n",
        FAMILY[(i % 10) as usize],
        GIVEN[((i / 10) % 10) as usize],
        if i.is_multiple_of(2) { "2" } else { "1" },
        1960 + i % 40,
        1 + i % 12,
        1 + i % 28,
        if i % 5 == 4 { "家族" } else { "本人" },
    )
}

fn actor(user: &str, role: Role) -> Actor {
    Actor::new(user, role, "bench", SystemClock.now())
}

async fn prepare(path: &str, data: &Path, n: u64) -> App {
    let url = format!("sqlite:{path}");
    let society = Society {
        insurer: INSURER.into(),
        name: "負荷試験健保".into(),
        section: "保健事業課".into(),
        address: "東京都".into(),
        phone: "03".into(),
    };
    if Path::new(path).exists() {
        return App::open(&url, None, data)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let app = App::init(&url, &society, data)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let staff = actor("bench", Role::Staff);
    let mut i = 0;
    while i < n {
        let end = (i + FILE_ROWS).min(n);
        let mut csv = String::from(
            "保険者番号,記号,番号,枝番,氏名,氏名カナ,性別,生年月日,郵便番号,住所,住所2,事業所記号,本人家族,資格取得日,資格喪失日\n",
        );
        for j in i..end {
            csv.push_str(&register_row(j));
        }
        app.import_members(&staff, &format!("members-{i:07}.csv"), csv.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        i = end;
    }
    println!(
        "generated {n} members in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    app
}

/// A staff user with a known TOTP secret, logged in through the door: returns the
/// session cookie value.
async fn login(app: &App) -> String {
    let admin = actor("bench-admin", Role::Admin);
    app.put_user_with_totp(
        &admin,
        NewUser {
            username: "load".into(),
            display_name: "load".into(),
            password: PASSWORD.into(),
            role: Role::Staff,
        },
        Some(TOTP),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let policy = collabo_app::accounts::LoginPolicy::default();
    let now = SystemClock.now();
    let id = match app
        .password_login("load", PASSWORD, "bench", now, policy)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        collabo_app::accounts::LoginOutcome::Session { id, .. } => id,
        other => panic!("login: {other:?}"),
    };
    let (session, _) = app
        .session(&id, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no session"));
    let code = totp_code(TOTP, now).unwrap_or_else(|e| panic!("{e}"));
    let outcome = app
        .second_factor(&actor("load", Role::Staff), &session, &code, now, policy)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The second factor gives the session a new id.
    match outcome {
        SecondFactorOutcome::Accepted { id } => id,
        other => panic!("second factor: {other:?}"),
    }
}

/// One keep-alive client: GETs paths in turn for `seconds`, returns latencies.
async fn client(
    addr: std::net::SocketAddr,
    cookie: String,
    paths: Vec<String>,
    until: Instant,
) -> (Vec<Duration>, u64) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut buf = vec![0u8; 1 << 20];
    let mut k = 0;
    while Instant::now() < until {
        let path = &paths[k % paths.len()];
        k += 1;
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nCookie: collabo_session={cookie}\r\n\r\n");
        let t = Instant::now();
        stream
            .write_all(req.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Read headers, then Content-Length bytes.
        let mut have = 0;
        let (header_end, length, status) = loop {
            let n = stream
                .read(&mut buf[have..])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(n > 0, "server closed");
            have += n;
            if let Some(pos) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let status = head.get(9..12).unwrap_or("000").to_owned();
                break (pos + 4, length, status);
            }
        };
        while have < header_end + length {
            let n = stream
                .read(&mut buf[have..])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(n > 0, "server closed");
            have += n;
        }
        latencies.push(t.elapsed());
        if status != "200" {
            errors += 1;
            if errors == 1 {
                let body = String::from_utf8_lossy(&buf[header_end..have]);
                let text = body
                    .split("<p>")
                    .nth(1)
                    .unwrap_or("")
                    .split("</p>")
                    .next()
                    .unwrap_or("");
                eprintln!("first non-200: {status} {path} {text}");
            }
        }
    }
    (latencies, errors)
}

async fn run(
    name: &str,
    addr: std::net::SocketAddr,
    cookie: &str,
    paths: Vec<String>,
    clients: u64,
    seconds: u64,
) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let mut mine = paths.clone();
            mine.rotate_left((c as usize * 7) % paths.len().max(1));
            tokio::spawn(client(addr, cookie.to_owned(), mine, until))
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap_or_else(|e| panic!("{e}"));
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{name:<14} {clients} clients {seconds} s: {} requests, {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, non-200 {errors}",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let members = env("LOAD_MEMBERS", 1_000_000);
        let seconds = env("LOAD_SECONDS", 10);
        let clients = env("LOAD_CLIENTS", 50);
        let path =
            std::env::var("LOAD_DB").unwrap_or_else(|_| format!("/tmp/collabo-load-{members}.db"));
        let data = std::path::PathBuf::from(format!("{path}.data"));
        let app = prepare(&path, &data, members).await;
        let cookie = login(&app).await;
        let step = (members / 2000).max(1);
        let keys: Vec<String> = (0..2000u64)
            .map(|i| key_of((i * step) % members).to_key_string())
            .collect();
        let state = AppState::new(
            app,
            Arc::new(SystemClock),
            ServeConfig {
                database_url: format!("sqlite:{path}"),
                data_dir: data,
                secure_cookies: false,
                ..ServeConfig::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let router = collabo_web::router(state);
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        println!("database {path}: {members} members; loopback {addr}");
        run(
            "dashboard",
            addr,
            &cookie,
            vec!["/staff".into()],
            clients,
            seconds,
        )
        .await;
        run(
            "member page",
            addr,
            &cookie,
            keys.iter().map(|k| format!("/staff/members/{k}")).collect(),
            clients,
            seconds,
        )
        .await;
        if let Ok(status) = std::fs::read_to_string("/proc/self/status")
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
        {
            println!("peak memory {line}");
        }
    });
}
