//! Streamers' test events (issue 29, item 2), through HTTP: a test event is in the feed, in the
//! subscription and in webhooks, flagged `test`, with a made-up mission and pledge; no money,
//! total or count changes and the audit stays clean; it is throttled per streamer, even when
//! raced; only streamers send them; SQLite too.

use crate::support::TestApp;
use missionlink_testdb::TestDatabases;
use serde_json::json;

const SEND: &str = "mutation($k: MissionEventKind!) { sendTestEvent(kind: $k) {
    seq kind test tier mission { id title status kind totalPledged totalHeld backerCount
      streamer { id } } pledge { amount message backer { displayName } } } }";

async fn sends_a_test_event_that_changes_nothing(app: TestApp) {
    let streamer = app.register_as("teststar", "STREAMER").await;
    let viewer = app.register("testfan").await;
    app.top_up(&viewer, 50_000, "cash").await.data("topUp");
    let before = app.wallet(&viewer).await;

    let event = app
        .gql(Some(&streamer.access), SEND, json!({ "k": "PLEDGED" }))
        .await
        .data("sendTestEvent");
    assert_eq!(event["test"], true, "{event}");
    assert_eq!(event["kind"], "PLEDGED");
    assert_eq!(event["seq"], 1);
    assert_eq!(event["mission"]["status"], "PENDING");
    assert_eq!(
        event["mission"]["streamer"]["id"],
        streamer.user_id.as_str()
    );
    assert_eq!(event["pledge"]["amount"], 5_000);
    // In the streamer's language (Korean by default).
    assert_eq!(
        event["pledge"]["backer"]["displayName"],
        "MissionLink 테스트"
    );
    let message = event["pledge"]["message"].as_str().expect("message");
    assert!(message.contains("테스트"), "{message}");
    let tier = app
        .gql(Some(&streamer.access), SEND, json!({ "k": "TIER_REACHED" }))
        .await
        .data("sendTestEvent");
    assert_eq!(tier["tier"], 1);
    assert_eq!(tier["mission"]["kind"], "GOAL");
    assert!(tier["pledge"].is_null());

    // The feed has both, flagged, read back from what was stored.
    let feed = app
        .gql(
            None,
            "query($s: ID!) { missionEvents(streamerId: $s) { lastSeq nodes { seq kind test
                mission { id title totalPledged } pledge { amount } } } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("missionEvents");
    assert_eq!(feed["lastSeq"], 2);
    assert_eq!(feed["nodes"][0]["test"], true);
    assert_eq!(feed["nodes"][0]["mission"]["id"], event["mission"]["id"]);
    assert_eq!(feed["nodes"][0]["mission"]["totalPledged"], 12_000);
    assert_eq!(feed["nodes"][0]["pledge"]["amount"], 5_000);

    // Nothing else changed: no mission is listed, no node answers for the made-up one, the
    // viewer's wallet is as it was, and the audit is clean.
    let listed = app
        .gql(
            None,
            "query($s: ID!) { missions(streamerId: $s) { totalCount } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("missions");
    assert_eq!(listed["totalCount"], 0);
    assert_eq!(app.wallet(&viewer).await, before);
    app.assert_audit_clean().await;

    let refused = app
        .gql(Some(&viewer.access), SEND, json!({ "k": "PLEDGED" }))
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_test_event_is_in_the_feed_flagged_and_changes_no_money_total_or_count() {
    sends_a_test_event_that_changes_nothing(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_too_a_test_event_is_in_the_feed_and_changes_nothing() {
    sends_a_test_event_that_changes_nothing(
        TestApp::spawn_with(TestDatabases::sqlite(), &[]).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_events_are_throttled_per_streamer_even_when_raced() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("TEST_EVENTS_PER_MINUTE", "3")],
    )
    .await;
    let streamer = app.register_as("busystar", "STREAMER").await;
    let other = app.register_as("calmstar", "STREAMER").await;
    let tries = (0..6).map(|_| app.gql(Some(&streamer.access), SEND, json!({ "k": "CREATED" })));
    let answers = futures::future::join_all(tries).await;
    let refused: Vec<&serde_json::Value> = answers
        .iter()
        .filter(|a| a.0.get("errors").is_some())
        .map(|a| &a.0)
        .collect();
    assert_eq!(refused.len(), 3, "{answers:?}");
    for r in refused {
        assert_eq!(r["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{r}");
        assert!(r["errors"][0]["extensions"]["retryAt"].is_string(), "{r}");
    }
    // Another streamer's allowance is their own.
    app.gql(Some(&other.access), SEND, json!({ "k": "CREATED" }))
        .await
        .data("sendTestEvent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_test_event_reaches_the_streamers_webhooks_flagged() {
    use std::sync::{Arc, Mutex};
    let app = TestApp::spawn().await;
    let streamer = app.register_as("hooktest", "STREAMER").await;
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let log = got.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let log = log.clone();
            async move {
                log.lock().expect("log").push(body.0);
                axum::http::StatusCode::OK
            }
        }),
    );
    let addr = crate::support::serve_on_loopback(receiver).await;
    app.gql(
        Some(&streamer.access),
        "mutation($u: String!) { createWebhook(url: $u, events: [PLEDGED]) { id } }",
        json!({ "u": format!("http://{addr}/hook") }),
    )
    .await
    .data("createWebhook");
    app.gql(Some(&streamer.access), SEND, json!({ "k": "PLEDGED" }))
        .await
        .data("sendTestEvent");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while got.lock().expect("log").is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let body = got
        .lock()
        .expect("log")
        .first()
        .cloned()
        .expect("a delivery");
    assert_eq!(body["test"], true, "{body}");
    assert_eq!(body["kind"], "PLEDGED");
    assert_eq!(
        body["pledge"]["backer"]["displayName"],
        "MissionLink 테스트"
    );
}
