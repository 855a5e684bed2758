//! Throttles that hold under concurrency and behind a load balancer: failed logins per email
//! from one address, per client address and per email from every address; registrations per
//! client address; and which address is the client's.

use crate::support::{Gql, PASSWORD, TestApp, TestDatabases};
use serde_json::json;

const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";

async fn login_from(
    app: &TestApp,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
) -> Gql {
    let mut request = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": LOGIN, "variables": { "e": email, "p": password } }));
    if let Some(xff) = forwarded_for {
        request = request.header("X-Forwarded-For", xff);
    }
    let response = request.send().await.expect("POST /graphql");
    assert!(response.status().is_success(), "HTTP {}", response.status());
    Gql(response.json().await.expect("JSON body"))
}

/// 20 wrong passwords for one email sent at once: the limit is counted before each password is
/// checked, so at most `LOGIN_MAX_FAILURES_PER_EMAIL` of them are ever verified.
async fn simultaneous_guesses_are_counted_before_they_are_verified(app: TestApp) {
    let user = app.register("target").await;
    let guesses = (0..20).map(|i| {
        let (app, email) = (&app, user.email.clone());
        async move { login_from(app, None, &email, &format!("guess-{i}")).await }
    });
    let answers = futures::future::join_all(guesses).await;
    let verified = answers
        .iter()
        .filter(|r| r.code() == "UNAUTHENTICATED" && r.message() == "invalid email or password")
        .count();
    let limited = answers
        .iter()
        .filter(|r| r.code() == "RATE_LIMITED")
        .count();
    assert!(verified <= 5, "{verified} guesses were verified (limit 5)");
    assert_eq!(verified + limited, 20, "{answers:?}");
    // The right password is refused too until the window ends.
    let r = login_from(&app, None, &user.email, PASSWORD).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
}

#[tokio::test]
async fn simultaneous_wrong_passwords_are_verified_at_most_limit_times_on_postgres() {
    simultaneous_guesses_are_counted_before_they_are_verified(TestApp::spawn().await).await;
}

#[tokio::test]
async fn simultaneous_wrong_passwords_are_verified_at_most_limit_times_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    simultaneous_guesses_are_counted_before_they_are_verified(app).await;
}

/// Counting before verifying must not lock out a user who signs in correctly: a successful
/// login gives its attempt back.
#[tokio::test]
async fn successful_logins_do_not_use_up_the_failure_budget() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("LOGIN_MAX_FAILURES_PER_EMAIL", "2")],
    )
    .await;
    let user = app.register("regular").await;
    for _ in 0..5 {
        login_from(&app, None, &user.email, PASSWORD)
            .await
            .data("login");
    }
    let r = login_from(&app, None, &user.email, "typo").await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    login_from(&app, None, &user.email, PASSWORD)
        .await
        .data("login");
}

/// Behind a trusted load balancer every request comes from the balancer's address; the client
/// is the address it appends to `X-Forwarded-For`. One attacker's failures block only them.
#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_block_another() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("TRUSTED_PROXIES", "127.0.0.1/32")],
    )
    .await;
    let victim = app.register("victim").await;
    for i in 0..50 {
        let r = login_from(
            &app,
            Some("203.0.113.9"),
            &format!("spray{i}@example.com"),
            "x",
        )
        .await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    let attacker = login_from(&app, Some("203.0.113.9"), "spray99@example.com", "x").await;
    assert_eq!(attacker.code(), "RATE_LIMITED", "{}", attacker.0);
    // What the client put in front of the balancer's own entry does not help it either.
    let spoofed = login_from(
        &app,
        Some("198.51.100.7, 203.0.113.9"),
        "spray98@example.com",
        "x",
    )
    .await;
    assert_eq!(spoofed.code(), "RATE_LIMITED", "{}", spoofed.0);

    login_from(&app, Some("198.51.100.7"), &victim.email, PASSWORD)
        .await
        .data("login");
}

