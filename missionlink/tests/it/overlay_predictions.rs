//! A streamer's own prediction on their feed and their OBS overlay (issue 31, item 4), in
//! Debian's headless chromium as in `overlay.rs`: `PREDICTION_OPENED` shows a panel with a bar
//! per outcome and the time left to bet; the bars follow the bets; `PREDICTION_LOCKED` says
//! betting closed; `PREDICTION_RESOLVED` shows the winner. The feed carries the prediction, and
//! no mission for a prediction about none.

use crate::overlay::{Browser, first_token};
use crate::support::TestApp;
use serde_json::{Value, json};
use std::time::Duration;

/// The panel as the page shows it.
fn panel(snapshot: &Value) -> &Value {
    &snapshot["hooks"]["prediction"]
}

/// Each outcome's (title, percent, winner) on the panel.
fn bars(snapshot: &Value) -> Vec<(String, i64, Value)> {
    panel(snapshot)["outcomes"]
        .as_array()
        .unwrap_or_else(|| panic!("no panel: {snapshot:#}"))
        .iter()
        .map(|o| {
            (
                o["title"].as_str().expect("title").to_owned(),
                o["percent"].as_i64().expect("percent"),
                o["winner"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_overlay_shows_a_predictions_bars_follow_the_bets_and_its_result() {
    let app = TestApp::spawn().await;
    // Korean, the default locale.
    let streamer = app.register_as("predstar", "STREAMER").await;
    let fans = [
        app.register("predfan1").await,
        app.register("predfan2").await,
    ];
    let token = first_token(&app, &streamer).await;
    let mut browser = Browser::launch().await;
    let loaded = browser
        .open("pred", &format!("http://{}/overlay/{token}", app.addr))
        .await;
    assert!(panel(&loaded).is_null(), "no prediction yet: {loaded:#}");

    // Seq 1: opened, three outcomes, nothing staked yet.
    let p = app
        .gql(
            Some(&streamer.access),
            "mutation { createPrediction(title: \"Who wins the duel?\",
               outcomes: [\"Red\", \"Blue\", \"Draw\"], windowSeconds: 600) {
               id outcomes { id } } }",
            json!({}),
        )
        .await
        .data("createPrediction");
    let id = p["id"].as_str().expect("id").to_owned();
    let outcome = |i: usize| p["outcomes"][i]["id"].as_str().expect("id").to_owned();
    let opened = browser.wait_seq("pred", 1, 5_000).await;
    assert_eq!(opened["hooks"]["shown"][0]["kind"], "PREDICTION_OPENED");
    assert_eq!(opened["hooks"]["shown"][0]["prediction"], id.as_str());
    assert_eq!(panel(&opened)["title"], "Who wins the duel?");
    assert_eq!(panel(&opened)["status"], "OPEN");
    assert_eq!(
        bars(&opened),
        [
            ("Red".to_owned(), 0, Value::Null),
            ("Blue".to_owned(), 0, Value::Null),
            ("Draw".to_owned(), 0, Value::Null)
        ]
    );
    let caption = panel(&opened)["caption"].as_str().expect("caption");
    assert!(
        caption.starts_with("예측 마감까지 ") && caption.contains(':'),
        "{caption}"
    );

    // Bets make no event: the bars follow within a refresh (2 s).
    for (fan, (o, points)) in fans.iter().zip([(0, 300), (1, 100)]) {
        app.gql(
            Some(&fan.access),
            "mutation($p: ID!, $o: ID!, $n: Int!) {
               betOnPrediction(predictionId: $p, outcomeId: $o, points: $n,
                 idempotencyKey: \"overlay\") { points } }",
            json!({ "p": id, "o": outcome(o), "n": points }),
        )
        .await
        .data("betOnPrediction");
    }
    let mut followed = Value::Null;
    for _ in 0..50 {
        followed = browser.snapshot("pred").await;
        if bars(&followed)[0].1 == 75 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let percents: Vec<i64> = bars(&followed).iter().map(|b| b.1).collect();
    assert_eq!(percents, [75, 25, 0], "{followed:#}");

    // Seq 2: locked. Seq 3: resolved to Red and paid out.
    for (mutation, args) in [
        ("lockPrediction", json!({ "p": id })),
        ("resolvePrediction", json!({ "p": id, "o": outcome(0) })),
    ] {
        let (params, call) = if mutation == "resolvePrediction" {
            ("$p: ID!, $o: ID!", "(predictionId: $p, outcomeId: $o)")
        } else {
            ("$p: ID!", "(predictionId: $p)")
        };
        app.gql(
            Some(&streamer.access),
            &format!("mutation({params}) {{ {mutation}{call} {{ status }} }}"),
            args,
        )
        .await
        .data(mutation);
        if mutation == "lockPrediction" {
            let locked = browser.wait_seq("pred", 2, 5_000).await;
            assert_eq!(locked["hooks"]["shown"][1]["kind"], "PREDICTION_LOCKED");
            assert_eq!(panel(&locked)["status"], "LOCKED");
            assert_eq!(panel(&locked)["caption"], "예측 마감");
        }
    }
    let resolved = browser.wait_seq("pred", 3, 5_000).await;
    assert_eq!(resolved["hooks"]["shown"][2]["kind"], "PREDICTION_RESOLVED");
    assert_eq!(panel(&resolved)["decision"], "RESOLVED");
    assert_eq!(panel(&resolved)["status"], "SETTLED");
    assert_eq!(panel(&resolved)["caption"], "결과: Red");
    let winners: Vec<Value> = bars(&resolved).into_iter().map(|b| b.2).collect();
    assert_eq!(winners, [json!(true), json!(false), json!(false)]);
    browser.close().await;

    // The feed says the same: the prediction on each event, no mission (it is about none).
    let feed = app
        .gql(
            Some(&streamer.access),
            "query($s: ID!) { missionEvents(streamerId: $s, afterSeq: 0) {
               nodes { seq kind mission { id } prediction { id status decision
                 winningOutcome { title } } } } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("missionEvents");
    let kinds: Vec<&str> = feed["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "PREDICTION_OPENED",
            "PREDICTION_LOCKED",
            "PREDICTION_RESOLVED"
        ]
    );
    for node in feed["nodes"].as_array().expect("nodes") {
        assert!(node["mission"].is_null(), "{node}");
        assert_eq!(node["prediction"]["id"], id.as_str());
        assert_eq!(node["prediction"]["winningOutcome"]["title"], "Red");
    }
    app.assert_audit_clean().await;
}
