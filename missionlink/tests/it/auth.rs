//! Sign-up, sign-in, token refresh and what happens to every kind of bad token.

use crate::support::{Gql, PASSWORD, TEST_JWT_SECRET, TestApp, TestDatabases};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
    accessToken refreshToken user { id handle displayName role } } }";
const REFRESH: &str =
    "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken user { id } } }";
const ME: &str = "{ me { id handle displayName role } }";

async fn journey(app: &TestApp) {
    let streamer = app.register_as("minji", "STREAMER").await;

    let login = app
        .gql(
            None,
            LOGIN,
            json!({ "e": "MinJi@Example.com", "p": PASSWORD }),
        )
        .await
        .data("login");
    assert_eq!(
        login["user"]["id"],
        streamer.user_id.as_str(),
        "email is case-insensitive"
    );
    assert_eq!(login["user"]["role"], "STREAMER");
    assert_eq!(
        login["user"]["displayName"], "minji",
        "display name defaults to the handle"
    );

    let refreshed = app
        .gql(None, REFRESH, json!({ "t": login["refreshToken"] }))
        .await
        .data("refresh");
    assert_ne!(refreshed["refreshToken"], login["refreshToken"], "rotated");
    let access = refreshed["accessToken"].as_str().expect("token");

    let me = app.gql(Some(access), ME, json!({})).await.data("me");
    assert_eq!(me["id"], streamer.user_id.as_str());
    assert_eq!(me["handle"], "minji");

    let fresh = crate::support::Session {
        access: access.to_owned(),
        ..streamer
    };
    assert_eq!(
        app.wallet(&fresh).await,
        json!({ "cash": 0, "points": 1000, "earnings": 0 })
    );
    let after = app
        .top_up(&fresh, 50_000, "first-top-up")
        .await
        .data("topUp");
    assert_eq!(
        after,
        json!({ "cash": 50_000, "points": 1000, "earnings": 0 })
    );
    assert_eq!(app.wallet(&fresh).await, after);
}

#[tokio::test]
async fn a_streamer_registers_logs_in_refreshes_sees_themselves_and_tops_up_on_postgres() {
    let app = TestApp::spawn().await;
    journey(&app).await;
}

#[tokio::test]
async fn the_same_journey_works_on_the_sqlite_defaults() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    journey(&app).await;
}

#[tokio::test]
async fn signup_points_follow_the_configuration() {
    let app =
        TestApp::spawn_with(TestDatabases::postgres().await, &[("SIGNUP_POINTS", "250")]).await;
    let viewer = app.register("points").await;
    assert_eq!(app.wallet(&viewer).await["points"], 250);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_is_unauthenticated_and_says_the_same() {
    let app = TestApp::spawn().await;
    app.register("hana").await;
    let wrong = app
        .gql(
            None,
            LOGIN,
            json!({ "e": "hana@example.com", "p": "not the password" }),
        )
        .await;
    let unknown = app
        .gql(
            None,
            LOGIN,
            json!({ "e": "nobody@example.com", "p": PASSWORD }),
        )
        .await;
    assert_eq!(wrong.code(), "UNAUTHENTICATED");
    assert_eq!(unknown.code(), "UNAUTHENTICATED");
    assert_eq!(
        wrong.message(),
        unknown.message(),
        "no hint which emails exist"
    );
}

#[tokio::test]
async fn queries_without_a_token_are_unauthenticated() {
    let app = TestApp::spawn().await;
    assert_eq!(app.gql(None, ME, json!({})).await.code(), "UNAUTHENTICATED");
    let top_up = app
        .gql(
            None,
            "mutation { topUp(amount: 5000, idempotencyKey: \"k\") { cash } }",
            json!({}),
        )
        .await;
    assert_eq!(top_up.code(), "UNAUTHENTICATED");
}

fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

async fn me_with(app: &TestApp, token: &str) -> Gql {
    app.gql(Some(token), ME, json!({})).await
}

#[tokio::test]
async fn garbage_expired_foreign_and_unsigned_tokens_are_all_refused() {
    let app = TestApp::spawn().await;
    let user = app.register("jisoo").await;
    let now = chrono::Utc::now().timestamp();
    let claims =
        |exp: i64| json!({ "sub": user.user_id, "role": "VIEWER", "iat": now - 1000, "exp": exp });

    // A control: a token we sign ourselves with the app's key works.
    assert_eq!(
        me_with(&app, &sign(&claims(now + 60), TEST_JWT_SECRET.as_bytes()))
            .await
            .data("me")["id"],
        user.user_id.as_str()
    );

    let expired = sign(&claims(now - 1), TEST_JWT_SECRET.as_bytes());
    let foreign = sign(
        &claims(now + 60),
        b"some-other-service-secret-0123456789abcdef",
    );
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(now + 60).to_string());
    let unsigned = format!("{header}.{payload}.");
    let tampered = {
        // A valid token whose payload was swapped for another user's: the signature no longer fits.
        let good = sign(&claims(now + 60), TEST_JWT_SECRET.as_bytes());
        let parts: Vec<&str> = good.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(
            json!({ "sub": "someone-else", "role": "STREAMER", "iat": now, "exp": now + 60 })
                .to_string(),
        );
        format!("{}.{other}.{}", parts[0], parts[2])
    };

    for (what, token) in [
        ("garbage", "not-a-jwt".to_owned()),
        ("expired", expired),
        ("signed with another key", foreign),
        ("alg none", unsigned),
        ("tampered payload", tampered),
    ] {
        let r = me_with(&app, &token).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{what}: {}", r.0);
    }

    // A header that is not a bearer token at all.
    let r = app
        .http
        .post(app.url("/graphql"))
        .header(
            "Authorization",
            format!("Basic {}", URL_SAFE_NO_PAD.encode("a:b")),
        )
        .json(&json!({ "query": ME }))
        .send()
        .await
        .expect("send");
    assert_eq!(Gql(r.json().await.expect("json")).code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let user = app.register("yuna").await;

    let second = app
        .gql(None, REFRESH, json!({ "t": user.refresh }))
        .await
        .data("refresh");
    let third = app
        .gql(None, REFRESH, json!({ "t": second["refreshToken"] }))
        .await
        .data("refresh");

    // Someone replays the first, already rotated token: refused, and the family dies with it.
    let replay = app.gql(None, REFRESH, json!({ "t": user.refresh })).await;
    assert_eq!(replay.code(), "UNAUTHENTICATED");
    let newest = app
        .gql(None, REFRESH, json!({ "t": third["refreshToken"] }))
        .await;
    assert_eq!(
        newest.code(),
        "UNAUTHENTICATED",
        "the newest token of the family is revoked too"
    );

    // Signing in again starts a new, working family.
    let login = app
        .gql(None, LOGIN, json!({ "e": user.email, "p": PASSWORD }))
        .await
        .data("login");
    app.gql(None, REFRESH, json!({ "t": login["refreshToken"] }))
        .await
        .data("refresh");

    let garbage = app.gql(None, REFRESH, json!({ "t": "made-up" })).await;
    assert_eq!(garbage.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn two_concurrent_refreshes_of_one_token_yield_at_most_one_session() {
    let app = TestApp::spawn().await;
    let user = app.register("race").await;
    let (a, b) = tokio::join!(
        app.gql(None, REFRESH, json!({ "t": user.refresh })),
        app.gql(None, REFRESH, json!({ "t": user.refresh })),
    );
    let ok = [&a, &b]
        .iter()
        .filter(|r| r.0.get("errors").is_none())
        .count();
    assert!(ok <= 1, "one token, two sessions: {} / {}", a.0, b.0);
}

#[tokio::test]
async fn repeated_failed_logins_for_one_email_are_rate_limited_even_with_the_right_password() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("LOGIN_MAX_FAILURES_PER_EMAIL", "3")],
    )
    .await;
    let user = app.register("target").await;
    for _ in 0..3 {
        let r = app
            .gql(None, LOGIN, json!({ "e": user.email, "p": "guess" }))
            .await;
        assert_eq!(r.code(), "UNAUTHENTICATED");
    }
    let blocked = app
        .gql(None, LOGIN, json!({ "e": user.email, "p": PASSWORD }))
        .await;
    assert_eq!(blocked.code(), "RATE_LIMITED");
    // Other accounts are not locked out by someone hammering this one.
    let other = app.register("bystander").await;
    app.gql(None, LOGIN, json!({ "e": other.email, "p": PASSWORD }))
        .await
        .data("login");
}

