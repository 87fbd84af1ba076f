//! The audit log is read by a Japanese auditor: every detail the business layer writes
//! reads in Japanese. A representative run of operations (logins at each stage, users
//! and tokens, imports, the review queue, consent, member pages, the employer's pages,
//! settings, the log itself) is made on both databases, then every detail written is
//! checked: once the identifiers this test put in (user and file names) are taken out,
//! no English word is left (no run of four ASCII letters: `PDF`, `API`, programme
//! letters and member keys stay), and a few details are compared word for word.

use crate::both;
use crate::harness::*;
use collabo_app::Actor;
use collabo_app::accounts::{LoginOutcome, LoginPolicy, NewUser, SecondFactorOutcome};
use collabo_app::audit::{AuditFilter, AuditRecord};
use collabo_app::members::CaseFilter;
use collabo_app::review::{Resolution, ReviewFilter};
use collabo_domain::aggregates::SuppressionRule;
use collabo_domain::audit::AuditAction;
use collabo_domain::authz::Role;
use collabo_domain::calendar::{FiscalYear, japan_noon};
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::coverage::ClaimStream;

/// Names this test writes into details (identifiers, kept as they are).
const IDENTIFIERS: [&str; 11] = [
    // Where the example 共同利用 declaration says it is published.
    "/joint-use",
    "members.csv",
    "list.csv",
    "list2.csv",
    "suzuki",
    "sato",
    "nobody",
    "admin1",
    "staff1",
    "emp-1001",
    "auditor1",
];

/// The longest run of ASCII letters in `text`.
fn longest_ascii_word(text: &str) -> &str {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .max_by_key(|w| w.len())
        .unwrap_or("")
}

fn without_identifiers(detail: &str) -> String {
    // Longest first, so `list2.csv` is not cut by `list.csv`.
    let mut names = IDENTIFIERS.to_vec();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
        .iter()
        .fold(detail.to_owned(), |text, name| text.replace(name, " "))
}

fn detail_of(records: &[AuditRecord], action: AuditAction) -> Vec<&str> {
    records
        .iter()
        .filter(|r| r.action == Some(action))
        .map(|r| r.detail.as_str())
        .collect()
}

