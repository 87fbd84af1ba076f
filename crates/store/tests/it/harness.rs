//! Test databases and fixtures.

use collabo_domain::Date;
use collabo_domain::checkup::{
    CheckupSource, Item, Observation, ObservedValue, Questionnaire, SmokingAnswer,
};
use collabo_domain::employer::{Agreement, AgreementStatus, Employer};
use collabo_domain::ids::*;
use collabo_domain::matching::SubmittedPerson;
use collabo_domain::member::{Address, Member, Sex};
use collabo_domain::programme::ProgrammeCode;
use collabo_domain::referral::CancerType;
use collabo_store::imports::{Actor, IncomingCheckup, IncomingReferral};
use collabo_store::{ImportKind, Society, Store};
use std::sync::atomic::{AtomicU32, Ordering};

pub const INSURER: &str = "06139999";

/// A fresh database and its store.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn society() -> Society {
    Society {
        insurer: INSURER.into(),
        name: "テスト健保".into(),
        section: "保健事業課".into(),
        address: String::new(),
        phone: String::new(),
    }
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.sqlite").display());
        let store = Store::init(&url, &society()).await.unwrap();
        TestDb {
            store,
            url,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var("COLLABO_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!(
            "collabo_it_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = sqlx::PgPool::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for the store tests (run scripts/setup.sh): {e}"));
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
        let store = Store::init(&url, &society()).await.unwrap();
        TestDb {
            store,
            url,
            _dir: None,
        }
    }
}

pub fn d(y: i16, m: i8, day: i8) -> Date {
    Date::constant(y, m, day)
}

pub fn ts(date: Date) -> jiff::Timestamp {
    date.at(9, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

pub fn actor() -> Actor {
    Actor {
        name: "staff1".into(),
        role: "staff".into(),
        origin: "test".into(),
    }
}

pub fn employer(code: &str) -> EmployerCode {
    EmployerCode::parse(code).unwrap()
}

pub fn member(employer_code: &str, number: &str, kanji: &str, kana: &str, birth: Date) -> Member {
    Member {
        key: MemberKey {
            insurer: InsurerNumber::parse(INSURER).unwrap(),
            symbol: Symbol::parse(employer_code).unwrap(),
            number: CardNumber::parse(number).unwrap(),
            branch: Branch::parse("00").unwrap(),
        },
        name_kanji: kanji.into(),
        name_kana: kana.into(),
        sex: Sex::Female,
        birth_date: birth,
        address: Address {
            postal_code: "1000001".into(),
            line1: "東京都千代田区架空町1-1".into(),
            line2: String::new(),
        },
        employer: employer(employer_code),
        qualified_from: d(2010, 4, 1),
        qualified_until: None,
    }
}

/// Two employers, a C memorandum for 1001, and three members.
pub async fn seed(store: &Store) -> Vec<Member> {
    for (code, name) in [("1001", "架空精機"), ("1002", "みなと物産")] {
        store
            .upsert_employer(&Employer {
                code: employer(code),
                name: name.into(),
                contact: String::new(),
            })
            .await
            .unwrap();
    }
    store
        .add_agreement(&Agreement {
            employer: employer("1001"),
            programme: ProgrammeCode::C,
            status: AgreementStatus::Signed,
            signed_on: Some(d(2025, 4, 1)),
            ended_on: None,
        })
        .await
        .unwrap();
    let members = vec![
        member("1001", "1", "髙橋　花子", "タカハシ　ハナコ", d(1975, 3, 3)),
        member("1001", "2", "佐藤　恵子", "サトウ　ケイコ", d(1968, 8, 20)),
        member("1002", "1", "鈴木　陽子", "スズキ　ヨウコ", d(1980, 1, 9)),
    ];
    let mut s = store
        .begin_import(
            ImportKind::Members,
            "members.csv",
            "sha-members",
            None,
            &actor(),
            d(2025, 4, 1),
            ts(d(2025, 4, 1)),
        )
        .await
        .unwrap()
        .unwrap();
    s.add_members(&members).await.unwrap();
    s.finish().await.unwrap();
    members
}

pub fn person(m: &Member, name: &str) -> SubmittedPerson {
    SubmittedPerson {
        symbol: m.key.symbol.clone(),
        number: m.key.number.clone(),
        branch: None,
        name: name.into(),
        birth_date: m.birth_date,
    }
}

pub fn checkup_row(line: u64, m: &Member, exam: Date, hba1c: f64, smokes: bool) -> IncomingCheckup {
    IncomingCheckup {
        line,
        insurer: Some(InsurerNumber::parse(INSURER).unwrap()),
        person: person(m, &m.name_kana),
        exam_date: exam,
        source: CheckupSource::Employer,
        observations: vec![Observation {
            item: Item::HbA1c,
            value: ObservedValue::Number(hba1c),
        }],
        questionnaire: Questionnaire {
            smoking: Some(if smokes {
                SmokingAnswer::Smokes
            } else {
                SmokingAnswer::DoesNotSmoke
            }),
            ..Questionnaire::default()
        },
        unknown_items: vec!["9N9999999999999999".into()],
    }
}

pub fn referral_row(line: u64, m: &Member, name: &str, screening: Date) -> IncomingReferral {
    IncomingReferral {
        line,
        person: person(m, name),
        cancer: CancerType::Stomach,
        screening_date: screening,
        consent_attested: true,
    }
}
