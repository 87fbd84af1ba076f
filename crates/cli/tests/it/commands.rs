//! The command line as an operator meets it (issue 13): Japanese help, the first admin
//! from `collabo user add`, readable and scriptable lists, no panic on a closed pipe.

use super::{collabo, setup, text};
use collabo_app::App;
use collabo_app::accounts::{LoginOutcome, LoginPolicy, SessionStage, totp_code};
use collabo_domain::actor::Actor;
use collabo_domain::authz::Role;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// `collabo <args>` with `input` on standard input.
fn with_stdin(data: &Path, args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_collabo"))
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn help_is_in_japanese_throughout() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["import", "--help"],
        &["import", "claims", "--help"],
        &["user", "add", "--help"],
        &["review", "list", "--help"],
        &["bench", "engine", "--help"],
    ] {
        let o = collabo(dir.path(), args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        let help = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(help.contains("使い方: collabo"), "{args:?}: {help}");
        assert!(help.contains("オプション:"), "{args:?}: {help}");
        assert!(help.contains("このヘルプを表示する"), "{args:?}: {help}");
        for english in [
            "Usage:",
            "Options:",
            "Commands:",
            "Print help",
            "Arguments:",
        ] {
            assert!(
                !help.contains(english),
                "{args:?} shows {english:?}: {help}"
            );
        }
    }
    let o = collabo(dir.path(), &["--help"]);
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        help.contains("コマンド:") && help.contains("ポータルのユーザー"),
        "{help}"
    );
}

#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn user_add_on_a_fresh_init_gives_a_working_admin_login() {
    let dir = tempfile::tempdir().unwrap();
    let o = collabo(
        dir.path(),
        &["init", "--insurer", "06139999", "--name", "テスト健保"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let password = "correct horse battery";
    let o = with_stdin(
        dir.path(),
        &[
            "user",
            "add",
            "kanri",
            "--role",
            "admin",
            "--name",
            "管理 太郎",
        ],
        &format!("{password}\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("ユーザー kanri（管理者）を登録しました"),
        "{}",
        text(&o)
    );
    let short = with_stdin(
        dir.path(),
        &["user", "add", "short", "--role", "staff"],
        "tooshort\n",
    );
    assert!(!short.status.success());
    assert!(text(&short).contains("12文字以上"), "{}", text(&short));

    let app = App::open(
        &format!("sqlite:{}", dir.path().join("collabo.sqlite").display()),
        None,
        dir.path(),
    )
    .await
    .unwrap();
    let now = jiff::Timestamp::now();
    let policy = LoginPolicy::default();
    // Password, then the second factor is enrolled, then the admin is in.
    let LoginOutcome::Session { id, stage } = app
        .password_login("kanri", password, "127.0.0.1", now, policy)
        .await
        .unwrap()
    else {
        panic!("the new admin's password is refused");
    };
    assert_eq!(stage, SessionStage::Enrol);
    let (session, _) = app.session(&id, now).await.unwrap().unwrap();
    let secret = app.offered_totp_secret(&session).await.unwrap();
    let (session, user) = app.session(&id, now).await.unwrap().unwrap();
    let admin = Actor::new("kanri", user.role.clone(), "127.0.0.1", now);
    let full = app
        .enrol_totp(
            &admin,
            &session,
            &totp_code(&secret, now).unwrap(),
            now,
            policy,
        )
        .await
        .unwrap()
        .expect("the code from the secret enrols it");
    let (session, user) = app.session(&full, now).await.unwrap().unwrap();
    assert_eq!(
        (session.stage, user.role),
        (SessionStage::Full, Role::Admin)
    );
    let wrong = app
        .password_login("kanri", "wrong password!!", "127.0.0.2", now, policy)
        .await
        .unwrap();
    assert!(matches!(wrong, LoginOutcome::Refused), "{wrong:?}");
    app.close().await;

    // Disabled: the right password no longer works; `passwd` enables it again.
    let o = collabo(dir.path(), &["user", "disable", "kanri"]);
    assert!(o.status.success(), "{}", text(&o));
    let app = App::open(
        &format!("sqlite:{}", dir.path().join("collabo.sqlite").display()),
        None,
        dir.path(),
    )
    .await
    .unwrap();
    let disabled = app
        .password_login("kanri", password, "127.0.0.3", now, policy)
        .await
        .unwrap();
    assert!(matches!(disabled, LoginOutcome::Refused), "{disabled:?}");
    assert!(
        app.session(&full, now).await.unwrap().is_none(),
        "its session ended"
    );
    app.close().await;
    let new_password = "another long password";
    let o = with_stdin(
        dir.path(),
        &["user", "passwd", "kanri"],
        &format!("{new_password}\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(dir.path(), &["user", "unlock", "kanri"]);
    assert!(o.status.success(), "{}", text(&o));
    let app = App::open(
        &format!("sqlite:{}", dir.path().join("collabo.sqlite").display()),
        None,
        dir.path(),
    )
    .await
    .unwrap();
    let LoginOutcome::Session { stage, .. } = app
        .password_login("kanri", new_password, "127.0.0.4", now, policy)
        .await
        .unwrap()
    else {
        panic!("the new password is refused");
    };
    assert_eq!(
        stage,
        SessionStage::SecondFactor,
        "the second factor is kept"
    );
    app.close().await;
    let o = collabo(dir.path(), &["user", "list"]);
    assert!(
        text(&o).contains("kanri") && text(&o).contains("設定済"),
        "{}",
        text(&o)
    );
    // Each operation is in the audit log, in Japanese.
    let o = collabo(dir.path(), &["audit", "log"]);
    let log = text(&o);
    for action in [
        "ユーザーの作成・変更",
        "ユーザーの無効化",
        "パスワードの再設定",
        "ロックの解除",
    ] {
        assert!(log.contains(action), "{action}: {log}");
    }
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_collabo"))
        .arg("--data")
        .arg(dir.path())
        .args(["audit", "log", "--limit", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the command writes (as `| head` does after a line).
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.status.success(), "{:?}: {err}", o.status);
}

#[test]
fn the_review_queue_is_a_table_and_json_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let list =
        "記号,番号,氏名,生年月日,がん検診の種類,検診実施年月日\n1001,9,山田花子,H2.1.1,肺,R7.6.5\n";
    let path = dir.path().join("list.csv");
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
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(dir.path(), &["review", "list"]);
    let table = text(&o);
    assert!(table.lines().next().unwrap().contains("理由"), "{table}");
    assert!(
        table.contains("1001-9（枝番なし） 山田花子 1990-01-01"),
        "written like a member, the missing 枝番 said: {table}"
    );
    assert!(!table.contains('{'), "no raw JSON: {table}");
    let o = collabo(dir.path(), &["review", "list", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let items: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["line"], 2);
    assert_eq!(items[0]["birth_date"], "1990-01-01");
}
