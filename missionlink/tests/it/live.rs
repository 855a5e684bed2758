//! `missionChanged` over graphql-transport-ws.

use crate::support::{TestApp, TestDatabases, ws_next_json, ws_open};
use futures::SinkExt;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket = crate::support::WsSocket;

/// Opens a subscription to `missionChanged(streamerId)` on `app`.
async fn subscribe(app: &TestApp, streamer_id: &str) -> Socket {
    let mut ws = ws_open(app).await;
    let ack = ws_next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({
        "id": "1",
        "type": "subscribe",
        "payload": {
            "query": "subscription($s: ID!) { missionChanged(streamerId: $s) { id status totalPledged backerCount } }",
            "variables": { "s": streamer_id },
        },
    });
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    // Give the server a moment to register the subscription before changes happen.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws
}

/// Reads updates until one satisfies `want`.
async fn wait_for(ws: &mut Socket, want: impl Fn(&Value) -> bool) -> Value {
    loop {
        let msg = ws_next_json(ws).await;
        assert_eq!(msg["type"], "next", "{msg}");
        let mission = msg["payload"]["data"]["missionChanged"].clone();
        if want(&mission) {
            return mission;
        }
    }
}

async fn a_change_reaches_the_subscriber(writer: &TestApp, reader: &TestApp) {
    let streamer = writer.register_as("live", "STREAMER").await;
    let fan = writer.register("fan").await;
    writer.top_up(&fan, 50_000, "t").await.data("topUp");
    let mut ws = subscribe(reader, &streamer.user_id).await;

    let id = writer
        .create_mission(&fan, &streamer.user_id, 5_000, json!({}))
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let created = wait_for(&mut ws, |m| m["id"] == id.as_str()).await;
    assert_eq!(created["status"], "PENDING");

    writer
        .contribute(&fan, &id, 2_000, "more")
        .await
        .data("contribute");
    wait_for(&mut ws, |m| m["totalPledged"] == 7_000).await;
    writer
        .act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    wait_for(&mut ws, |m| m["status"] == "ACTIVE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mission_changed_delivers_a_change_made_through_another_api_instance() {
    let writer = TestApp::spawn().await;
    let reader = TestApp::spawn_with(writer.dbs.shared(), &[]).await;
    a_change_reaches_the_subscriber(&writer, &reader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mission_changed_works_in_process_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    a_change_reaches_the_subscriber(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_hears_only_its_streamers_missions() {
    let app = TestApp::spawn().await;
    let mine = app.register_as("mine", "STREAMER").await;
    let theirs = app.register_as("theirs", "STREAMER").await;
    let fan = app.register("fan2").await;
    app.top_up(&fan, 50_000, "t").await.data("topUp");
    let mut ws = subscribe(&app, &mine.user_id).await;
    app.create_mission(&fan, &theirs.user_id, 5_000, json!({}))
        .await
        .data("createMission");
    let id = app.new_mission(&fan, &mine.user_id, 6_000).await;
    let first = wait_for(&mut ws, |_| true).await;
    assert_eq!(
        first["id"],
        id.as_str(),
        "the other streamer's mission was not delivered"
    );
}