both!(every_audit_detail_reads_in_japanese);
async fn every_audit_detail_reads_in_japanese(t: TestApp) {
    let people: Vec<Person> = (1..=4).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let day = d(2025, 7, 1);
    let now = japan_noon(day);
    let admin = admin(day);
    let staff = staff(day);

    // Users: a staff member with an enrolled second factor, an employer contact.
    let secret = collabo_app::accounts::new_totp_secret();
    t.app
        .put_user_with_totp(
            &admin,
            NewUser {
                username: "suzuki".into(),
                display_name: "鈴木".into(),
                password: "correct horse battery".into(),
                role: Role::Staff,
            },
            Some(&secret),
        )
        .await
        .unwrap();
    let employer_user = |codes: &[&str]| NewUser {
        username: "sato".into(),
        display_name: "佐藤".into(),
        password: "sato password 1".into(),
        role: Role::Employer(codes.iter().map(|c| code(c)).collect()),
    };
    t.app
        .put_user(&admin, employer_user(&["1001"]))
        .await
        .unwrap();

    // Logins: the password stage, a wrong code, the lock, a throttled and an unknown name.
    let policy = LoginPolicy {
        lockout_failures: 2,
        throttle_free_failures: 100,
        ..LoginPolicy::default()
    };
    let LoginOutcome::Session { id, .. } = t
        .app
        .password_login("suzuki", "correct horse battery", "10.0.0.1", now, policy)
        .await
        .unwrap()
    else {
        panic!("the password is right")
    };
    let (session, _) = t.app.session(&id, now).await.unwrap().unwrap();
    let suzuki = Actor::new("suzuki", Role::Staff, "10.0.0.1", now);
    let good = collabo_app::accounts::totp_code(&secret, now).unwrap();
    let wrong = if good == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        t.app
            .second_factor(&suzuki, &session, &good, now, policy)
            .await
            .unwrap(),
        SecondFactorOutcome::Accepted { .. }
    ));
    for _ in 0..2 {
        let LoginOutcome::Session { id, .. } = t
            .app
            .password_login("suzuki", "correct horse battery", "10.0.0.1", now, policy)
            .await
            .unwrap()
        else {
            panic!("the password is right")
        };
        let (session, _) = t.app.session(&id, now).await.unwrap().unwrap();
        t.app
            .second_factor(&suzuki, &session, wrong, now, policy)
            .await
            .unwrap();
    }
    assert!(matches!(
        t.app
            .password_login("suzuki", "correct horse battery", "10.0.0.1", now, policy)
            .await
            .unwrap(),
        LoginOutcome::Locked
    ));
    t.app.unlock_user(&admin, "suzuki").await.unwrap();
    let strict = LoginPolicy {
        throttle_free_failures: 0,
        ..LoginPolicy::default()
    };
    for _ in 0..2 {
        t.app
            .password_login("nobody", "whatever it is", "10.0.0.2", now, strict)
            .await
            .unwrap();
    }
    t.app
        .password_login("sato", "wrong password!", "10.0.0.3", now, policy)
        .await
        .unwrap();
    t.app
        .password_login("sato", "sato password 1", "10.0.0.3", now, policy)
        .await
        .unwrap();

    // Tokens: revoked by a change of employers, by the disable, by a second-factor reset.
    t.app.issue_token(&admin, "sato", 30).await.unwrap();
    t.app
        .put_user(&admin, employer_user(&["1001", "1002"]))
        .await
        .unwrap();
    t.app.issue_token(&admin, "sato", 30).await.unwrap();
    t.app.disable_user(&admin, "sato").await.unwrap();
    t.app
        .set_password(&admin, "sato", "sato password 2")
        .await
        .unwrap();
    t.app.issue_token(&admin, "suzuki", 30).await.unwrap();
    t.app.reset_totp(&admin, "suzuki").await.unwrap();

    // Imports and the review queue: one row resolved, one import rejected whole.
    let mut mistyped = people[1].clone();
    mistyped.birth = "1975-05-06";
    t.app
        .import_referrals(
            &employer("1001", d(2025, 7, 1)),
            &code("1001"),
            "list.csv",
            &referral_csv(&[(&mistyped, "試験 太郎2", "胃", "2025-06-05")]),
        )
        .await
        .unwrap();
    let queue = t
        .app
        .review_queue(&staff, &ReviewFilter::default())
        .await
        .unwrap();
    assert_eq!(
        t.app
            .resolve_review(&staff, queue.entries[0].item.id, &people[1].key())
            .await
            .unwrap(),
        Resolution::Admitted
    );
    let mut other = people[2].clone();
    other.birth = "1975-05-06";
    let second = t
        .app
        .import_referrals(
            &employer("1001", d(2025, 7, 1)),
            &code("1001"),
            "list2.csv",
            &referral_csv(&[(&other, "試験 太郎3", "胃", "2025-06-05")]),
        )
        .await
        .unwrap();
    t.app
        .reject_import_reviews(&staff, second.summary.import_id, "別事業所の誤送付")
        .await
        .unwrap();

    // Consent, member pages, cases, the run.
    let opt_out = ConsentRecord {
        member: people[3].key(),
        kind: ConsentKind::OptOut,
        scope: ConsentScope::All,
        effective: day,
        channel: ConsentChannel::Phone,
        recorded_by: "staff1".into(),
    };
    t.app.preview_consent(&staff, &opt_out).await.unwrap();
    t.app.record_consent(&staff, &opt_out).await.unwrap();
    t.app
        .consent_register(&staff, "", collabo_app::Paging::page(1, 10))
        .await
        .unwrap();
    t.app.consents_of(&staff, &people[3].key()).await.unwrap();
    t.app.member_page(&staff, &people[0].key()).await.unwrap();
    t.app
        .search_members(&staff, "試験", collabo_app::Paging::page(1, 2))
        .await
        .unwrap();
    t.app.run_engine(&staff, |_| {}).await.unwrap();
    t.app.cases(&staff, &CaseFilter::default()).await.unwrap();
    t.app.export_cases(&staff).await.unwrap();

    // The employer's pages and the published aggregates.
    let fy = FiscalYear::new(2025);
    let emp = employer("1001", day);
    t.app
        .employer_overview(&emp, &code("1001"), collabo_app::Paging::all())
        .await
        .unwrap();
    t.app
        .risk_holders(&emp, &code("1001"), Some(fy), collabo_app::Paging::all())
        .await
        .unwrap();
    t.app.publish_aggregates(&staff, fy).await.unwrap();
    t.app
        .aggregates(&emp, &code("1001"), Some(fy))
        .await
        .unwrap();

    // Settings.
    t.app
        .set_suppression_rule(
            &admin,
            SuppressionRule {
                min_population: 50,
                min_cell: 10,
            },
        )
        .await
        .unwrap();
    let head = t.app.letterhead(&admin).await.unwrap();
    t.app.save_letterhead(&admin, &head).await.unwrap();
    t.app
        .set_expected_streams(&admin, &[ClaimStream::Medical, ClaimStream::Dpc].into())
        .await
        .unwrap();

    // The log itself: a filtered page and a verification.
    let auditor = auditor(day);
    t.app
        .audit_log(
            &auditor,
            &AuditFilter {
                actor: Some("suzuki".into()),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    t.app.verify_audit(&auditor).await.unwrap();

    let (records, _) = t
        .app
        .audit_log(
            &auditor,
            &AuditFilter {
                limit: 10_000,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();

    // The class: no English word in any detail.
    let mut actions = std::collections::BTreeSet::new();
    let mut english = Vec::new();
    for r in &records {
        let rest = without_identifiers(&r.detail);
        let word = longest_ascii_word(&rest);
        if word.len() >= 4 {
            english.push(format!("{}: {:?} ({word})", r.action_code, r.detail));
        }
        if !r.detail.is_empty() {
            actions.insert(r.action_code.clone());
        }
    }
    assert!(
        english.is_empty(),
        "details with English words:\n{}",
        english.join("\n")
    );
    assert!(
        actions.len() >= 30,
        "too few kinds of record with a detail were checked: {actions:?}"
    );

    // A few, word for word.
    let passwords = detail_of(&records, AuditAction::LoginPassword);
    assert!(
        passwords.contains(&"パスワード照合済み、次は二要素認証"),
        "{passwords:?}"
    );
    assert!(
        detail_of(&records, AuditAction::LoginSuccess).contains(&"パスワード＋二要素認証"),
        "{records:?}"
    );
    assert!(
        detail_of(&records, AuditAction::UserDisable).contains(&"sato: APIトークン1件を失効"),
        "{records:?}"
    );
    assert!(
        detail_of(&records, AuditAction::UserPasswordSet).contains(&"sato（無効化を解除）"),
        "{records:?}"
    );
    assert!(
        detail_of(&records, AuditAction::TokenRevoke)
            .contains(&"sato のAPIトークン1件を失効（役割または事業所の変更）"),
        "{records:?}"
    );
    assert!(
        detail_of(&records, AuditAction::TokenRevoke)
            .contains(&"suzuki のAPIトークンを失効（二要素認証のリセット）"),
        "{records:?}"
    );
    let unlock = detail_of(&records, AuditAction::UserUnlock);
    assert_eq!(unlock, ["suzuki（2025-07-01 12:15までのロックを解除）"]);
    assert!(
        detail_of(&records, AuditAction::AccountLocked).contains(
            &"確認コードの誤りが2回: 2025-07-01 12:15までロック、すべてのセッションを終了"
        ),
        "{records:?}"
    );
    let resolved = detail_of(&records, AuditAction::ReviewResolve);
    assert_eq!(resolved.len(), 1);
    assert!(
        resolved[0].ends_with(": 指定した加入者の記録として登録"),
        "{resolved:?}"
    );
    assert!(
        detail_of(&records, AuditAction::ImportMembers)
            .contains(&"members.csv: 4行を読込、4件を登録、照合待ち0件、停止の申出により除外0件、加入者と照合できず0件"),
        "{records:?}"
    );
    assert!(
        detail_of(&records, AuditAction::MemberSearch).contains(&"該当4人中2人を表示"),
        "{records:?}"
    );
    assert!(
        detail_of(&records, AuditAction::MemberView).contains(&"加入者ページ"),
        "{records:?}"
    );
    assert_eq!(
        detail_of(&records, AuditAction::ConsentRecord),
        [
            "すべての事業について停止（データ共有の拒否）、2025-07-01から（電話で受付）: 健診結果0件・要精密検査0件・照合待ち0件を削除、ケースの値0件を消去、ケース0件を終了、レター0件をバッチから取下げ"
        ]
    );
    assert!(
        detail_of(&records, AuditAction::LoginThrottled)
            .contains(&"試行間隔の制限中のためパスワードは照合せず（あと1秒）"),
        "{records:?}"
    );
}
