//! A test portal: a fresh database (SQLite file, or a PostgreSQL database) with a
//! synthetic society set up only through `collabo_app::App` (two employers, E1 with 60
//! 本人 and 2 家族, E2 with 12 本人), one user per role with a known TOTP secret, a
//! fixed clock, and helpers to log in, call routes in process, write checkup archives
//! and inspect the database with raw SQL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use collabo_app::accounts::NewUser;
use collabo_app::{Actor, App, Society};
use collabo_checkup::{ArchiveHeader, ArchiveWriter, CheckupRecord};
use collabo_domain::authz::Role;
use collabo_domain::checkup::{Item, ObservedValue, SmokingAnswer};
use collabo_domain::employer::{AgreementStatus, Employer};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::member::Sex;
use collabo_domain::programme::ProgrammeCode;
use collabo_web::{AppState, Clock, FixedClock, ServeConfig, auth};
use std::io::Write;
use std::sync::Arc;
use tower::ServiceExt;

pub const INSURER: &str = "06130012";
pub const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const PASSWORD: &str = "correct horse battery";
/// The fiscal year of [`now`] (April 2026 – March 2027).
pub const FY: &str = "2026";

pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    /// The database URL (for raw SQL).
    pub url: String,
    /// Database (SQLite), audit key and anchor file, templates, batches, archives.
    pub dir: tempfile::TempDir,
    /// PostgreSQL: the server's admin URL and the test database, dropped by
    /// [`TestApp::finish`].
    pub pg: Option<(String, String)>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

/// A logged-in client: cookie and form token (and, before logging in, the login
/// form's pre-session cookie in `login_cookie` with its token in `csrf`).
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub cookie: Option<String>,
    pub csrf: String,
    pub bearer: Option<String>,
    pub login_cookie: Option<String>,
    /// The client's address as the server sees the peer (none: "unknown").
    pub peer: Option<std::net::SocketAddr>,
}

pub fn now() -> jiff::Timestamp {
    "2026-11-24T01:00:00Z".parse().unwrap()
}

pub fn code(c: &str) -> EmployerCode {
    EmployerCode::parse(c).unwrap()
}

/// The key of register member `n` (枝番 00) of an employer.
pub fn key(employer: &str, n: u32) -> MemberKey {
    MemberKey {
        insurer: InsurerNumber::parse(INSURER).unwrap(),
        symbol: Symbol::parse(employer).unwrap(),
        number: CardNumber::parse(&n.to_string()).unwrap(),
        branch: Branch::parse("00").unwrap(),
    }
}

/// The key text of register member `n` of an employer.
pub fn key_text(employer: &str, n: u32) -> String {
    key(employer, n).to_key_string()
}

pub fn kanji(n: u32) -> String {
    format!("試験 太郎{n}")
}

fn kana(n: u32) -> String {
    format!("シケン タロウ{n}")
}

fn sex(n: u32) -> Sex {
    if n.is_multiple_of(2) {
        Sex::Female
    } else {
        Sex::Male
    }
}

const BIRTH: &str = "1980-04-01";

/// The register (layout of `collabo_app::imports::parse_members`): E1 本人 1–60 and
/// 家族 61–62 (枝番 01), E2 本人 1–12.
pub fn register_csv() -> Vec<u8> {
    register_with_e2(12)
}

/// The register with E2 本人 1–`e2` (the browser test's batch of more than 100 letters).
pub fn register_with_e2(e2: u32) -> Vec<u8> {
    let mut s = String::from(
        "保険者番号,記号,番号,枝番,氏名,氏名カナ,性別,生年月日,郵便番号,住所,住所2,事業所記号,本人家族,資格取得日,資格喪失日\n",
    );
    let mut rows: Vec<(&str, u32, &str, &str)> =
        (1..=60).map(|n| ("E1", n, "00", "本人")).collect();
    rows.extend((61..=62).map(|n| ("E1", n, "01", "家族")));
    rows.extend((1..=e2).map(|n| ("E2", n, "00", "本人")));
    for (employer, n, branch, relationship) in rows {
        s.push_str(&format!(
            "{INSURER},{employer},{n},{branch},{},{},{},{BIRTH},1000001,東京都千代田区千代田1-1,,{employer},{relationship},2015-04-01,\n",
            kanji(n),
            kana(n),
            sex(n).code(),
        ));
    }
    s.into_bytes()
}

