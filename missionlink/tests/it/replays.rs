//! A replay is not activity: an idempotent mutation sent again with its key answers the first
//! result, counts nothing in the business metrics and announces nothing to live subscribers.
//! The mutations go to a `missionlink serve` process of its own, so its `/metrics` counts only
//! this test's requests.

use crate::support::{ServeProcess, TestApp, ws_next_json, ws_open};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The counters a replay must not move.
struct Counters<'a>(&'a ServeProcess);

impl Counters<'_> {
    /// A counter of this process, by its full name.
    async fn counter(&self, name: &str) -> i64 {
        let text = self
            .0
            .http
            .get(format!("{}/metrics", self.0.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{name} is not exported as an integer"))
    }

    async fn counters(&self) -> [i64; 5] {
        [
            self.counter("missionlink_missions_created_total").await,
            self.counter("missionlink_pledges_total").await,
            self.counter("missionlink_pledged_won_total").await,
            self.counter("missionlink_bets_total").await,
            self.counter("missionlink_bet_points_total").await,
        ]
    }
}

/// Reads and drops whatever arrives within `settle`: updates of earlier changes still on their
/// way (announcements are asynchronous and coalesced).
async fn drain(ws: &mut crate::support::WsSocket, settle: Duration) {
    let until = tokio::time::Instant::now() + settle;
    while let Ok(Some(_)) = tokio::time::timeout_at(until, ws.next()).await {}
}

/// Waits (at most 30 s) for an update whose mission satisfies `want`, skipping others.
async fn wait_for(ws: &mut crate::support::WsSocket, want: impl Fn(&Value) -> bool) {
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(until, ws_next_json(ws))
            .await
            .expect("the update arrived");
        if msg["type"] == "next" && want(&msg["payload"]["data"]["missionChanged"]) {
            return;
        }
    }
}

/// Fails if a `missionChanged` update arrives within `quiet`.
async fn assert_quiet(ws: &mut crate::support::WsSocket, quiet: Duration) {
    let until = tokio::time::Instant::now() + quiet;
    while let Ok(Some(msg)) = tokio::time::timeout_at(until, ws.next()).await {
        let text = msg.expect("socket").into_text().expect("text");
        let msg: Value = serde_json::from_str(&text).expect("json");
        assert_ne!(msg["type"], "next", "a replay was announced: {msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_mutation_counts_nothing_and_announces_nothing() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("replay_streamer", "STREAMER").await;
    let alice = app.register("replay_alice").await;
    let bob = app.register("replay_bob").await;
    for who in [&alice, &bob] {
        app.top_up(who, 50_000, "t").await.data("topUp");
    }
    let serve = ServeProcess::start(&app).await;
    assert_eq!(Counters(&serve).counters().await, [0; 5]);

    let create = "mutation($input: CreateMissionInput!, $k: String!) {
        createMission(input: $input, idempotencyKey: $k) { id } }";
    let input = json!({ "streamerId": streamer.user_id, "title": "No-hit run", "amount": 10_000,
                        "durationSeconds": 3600 });
    let first = serve
        .gql(&alice.access, create, json!({ "input": input, "k": "c1" }))
        .await;
    let id = first["createMission"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let again = serve
        .gql(&alice.access, create, json!({ "input": input, "k": "c1" }))
        .await;
    assert_eq!(again, first, "a replay answers the first mission");
    assert_eq!(Counters(&serve).counters().await, [1, 1, 10_000, 0, 0]);

    // Live subscribers of the streamer's missions (on the other API instance).
    let mut ws = ws_open(&app).await;
    assert_eq!(ws_next_json(&mut ws).await["type"], "connection_ack");
    ws.send(Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($s: ID!) { missionChanged(streamerId: $s) { id totalPledged } }",
            "variables": { "s": streamer.user_id } } })
        .to_string(),
    ))
    .await
    .expect("subscribe");
    drain(&mut ws, Duration::from_millis(1_500)).await;

    let contribute = "mutation($m: ID!, $k: String!) {
        contribute(missionId: $m, amount: 4000, idempotencyKey: $k) { id } }";
    let pledged = serve
        .gql(&bob.access, contribute, json!({ "m": id, "k": "p1" }))
        .await;
    wait_for(&mut ws, |m| m["totalPledged"] == 14_000).await;
    drain(&mut ws, Duration::from_millis(1_500)).await;
    let replayed = serve
        .gql(&bob.access, contribute, json!({ "m": id, "k": "p1" }))
        .await;
    assert_eq!(replayed, pledged, "a replay answers the first pledge");
    assert_quiet(&mut ws, Duration::from_millis(2_000)).await;
    assert_eq!(Counters(&serve).counters().await, [1, 2, 14_000, 0, 0]);

    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    let bet = "mutation($m: ID!, $k: String!) {
        placeBet(missionId: $m, outcome: SUCCESS, points: 100, idempotencyKey: $k) { id } }";
    let placed = serve
        .gql(&bob.access, bet, json!({ "m": id, "k": "b1" }))
        .await;
    drain(&mut ws, Duration::from_millis(2_000)).await;
    let replayed = serve
        .gql(&bob.access, bet, json!({ "m": id, "k": "b1" }))
        .await;
    assert_eq!(replayed, placed, "a replay answers the first bet");
    assert_quiet(&mut ws, Duration::from_millis(2_000)).await;
    assert_eq!(Counters(&serve).counters().await, [1, 2, 14_000, 1, 100]);
}
