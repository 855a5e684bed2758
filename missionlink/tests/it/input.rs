//! Bad input: a clear code, and nothing changed in either database.

use crate::support::{Gql, PASSWORD, TestApp};
use serde_json::{Value, json};

const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";

fn registration(email: &str, handle: &str) -> Value {
    json!({ "email": email, "password": PASSWORD, "handle": handle, "role": "VIEWER" })
}

async fn assert_refused_without_change(
    app: &TestApp,
    what: &str,
    code: &str,
    call: impl AsyncFnOnce() -> Gql,
) {
    let before = app.snapshot().await;
    let r = call().await;
    assert_eq!(r.code(), code, "{what}: {}", r.0);
    assert!(!r.message().is_empty(), "{what}: the error explains itself");
    assert_eq!(app.snapshot().await, before, "{what}: something changed");
}

#[tokio::test]
async fn top_ups_outside_the_allowed_amounts_are_refused() {
    // Room for the warm-up and the largest top-up in one day: this test is about one top-up's
    // bounds, not the daily limit (topups.rs tests that).
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[("TOPUP_DAILY_LIMIT_WON", "2000000")],
    )
    .await;
    let viewer = app.register("amounts").await;
    app.top_up(&viewer, 1_000, "warm-up").await.data("topUp");
    for amount in [0, -5_000, 999, 1_000_001, i64::from(i32::MAX)] {
        assert_refused_without_change(
            &app,
            &format!("amount {amount}"),
            "BAD_USER_INPUT",
            async || app.top_up(&viewer, amount, &format!("bad-{amount}")).await,
        )
        .await;
    }
    // Not even an Int.
    assert_refused_without_change(&app, "amount 2^40", "BAD_USER_INPUT", async || {
        app.top_up(&viewer, 1 << 40, "huge").await
    })
    .await;
    // The edges are allowed.
    app.top_up(&viewer, 1_000_000, "max").await.data("topUp");
    assert_eq!(app.wallet(&viewer).await["cash"], 1_001_000);
}

#[tokio::test]
async fn bad_idempotency_keys_are_refused() {
    let app = TestApp::spawn().await;
    let viewer = app.register("keys").await;
    for key in [String::new(), "x".repeat(10_000), "line\nbreak".into()] {
        assert_refused_without_change(&app, "bad key", "BAD_USER_INPUT", async || {
            app.top_up(&viewer, 5_000, &key).await
        })
        .await;
    }
}

#[tokio::test]
async fn malformed_or_oversized_registrations_are_refused() {
    let app = TestApp::spawn().await;
    app.register("taken").await;
    let huge = "x".repeat(10_000);
    let cases: Vec<(&str, Value)> = vec![
        ("malformed email", registration("not-an-email", "fine")),
        ("email without domain dot", registration("a@b", "fine")),
        // Two recipients to a mail server, which SES refuses and a file would address to both.
        (
            "a list with a comma",
            registration("a,b@example.com", "fine"),
        ),
        (
            "a list with a semicolon",
            registration("a;b@example.com", "fine"),
        ),
        (
            "two addresses",
            registration("a@example.com, b@example.com", "fine"),
        ),
        (
            "a display name",
            registration("Ana <ana@example.com>", "fine"),
        ),
        ("a domain literal", registration("ana@[127.0.0.1]", "fine")),
        (
            "10 KB email",
            registration(&format!("{huge}@example.com"), "fine"),
        ),
        ("10 KB handle", registration("ok@example.com", &huge)),
        (
            "handle with spaces",
            registration("ok@example.com", "two words"),
        ),
        ("empty handle", registration("ok@example.com", "")),
        (
            "10 KB password",
            json!({ "email": "ok@example.com", "password": huge, "handle": "fine", "role": "VIEWER" }),
        ),
        (
            "short password",
            json!({ "email": "ok@example.com", "password": "short", "handle": "fine", "role": "VIEWER" }),
        ),
        (
            "10 KB display name",
            json!({ "email": "ok@example.com", "password": PASSWORD, "handle": "fine", "role": "VIEWER", "displayName": huge }),
        ),
        (
            "unknown locale",
            json!({ "email": "ok@example.com", "password": PASSWORD, "handle": "fine", "role": "VIEWER", "locale": "fr" }),
        ),
        (
            "unknown role",
            json!({ "email": "ok@example.com", "password": PASSWORD, "handle": "fine", "role": "ADMIN" }),
        ),
        (
            "duplicate email",
            registration("taken@example.com", "fresh"),
        ),
        (
            "duplicate email in other case",
            registration("TAKEN@example.com", "fresh"),
        ),
        (
            "duplicate handle",
            registration("fresh@example.com", "taken"),
        ),
        (
            "duplicate handle in other case",
            registration("fresh@example.com", "TAKEN"),
        ),
    ];
    for (what, input) in cases {
        assert_refused_without_change(&app, what, "BAD_USER_INPUT", async || {
            app.gql(None, REGISTER, json!({ "input": input })).await
        })
        .await;
    }
}

#[tokio::test]
async fn racing_registrations_for_one_handle_create_one_user() {
    let app = TestApp::spawn().await;
    let attempts = (0..8).map(|i| {
        app.gql(
            None,
            REGISTER,
            json!({ "input": registration(&format!("r{i}@example.com"), "contested") }),
        )
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results
        .iter()
        .filter(|r| r.0.get("errors").is_none())
        .count();
    assert_eq!(winners, 1);
    for r in results.iter().filter(|r| r.0.get("errors").is_some()) {
        assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    }
}