/// One checkup to write: member number, HbA1c, smokes.
#[derive(Debug, Clone, Copy)]
pub struct Exam {
    pub number: u32,
    pub hba1c: f64,
    pub smokes: bool,
}

pub fn exam(number: u32, hba1c: f64, smokes: bool) -> Exam {
    Exam {
        number,
        hba1c,
        smokes,
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        TestApp::on(&url, dir).await
    }

    /// A test portal on SQLite with settings changed by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        TestApp::on_with(&url, dir, tweak).await
    }

    /// A test portal on a fresh PostgreSQL database (`COLLABO_TEST_PG`; unreachable
    /// fails the test).
    pub async fn postgres() -> TestApp {
        use sqlx::Connection;
        let admin_url = std::env::var("COLLABO_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {admin_url} is unreachable ({e}); start it with scripts/setup.sh"
                )
            });
        let name = format!("collabo_web_{}", collabo_app::accounts::random_hex(6));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        let mut app = TestApp::on(&format!("{base}/{name}"), tempfile::tempdir().unwrap()).await;
        app.pg = Some((admin_url, name));
        app
    }

    /// Closes the database; drops a PostgreSQL test database.
    pub async fn finish(self) {
        use sqlx::Connection;
        self.app().close().await;
        if let Some((admin_url, name)) = &self.pg {
            let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }

    pub async fn on(url: &str, dir: tempfile::TempDir) -> TestApp {
        TestApp::on_with(url, dir, |_| {}).await
    }

    pub async fn on_with(
        url: &str,
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut ServeConfig),
    ) -> TestApp {
        let society = Society {
            insurer: INSURER.into(),
            name: "テスト健康保険組合".into(),
            section: "保健事業課".into(),
            address: "東京都".into(),
            phone: "03-0000-0000".into(),
        };
        let data = dir.path().join("data");
        let app = App::init(url, &society, &data).await.unwrap();
        let clock = Arc::new(FixedClock::new(now()));
        let mut config = ServeConfig {
            database_url: url.into(),
            secure_cookies: false,
            data_dir: data,
            templates_dir: dir.path().join("templates"),
            batches_dir: dir.path().join("batches"),
            ..ServeConfig::default()
        };
        tweak(&mut config);
        let state = AppState::new(app, clock.clone(), config);
        let t = TestApp {
            state,
            clock,
            url: url.to_owned(),
            dir,
            pg: None,
        };
        t.seed().await;
        t
    }

    pub fn app(&self) -> &App {
        &self.state.app
    }

    fn actor(&self, user: &str, role: Role) -> Actor {
        Actor::new(user, role, "test", self.clock.now())
    }
    pub fn admin(&self) -> Actor {
        self.actor("admin1", Role::Admin)
    }
    pub fn staff(&self) -> Actor {
        self.actor("staff1", Role::Staff)
    }
    pub fn auditor(&self) -> Actor {
        self.actor("auditor1", Role::Auditor)
    }
    pub fn employer(&self, c: &str) -> Actor {
        let user = match c {
            "E1" => "emp1",
            "E2" => "emp2",
            other => other,
        };
        self.actor(user, Role::Employer(vec![code(c)]))
    }

    async fn seed(&self) {
        let admin = self.admin();
        for (c, name) in [("E1", "株式会社テスト一"), ("E2", "株式会社テスト二")] {
            self.app()
                .upsert_employer(
                    &admin,
                    &Employer {
                        code: code(c),
                        name: name.into(),
                        contact: "担当".into(),
                    },
                )
                .await
                .unwrap();
        }
        self.app()
            .record_joint_use_declaration(
                &admin,
                &collabo_domain::joint_use::JointUseDeclaration::example(
                    "2025-04-01".parse().unwrap(),
                    "テスト健康保険組合",
                    "東京都",
                ),
            )
            .await
            .unwrap();
        let report = self
            .app()
            .import_members(&self.staff(), "members.csv", &register_csv())
            .await
            .unwrap();
        assert_eq!(report.summary.stored, 74, "{:?}", report.summary);
        for (name, role, totp) in [
            ("admin1", Role::Admin, true),
            ("staff1", Role::Staff, true),
            ("auditor1", Role::Auditor, true),
            ("emp1", Role::Employer(vec![code("E1")]), false),
            ("emp2", Role::Employer(vec![code("E2")]), false),
        ] {
            self.app()
                .put_user_with_totp(
                    &admin,
                    NewUser {
                        username: name.into(),
                        display_name: name.into(),
                        password: PASSWORD.into(),
                        role,
                    },
                    totp.then_some(TOTP),
                )
                .await
                .unwrap();
        }
    }

    /// Signs a programme C memorandum of an employer, in force from 2026-04-01.
    pub async fn sign_c(&self, employer: &str) {
        let admin = self.admin();
        let id = self
            .app()
            .apply_agreement(&admin, &code(employer), ProgrammeCode::C)
            .await
            .unwrap();
        self.app()
            .set_agreement(
                &admin,
                id,
                AgreementStatus::Signed,
                "2026-04-01".parse().unwrap(),
            )
            .await
            .unwrap();
    }

    /// Runs the programme engine as staff today.
    pub async fn run_engine(&self) {
        self.app().run_engine(&self.staff(), |_| {}).await.unwrap();
    }

    /// Writes an MHLW 特定健診 archive (exam date 2026-06-01) for members of an
    /// employer and imports it as that employer (`submitter` Some) or as the society's
    /// own 人間ドック (None); every checkup must be stored.
    pub async fn add_checkups(&self, employer: &str, submitter: Option<&str>, exams: &[Exam]) {
        let path = self.checkup_archive(employer, submitter, exams, "2026-06-01");
        let (actor, submitted_by) = match submitter {
            Some(c) => (self.employer(c), Some(code(c))),
            None => (self.staff(), None),
        };
        let report = self
            .app()
            .import_checkups(&actor, submitted_by.as_ref(), &path)
            .await
            .unwrap();
        assert_eq!(
            report.summary.stored,
            exams.len() as u64,
            "{:?}",
            report.summary
        );
    }

    /// Writes an MHLW 特定健診 archive of exams of members of an employer (numbers need
    /// not exist in the register) on `exam_date`, or on the day `exam.number / 60` days
    /// after it when `exam_date` is empty; returns its path.
    pub fn checkup_archive(
        &self,
        employer: &str,
        submitter: Option<&str>,
        exams: &[Exam],
        exam_date: &str,
    ) -> std::path::PathBuf {
        let folder = self.dir.path().join(format!(
            "checkups-{employer}-{}-{}",
            submitter.unwrap_or("dock"),
            collabo_app::accounts::random_hex(4)
        ));
        std::fs::create_dir_all(&folder).unwrap();
        let insurer = InsurerNumber::parse(INSURER).unwrap();
        // Employers submit under the common 事業主 number; the dock has its own.
        let sender = if submitter.is_some() {
            "6631111116"
        } else {
            "1310000017"
        };
        let header = ArchiveHeader::new(sender, insurer.clone(), "2026-11-24".parse().unwrap());
        let path = folder.join(header.file_name());
        let mut writer = ArchiveWriter::create(&path, header).unwrap();
        for (i, e) in exams.iter().enumerate() {
            let k = key(employer, e.number);
            let date: collabo_domain::Date = if exam_date.is_empty() {
                "2025-04-01"
                    .parse::<collabo_domain::Date>()
                    .unwrap()
                    .checked_add(jiff::Span::new().days(i as i64 / 60))
                    .unwrap()
            } else {
                exam_date.parse().unwrap()
            };
            let mut record = CheckupRecord::new(
                Default::default(),
                insurer.clone(),
                k.symbol.clone(),
                k.number.clone(),
                Some(k.branch.clone()),
                kana(e.number),
                sex(e.number),
                BIRTH.parse().unwrap(),
                date,
            );
            record.push(Item::HbA1c, ObservedValue::Number(e.hba1c), None, None);
            record.questionnaire.smoking = Some(if e.smokes {
                SmokingAnswer::Smokes
            } else {
                SmokingAnswer::DoesNotSmoke
            });
            writer.write(&record).unwrap();
        }
        writer.finish().unwrap().flush().unwrap();
        path
    }

    /// Runs one SQL statement directly on the database; returns the rows affected.
    pub async fn sql(&self, sql: &str) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected();
            pool.close().await;
            n
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected();
            pool.close().await;
            n
        }
    }

    /// The one number a `SELECT COUNT(*) …` returns, read directly from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }

    /// Audit records read by the auditor (newest first).
    pub async fn audit(
        &self,
        filter: collabo_app::audit::AuditFilter,
    ) -> Vec<collabo_app::audit::AuditRecord> {
        self.app()
            .audit_log(&self.auditor(), &filter)
            .await
            .unwrap()
            .0
    }

    pub async fn send(&self, mut req: Request<Body>) -> Response {
        if let Some(peer) = req.extensions().get::<Peer>().map(|p| p.0) {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
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
        let mut cookies = Vec::new();
        if let Some(c) = &client.cookie {
            cookies.push(format!("collabo_session={c}"));
        }
        if let Some(c) = &client.login_cookie {
            cookies.push(format!("collabo_login={c}"));
        }
        if !cookies.is_empty() {
            b = b.header(header::COOKIE, cookies.join("; "));
        }
        if let Some(peer) = client.peer {
            b = b.extension(Peer(peer));
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

    /// Opens the login page as a browser would: the client carries its pre-session
    /// cookie and the form's token (from `peer`, when given).
    pub async fn login_form(&self, peer: Option<std::net::SocketAddr>) -> Client {
        let anonymous = Client {
            peer,
            ..Client::default()
        };
        let page = self.get("/login", &anonymous).await;
        assert_eq!(page.status, StatusCode::OK);
        let cookie = page
            .headers
            .get(header::SET_COOKIE)
            .expect("the login page sets its cookie")
            .to_str()
            .unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let token = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("collabo_login=")
            .to_owned();
        assert!(
            page.body
                .contains(&format!("name=\"_csrf\" value=\"{token}\"")),
            "the form carries the cookie's token"
        );
        Client {
            csrf: token.clone(),
            login_cookie: Some(token),
            ..anonymous
        }
    }

    /// Posts the login form (opened first) with a user name and password.
    pub async fn post_login(
        &self,
        peer: Option<std::net::SocketAddr>,
        username: &str,
        password: &str,
    ) -> Response {
        let form = self.login_form(peer).await;
        self.post_form(
            "/login",
            &form,
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// The session cookie value a response sets.
    pub fn session_cookie_of(resp: &Response) -> Option<String> {
        resp.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("collabo_session="))
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap()
                    .trim_start_matches("collabo_session=")
                    .to_owned()
            })
    }

    /// The TOTP code of the helpers' secret for the next time step: the clock is moved
    /// on 30 s first, since a code is accepted only once.
    pub fn next_code(&self) -> String {
        self.clock.advance(30);
        auth::totp_code(TOTP, self.clock.now()).unwrap()
    }

    /// Logs in with password (and TOTP when the user has it).
    pub async fn login(&self, username: &str) -> Client {
        let resp = self.post_login(None, username, PASSWORD).await;
        assert_eq!(
            resp.status,
            StatusCode::SEE_OTHER,
            "login {username}: {}",
            resp.body
        );
        let cookie = resp
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("collabo_session="))
            .unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let id = Self::session_cookie_of(&resp).unwrap();
        let (session, user) = self
            .app()
            .session(&id, self.clock.now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.username, username);
        let client = Client {
            cookie: Some(id),
            csrf: session.csrf,
            ..Client::default()
        };
        let location = resp
            .headers
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if location == "/totp" {
            let code = self.next_code();
            let r = self.post_form("/totp", &client, &[("code", &code)]).await;
            assert_eq!(
                r.status,
                StatusCode::SEE_OTHER,
                "totp {username}: {}",
                r.body
            );
            // The second factor gives the session a new id (and form token).
            let id = Self::session_cookie_of(&r).expect("a new session cookie");
            assert_ne!(
                Some(&id),
                client.cookie.as_ref(),
                "the session id is rotated"
            );
            let (session, _) = self
                .app()
                .session(&id, self.clock.now())
                .await
                .unwrap()
                .unwrap();
            return Client {
                cookie: Some(id),
                csrf: session.csrf,
                ..Client::default()
            };
        }
        client
    }

    /// An API client for a user: a token issued by the admin (an employer user's token
    /// is narrowed to its first employer).
    pub async fn api_client(&self, username: &str) -> Client {
        let token = self
            .app()
            .issue_token(&self.admin(), username, self.state.config.token_days)
            .await
            .unwrap();
        Client {
            bearer: Some(token),
            ..Client::default()
        }
    }

    /// Publishes the aggregates of [`FY`] through the staff page.
    pub async fn publish(&self, staff: &Client) {
        let r = self
            .post_form("/staff/aggregates/publish", staff, &[("fy", FY)])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("公表しました"), "{}", r.body);
    }
}

