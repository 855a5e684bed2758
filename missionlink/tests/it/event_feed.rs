//! A streamer's event feed (`missionEvents`): seqs without gaps or repeats under racing pledges
//! through two API instances, a subscriber that resumes after its API restarts, retention, and
//! the worker's own events.

use crate::support::{ServeProcess, Session, TestApp, TestDatabases, ws_next_json, ws_open_at};
use futures::SinkExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::Message;

type Socket = crate::support::WsSocket;

const EVENT: &str = "seq kind mission { id status } pledge { id amount }";

/// Subscribes to `missionEvents(streamerId, afterSeq)` on `app`.
async fn follow(app: &TestApp, streamer: &str, after_seq: Option<i64>) -> Socket {
    follow_at(app.addr, streamer, after_seq).await
}

/// [`follow`] on the API at `addr`.
async fn follow_at(addr: SocketAddr, streamer: &str, after_seq: Option<i64>) -> Socket {
    let mut ws = ws_open_at(addr).await;
    let ack = ws_next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({ "id": "feed", "type": "subscribe", "payload": {
        "query": format!("subscription($s: ID!, $a: Int) {{ missionEvents(streamerId: $s, afterSeq: $a) {{ {EVENT} }} }}"),
        "variables": { "s": streamer, "a": after_seq } } });
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    ws
}

/// Events from the socket until one numbered `through` (each must come in order).
async fn events_through(ws: &mut Socket, through: i64) -> Vec<Value> {
    let mut got: Vec<Value> = Vec::new();
    while got.last().is_none_or(|e| e["seq"].as_i64() < Some(through)) {
        let msg = ws_next_json(ws).await;
        assert_eq!(msg["type"], "next", "{msg}");
        got.push(msg["payload"]["data"]["missionEvents"].clone());
    }
    got
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect()
}

async fn page(app: &TestApp, streamer: &str, after: i64, first: i64) -> Value {
    app.gql(
        None,
        &format!("query($s: ID!, $a: Int!, $f: Int) {{ missionEvents(streamerId: $s, afterSeq: $a, first: $f) {{
            lastSeq hasMore nodes {{ {EVENT} }} }} }}"),
        json!({ "s": streamer, "a": after, "f": first }),
    )
    .await
    .data("missionEvents")
}

