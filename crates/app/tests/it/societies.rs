//! Many societies in one database (issue 15): two societies share one database — the
//! same employer codes, the same 記号番号, the same names — import, run and read, and
//! neither sees anything of the other, through the door (staff pages, employer views,
//! imports, the audit chain) and in the stored rows.

use crate::both;
use crate::harness::*;
use collabo_app::{App, Paging, Society};
use collabo_claims::{ClaimIdentity, ClaimSpec, Filler, GroupSpec, UkeWriter, WriterOptions};
use collabo_domain::calendar::YearMonth;
use collabo_domain::employer::Employer;
use collabo_domain::ids::{CardNumber, InsurerNumber, MemberKey, Symbol};

const OTHER: &str = "06138888";

fn other_society() -> Society {
    Society {
        insurer: OTHER.into(),
        name: "別の健康保険組合".into(),
        section: "保健事業課".into(),
        address: "大阪府大阪市架空区1-1".into(),
        phone: "06-0000-0000".into(),
    }
}

/// The same file, for the other society (its 保険者番号 in every row).
fn for_other(bytes: Vec<u8>) -> Vec<u8> {
    String::from_utf8(bytes)
        .unwrap()
        .replace(INSURER, OTHER)
        .into_bytes()
}

fn other_key(p: &Person) -> MemberKey {
    MemberKey::parse_key_string(&format!("{OTHER}:{}:{}:{}", p.symbol, p.number, p.branch)).unwrap()
}

/// A UKE file of `people`'s stomach examinations in July 2025, for `insurer`.
fn uke(dir: &std::path::Path, insurer: &str, people: &[Person]) -> std::path::PathBuf {
    let map = collabo_claims::GroupMap::builtin().unwrap();
    let path = dir.join(format!("RECEIPTC_{insurer}.UKE"));
    let billing = YearMonth::parse("2025-08").unwrap();
    let mut w = UkeWriter::new(
        std::fs::File::create(&path).unwrap(),
        &map,
        WriterOptions {
            style: collabo_claims::DateStyle::Wareki,
            billing_month: billing,
            examiner: 1,
            eof_mark: true,
            ..WriterOptions::medical(billing)
        },
    );
    for p in people {
        w.write_claim(&ClaimSpec {
            identity: ClaimIdentity {
                insurer: InsurerNumber::parse(insurer).unwrap(),
                symbol: Symbol::parse(p.symbol).unwrap(),
                number: CardNumber::parse(&p.number.to_string()).unwrap(),
                branch: None,
                birth_date: p.birth.parse().unwrap(),
                sex: if p.sex == "1" {
                    collabo_domain::member::Sex::Male
                } else {
                    collabo_domain::member::Sex::Female
                },
            },
            name_kana: p.kana.clone(),
            institution: "1310000001".into(),
            month: YearMonth::parse("2025-07").unwrap(),
            days: vec![3],
            groups: vec![GroupSpec::procedure("stomach_exam")],
            filler: Filler::default(),
        })
        .unwrap();
    }
    w.finish().unwrap();
    path
}

