//! Signing out (issue 25, item 3) and the names no one may take (item 6), through real HTTP
//! and websockets.

use crate::support::{Gql, PASSWORD, Session, TestApp, TestDatabases, migrations};
use crate::websocket::{Event, LONG_LIVED, initialised, next, subscribe};
use serde_json::json;
use std::time::{Duration, Instant};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
    accessToken refreshToken user { id } } }";
const REFRESH: &str =
    "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }";
const LOGOUT: &str = "mutation($t: String!) { logout(refreshToken: $t) }";
const EVERYWHERE: &str = "mutation { logoutEverywhere }";
const ME: &str = "{ me { id } }";

/// A second session of `who`, as another device signing in.
async fn sign_in(app: &TestApp, who: &Session) -> Session {
    let r = app
        .gql(None, LOGIN, json!({ "e": who.email, "p": PASSWORD }))
        .await
        .data("login");
    Session {
        access: r["accessToken"].as_str().expect("accessToken").to_owned(),
        refresh: r["refreshToken"].as_str().expect("refreshToken").to_owned(),
        ..who.clone()
    }
}

async fn refresh(app: &TestApp, token: &str) -> Gql {
    app.gql(None, REFRESH, json!({ "t": token })).await
}

async fn logout_ends_one_session_only(app: TestApp) {
    let laptop = app.register("twodevices").await;
    let phone = sign_in(&app, &laptop).await;
    // The laptop's session was refreshed once: the family, not just the token, ends.
    let rotated = refresh(&app, &laptop.refresh).await.data("refresh");
    let r = app.gql(None, LOGOUT, json!({ "t": laptop.refresh })).await;
    assert_eq!(r.data("logout"), json!(true));
    for token in [
        &laptop.refresh,
        rotated["refreshToken"].as_str().expect("token"),
    ] {
        let r = refresh(&app, token).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    // The phone signs on, refreshes and acts.
    let phone_next = refresh(&app, &phone.refresh).await.data("refresh");
    let r = app
        .gql(phone_next["accessToken"].as_str(), ME, json!({}))
        .await;
    assert_eq!(r.data("me")["id"], phone.user_id.as_str());
    // Signing out twice, or with a token that names nothing, is still signed out.
    for token in [laptop.refresh.as_str(), "not-a-token", ""] {
        let r = app.gql(None, LOGOUT, json!({ "t": token })).await;
        assert_eq!(r.data("logout"), json!(true), "{token:?}");
    }
}

#[tokio::test]
async fn logout_ends_one_session_only_on_postgres() {
    logout_ends_one_session_only(TestApp::spawn().await).await;
}

#[tokio::test]
async fn logout_ends_one_session_only_on_sqlite() {
    logout_ends_one_session_only(TestApp::spawn_with(TestDatabases::sqlite(), &[]).await).await;
}

async fn logout_everywhere_ends_every_session_and_socket(app: TestApp) {
    let laptop = app.register("everywhere").await;
    let phone = sign_in(&app, &laptop).await;
    let bystander = app.register("notme").await;
    let mut socket = initialised(
        &app,
        json!({ "Authorization": format!("Bearer {}", phone.access) }),
    )
    .await;
    crate::websocket::send(&mut socket, subscribe("1", LONG_LIVED)).await;

    let r = app.gql(Some(&laptop.access), EVERYWHERE, json!({})).await;
    assert_eq!(r.data("logoutEverywhere"), json!(true));
    let ended = Instant::now();

    for (who, access) in [("laptop", &laptop.access), ("phone", &phone.access)] {
        let r = app.gql(Some(access), ME, json!({})).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{who}: {}", r.0);
        assert!(r.message().contains("signed out"), "{who}: {}", r.0);
    }
    for token in [&laptop.refresh, &phone.refresh] {
        let r = refresh(&app, token).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    assert!(
        matches!(next(&mut socket).await, Event::Closed(Some(4403))),
        "the live socket is closed"
    );
    assert!(
        ended.elapsed() < Duration::from_secs(10),
        "{:?}",
        ended.elapsed()
    );

    // Signing in again, even within the same second, opens a session that works.
    let again = sign_in(&app, &laptop).await;
    let r = app.gql(Some(&again.access), ME, json!({})).await;
    assert_eq!(r.data("me")["id"], laptop.user_id.as_str());
    refresh(&app, &again.refresh).await.data("refresh");
    // Nobody else was signed out.
    let r = app.gql(Some(&bystander.access), ME, json!({})).await;
    assert_eq!(r.data("me")["id"], bystander.user_id.as_str());
    // Anonymous callers cannot sign anyone out.
    let r = app.gql(None, EVERYWHERE, json!({})).await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_socket_on_postgres() {
    logout_everywhere_ends_every_session_and_socket(TestApp::spawn().await).await;
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_socket_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    logout_everywhere_ends_every_session_and_socket(app).await;
}

#[tokio::test]
async fn names_that_read_as_the_system_are_refused_at_registration() {
    let app = TestApp::spawn().await;
    let register = |handle: &str, display_name: Option<&str>| {
        let input = json!({ "email": format!("{}@example.com", handle.to_lowercase()),
            "password": PASSWORD, "handle": handle, "displayName": display_name,
            "role": "VIEWER" });
        app.gql(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { user { id handle } } }",
            json!({ "i": input }),
        )
    };
    let before = app.snapshot().await;
    for (handle, display_name) in [
        ("anonymous", None),
        ("Anonymous", None),
        ("an0nym0us", None),
        ("operator_1", None),
        ("Operator", None),
        ("adm1n", None),
        ("MissionLink", None),
        ("missionlink_help", None),
        ("minji", Some("익명")),
        ("minji", Some("운영자")),
        ("minji", Some("Anonymous")),
        ("minji", Some("ＯＰＥＲＡＴＯＲ")),
        ("minji", Some("MissionLink 공식")),
    ] {
        let r = register(handle, display_name).await;
        assert_eq!(
            r.code(),
            "BAD_USER_INPUT",
            "{handle} / {display_name:?}: {}",
            r.0
        );
        assert!(r.message().contains("reserved"), "{}", r.0);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused name changes nothing"
    );
    // Names that only contain a reserved word are anyone's.
    let r = register("anonymous_fan", Some("익명의 팬")).await;
    assert_eq!(r.data("register")["user"]["handle"], "anonymous_fan");
}

async fn changing_the_password_ends_every_other_session(app: TestApp) {
    let laptop = app.register("newpassword").await;
    let phone = sign_in(&app, &laptop).await;
    let mut socket = initialised(
        &app,
        json!({ "Authorization": format!("Bearer {}", phone.access) }),
    )
    .await;
    crate::websocket::send(&mut socket, subscribe("1", LONG_LIVED)).await;
    const CHANGE: &str = "mutation($c: String!, $n: String!) {
        changePassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken } }";

    // Refusals change nothing.
    let before = app.snapshot().await;
    let r = app
        .gql(
            Some(&laptop.access),
            CHANGE,
            json!({ "c": "wrong guess", "n": "a new password" }),
        )
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    let r = app
        .gql(
            Some(&laptop.access),
            CHANGE,
            json!({ "c": PASSWORD, "n": "short" }),
        )
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    let r = app
        .gql(
            None,
            CHANGE,
            json!({ "c": PASSWORD, "n": "a new password" }),
        )
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    let after = app.snapshot().await;
    // The wrong guess stays counted against the login throttle, and nothing else changed.
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("email-addr:") && !l.contains("addr:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&after), strip(&before));

    let fresh = app
        .gql(
            Some(&laptop.access),
            CHANGE,
            json!({ "c": PASSWORD, "n": "a new password" }),
        )
        .await
        .data("changePassword");
    // Every old session is over; the fresh one works.
    for access in [&laptop.access, &phone.access] {
        let r = app.gql(Some(access), ME, json!({})).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    for token in [&laptop.refresh, &phone.refresh] {
        assert_eq!(refresh(&app, token).await.code(), "UNAUTHENTICATED");
    }
    assert!(matches!(next(&mut socket).await, Event::Closed(Some(4403))));
    let r = app.gql(fresh["accessToken"].as_str(), ME, json!({})).await;
    assert_eq!(r.data("me")["id"], laptop.user_id.as_str());
    refresh(&app, fresh["refreshToken"].as_str().expect("token"))
        .await
        .data("refresh");
    // The old password no longer signs in; the new one does.
    let r = app
        .gql(None, LOGIN, json!({ "e": laptop.email, "p": PASSWORD }))
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    app.gql(
        None,
        LOGIN,
        json!({ "e": laptop.email, "p": "a new password" }),
    )
    .await
    .data("login");
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_on_postgres() {
    changing_the_password_ends_every_other_session(TestApp::spawn().await).await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    changing_the_password_ends_every_other_session(app).await;
}

/// A thief refreshing a stolen session in a loop while its owner signs out everywhere: whatever
/// the thief holds at the end no longer works, whichever way each race went.
async fn a_refresh_racing_a_sign_out_everywhere_leaves_nothing_alive(app: TestApp) {
    for round in 0..6u64 {
        let owner = app.register(&format!("raced{round}")).await;
        let stolen = sign_in(&app, &owner).await;
        let thief = async {
            let mut held = (stolen.access.clone(), stolen.refresh.clone());
            for _ in 0..15 {
                let r = refresh(&app, &held.1).await;
                let next = &r.0["data"]["refresh"];
                match (next["accessToken"].as_str(), next["refreshToken"].as_str()) {
                    (Some(access), Some(refresh)) => {
                        held = (access.to_owned(), refresh.to_owned());
                    }
                    _ => break,
                }
            }
            held
        };
        let sign_out = async {
            tokio::time::sleep(Duration::from_millis(3 * round)).await;
            app.gql(Some(&owner.access), EVERYWHERE, json!({})).await
        };
        let ((access, refresh_token), r) = tokio::join!(thief, sign_out);
        assert_eq!(r.data("logoutEverywhere"), json!(true));
        let r = app.gql(Some(&access), ME, json!({})).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "round {round}: {}", r.0);
        let r = refresh(&app, &refresh_token).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "round {round}: {}", r.0);
    }
}

#[tokio::test]
async fn a_refresh_racing_a_sign_out_everywhere_leaves_nothing_alive_on_postgres() {
    a_refresh_racing_a_sign_out_everywhere_leaves_nothing_alive(TestApp::spawn().await).await;
}

#[tokio::test]
async fn a_refresh_racing_a_sign_out_everywhere_leaves_nothing_alive_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    a_refresh_racing_a_sign_out_everywhere_leaves_nothing_alive(app).await;
}

