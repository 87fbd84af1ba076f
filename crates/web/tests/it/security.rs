//! The login's defences (issue 11): a TOTP code is good once and never after a later
//! one; wrong codes count across password logins and lock the account; a lock ends the
//! sessions opened before it; the login form refuses cross-site posts and posts without
//! its token; unknown, wrong and locked accounts get one answer; wrong passwords slow
//! their address down but never lock anyone out; the session id changes at the second
//! factor; API tokens are bound to their user's role, expire, and need the second
//! factor for staff.

use crate::helpers::{Client, PASSWORD, Response, TOTP, TestApp, peer};
use axum::http::{StatusCode, header};
use collabo_app::audit::AuditFilter;
use collabo_web::{Clock, auth};

/// A session that passed the password and waits for its code.
async fn pending(app: &TestApp, user: &str, from: Option<std::net::SocketAddr>) -> Client {
    let r = app.post_login(from, user, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{user}: {}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/totp");
    let id = TestApp::session_cookie_of(&r).unwrap();
    let (session, _) = app
        .app()
        .session(&id, app.clock.now())
        .await
        .unwrap()
        .unwrap();
    Client {
        cookie: Some(id),
        csrf: session.csrf,
        peer: from,
        ..Client::default()
    }
}

async fn code(app: &TestApp, client: &Client, code: &str) -> Response {
    app.post_form("/totp", client, &[("code", code)]).await
}

fn wrong_code(right: &str) -> String {
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn locked(app: &TestApp, user: &str) -> bool {
    app.app()
        .user(&app.admin(), user)
        .await
        .unwrap()
        .unwrap()
        .locked_until
        .is_some_and(|t| t > app.clock.now())
}

#[tokio::test]
async fn a_totp_code_is_accepted_once_and_never_after_a_later_one() {
    let app = TestApp::spawn().await;
    let now_code = app.next_code();
    let first = pending(&app, "staff1", None).await;
    let ok = code(&app, &first, &now_code).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // The same code again, in a new password login within its 30 s.
    let second = pending(&app, "staff1", None).await;
    let replay = code(&app, &second, &now_code).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "a replay is refused"
    );
    assert!(replay.body.contains("すでに使用"), "{}", replay.body);
    assert!(TestApp::session_cookie_of(&replay).is_none());
    // 30 s on, the used code still lies within the one step of skew: still refused.
    app.clock.advance(30);
    let previous = code(&app, &second, &now_code).await;
    assert_eq!(previous.status, StatusCode::UNAUTHORIZED);
    let current = auth::totp_code(TOTP, app.clock.now()).unwrap();
    assert_eq!(
        code(&app, &second, &current).await.status,
        StatusCode::SEE_OTHER
    );
    // Once a later step's code was used, the earlier one is refused for good.
    let third = pending(&app, "staff1", None).await;
    assert_eq!(
        code(&app, &third, &now_code).await.status,
        StatusCode::UNAUTHORIZED
    );
    let failures = app
        .audit(AuditFilter {
            actor: Some("staff1".into()),
            action_prefix: Some("login.failure".into()),
            ..Default::default()
        })
        .await;
    assert!(
        failures
            .iter()
            .any(|r| r.detail.contains("使用済みの確認コード")),
        "the replay is audited as such"
    );
}

#[tokio::test]
async fn wrong_codes_count_across_password_logins_and_lock_the_account() {
    let app = TestApp::spawn().await;
    // The issue's probe: 4 wrong codes in each of 3 password logins. The correct
    // password in between must not reset the count: the fifth wrong code locks.
    let mut wrong = 0;
    let mut locked_at = None;
    'logins: for login in 1..=3 {
        let r = app.post_login(None, "staff1", PASSWORD).await;
        if TestApp::session_cookie_of(&r).is_none() {
            assert!(r.body.contains("ロック"), "{}", r.body);
            break;
        }
        let client = pending_from(&app, &r).await;
        for _ in 0..4 {
            app.clock.advance(20); // past any throttling delay
            let right = auth::totp_code(TOTP, app.clock.now()).unwrap();
            let r = code(&app, &client, &wrong_code(&right)).await;
            wrong += 1;
            if r.body.contains("ロックされました") {
                locked_at = Some((login, wrong));
                break 'logins;
            }
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
    }
    assert_eq!(
        locked_at,
        Some((2, 5)),
        "the fifth wrong code, in the second password login, locks"
    );
    assert!(locked(&app, "staff1").await);
    // The right password and the right code do not get in while locked.
    app.clock.advance(60);
    let r = app.post_login(None, "staff1", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("ロック"), "told after the correct password");
    assert!(TestApp::session_cookie_of(&r).is_none());
    let lock = app
        .audit(AuditFilter {
            action_prefix: Some("login.account_locked".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(lock.len(), 1);
    // After 15 minutes the account opens again, with the right code.
    app.clock.advance(15 * 60);
    let _ = app.login("staff1").await;
}

async fn pending_from(app: &TestApp, r: &Response) -> Client {
    let id = TestApp::session_cookie_of(r).unwrap();
    let (session, _) = app
        .app()
        .session(&id, app.clock.now())
        .await
        .unwrap()
        .unwrap();
    Client {
        cookie: Some(id),
        csrf: session.csrf,
        ..Client::default()
    }
}

#[tokio::test]
async fn a_session_opened_before_the_lock_cannot_finish_the_second_factor() {
    let app = TestApp::spawn().await;
    // The attacker knows the password: one session kept aside, one to guess in.
    let kept = pending(&app, "staff1", None).await;
    let guessing = pending(&app, "staff1", None).await;
    for _ in 0..5 {
        app.clock.advance(20);
        let right = auth::totp_code(TOTP, app.clock.now()).unwrap();
        code(&app, &guessing, &wrong_code(&right)).await;
    }
    assert!(locked(&app, "staff1").await);
    // Even the right code does not finish the kept session.
    let right = app.next_code();
    let r = code(&app, &kept, &right).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(TestApp::session_cookie_of(&r).is_none_or(|c| c.is_empty()));
    assert!(
        app.app()
            .session(kept.cookie.as_deref().unwrap(), app.clock.now())
            .await
            .unwrap()
            .is_none(),
        "the lock ended every session of the account"
    );
    let page = app.get("/staff", &kept).await;
    assert_eq!(page.headers.get(header::LOCATION).unwrap(), "/login");
}

#[tokio::test]
async fn the_session_id_changes_at_the_second_factor() {
    let app = TestApp::spawn().await;
    let before = pending(&app, "staff1", None).await;
    let r = code(&app, &before, &app.next_code()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let after = TestApp::session_cookie_of(&r).unwrap();
    assert_ne!(Some(&after), before.cookie.as_ref());
    // The id an observer may have seen before the second factor opens nothing.
    let old = app.get("/staff", &before).await;
    assert_eq!(old.headers.get(header::LOCATION).unwrap(), "/login");
    let new = Client {
        cookie: Some(after),
        ..Client::default()
    };
    assert_eq!(app.get("/staff", &new).await.status, StatusCode::OK);
}

/// A POST of the login form with extra headers.
async fn login_post(
    app: &TestApp,
    client: &Client,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> Response {
    let mut body = vec![format!("_csrf={}", client.csrf)];
    body.extend(
        fields
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::helpers::urlencode(v))),
    );
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "portal.example");
    if let Some(c) = &client.login_cookie {
        req = req.header(header::COOKIE, format!("collabo_login={c}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.send(req.body(axum::body::Body::from(body.join("&"))).unwrap())
        .await
}

#[tokio::test]
async fn the_login_form_refuses_cross_site_posts_and_posts_without_its_token() {
    let app = TestApp::spawn().await;
    let credentials = [("username", "emp1"), ("password", PASSWORD)];
    // The issue's probe: a foreign page posts the attacker's credentials.
    let forged = login_post(
        &app,
        &Client::default(),
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        &credentials,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(TestApp::session_cookie_of(&forged).is_none());
    // Cross-site even with a token of its own making.
    let form = app.login_form(None).await;
    let cross = login_post(
        &app,
        &form,
        &[("origin", "https://evil.example")],
        &credentials,
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let fetch_meta = login_post(
        &app,
        &form,
        &[("sec-fetch-site", "same-site")],
        &credentials,
    )
    .await;
    assert_eq!(fetch_meta.status, StatusCode::FORBIDDEN);
    // Without the browser's pre-session cookie, or with another token, no login.
    let no_cookie = Client {
        login_cookie: None,
        ..form.clone()
    };
    assert_eq!(
        login_post(&app, &no_cookie, &[], &credentials).await.status,
        StatusCode::FORBIDDEN
    );
    let other_token = Client {
        csrf: "0".repeat(64),
        ..form.clone()
    };
    assert_eq!(
        login_post(&app, &other_token, &[], &credentials)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let successes = || async {
        app.audit(AuditFilter {
            action_prefix: Some("login.success".into()),
            ..Default::default()
        })
        .await
        .len()
    };
    assert_eq!(successes().await, 0, "none of these logged anyone in");
    // The portal's own form, from the portal's own origin, works.
    let ok = login_post(
        &app,
        &form,
        &[
            ("origin", "http://portal.example"),
            ("sec-fetch-site", "same-origin"),
        ],
        &credentials,
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(successes().await, 1);
}

/// The answer page without what the client itself sent (its form token and name).
fn answer(r: &Response, client: &Client, username: &str) -> (StatusCode, String) {
    (
        r.status,
        r.body
            .replace(&client.csrf, "TOKEN")
            .replace(&format!("value=\"{username}\""), "value=\"NAME\""),
    )
}

#[tokio::test]
async fn unknown_wrong_and_locked_accounts_get_the_same_answer() {
    let app = TestApp::spawn().await;
    // Lock staff1 the only way there is: wrong codes after the right password.
    let guessing = pending(&app, "staff1", peer(1)).await;
    for _ in 0..5 {
        app.clock.advance(20);
        let right = auth::totp_code(TOTP, app.clock.now()).unwrap();
        code(&app, &guessing, &wrong_code(&right)).await;
    }
    assert!(locked(&app, "staff1").await);
    let mut answers = Vec::new();
    for (n, user) in [(2, "nobody"), (3, "emp1"), (4, "staff1")] {
        let form = app.login_form(peer(n)).await;
        let r = app
            .post_form(
                "/login",
                &form,
                &[("username", user), ("password", "wrong password")],
            )
            .await;
        answers.push((user, answer(&r, &form, user)));
    }
    assert_eq!(answers[0].1.0, StatusCode::UNAUTHORIZED);
    for (user, a) in &answers[1..] {
        assert_eq!(a, &answers[0].1, "{user} answered unlike an unknown name");
    }
    assert!(
        !answers[2].1.1.contains("ロックされています"),
        "the lock is not told to a wrong password"
    );
}

#[tokio::test]
async fn wrong_passwords_slow_their_address_down_but_never_lock_the_account() {
    let app = TestApp::spawn().await;
    let attacker = peer(9);
    let mut waits = Vec::new();
    for _ in 0..10 {
        let r = app.post_login(attacker, "emp1", "wrong password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
        // Try again at once: after the free failures the address must wait.
        let again = app.post_login(attacker, "emp1", "wrong password").await;
        let wait = match again.status {
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(again.body.contains("お試しください"), "{}", again.body);
                again.headers[header::RETRY_AFTER]
                    .to_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
            }
            StatusCode::UNAUTHORIZED => 0,
            other => panic!("{other}: {}", again.body),
        };
        waits.push(wait);
        // The immediate retry was itself a failure when it was considered.
        app.clock.advance(wait.max(1) * 2 + 1);
    }
    assert_eq!(
        waits[..2],
        [0, 0],
        "the first failures cost nothing: {waits:?}"
    );
    assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
    assert!(waits[9] >= 64, "the delay grows: {waits:?}");
    // Throttled attempts are not even checked: the right password waits too.
    app.post_login(attacker, "emp1", "wrong password").await;
    let blocked = app.post_login(attacker, "emp1", PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    // An unknown name from the same kind of history gets the same kind of answer.
    for _ in 0..5 {
        app.post_login(peer(8), "nobody", "x").await;
    }
    assert_eq!(
        app.post_login(peer(8), "nobody", "x").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The colleague at their own desk logs in at once: nobody can lock them out.
    assert!(!locked(&app, "emp1").await);
    let colleague = app.post_login(peer(10), "emp1", PASSWORD).await;
    assert_eq!(
        colleague.status,
        StatusCode::SEE_OTHER,
        "{}",
        colleague.body
    );
    let throttled = app
        .audit(AuditFilter {
            action_prefix: Some("login.throttled".into()),
            ..Default::default()
        })
        .await;
    assert!(!throttled.is_empty());
    assert_eq!(throttled[0].origin, "10.0.0.8");
    // A quiet day forgives, and the throttle rows of guessed names do not pile up.
    app.clock.advance(25 * 3600);
    app.post_login(peer(7), "someone", "x").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_throttle").await,
        1,
        "only the new key is kept"
    );
    assert_eq!(
        app.post_login(attacker, "emp1", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_token_stops_working_when_its_users_role_or_employers_change() {
    let app = TestApp::spawn().await;
    let emp1 = app.api_client("emp1").await;
    let emp2 = app.api_client("emp2").await;
    assert_eq!(
        app.get("/api/v1/employers/E1/submissions", &emp1)
            .await
            .status,
        StatusCode::OK
    );
    // The issue's probe: the user re-created as staff.
    let staff = |name: &str| collabo_app::accounts::NewUser {
        username: name.into(),
        display_name: name.into(),
        password: PASSWORD.into(),
        role: collabo_domain::authz::Role::Staff,
    };
    app.app()
        .put_user(&app.admin(), staff("emp1"))
        .await
        .unwrap();
    for path in ["/api/v1/cases/counts", "/api/v1/employers/E1/submissions"] {
        let r = app.get(path, &emp1).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.body);
    }
    // Another employer given to the user: its old token is refused too.
    app.app()
        .put_user(
            &app.admin(),
            collabo_app::accounts::NewUser {
                role: collabo_domain::authz::Role::Employer(vec![crate::helpers::code("E1")]),
                ..staff("emp2")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/employers/E1/submissions", &emp2)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let revoked = app
        .audit(AuditFilter {
            action_prefix: Some("admin.token.revoke".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(revoked.len(), 2, "both revocations are audited");
}

#[tokio::test]
async fn a_token_expires_after_its_days() {
    let app = TestApp::spawn().await;
    let api = app.api_client("staff1").await;
    app.clock.advance(89 * 24 * 3600);
    assert_eq!(
        app.get("/api/v1/cases/counts", &api).await.status,
        StatusCode::OK
    );
    app.clock.advance(2 * 24 * 3600);
    assert_eq!(
        app.get("/api/v1/cases/counts", &api).await.status,
        StatusCode::UNAUTHORIZED,
        "90 days after issue"
    );
}

#[tokio::test]
async fn staff_tokens_need_an_enrolled_second_factor() {
    let app = TestApp::spawn().await;
    let before = app.api_client("staff1").await;
    app.app().reset_totp(&app.admin(), "staff1").await.unwrap();
    assert_eq!(
        app.get("/api/v1/cases/counts", &before).await.status,
        StatusCode::UNAUTHORIZED,
        "a staff token without the second factor reads nothing"
    );
    let refused = app
        .app()
        .issue_token(&app.admin(), "staff1", 90)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("二要素認証"), "{refused}");
    // Employers without a second factor may still have tokens.
    let emp = app.api_client("emp1").await;
    assert_eq!(
        app.get("/api/v1/employers/E1/submissions", &emp)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_admin_page_shows_when_each_token_was_last_used() {
    let app = TestApp::spawn().await;
    let api = app.api_client("emp1").await;
    let admin = app.login("admin1").await;
    let page = app.get("/admin/users", &admin).await;
    assert!(page.body.contains("未使用"), "{}", page.body);
    app.clock.advance(3600);
    assert_eq!(
        app.get("/api/v1/employers/E1/submissions", &api)
            .await
            .status,
        StatusCode::OK
    );
    let used = collabo_web::view::wareki_at(app.clock.now());
    let page = app.get("/admin/users", &admin).await;
    assert!(page.body.contains(&used), "last used {used}: {}", page.body);
    assert!(!page.body.contains("未使用"));
    // An admin can revoke it from the page.
    let hash = collabo_app::accounts::secret_hash(api.bearer.as_deref().unwrap());
    let r = app
        .post_form(&format!("/admin/tokens/{hash}/revoke"), &admin, &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/employers/E1/submissions", &api)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_audit_records_the_client_behind_a_trusted_proxy_only() {
    let app = TestApp::spawn_with(|c| c.trusted_proxies = vec!["10.0.0.1".into()]).await;
    let login_from = |peer_n: u8, forwarded: &'static str| {
        let app = &app;
        async move {
            let form = app.login_form(peer(peer_n)).await;
            let body = format!(
                "_csrf={}&username=emp1&password={}",
                form.csrf,
                crate::helpers::urlencode(PASSWORD)
            );
            let req = axum::http::Request::builder()
                .method("POST")
                .uri("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("collabo_login={}", form.csrf))
                .header("x-forwarded-for", forwarded)
                .extension(axum::extract::ConnectInfo(peer(peer_n).unwrap()))
                .body(axum::body::Body::from(body))
                .unwrap();
            assert_eq!(app.send(req).await.status, StatusCode::SEE_OTHER);
        }
    };
    // Through the proxy: the address the proxy appended is the client's.
    login_from(1, "203.0.113.66, 198.51.100.7").await;
    // Straight from another host: its header is a claim, not a fact.
    login_from(2, "198.51.100.99").await;
    let logins = app
        .audit(AuditFilter {
            action_prefix: Some("login.success".into()),
            ..Default::default()
        })
        .await;
    let origins: Vec<&str> = logins.iter().map(|r| r.origin.as_str()).collect();
    assert_eq!(origins, ["10.0.0.2", "198.51.100.7"], "newest first");
}

#[tokio::test]
async fn metrics_need_their_token_or_their_own_address() {
    let app = TestApp::spawn().await;
    let r = app.get("/metrics", &Client::default()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not public by default");
    let with_token = TestApp::spawn_with(|c| c.metrics_token = Some("m3tr1cs".into())).await;
    let wrong = Client {
        bearer: Some("guess".into()),
        ..Client::default()
    };
    assert_eq!(
        with_token.get("/metrics", &wrong).await.status,
        StatusCode::NOT_FOUND
    );
    let right = Client {
        bearer: Some("m3tr1cs".into()),
        ..Client::default()
    };
    let r = with_token.get("/metrics", &right).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("collabo_http_requests_total"));
    // The separate metrics address serves them without a token, and nothing else.
    use tower::ServiceExt;
    let metrics = collabo_web::metrics_router(app.state.clone());
    let get = |path: &str| {
        axum::http::Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let r = metrics.clone().oneshot(get("/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = metrics.oneshot(get("/login")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Locks a user by wrong second-factor codes, over as many password logins as it takes.
async fn lock_by_wrong_codes(app: &TestApp, user: &str) {
    for _ in 0..5 {
        let r = app.post_login(None, user, PASSWORD).await;
        if TestApp::session_cookie_of(&r).is_none() {
            break;
        }
        let client = pending_from(app, &r).await;
        for _ in 0..4 {
            app.clock.advance(20);
            let right = auth::totp_code(TOTP, app.clock.now()).unwrap();
            if code(app, &client, &wrong_code(&right))
                .await
                .body
                .contains("ロックされました")
            {
                return;
            }
        }
    }
}

#[tokio::test]
async fn an_administrator_unlocks_disables_and_sets_a_password_from_the_users_page() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin1").await;
    // A locked account: shown as such, and unlocked from its page after a question.
    lock_by_wrong_codes(&app, "staff1").await;
    assert!(locked(&app, "staff1").await);
    let list = app.get("/admin/users", &admin).await;
    assert!(list.body.contains("ロック中（"), "{}", list.body);
    assert!(list.body.contains("href=\"/admin/users/staff1\""));
    let page = app.get("/admin/users/staff1", &admin).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("data-confirm=\"staff1 のロックを解除し、誤りの回数を 0 に戻します。"),
        "{}",
        page.body
    );
    let r = app
        .post_form("/admin/users/staff1/unlock", &admin, &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(!locked(&app, "staff1").await);
    let _ = app.login("staff1").await;
    // A disabled account: its session ends, no password opens it, the list says 無効.
    let emp = app.login("emp1").await;
    let r = app
        .post_form("/admin/users/emp1/disable", &admin, &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        app.get("/employer/E1", &emp).await.status,
        StatusCode::SEE_OTHER,
        "the disabled user's session is gone"
    );
    let r = app.post_login(None, "emp1", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(TestApp::session_cookie_of(&r).is_none());
    let list = app.get("/admin/users", &admin).await;
    assert!(list.body.contains(">無効</span>"), "{}", list.body);
    // The administrator cannot disable themselves (nobody would be left to undo it).
    let own = app.get("/admin/users/admin1", &admin).await;
    assert!(!own.body.contains("/admin/users/admin1/disable"));
    let r = app
        .post_form("/admin/users/admin1/disable", &admin, &[])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("自分自身"), "{}", r.body);
    // A new password: a short one is refused in Japanese, a good one enables again.
    let r = app
        .post_form(
            "/admin/users/emp1/password",
            &admin,
            &[("password", "short")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("12文字以上"), "{}", r.body);
    let r = app
        .post_form(
            "/admin/users/emp1/password",
            &admin,
            &[("password", "a new long password")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        app.post_login(None, "emp1", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    let r = app.post_login(None, "emp1", "a new long password").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(TestApp::session_cookie_of(&r).is_some());
    // Each change is one audit record naming the user.
    for action in [
        "admin.user.unlock",
        "admin.user.disable",
        "admin.user.passwd",
    ] {
        let records = app
            .audit(AuditFilter {
                action_prefix: Some(action.into()),
                ..Default::default()
            })
            .await;
        assert_eq!(records.len(), 1, "{action}: {records:?}");
    }
    assert_eq!(
        app.get("/admin/users/nobody", &admin).await.status,
        StatusCode::NOT_FOUND
    );
}