both!(two_societies_in_one_database_never_see_each_other);
async fn two_societies_in_one_database_never_see_each_other(t: TestApp) {
    let people: Vec<Person> = (1..=4).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let b_data = tempfile::tempdir().unwrap();
    let b = App::init(&t.url, &other_society(), b_data.path())
        .await
        .unwrap();
    let on = d(2025, 4, 1);
    b.upsert_employer(
        &admin(on),
        &Employer {
            code: code("1001"),
            name: "別の架空精機".into(),
            contact: String::new(),
        },
    )
    .await
    .unwrap();
    // Each society has its own 共同利用 declaration; the first one's does not let the
    // other's employers see anything (checked below before it is recorded).
    assert!(
        b.risk_holders(&employer("1001", on), &code("1001"), None, Paging::all())
            .await
            .is_err()
    );
    b.record_joint_use_declaration(
        &admin(on),
        &collabo_domain::joint_use::JointUseDeclaration::example(on, "別の健康保険組合", "大阪府"),
    )
    .await
    .unwrap();
    // The other society's register: the very same 記号番号, names and birth dates.
    b.import_members(&staff(on), "members.csv", &for_other(register_csv(&people)))
        .await
        .unwrap();

    // Checkups: all four of the first society smoke and have HbA1c 7.5; only one of
    // the other society's, with healthy values.
    let sick: Vec<Exam> = people
        .iter()
        .map(|p| exam(p, "2025-06-10", 7.5, 170.0, true))
        .collect();
    let on = d(2025, 7, 1);
    let a_report = t.checkups(Some("1001"), &sick, on, "a.csv").await;
    assert_eq!(a_report.summary.stored, 4);
    let path = b_data.path().join("b.csv");
    std::fs::write(
        &path,
        for_other(checkup_csv(&[exam(
            &people[0],
            "2025-06-10",
            5.2,
            110.0,
            false,
        )])),
    )
    .unwrap();
    let b_report = b
        .import_checkups(&employer("1001", on), Some(&code("1001")), &path)
        .await
        .unwrap();
    assert_eq!(b_report.summary.stored, 1);
    assert_eq!(b_report.summary.to_review, 0, "matched in its own register");

    // Claims: each society's own file matches its own members; the first society's
    // file given to the other matches nobody there (another 保険者番号).
    let map = collabo_claims::GroupMap::builtin().unwrap();
    let on = d(2025, 9, 5);
    let a_claims = uke(t.data.path(), INSURER, &people[..2]);
    let a_visits = t
        .app
        .import_claims(&staff(on), &a_claims, &map)
        .await
        .unwrap();
    assert_eq!(a_visits.summary.stored, 2);
    let crossed = b.import_claims(&staff(on), &a_claims, &map).await.unwrap();
    assert_eq!(
        (crossed.summary.stored, crossed.summary.unmatched),
        (0, 2),
        "not a repeat of the first society's import, and matched to no one"
    );

    // The year's runs.
    let today = d(2025, 9, 30);
    let a_run = t.app.run_engine(&staff(today), |_| {}).await.unwrap();
    let b_run = b.run_engine(&staff(today), |_| {}).await.unwrap();
    assert_eq!((a_run.members, b_run.members), (4, 4));
    let a_opened: u64 = a_run.opened.values().sum();
    let b_opened: u64 = b_run.opened.values().sum();
    assert!(a_opened >= 4, "smokers and HbA1c 7.5 open cases: {a_run:?}");
    assert_eq!(b_opened, 0, "healthy non-smoker, no case: {b_run:?}");

    // Staff reads.
    let a_cases = t
        .app
        .cases(&staff(today), &Default::default())
        .await
        .unwrap();
    assert!(a_cases.1 >= 4);
    assert!(
        a_cases
            .0
            .iter()
            .all(|c| c.key.member.insurer.as_str() == INSURER)
    );
    let b_cases = b.cases(&staff(today), &Default::default()).await.unwrap();
    assert_eq!(b_cases.1, 0, "the other society's cases are not listed");
    let b_dash = b.dashboard(&staff(today)).await.unwrap();
    assert_eq!(b_dash.counts.values().sum::<i64>(), 0);
    assert!(
        t.app
            .dashboard(&staff(today))
            .await
            .unwrap()
            .counts
            .values()
            .sum::<i64>()
            >= 4
    );
    assert_eq!(
        b_dash.claims.arrivals.len(),
        1,
        "only its own claims arrival"
    );
    let page = Paging {
        offset: 0,
        limit: 100,
    };
    let (found, total) = b
        .search_members(&staff(today), "シケン", page)
        .await
        .unwrap();
    assert_eq!(total, 4);
    assert!(found.iter().all(|m| m.key.insurer.as_str() == OTHER));
    assert!(
        b.member_page(&staff(today), &people[0].key())
            .await
            .is_err(),
        "the first society's member does not exist for the other"
    );
    let b_page = b
        .member_page(&staff(today), &other_key(&people[0]))
        .await
        .unwrap();
    assert!(b_page.cases.is_empty());
    let a_page = t
        .app
        .member_page(&staff(today), &people[0].key())
        .await
        .unwrap();
    assert!(!a_page.cases.is_empty());

    // The employer view: the same employer code, each society's own people.
    let b_holders = b
        .risk_holders(&employer("1001", today), &code("1001"), None, page)
        .await
        .unwrap();
    assert_eq!(b_holders.total, 0, "healthy values flag no one");
    let a_holders = t
        .app
        .risk_holders(&employer("1001", today), &code("1001"), None, page)
        .await
        .unwrap();
    assert_eq!(a_holders.total, 4);
    assert!(
        a_holders
            .holders
            .iter()
            .all(|h| h.person.member_key.starts_with(INSURER))
    );

    // Each audit chain verifies on its own, and names only its own people.
    for app in [&t.app, &b] {
        let check = app.verify_audit(&auditor(today)).await.unwrap();
        assert_eq!(check.first_broken, None);
        assert_eq!(check.anchor_mismatch, None);
    }

    // Stored rows: the other society has exactly its own.
    for (table, a, b) in [
        ("members", 4, 4),
        ("checkups", 4, 1),
        ("visits", 2, 0),
        ("imports", 3, 3),
    ] {
        let count =
            |insurer: &str| format!("SELECT COUNT(*) FROM {table} WHERE insurer = '{insurer}'");
        assert_eq!(t.count(&count(INSURER)).await, a, "{table} of {INSURER}");
        assert_eq!(t.count(&count(OTHER)).await, b, "{table} of {OTHER}");
    }
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM audit_subjects WHERE insurer = '{OTHER}' AND member_key LIKE '{INSURER}:%'"
        ))
        .await,
        0
    );
    b.close().await;
}
