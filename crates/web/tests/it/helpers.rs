//! A test app: a fresh SQLite store with a synthetic society (two employers, one with
//! 60 members, one with 12), one user per role with a known TOTP secret, a fixed clock,
//! and helpers to log in and call routes in process.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::member::{Address, Member, Sex};
use collabo_store::imports::Actor;
use collabo_store::portal::UserRow;
use collabo_store::{ImportKind, Society, Store};
use collabo_web::{AppState, FixedClock, ServeConfig, auth};
use std::sync::Arc;
use tower::ServiceExt;

pub const INSURER: &str = "06130012";
pub const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    pub _dir: tempfile::TempDir,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

/// A logged-in client: cookie and form token.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub cookie: Option<String>,
    pub csrf: String,
    pub bearer: Option<String>,
}

pub fn member(employer: &str, n: u32) -> Member {
    Member {
        key: MemberKey {
            insurer: InsurerNumber::parse(INSURER).unwrap(),
            symbol: Symbol::parse(employer).unwrap(),
            number: CardNumber::parse(&n.to_string()).unwrap(),
            branch: Branch::parse("00").unwrap(),
        },
        name_kanji: format!("試験 太郎{n}"),
        name_kana: format!("シケン タロウ{n}"),
        sex: if n.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        birth_date: "1980-04-01".parse().unwrap(),
        address: Address {
            postal_code: "1000001".into(),
            line1: "東京都千代田区千代田1-1".into(),
            line2: String::new(),
        },
        employer: EmployerCode::parse(employer).unwrap(),
        qualified_from: "2015-04-01".parse().unwrap(),
        qualified_until: None,
    }
}

pub fn now() -> jiff::Timestamp {
    "2026-11-24T01:00:00Z".parse().unwrap()
}