/// A streamer, a creator and `backers` viewers with cash, and one mission.
async fn cast(app: &TestApp, backers: usize) -> (Session, Vec<Session>, String) {
    let streamer = app.register_as("feedstar", "STREAMER").await;
    let mut viewers = Vec::new();
    for i in 0..=backers {
        let v = app.register_owned(format!("fan{i}")).await;
        app.top_up(&v, 500_000, "cash").await.data("topUp");
        viewers.push(v);
    }
    let mission = app.new_mission(&viewers[0], &streamer.user_id, 1_000).await;
    (streamer, viewers, mission)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_pledges_through_two_instances_reach_a_subscriber_once_each_in_seq_order() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_with(a.dbs.shared(), &[]).await;
    let (streamer, viewers, mission) = cast(&a, 8).await;
    let s = streamer.user_id.as_str();
    let mut ws = follow(&a, s, Some(0)).await;

    // 8 backers × 10 pledges, half through each instance, all at once.
    let pledges = viewers[1..].iter().enumerate().flat_map(|(v, who)| {
        let (a, b, mission) = (&a, &b, &mission);
        (0..10).map(move |i| async move {
            let app = if (v + i) % 2 == 0 { a } else { b };
            app.contribute(
                who,
                mission,
                1_000 + i64::try_from(i).expect("small"),
                &format!("p{i}"),
            )
            .await
            .data("contribute");
        })
    });
    futures::future::join_all(pledges).await;
    b.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");

    // 1 creation + 80 pledges + the acceptance, numbered 1..=82 with nothing missing or doubled.
    let live = events_through(&mut ws, 82).await;
    assert_eq!(seqs(&live), (1..=82).collect::<Vec<_>>());
    assert_eq!(live[0]["kind"], "CREATED");
    assert_eq!(live[0]["pledge"]["amount"], 1_000);
    assert!(
        live[1..81]
            .iter()
            .all(|e| e["kind"] == "PLEDGED" && e["mission"]["id"] == mission.as_str())
    );
    let pledged: i64 = live[1..81]
        .iter()
        .map(|e| e["pledge"]["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(pledged, 8 * (10 * 1_000 + 45));
    assert_eq!(live[81]["kind"], "ACCEPTED");

    // The query reads the same feed through the other instance, a page at a time.
    let first = page(&b, s, 0, 50).await;
    assert_eq!(first["lastSeq"], 82);
    assert_eq!(first["hasMore"], true);
    let rest = page(&b, s, 50, 50).await;
    assert_eq!(rest["hasMore"], false);
    let paged: Vec<Value> = first["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .chain(rest["nodes"].as_array().expect("nodes"))
        .cloned()
        .collect();
    assert_eq!(seqs(&paged), seqs(&live));
    assert_eq!(page(&b, s, 82, 10).await["nodes"], json!([]));

    // Refusals with codes: a seq from the future, an oversized page.
    let ahead = b
        .gql(
            None,
            "query($s: ID!) { missionEvents(streamerId: $s, afterSeq: 1000) { lastSeq } }",
            json!({ "s": s }),
        )
        .await;
    assert_eq!(ahead.code(), "BAD_USER_INPUT");
    let huge = b
        .gql(
            None,
            "query($s: ID!) { missionEvents(streamerId: $s, first: 51) { lastSeq } }",
            json!({ "s": s }),
        )
        .await;
    assert_eq!(huge.code(), "BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscriber_resumes_after_its_api_restarts_and_sees_every_event_once() {
    let writer = TestApp::spawn().await;
    // The subscriber's API is a `missionlink serve` process, killed and started again.
    let reader = ServeProcess::start(&writer).await;
    let (streamer, viewers, mission) = cast(&writer, 2).await;
    let s = streamer.user_id.clone();
    let mut ws = follow_at(reader.addr, &s, Some(0)).await;
    for i in 0..5 {
        writer
            .contribute(&viewers[1], &mission, 1_000, &format!("before{i}"))
            .await
            .data("contribute");
    }
    let mut seen = events_through(&mut ws, 6).await;

    // The reader's API dies mid-stream; pledges keep coming through the other one.
    let addr = reader.addr;
    reader.kill().await;
    drop(ws);
    for i in 0..5 {
        writer
            .contribute(&viewers[2], &mission, 2_000, &format!("during{i}"))
            .await
            .data("contribute");
    }
    let restarted = ServeProcess::start_at(&writer, addr).await;
    let last = seen.last().and_then(|e| e["seq"].as_i64());
    let mut ws = follow_at(restarted.addr, &s, last).await;
    for i in 0..5 {
        writer
            .contribute(&viewers[1], &mission, 3_000, &format!("after{i}"))
            .await
            .data("contribute");
    }
    seen.extend(events_through(&mut ws, 16).await);
    assert_eq!(
        seqs(&seen),
        (1..=16).collect::<Vec<_>>(),
        "every event exactly once"
    );
    let amounts: Vec<i64> = seen[1..]
        .iter()
        .map(|e| e["pledge"]["amount"].as_i64().expect("amount"))
        .collect();
    assert_eq!(amounts, [[1_000; 5], [2_000; 5], [3_000; 5]].concat());
}

#[tokio::test]
async fn events_older_than_the_retention_answer_events_expired() {
    let app = TestApp::spawn().await;
    let (streamer, viewers, mission) = cast(&app, 1).await;
    let s = streamer.user_id.as_str();
    app.contribute(&viewers[1], &mission, 1_000, "old")
        .await
        .data("contribute");
    // What the worker's pruning does once the retention has passed for these two events.
    let pruned = missionlink_ledger::events::prune(
        &app.db.missions,
        chrono::Utc::now() + chrono::Duration::seconds(1),
    )
    .await
    .expect("prune");
    assert_eq!(pruned, 2);
    app.contribute(&viewers[1], &mission, 2_000, "new")
        .await
        .data("contribute");

    let stale = app
        .gql(
            None,
            "query($s: ID!) { missionEvents(streamerId: $s, afterSeq: 1) { lastSeq } }",
            json!({ "s": s }),
        )
        .await;
    assert_eq!(stale.code(), "EVENTS_EXPIRED");
    assert!(stale.message().contains("reload"), "{}", stale.message());
    // From the last pruned seq on, everything is still there.
    let kept = page(&app, s, 2, 10).await;
    assert_eq!(seqs(kept["nodes"].as_array().expect("nodes")), [3]);
    assert_eq!(kept["nodes"][0]["pledge"]["amount"], 2_000);
    // A subscription from before the pruning is refused the same way.
    let mut ws = follow(&app, s, Some(0)).await;
    let refused = ws_next_json(&mut ws).await;
    // graphql-transport-ws: an `error` message, or a `next` whose result has errors.
    let errors = if refused["type"] == "error" {
        &refused["payload"]
    } else {
        &refused["payload"]["errors"]
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "EVENTS_EXPIRED",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_works_in_process_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    let (streamer, viewers, mission) = cast(&app, 1).await;
    let mut ws = follow(&app, &streamer.user_id, None).await;
    // Only new events without afterSeq: the creation is not replayed.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.contribute(&viewers[1], &mission, 4_000, "live")
        .await
        .data("contribute");
    app.act(&streamer, "reject", &mission)
        .await
        .data("rejectMission");
    let got = events_through(&mut ws, 3).await;
    assert_eq!(seqs(&got), [2, 3]);
    assert_eq!(got[0]["pledge"]["amount"], 4_000);
    assert_eq!(got[1]["kind"], "REJECTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_expiry_and_settlement_are_events_too() {
    let app = TestApp::with_temporal(&[]).await;
    let _worker = app.start_file_worker().await;
    let streamer = app.register_as("sleepy", "STREAMER").await;
    let fan = app.register("patient").await;
    app.top_up(&fan, 50_000, "cash").await.data("topUp");
    let mut ws = follow(&app, &streamer.user_id, Some(0)).await;
    app.create_mission(
        &fan,
        &streamer.user_id,
        5_000,
        json!({ "acceptWithinSeconds": 1 }),
    )
    .await
    .data("createMission");
    let got = events_through(&mut ws, 3).await;
    let kinds: Vec<&Value> = got.iter().map(|e| &e["kind"]).collect();
    assert_eq!(kinds, ["CREATED", "EXPIRED", "SETTLED"]);
    assert_eq!(got[2]["mission"]["status"], "EXPIRED");
}

#[tokio::test]
async fn the_database_stores_every_event_kind_on_both_backends() {
    use missionlink_ledger::events::{NewEvent, append};
    use missionlink_ledger::status::EventKind;
    use sea_orm::TransactionTrait;
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let app = TestApp::spawn_with(dbs, &[]).await;
        let (streamer, _, mission) = cast(&app, 0).await;
        let txn = app.db.missions.begin().await.expect("begin");
        let every: Vec<NewEvent<'_>> = EventKind::ALL
            .iter()
            .map(|kind| NewEvent {
                mission_id: Some(&mission),
                prediction_id: None,
                streamer_id: None,
                kind: *kind,
                pledge_id: None,
                tier: None,
                test_payload: None,
            })
            .collect();
        append(&txn, &every).await.expect("every kind is stored");
        txn.commit().await.expect("commit");
        let kinds: Vec<String> = page(&app, &streamer.user_id, 1, 50).await["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|e| e["kind"].as_str().expect("kind").to_owned())
            .collect();
        let all: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, all);
    }
}

/// What the overlay asks of each event (`api/src/http/overlay.html`).
const OVERLAY_EVENT: &str = "seq kind at tier mission { id title status kind acceptBy deadline goal \
    fundingEndsAt totalHeld backerCount tiers { level amount title reachedAt } } \
    pledge { id amount createdAt anonymous message backer { id displayName } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscriber_asking_what_the_overlay_asks_gets_every_event_with_its_objects() {
    let app = TestApp::spawn().await;
    let (streamer, viewers, mission) = cast(&app, 5).await;
    let mut ws = ws_open_at(app.addr).await;
    let ack = ws_next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({ "id": "feed", "type": "subscribe", "payload": {
        "query": format!("subscription($s: ID!) {{ missionEvents(streamerId: $s, afterSeq: 0) {{ {OVERLAY_EVENT} }} }}"),
        "variables": { "s": streamer.user_id } } });
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");

    // 5 backers × 10 pledges at once: batches of several pledges, each pushed to the
    // subscriber with its objects loaded together.
    let pledges = viewers[1..].iter().flat_map(|who| {
        let (app, mission) = (&app, &mission);
        (0..10).map(move |i| async move {
            let id = app
                .contribute(who, mission, 1_000, &format!("o{i}"))
                .await
                .data("contribute")["id"]
                .as_str()
                .expect("id")
                .to_owned();
            (id, who.user_id.clone())
        })
    });
    let backer_of: std::collections::HashMap<String, String> = futures::future::join_all(pledges)
        .await
        .into_iter()
        .collect();

    let live = events_through(&mut ws, 51).await;
    assert_eq!(seqs(&live), (1..=51).collect::<Vec<_>>());
    let mut shown_total = 0;
    for event in &live[1..] {
        assert_eq!(event["kind"], "PLEDGED", "{event}");
        let pledge = event["pledge"]["id"].as_str().expect("pledge");
        assert_eq!(
            event["pledge"]["backer"]["id"].as_str(),
            backer_of.get(pledge).map(String::as_str),
            "each pledge shows its own backer: {event}"
        );
        // The mission as read with its event's batch: never behind an earlier event's.
        let total = event["mission"]["totalHeld"].as_i64().expect("total");
        assert!(total >= shown_total, "totals went back: {event}");
        shown_total = total;
    }
    let last = &live[50]["mission"];
    assert_eq!(last["totalHeld"], 1_000 + 50 * 1_000, "{last}");
    assert_eq!(last["backerCount"], 6, "{last}");
    assert_eq!(app.mission(&mission).await["backerCount"], 6);
    app.assert_audit_clean().await;
}