/// The owner of a suspended (say, taken-over) account can still end every session of it, and
/// the thief's session stays ended once the suspension is lifted.
#[tokio::test]
async fn a_suspended_account_can_still_sign_out_everywhere() {
    let app = TestApp::spawn().await;
    let owner = app.register("takenover").await;
    let thief = sign_in(&app, &owner).await;
    let op = crate::disputes::operator(&app, "sessionops").await;
    app.gql(
        Some(&op.access),
        "mutation($u: ID!) { suspendUser(userId: $u, note: \"account taken over\") { id } }",
        json!({ "u": owner.user_id }),
    )
    .await
    .data("suspendUser");
    let r = app.gql(Some(&owner.access), ME, json!({})).await;
    assert_eq!(r.code(), "USER_SUSPENDED", "{}", r.0);

    let r = app.gql(Some(&owner.access), EVERYWHERE, json!({})).await;
    assert_eq!(r.data("logoutEverywhere"), json!(true));
    let r = app
        .gql(
            Some(&op.access),
            "mutation($u: ID!) { unsuspendUser(userId: $u, note: \"owner back in control\") { id } }",
            json!({ "u": owner.user_id }),
        )
        .await;
    r.data("unsuspendUser");
    for token in [&owner.refresh, &thief.refresh] {
        let r = refresh(&app, token).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    let r = app.gql(Some(&thief.access), ME, json!({})).await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    sign_in(&app, &owner).await;
}

/// Users migrations 000004 and after keep every user and token on both backends, start everyone
/// at epoch 0 and unproven; a token issued before it (no `epoch` claim) acts until its user signs out
/// everywhere.
#[tokio::test]
async fn the_sessions_migration_keeps_every_user_and_token_and_old_tokens_work_until_sign_out() {
    use missionlink_migration::Migrate as _;
    use sea_orm::ConnectionTrait;
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = migrations::users_at(&dbs.users_url, 3).await;
        migrations::seed_users(&db, false).await;
        let now = migrations::SEEDED_AT;
        db.execute_unprepared(&format!(
            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, \
             expires_at, rotated_at, revoked_at) VALUES \
             ('r1', 'f1', 'u1', 't1', {now}, {now}, NULL, NULL), \
             ('r2', 'f2', 'u2', 't2', {now}, {now}, {now}, {now})"
        ))
        .await
        .expect("seed");
        let read = |sql: &'static str| migrations::rows(&db, sql);
        let users = migrations::USERS;
        let tokens = "SELECT id, family_id, user_id, token_hash, revoked_at FROM refresh_tokens \
                      ORDER BY id";
        let (users_before, tokens_before) = (read(users).await, read(tokens).await);
        missionlink_migration::users::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        assert_eq!(read(users).await, users_before);
        assert_eq!(read(tokens).await, tokens_before);
        let epochs = read("SELECT session_epoch FROM users WHERE session_epoch <> 0").await;
        assert!(epochs.is_empty(), "{epochs:?}");
        // 000005: no address was ever checked, so every existing account starts unproven and is
        // sent a verification email, which the worker reads as it reads any.
        let proven = read("SELECT id FROM users WHERE email_verified_at IS NOT NULL").await;
        assert!(proven.is_empty(), "{proven:?}");
        {
            use missionlink_entities::users::{AccountEmailKind, account_email};
            use sea_orm::{EntityTrait, QueryOrder};
            let queued = account_email::Entity::find()
                .order_by_asc(account_email::Column::UserId)
                .all(&db)
                .await
                .expect("the queued emails read back");
            let queued: Vec<_> = queued
                .iter()
                .map(|e| {
                    (
                        e.kind,
                        e.user_id.as_deref(),
                        e.email.as_str(),
                        e.status.as_str(),
                    )
                })
                .collect();
            assert_eq!(
                queued,
                [
                    (
                        AccountEmailKind::VerifyEmail,
                        Some("u1"),
                        "a@example.com",
                        "PENDING"
                    ),
                    (
                        AccountEmailKind::VerifyEmail,
                        Some("u2"),
                        "b@example.com",
                        "PENDING"
                    ),
                ]
            );
        }
    }

    // A token without an `epoch` claim, as issued before: it acts until a sign-out everywhere.
    let app = TestApp::spawn().await;
    let user = app.register("oldtoken").await;
    let old = crate::support::signed_token(&user.user_id, "VIEWER", 600);
    let r = app.gql(Some(&old), ME, json!({})).await;
    assert_eq!(r.data("me")["id"], user.user_id.as_str());
    app.gql(Some(&user.access), EVERYWHERE, json!({}))
        .await
        .data("logoutEverywhere");
    let r = app.gql(Some(&old), ME, json!({})).await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
}
