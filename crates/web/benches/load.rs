//! Load test on loopback: a SQLite database of 1,000,000 synthetic members (written
//! through the store's member import), the portal served in process, and 50
//! concurrent keep-alive clients hammering the staff dashboard and the member page.
//! Prints requests/s and p50/p99 latency per page.
//!
//! Run: `cargo bench -p collabo-web --bench load` (env: LOAD_MEMBERS, LOAD_SECONDS,
//! LOAD_CLIENTS, LOAD_DB to reuse a database file between runs).

// A benchmark harness stops at the first failure by design: panicking is its error report.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::member::{Address, Member, Sex};
use collabo_store::imports::Actor;
use collabo_store::portal::{SessionRow, UserRow};
use collabo_store::{ImportKind, Society, Store};
use collabo_web::{AppState, ServeConfig, SystemClock, auth};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INSURER: &str = "06130012";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn synthetic(i: u64) -> Member {
    const FAMILY: [&str; 10] = [
        "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    ];
    const GIVEN: [&str; 10] = [
        "太郎", "花子", "一郎", "美咲", "健太", "陽子", "翔", "由美", "大輔", "彩",
    ];
    let employer = format!("E{:03}", i % 500);
    Member {
        key: MemberKey {
            insurer: InsurerNumber::parse(INSURER).unwrap_or_else(|e| panic!("{e}")),
            symbol: Symbol::parse(&employer).unwrap_or_else(|e| panic!("{e}")),
            number: CardNumber::parse(&format!("{i:07}")).unwrap_or_else(|e| panic!("{e}")),
            branch: Branch::parse("00").unwrap_or_else(|e| panic!("{e}")),
        },
        name_kanji: format!(
            "{} {}",
            FAMILY[(i % 10) as usize],
            GIVEN[((i / 10) % 10) as usize]
        ),
        name_kana: "シケン".into(),
        sex: if i.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        birth_date: collabo_domain::Date::new(
            1960 + (i % 40) as i16,
            1 + (i % 12) as i8,
            1 + (i % 28) as i8,
        )
        .unwrap_or_else(|e| panic!("{e}")),
        address: Address {
            postal_code: "1000001".into(),
            line1: "東京都千代田区".into(),
            line2: String::new(),
        },
        employer: EmployerCode::parse(&employer).unwrap_or_else(|e| panic!("{e}")),
        qualified_from: collabo_domain::Date::new(2010, 4, 1).unwrap_or_else(|e| panic!("{e}")),
        qualified_until: None,
    }
}

async fn prepare(path: &str, n: u64) -> Store {
    let url = format!("sqlite:{path}");
    let society = Society {
        insurer: INSURER.into(),
        name: "負荷試験健保".into(),
        section: "保健事業課".into(),
        address: "東京都".into(),
        phone: "03".into(),
    };
    if std::path::Path::new(path).exists() {
        return Store::open(&url, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let store = Store::init(&url, &society)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let actor = Actor {
        name: "bench".into(),
        role: "staff".into(),
        origin: "bench".into(),
    };
    let now: jiff::Timestamp = "2026-11-24T00:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let today = collabo_domain::Date::new(2026, 11, 24).unwrap_or_else(|e| panic!("{e}"));
    let mut session = store
        .begin_import(
            ImportKind::Members,
            "members.csv",
            "bench",
            None,
            &actor,
            today,
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|_| panic!("imported"));
    let mut i = 0;
    while i < n {
        let chunk: Vec<Member> = (i..(i + 20_000).min(n)).map(synthetic).collect();
        session
            .add_members(&chunk)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        i += chunk.len() as u64;
    }
    session.finish().await.unwrap_or_else(|e| panic!("{e}"));
    println!(
        "generated {n} members in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    store
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
        let store = prepare(&path, members).await;
        let now: jiff::Timestamp = collabo_web::Clock::now(&SystemClock);
        store
            .put_user(
                &UserRow {
                    username: "load".into(),
                    display_name: "load".into(),
                    password_hash: "x".into(),
                    role: "staff".into(),
                    employers: vec![],
                    totp_secret: None,
                    totp_enrolled: false,
                    failed_logins: 0,
                    locked_until: None,
                },
                now,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let cookie = auth::random_hex(32);
        let expires = now
            .checked_add(jiff::SignedDuration::from_hours(2))
            .unwrap_or(now);
        store
            .create_session(
                &SessionRow {
                    id_hash: auth::sha256_hex(&cookie),
                    username: "load".into(),
                    csrf: "x".into(),
                    stage: "full".into(),
                    pending_secret: None,
                    expires_at: expires.to_string(),
                },
                "bench",
                now,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let step = (members / 2000).max(1);
        let keys: Vec<String> = (0..2000u64)
            .map(|i| synthetic((i * step) % members).key.to_key_string())
            .collect();
        let state = AppState::new(
            store,
            Arc::new(SystemClock),
            ServeConfig {
                database_url: format!("sqlite:{path}"),
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
