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

/// `extensions.field` (the first refused field) and `extensions.fields` (every one, in order)
/// of the first error, as a form reads them.
fn refused_fields(r: &Gql) -> (String, Vec<String>) {
    let ext = &r.0["errors"][0]["extensions"];
    let fields = ext["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no extensions.fields: {}", r.0))
        .iter()
        .map(|f| {
            assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()), "{f}");
            f["field"].as_str().expect("a field name").to_owned()
        })
        .collect();
    (ext["field"].as_str().unwrap_or_default().to_owned(), fields)
}

/// Issue 30, item 4: a refused input names its fields, every wrong one at once, and changes
/// nothing; a single wrong argument is named too.
#[tokio::test]
async fn every_wrong_field_of_an_input_is_named_at_once() {
    let app = TestApp::spawn().await;
    let viewer = app.register("fields").await;
    let streamer = app.register_as("fieldstar", "STREAMER").await;
    app.top_up(&viewer, 50_000, "fund").await.data("topUp");

    let before = app.snapshot().await;
    let r = app
        .create_mission(
            &viewer,
            &streamer.user_id,
            1,
            json!({ "title": " ", "durationSeconds": 1, "acceptWithinSeconds": 0 }),
        )
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    let (first, all) = refused_fields(&r);
    assert_eq!(first, "title");
    assert_eq!(
        all,
        ["title", "durationSeconds", "acceptWithinSeconds", "amount"]
    );
    for word in ["title", "durationSeconds", "acceptWithinSeconds", "amount"] {
        assert!(r.message().contains(word), "{word}: {}", r.message());
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused mission changed something"
    );

    let r = app
        .gql(
            None,
            REGISTER,
            json!({ "input": { "email": "not-an-email", "password": "short",
                "handle": "two words", "role": "VIEWER", "locale": "fr" } }),
        )
        .await;
    assert_eq!(
        refused_fields(&r).1,
        ["email", "password", "handle", "locale"]
    );
    // Taken twice over: both named.
    let r = app
        .gql(
            None,
            REGISTER,
            json!({ "input": registration("fields@example.com", "FIELDS") }),
        )
        .await;
    assert_eq!(
        refused_fields(&r),
        ("email".into(), vec!["email".into(), "handle".into()])
    );

    // One wrong argument: named as the schema spells it.
    let id = app.new_mission(&viewer, &streamer.user_id, 5_000).await;
    let r = app.contribute(&viewer, &id, 1, "tiny").await;
    assert_eq!(refused_fields(&r), ("amount".into(), vec!["amount".into()]));
    let r = app.top_up(&viewer, 5_000, "").await;
    assert_eq!(refused_fields(&r).0, "idempotencyKey");
    let r = app
        .gql(None, "{ missions(first: 0) { totalCount } }", json!({}))
        .await;
    assert_eq!(refused_fields(&r).0, "first");
    let r = app
        .gql(
            Some(&streamer.access),
            "mutation { updateStreamerSettings(input: { minFirstPledge: 1, maxDurationSeconds: 1 }) { minFirstPledge } }",
            json!({}),
        )
        .await;
    assert_eq!(
        refused_fields(&r).1,
        ["minFirstPledge", "maxDurationSeconds"]
    );
}
