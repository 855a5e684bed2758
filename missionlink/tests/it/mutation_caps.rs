//! A request carries at most `MAX_MUTATIONS_PER_REQUEST` mutation fields and at most one money
//! mutation; otherwise the whole request is refused before anything runs, over HTTP and over the
//! websocket alike.

use crate::support::{PASSWORD, TestApp, ws_next_json, ws_open};
use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn assert_refused_whole(r: &Value, why: &str) {
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{r}"
    );
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(why),
        "{r}"
    );
    assert!(r["data"].is_null(), "nothing ran: {r}");
}

#[tokio::test]
async fn two_money_mutations_in_one_request_are_refused_and_nothing_is_credited() {
    let app = TestApp::spawn().await;
    let viewer = app.register("twice").await;
    let streamer = app.register_as("caps", "STREAMER").await;
    let before = app.snapshot().await;

    let two_top_ups = "mutation { a: topUp(amount: 1000000, idempotencyKey: \"a\") { cash }
                                  b: topUp(amount: 1000000, idempotencyKey: \"b\") { cash } }";
    // Fragments do not hide them.
    let in_fragments = "mutation { ...A ... on Mutation { b: topUp(amount: 1000, idempotencyKey: \"b\") { cash } } }
                        fragment A on Mutation { a: topUp(amount: 1000, idempotencyKey: \"a\") { cash } }";
    let mixed = format!(
        "mutation {{ topUp(amount: 50000, idempotencyKey: \"t\") {{ cash }}
                    createMission(input: {{ streamerId: \"{}\", title: \"Two at once\", amount: 1000,
                      durationSeconds: 3600 }}, idempotencyKey: \"m\") {{ id }} }}",
        streamer.user_id
    );
    for query in [two_top_ups, in_fragments, &mixed] {
        let r = app.gql(Some(&viewer.access), query, json!({})).await;
        assert_refused_whole(&r.0, "money mutation");
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.wallet(&viewer).await["cash"], 0);
    // One money mutation is fine.
    app.top_up(&viewer, 1_000, "one").await.data("topUp");
}

fn logins(n: usize) -> String {
    let fields: String = (0..n)
        .map(|i| {
            format!(
                "l{i}: login(email: \"nobody{i}@example.com\", password: \"x\") {{ accessToken }} "
            )
        })
        .collect();
    format!("mutation {{ {fields} }}")
}

#[tokio::test]
async fn more_mutations_than_the_cap_are_refused_before_any_runs() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let r = app.gql(None, &logins(6), json!({})).await;
    assert_refused_whole(&r.0, "mutations per request");
    // Not one login was attempted: no throttle counter moved.
    assert_eq!(app.snapshot().await, before);

    // Up to the cap they run.
    let r = app.gql(None, &logins(5), json!({})).await;
    assert_eq!(
        r.0["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{}",
        r.0
    );
}

#[tokio::test]
async fn the_caps_hold_over_the_websocket_too() {
    let app = TestApp::spawn().await;
    let viewer = app.register("socket").await;
    let before = app.snapshot().await;
    let mut ws = ws_open(&app).await;
    let _ack = ws_next_json(&mut ws).await;
    ws.send(Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": logins(6) } }).to_string(),
    ))
    .await
    .expect("subscribe");
    let msg = ws_next_json(&mut ws).await;
    let errors = if msg["type"] == "error" {
        msg["payload"].clone()
    } else {
        msg["payload"]["errors"].clone()
    };
    assert_refused_whole(
        &json!({ "errors": errors, "data": Value::Null }),
        "mutations per request",
    );
    assert_eq!(app.snapshot().await, before);
    // The same user over HTTP is unaffected.
    app.gql(
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        json!({ "e": viewer.email, "p": PASSWORD }),
    )
    .await
    .data("login");
}