pub async fn seed(store: &Store) {
    for (code, name) in [("E1", "株式会社テスト一"), ("E2", "株式会社テスト二")] {
        store
            .upsert_employer(&collabo_domain::employer::Employer {
                code: EmployerCode::parse(code).unwrap(),
                name: name.into(),
                contact: "担当".into(),
            })
            .await
            .unwrap();
    }
    let mut members: Vec<Member> = (1..=60).map(|n| member("E1", n)).collect();
    members.extend((1..=12).map(|n| member("E2", n)));
    let actor = Actor {
        name: "setup".into(),
        role: "staff".into(),
        origin: "test".into(),
    };
    let today = "2026-11-24".parse().unwrap();
    let mut session = store
        .begin_import(
            ImportKind::Members,
            "members.csv",
            "seed",
            None,
            &actor,
            today,
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    session.add_members(&members).await.unwrap();
    session.finish().await.unwrap();
    let hash = auth::hash_password(PASSWORD.into()).await.unwrap();
    for (name, role, employers, totp) in [
        ("admin1", "admin", vec![], true),
        ("staff1", "staff", vec![], true),
        ("auditor1", "auditor", vec![], true),
        ("emp1", "employer", vec!["E1".to_owned()], false),
        ("emp2", "employer", vec!["E2".to_owned()], false),
    ] {
        store
            .put_user(
                &UserRow {
                    username: name.into(),
                    display_name: name.into(),
                    password_hash: hash.clone(),
                    role: role.into(),
                    employers,
                    totp_secret: totp.then(|| TOTP.to_owned()),
                    totp_enrolled: totp,
                    failed_logins: 0,
                    locked_until: None,
                },
                now(),
            )
            .await
            .unwrap();
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        TestApp::on(&url, dir).await
    }

    pub async fn on(url: &str, dir: tempfile::TempDir) -> TestApp {
        let society = Society {
            insurer: INSURER.into(),
            name: "テスト健康保険組合".into(),
            section: "保健事業課".into(),
            address: "東京都".into(),
            phone: "03-0000-0000".into(),
        };
        let store = Store::init(url, &society).await.unwrap();
        seed(&store).await;
        let clock = Arc::new(FixedClock::new(now()));
        let config = ServeConfig {
            database_url: url.into(),
            secure_cookies: false,
            templates_dir: dir.path().join("templates"),
            batches_dir: dir.path().join("batches"),
            ..ServeConfig::default()
        };
        let state = AppState::new(store, clock.clone(), config);
        TestApp {
            state,
            clock,
            _dir: dir,
        }
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub async fn send(&self, req: Request<Body>) -> Response {
        let resp = collabo_web::router(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        client: &Client,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(c) = &client.cookie {
            b = b.header(header::COOKIE, format!("collabo_session={c}"));
        }
        if let Some(t) = &client.bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Body::from(body)).unwrap()
    }

    pub async fn get(&self, path: &str, client: &Client) -> Response {
        self.send(self.request("GET", path, client, None, Vec::new()))
            .await
    }

    /// POSTs a urlencoded form, adding the client's `_csrf`.
    pub async fn post_form(
        &self,
        path: &str,
        client: &Client,
        fields: &[(&str, &str)],
    ) -> Response {
        let mut pairs = vec![format!("_csrf={}", client.csrf)];
        pairs.extend(fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))));
        self.send(self.request(
            "POST",
            path,
            client,
            Some("application/x-www-form-urlencoded"),
            pairs.join("&").into_bytes(),
        ))
        .await
    }

    /// POSTs a multipart upload with `_csrf` first and one file.
    pub async fn post_file(
        &self,
        path: &str,
        client: &Client,
        file_name: &str,
        bytes: &[u8],
    ) -> Response {
        let boundary = "XBOUNDARYX";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n",
                client.csrf
            )
            .as_bytes(),
        );
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.send(self.request(
            "POST",
            path,
            client,
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
        ))
        .await
    }

    /// Logs in with password (and TOTP when the user has it).
    pub async fn login(&self, username: &str) -> Client {
        let resp = self
            .send(self.request(
                "POST",
                "/login",
                &Client::default(),
                Some("application/x-www-form-urlencoded"),
                format!("username={username}&password={}", urlencode(PASSWORD)).into_bytes(),
            ))
            .await;
        assert_eq!(
            resp.status,
            StatusCode::SEE_OTHER,
            "login {username}: {}",
            resp.body
        );
        let cookie = resp
            .headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let id = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("collabo_session=")
            .to_owned();
        let session = self
            .store()
            .session(&auth::sha256_hex(&id), self.clock.now_for_tests())
            .await
            .unwrap()
            .unwrap();
        let client = Client {
            cookie: Some(id),
            csrf: session.csrf,
            bearer: None,
        };
        let location = resp
            .headers
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if location == "/totp" {
            let code = auth::totp_code(TOTP, self.clock.now_for_tests()).unwrap();
            let r = self.post_form("/totp", &client, &[("code", &code)]).await;
            assert_eq!(
                r.status,
                StatusCode::SEE_OTHER,
                "totp {username}: {}",
                r.body
            );
        }
        client
    }

    /// An API client for a user (token issued directly in the store).
    pub async fn api_client(&self, username: &str, employer: Option<&str>) -> Client {
        let token = format!("tok-{username}");
        self.store()
            .create_api_token(&auth::sha256_hex(&token), username, employer, "test", now())
            .await
            .unwrap();
        Client {
            cookie: None,
            csrf: String::new(),
            bearer: Some(token),
        }
    }
}

pub trait NowForTests {
    fn now_for_tests(&self) -> jiff::Timestamp;
}

impl NowForTests for FixedClock {
    fn now_for_tests(&self) -> jiff::Timestamp {
        collabo_web::Clock::now(self)
    }
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A 要精密検査 CSV for members of an employer (rows: number, cancer, screening date).
pub fn referral_csv(employer: &str, rows: &[(u32, &str, &str)]) -> Vec<u8> {
    let mut s = String::from("記号,番号,氏名,生年月日,がん検診の種類,検診実施年月日,同意\n");
    for (n, cancer, date) in rows {
        s.push_str(&format!(
            "{employer},{n},試験 太郎{n},1980-04-01,{cancer},{date},1\n"
        ));
    }
    s.into_bytes()
}
