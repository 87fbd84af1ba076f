//! A test society on a fresh database (SQLite file or PostgreSQL database), actors per
//! role, and the files a society receives, written in their real formats.

use collabo_app::{Actor, App, ImportReport, Society};
use collabo_domain::Date;
use collabo_domain::authz::Role;
use collabo_domain::calendar::japan_noon;
use collabo_domain::employer::{AgreementStatus, Employer};
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::programme::ProgrammeCode;
use std::sync::atomic::{AtomicU32, Ordering};

pub const INSURER: &str = "06139999";

/// Runs a test once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::harness::TestApp::sqlite().await).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::harness::TestApp::postgres().await).await;
            }
        }
    };
}

/// A fresh database with the society registered.
pub struct TestApp {
    pub app: App,
    pub url: String,
    pub data: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn society() -> Society {
    Society {
        insurer: INSURER.into(),
        name: "テスト健康保険組合".into(),
        section: "保健事業課".into(),
        address: "東京都千代田区架空町1-1".into(),
        phone: "03-0000-0000".into(),
    }
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let data = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", data.path().join("t.sqlite").display());
        let app = App::init(&url, &society(), data.path()).await.unwrap();
        TestApp { app, url, data }
    }

    pub async fn postgres() -> TestApp {
        let admin_url = std::env::var("COLLABO_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!(
            "collabo_app_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is required (run scripts/setup.sh): {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&admin)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b)
            .to_owned();
        let url = format!("{base}/{name}");
        let data = tempfile::tempdir().unwrap();
        let app = App::init(&url, &society(), data.path()).await.unwrap();
        TestApp { app, url, data }
    }

    /// Runs one SQL statement with raw access (tampering, dumps).
    pub async fn sql(&self, sql: &str) {
        if self.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }

    /// Counts rows with raw SQL.
    pub async fn count(&self, sql: &str) -> i64 {
        if self.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
    }

    /// Every text of every table, as a dump would show it.
    pub async fn dump(&self) -> String {
        let tables_sql = if self.url.starts_with("sqlite:") {
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'"
        } else {
            "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'"
        };
        let mut out = String::new();
        macro_rules! dump_with {
            ($pool:expr) => {{
                let pool = $pool;
                let cols: Vec<(String, String)> =
                    sqlx::query_as(tables_sql).fetch_all(&pool).await.unwrap();
                for (t, c) in cols {
                    let rows: Vec<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(
                        format!("SELECT CAST(\"{c}\" AS TEXT) FROM \"{t}\""),
                    ))
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                    for (v,) in rows.into_iter() {
                        if let Some(v) = v {
                            out.push_str(&format!("{t}.{c}={v}\n"));
                        }
                    }
                }
                pool.close().await;
            }};
        }
        if self.url.starts_with("sqlite:") {
            dump_with!(sqlx::SqlitePool::connect(&self.url).await.unwrap());
        } else {
            dump_with!(sqlx::PgPool::connect(&self.url).await.unwrap());
        }
        out
    }
}

pub fn d(y: i16, m: i8, day: i8) -> Date {
    Date::constant(y, m, day)
}

pub fn code(c: &str) -> EmployerCode {
    EmployerCode::parse(c).unwrap()
}

pub fn key(symbol: &str, number: u32, branch: &str) -> MemberKey {
    MemberKey::parse_key_string(&format!("{INSURER}:{symbol}:{number}:{branch}")).unwrap()
}

fn actor(user: &str, role: Role, on: Date) -> Actor {
    Actor::new(user, role, "test", japan_noon(on))
}

pub fn admin(on: Date) -> Actor {
    actor("admin1", Role::Admin, on)
}
pub fn staff(on: Date) -> Actor {
    actor("staff1", Role::Staff, on)
}
pub fn auditor(on: Date) -> Actor {
    actor("auditor1", Role::Auditor, on)
}
pub fn employer(c: &str, on: Date) -> Actor {
    actor(&format!("emp-{c}"), Role::Employer(vec![code(c)]), on)
}

/// A register row.
#[derive(Debug, Clone)]
pub struct Person {
    pub symbol: &'static str,
    pub employer: &'static str,
    pub number: u32,
    pub branch: &'static str,
    pub kanji: String,
    pub kana: String,
    pub sex: &'static str,
    pub birth: &'static str,
    pub relationship: &'static str,
}

impl Person {
    pub fn key(&self) -> MemberKey {
        key(self.symbol, self.number, self.branch)
    }
}

/// 本人 `n` of an employer, with a name made from the number.
pub fn insured(employer: &'static str, number: u32) -> Person {
    Person {
        symbol: employer,
        employer,
        number,
        branch: "00",
        kanji: format!("試験 太郎{number}"),
        kana: format!("シケン タロウ{number}"),
        sex: if number.is_multiple_of(2) { "2" } else { "1" },
        birth: "1975-05-05",
        relationship: "本人",
    }
}