/// Issue 25, item 7: 20 wrong passwords for one email from one address stop that address, not
/// the owner signing in from another; the per-email ceiling over all addresses is far higher.
async fn a_stranger_cannot_lock_the_owner_out(app: TestApp) {
    let owner = app.register("lockedout").await;
    let stranger = "203.0.113.9";
    let mut answers = Vec::new();
    for i in 0..20 {
        answers.push(login_from(&app, Some(stranger), &owner.email, &format!("guess-{i}")).await);
    }
    let failed = answers
        .iter()
        .filter(|r| r.code() == "UNAUTHENTICATED")
        .count();
    let limited = answers
        .iter()
        .filter(|r| r.code() == "RATE_LIMITED")
        .count();
    assert_eq!((failed, limited), (5, 15), "{answers:?}");
    // The stranger is refused even with the right password, from their address.
    let r = login_from(&app, Some(stranger), &owner.email, PASSWORD).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    // The owner, from an address that has not been failing, signs in.
    login_from(&app, Some("198.51.100.7"), &owner.email, PASSWORD)
        .await
        .data("login");
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_on_postgres() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("TRUSTED_PROXIES", "127.0.0.1/32")],
    )
    .await;
    a_stranger_cannot_lock_the_owner_out(app).await;
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_on_sqlite() {
    let app = TestApp::spawn_with(
        TestDatabases::sqlite(),
        &[("TRUSTED_PROXIES", "127.0.0.1/32")],
    )
    .await;
    a_stranger_cannot_lock_the_owner_out(app).await;
}

/// Guessing spread over many addresses stops at the per-email ceiling, for every address.
#[tokio::test]
async fn guessing_from_many_addresses_reaches_the_per_email_ceiling() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[
            ("TRUSTED_PROXIES", "127.0.0.1/32"),
            ("LOGIN_MAX_FAILURES_PER_EMAIL_TOTAL", "8"),
        ],
    )
    .await;
    let owner = app.register("spreadguess").await;
    for i in 0..8 {
        let from = format!("203.0.113.{}", 10 + i / 2);
        let r = login_from(&app, Some(&from), &owner.email, "guess").await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    let r = login_from(&app, Some("198.51.100.7"), &owner.email, PASSWORD).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    // Another account is not held by it.
    let other = app.register("spreadother").await;
    login_from(&app, Some("198.51.100.7"), &other.email, PASSWORD)
        .await
        .data("login");
}

/// Without `TRUSTED_PROXIES`, `X-Forwarded-For` is whatever the client wrote: it is ignored and
/// the TCP peer is the client, so rotating forged addresses does not escape the limit.
#[tokio::test]
async fn without_trusted_proxies_a_forged_forwarded_for_is_ignored() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("LOGIN_MAX_FAILURES_PER_ADDRESS", "3")],
    )
    .await;
    for i in 0..3 {
        let r = login_from(
            &app,
            Some(&format!("192.0.2.{i}")),
            &format!("spray{i}@example.com"),
            "x",
        )
        .await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    let r = login_from(&app, Some("192.0.2.77"), "spray9@example.com", "x").await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
}

fn registration(i: usize) -> serde_json::Value {
    json!({ "email": format!("new{i}@example.com"), "password": PASSWORD,
            "handle": format!("new{i}"), "role": "VIEWER" })
}

async fn users(app: &TestApp) -> u64 {
    use missionlink_entities::users::user;
    use sea_orm::{EntityTrait, PaginatorTrait};
    user::Entity::find()
        .count(&app.db.users)
        .await
        .expect("count users")
}

#[tokio::test]
async fn registrations_from_one_address_are_throttled() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("REGISTER_MAX_PER_ADDRESS", "10")],
    )
    .await;
    for i in 0..10 {
        app.gql(None, REGISTER, json!({ "input": registration(i) }))
            .await
            .data("register");
    }
    let r = app
        .gql(None, REGISTER, json!({ "input": registration(10) }))
        .await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    assert_eq!(users(&app).await, 10);
}

/// Ten aliased `register` mutations in one request used to make ten accounts at once; each
/// counts against the address's limit before it does any work.
#[tokio::test]
async fn aliased_registrations_in_one_request_count_one_by_one() {
    let app = TestApp::spawn_with(
        TestDatabases::sqlite(),
        &[
            ("REGISTER_MAX_PER_ADDRESS", "10"),
            ("MAX_MUTATIONS_PER_REQUEST", "11"),
        ],
    )
    .await;
    let fields: String = (0..11)
        .map(|i| format!("r{i}: register(input: $i{i}) {{ user {{ id }} }} "))
        .collect();
    let params: Vec<String> = (0..11).map(|i| format!("$i{i}: RegisterInput!")).collect();
    let variables: serde_json::Map<String, serde_json::Value> = (0..11)
        .map(|i| (format!("i{i}"), registration(i)))
        .collect();
    let r = app
        .gql(
            None,
            &format!("mutation({}) {{ {fields} }}", params.join(", ")),
            serde_json::Value::Object(variables),
        )
        .await;
    let errors = r.0["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{}", r.0);
    assert_eq!(errors[0]["extensions"]["code"], "RATE_LIMITED", "{}", r.0);
    assert_eq!(errors[0]["path"][0], "r10", "{}", r.0);
    assert_eq!(users(&app).await, 10);
}