/// The peer address a test request comes from (becomes `ConnectInfo`).
#[derive(Debug, Clone, Copy)]
struct Peer(std::net::SocketAddr);

/// A peer address `10.0.0.n:40000`.
pub fn peer(n: u8) -> Option<std::net::SocketAddr> {
    Some(std::net::SocketAddr::from(([10, 0, 0, n], 40000)))
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
            "{employer},{n},{},{BIRTH},{cancer},{date},1\n",
            kanji(*n)
        ));
    }
    s.into_bytes()
}

/// A single-volume 医科 UKE file for service month `month` (YYYY-MM) with one claim
/// (day 10, no evidence groups) for each of E1's members `numbers`.
pub fn uke_bytes(month: &str, numbers: &[u32]) -> Vec<u8> {
    use collabo_claims::writer::{ClaimSpec, Filler, UkeWriter, WriterOptions};
    let month = collabo_domain::calendar::YearMonth::parse(month).unwrap();
    let map = collabo_claims::GroupMap::builtin().unwrap();
    let mut w = UkeWriter::new(Vec::new(), &map, WriterOptions::medical(month.next()));
    for n in numbers {
        w.write_claim(&ClaimSpec {
            identity: collabo_claims::ClaimIdentity {
                insurer: InsurerNumber::parse(INSURER).unwrap(),
                symbol: Symbol::parse("E1").unwrap(),
                number: CardNumber::parse(&n.to_string()).unwrap(),
                branch: Some(Branch::parse("00").unwrap()),
                birth_date: BIRTH.parse().unwrap(),
                sex: sex(*n),
            },
            name_kana: kana(*n),
            institution: "1310000001".into(),
            month,
            days: vec![10],
            groups: Vec::new(),
            filler: Filler::NONE,
        })
        .unwrap();
    }
    w.finish().unwrap()
}

/// Follows a job started from the staff pages (the redirect of an upload or of
/// 抽出) until it has finished; returns its page.
pub async fn finished_job(app: &TestApp, client: &Client, started: &Response) -> String {
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let location = started
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with("/staff/jobs/"), "{location}");
    for _ in 0..600 {
        let page = app.get(&location, client).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if !page.body.contains("http-equiv=\"refresh\"") {
            return page.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {location} never finished");
}