/// The register CSV (with 本人家族).
pub fn register_csv(people: &[Person]) -> Vec<u8> {
    let mut s = String::from(
        "保険者番号,記号,番号,枝番,氏名,氏名カナ,性別,生年月日,郵便番号,住所,住所2,事業所記号,本人家族,資格取得日,資格喪失日\n",
    );
    for p in people {
        s.push_str(&format!(
            "{INSURER},{},{},{},{},{},{},{},1000001,東京都千代田区架空町{}-1,,{},{},2010-04-01,\n",
            p.symbol,
            p.number,
            p.branch,
            p.kanji,
            p.kana,
            p.sex,
            p.birth,
            p.number,
            p.employer,
            p.relationship
        ));
    }
    s.into_bytes()
}

/// A checkup row of the CSV layout (crates/checkup README).
#[derive(Debug, Clone)]
pub struct Exam {
    pub person: Person,
    pub date: &'static str,
    pub hba1c: f64,
    pub sbp: f64,
    pub smokes: bool,
}

pub fn exam(person: &Person, date: &'static str, hba1c: f64, sbp: f64, smokes: bool) -> Exam {
    Exam {
        person: person.clone(),
        date,
        hba1c,
        sbp,
        smokes,
    }
}

pub fn checkup_csv(exams: &[Exam]) -> Vec<u8> {
    let mut s = String::from(
        "保険者番号,記号,番号,枝番,氏名カナ,性別,生年月日,健診実施日,HbA1c,収縮期血圧,拡張期血圧,喫煙\n",
    );
    for e in exams {
        let p = &e.person;
        s.push_str(&format!(
            "{INSURER},{},{},{},{},{},{},{},{},{},70,{}\n",
            p.symbol,
            p.number,
            p.branch,
            p.kana,
            p.sex,
            p.birth,
            e.date,
            e.hba1c,
            e.sbp,
            if e.smokes { "はい" } else { "いいえ" }
        ));
    }
    s.into_bytes()
}

/// A 要精密検査 CSV: (person, name as written, cancer, screening date).
pub fn referral_csv(rows: &[(&Person, &str, &str, &str)]) -> Vec<u8> {
    let mut s = String::from("記号,番号,氏名,生年月日,がん検診の種類,検診実施年月日,同意\n");
    for (p, name, cancer, date) in rows {
        s.push_str(&format!(
            "{},{},{name},{},{cancer},{date},1\n",
            p.symbol, p.number, p.birth
        ));
    }
    s.into_bytes()
}

impl TestApp {
    /// Two employers (1001 with a signed C memorandum, 1002), and a register.
    pub async fn seed(&self, people: &[Person]) {
        let on = d(2025, 4, 1);
        for (c, name) in [("1001", "架空精機"), ("1002", "みなと物産")] {
            self.app
                .upsert_employer(
                    &admin(on),
                    &Employer {
                        code: code(c),
                        name: name.into(),
                        contact: String::new(),
                    },
                )
                .await
                .unwrap();
        }
        let id = self
            .app
            .apply_agreement(&admin(on), &code("1001"), ProgrammeCode::C)
            .await
            .unwrap();
        self.app
            .set_agreement(&admin(on), id, AgreementStatus::Signed, on)
            .await
            .unwrap();
        self.declare_joint_use(on).await;
        self.register(people, on, "members.csv").await;
    }

    /// Records the society's 共同利用 declaration, in force from `on` (without one,
    /// employers receive nothing).
    pub async fn declare_joint_use(&self, on: Date) {
        self.app
            .record_joint_use_declaration(
                &admin(on),
                &collabo_domain::joint_use::JointUseDeclaration::example(
                    on,
                    "テスト健康保険組合",
                    "東京都千代田区",
                ),
            )
            .await
            .unwrap();
    }

    pub async fn register(&self, people: &[Person], on: Date, name: &str) -> ImportReport {
        self.app
            .import_members(&staff(on), name, &register_csv(people))
            .await
            .unwrap()
    }

    /// Imports checkups as `submitter` (None = the society's 人間ドック) on `on`.
    pub async fn checkups(
        &self,
        submitter: Option<&str>,
        exams: &[Exam],
        on: Date,
        name: &str,
    ) -> ImportReport {
        let path = self.data.path().join(name);
        std::fs::write(&path, checkup_csv(exams)).unwrap();
        let (actor, employer) = match submitter {
            Some(c) => (employer(c, on), Some(code(c))),
            None => (staff(on), None),
        };
        self.app
            .import_checkups(&actor, employer.as_ref(), &path)
            .await
            .unwrap()
    }
}