#[tokio::test]
async fn one_address_trying_many_emails_is_rate_limited() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("LOGIN_MAX_FAILURES_PER_ADDRESS", "4")],
    )
    .await;
    for i in 0..4 {
        let r = app
            .gql(
                None,
                LOGIN,
                json!({ "e": format!("spray{i}@example.com"), "p": "x" }),
            )
            .await;
        assert_eq!(r.code(), "UNAUTHENTICATED");
    }
    let r = app
        .gql(None, LOGIN, json!({ "e": "spray9@example.com", "p": "x" }))
        .await;
    assert_eq!(r.code(), "RATE_LIMITED");
}

/// Registration writes the users database, then the missions database. If the process dies in
/// between, the user exists without a wallet; their next sign-in opens it, granting the signup
/// points exactly once however often they sign in.
#[tokio::test]
async fn a_user_whose_wallet_was_never_opened_gets_it_at_the_next_login_once() {
    use missionlink_entities::users::user;
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::now_v7().to_string();
    user::Model {
        id: id.clone(),
        email: "halfway@example.com".into(),
        handle: "halfway".into(),
        handle_key: "halfway".into(),
        display_name: "halfway".into(),
        role: missionlink_identity::Role::Viewer,
        locale: missionlink_identity::Locale::En,
        password_hash: missionlink_identity::password::hash(PASSWORD.into())
            .await
            .expect("hash"),
        created_at: chrono::Utc::now(),
        suspended_at: None,
        suspended_until: None,
        session_epoch: 0,
        sessions_valid_after: None,
        email_verified_at: None,
        notify_accepted: true,
        notify_verifying: true,
    }
    .into_active_model()
    .insert(&app.db.users)
    .await
    .expect("insert user only");

    for _ in 0..3 {
        let login = app
            .gql(
                None,
                LOGIN,
                json!({ "e": "halfway@example.com", "p": PASSWORD }),
            )
            .await
            .data("login");
        let access = login["accessToken"].as_str().expect("token");
        let wallet = app
            .gql(Some(access), "{ wallet { cash points } }", json!({}))
            .await
            .data("wallet");
        assert_eq!(wallet, json!({ "cash": 0, "points": 1000 }));
    }
    let me = app
        .gql(Some(&app_login(&app).await), ME, json!({}))
        .await
        .data("me");
    assert_eq!(me["id"], id.as_str());
}

async fn app_login(app: &TestApp) -> String {
    app.gql(
        None,
        LOGIN,
        json!({ "e": "halfway@example.com", "p": PASSWORD }),
    )
    .await
    .data("login")["accessToken"]
        .as_str()
        .expect("token")
        .to_owned()
}
