//! Predictions of the streamer's own (issue 31, item 2), through HTTP with the worker on the
//! Temporal dev server: a moderator opens a 10-outcome prediction, viewers bet, the moderator
//! who bet cannot resolve it, the streamer does, and every payout is the stated parimutuel one
//! to the point, its remainder to the earliest stake; a cancelled prediction gives every point
//! back; a streamer with predictions off opens none; the audit is clean.

use crate::support::{Gql, Session, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

const FIELDS: &str = "id title status decision lockAt totalPoints
  outcomes { id position title points bettors } winningOutcome { id title }";

async fn create(app: &TestApp, who: &Session, vars: Value) -> Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "mutation($s: ID, $t: String!, $o: [String!]!, $w: Int) {{
               createPrediction(streamerId: $s, title: $t, outcomes: $o, windowSeconds: $w)
               {{ {FIELDS} }} }}"
        ),
        vars,
    )
    .await
}

async fn bet(app: &TestApp, who: &Session, prediction: &str, outcome: &str, points: i64) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($p: ID!, $o: ID!, $n: Int!, $k: String!) {
           betOnPrediction(predictionId: $p, outcomeId: $o, points: $n, idempotencyKey: $k)
           { id outcomeId points payout } }",
        json!({ "p": prediction, "o": outcome, "n": points,
                "k": format!("bet-{prediction}-{outcome}-{points}") }),
    )
    .await
}

async fn decide(app: &TestApp, who: &Session, mutation: &str, vars: Value) -> Gql {
    let args = if mutation == "resolvePrediction" {
        "(predictionId: $p, outcomeId: $o)"
    } else {
        "(predictionId: $p)"
    };
    let params = if mutation == "resolvePrediction" {
        "$p: ID!, $o: ID!"
    } else {
        "$p: ID!"
    };
    app.gql(
        Some(&who.access),
        &format!("mutation({params}) {{ {mutation}{args} {{ {FIELDS} }} }}"),
        vars,
    )
    .await
}

/// The prediction as `who` sees it, once `done` holds (within 30 s).
async fn wait_for(app: &TestApp, who: &Session, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    wait_up_to(app, who, id, Duration::from_secs(30), done).await
}

/// [`wait_for`], for at most `limit`.
async fn wait_up_to(
    app: &TestApp,
    who: &Session,
    id: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let p = app
            .gql(
                Some(&who.access),
                &format!(
                    "query($id: ID!) {{ channelPrediction(id: $id) {{ {FIELDS}
                       myStake {{ points payout outcomeId }} }} }}"
                ),
                json!({ "id": id }),
            )
            .await
            .data("channelPrediction");
        if done(&p) {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prediction {id} never got there");
}

async fn points(app: &TestApp, who: &Session) -> i64 {
    app.wallet(who).await["points"].as_i64().expect("points")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_outcome_prediction_pays_out_exactly_and_its_remainder_to_the_earliest() {
    let app = TestApp::with_temporal(&[]).await;
    let _worker = app.start_file_worker().await;
    let streamer = app.register_as("oddsstar", "STREAMER").await;
    let moderator = app.register("oddsmod").await;
    let fans: Vec<Session> = {
        let mut v = Vec::new();
        for i in 0..4 {
            v.push(app.register(&format!("oddsfan{i}")).await);
        }
        v
    };
    app.gql(
        Some(&streamer.access),
        "mutation($u: ID!) { appointModerator(userId: $u) { predictionsEnabled } }",
        json!({ "u": moderator.user_id }),
    )
    .await
    .data("appointModerator");
    let start = points(&app, &fans[0]).await;

    // Refused inputs, every wrong field named, nothing opened.
    let bad = create(
        &app,
        &streamer,
        json!({ "t": " ", "o": ["Only one"], "w": 5 }),
    )
    .await;
    assert_eq!(bad.code(), "BAD_USER_INPUT", "{}", bad.0);
    let fields: Vec<&str> = bad.0["errors"][0]["extensions"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["title", "outcomes", "windowSeconds"]);
    let repeated = create(
        &app,
        &streamer,
        json!({ "t": "Twice?", "o": ["Yes", "yes"] }),
    )
    .await;
    assert_eq!(
        repeated.0["errors"][0]["extensions"]["field"],
        "outcomes[1]"
    );
    let stranger = create(
        &app,
        &fans[0],
        json!({ "s": streamer.user_id, "t": "Not mine", "o": ["A", "B"] }),
    )
    .await;
    assert_eq!(stranger.code(), "FORBIDDEN", "{}", stranger.0);
    let viewers_own = create(&app, &fans[0], json!({ "t": "Mine?", "o": ["A", "B"] })).await;
    assert_eq!(viewers_own.code(), "FORBIDDEN", "{}", viewers_own.0);

    // The moderator opens it for the streamer: ten rounds.
    let rounds: Vec<String> = (1..=10).map(|i| format!("Round {i}")).collect();
    let p = create(
        &app,
        &moderator,
        json!({ "s": streamer.user_id, "t": "Which round does the boss fall?", "o": rounds,
                "w": 600 }),
    )
    .await
    .data("createPrediction");
    let id = p["id"].as_str().expect("id").to_owned();
    assert_eq!(p["status"], "OPEN");
    assert_eq!(p["outcomes"].as_array().expect("outcomes").len(), 10);
    let outcome = |i: usize| p["outcomes"][i - 1]["id"].as_str().expect("id").to_owned();
    let again = create(&app, &streamer, json!({ "t": "Another", "o": ["A", "B"] })).await;
    assert_eq!(again.code(), "PREDICTION_LIMIT", "{}", again.0);

    // Three fans on round 3, 100 each; one on round 7; the moderator on round 1.
    for fan in &fans[..3] {
        bet(&app, fan, &id, &outcome(3), 100)
            .await
            .data("betOnPrediction");
    }
    bet(&app, &fans[3], &id, &outcome(7), 6)
        .await
        .data("betOnPrediction");
    bet(&app, &moderator, &id, &outcome(1), 1)
        .await
        .data("betOnPrediction");
    let own = bet(&app, &streamer, &id, &outcome(3), 10).await;
    assert_eq!(own.code(), "FORBIDDEN", "{}", own.0);
    let switch = bet(&app, &fans[0], &id, &outcome(4), 10).await;
    assert_eq!(switch.0["errors"][0]["extensions"]["field"], "outcomeId");
    let open = wait_for(&app, &fans[0], &id, |_| true).await;
    assert_eq!(open["totalPoints"], 307);
    assert_eq!(open["outcomes"][2]["points"], 300);
    assert_eq!(open["outcomes"][2]["bettors"], 3);
    assert_eq!(open["outcomes"][1]["bettors"], 0);

    // The moderator bet, so cannot resolve (Kick's rule); the streamer does.
    let conflicted = decide(
        &app,
        &moderator,
        "resolvePrediction",
        json!({ "p": id, "o": outcome(3) }),
    )
    .await;
    assert_eq!(
        conflicted.code(),
        "CONFLICT_OF_INTEREST",
        "{}",
        conflicted.0
    );
    let resolved = decide(
        &app,
        &streamer,
        "resolvePrediction",
        json!({ "p": id, "o": outcome(3) }),
    )
    .await
    .data("resolvePrediction");
    assert_eq!(resolved["decision"], "RESOLVED");
    assert_eq!(resolved["winningOutcome"]["title"], "Round 3");
    let late = bet(&app, &fans[3], &id, &outcome(7), 1).await;
    assert_eq!(late.code(), "INVALID_STATE", "{}", late.0);

    // Pool 307 over 300 on the winner: 100 × 307 / 300 = 102 each, remainder 100 each; the one
    // point the flooring left goes to the earliest stake.
    let done = wait_for(&app, &fans[0], &id, |p| p["status"] == "SETTLED").await;
    assert_eq!(done["myStake"]["payout"], 103);
    for (fan, payout) in fans.iter().zip([103, 102, 102, 0]) {
        let seen = wait_for(&app, fan, &id, |_| true).await;
        assert_eq!(seen["myStake"]["payout"], payout, "{seen}");
    }
    assert_eq!(points(&app, &fans[0]).await, start + 3);
    assert_eq!(points(&app, &fans[1]).await, start + 2);
    assert_eq!(points(&app, &fans[3]).await, start - 6);
    assert_eq!(points(&app, &moderator).await, start - 1);

    // Suspended, the streamer's moderator cannot open one for them.
    let op = crate::disputes::operator(&app, "oddsop").await;
    crate::payout_holds::suspend(&app, &op, &streamer.user_id)
        .await
        .data("suspendUser");
    let suspended = create(
        &app,
        &moderator,
        json!({ "s": streamer.user_id, "t": "Still on?", "o": ["Yes", "No"] }),
    )
    .await;
    assert_eq!(suspended.code(), "STREAMER_SUSPENDED", "{}", suspended.0);
    app.assert_audit_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_prediction_gives_every_point_back_and_the_switch_opens_none() {
    let app = TestApp::with_temporal(&[]).await;
    let _worker = app.start_file_worker().await;
    let streamer = app.register_as("cancelstar", "STREAMER").await;
    let fan = app.register("cancelfan").await;
    let other = app.register("cancelfan2").await;
    let start = points(&app, &fan).await;
    let p = create(
        &app,
        &streamer,
        json!({ "t": "Clutch or kick?", "o": ["Clutch", "Kick"] }),
    )
    .await
    .data("createPrediction");
    let id = p["id"].as_str().expect("id").to_owned();
    let outcome = |i: usize| p["outcomes"][i]["id"].as_str().expect("id").to_owned();
    bet(&app, &fan, &id, &outcome(0), 400)
        .await
        .data("betOnPrediction");
    bet(&app, &other, &id, &outcome(1), 250)
        .await
        .data("betOnPrediction");
    assert_eq!(points(&app, &fan).await, start - 400);

    // Locked: no more bets; then cancelled: every point back.
    let locked = decide(&app, &streamer, "lockPrediction", json!({ "p": id }))
        .await
        .data("lockPrediction");
    assert_eq!(locked["status"], "LOCKED");
    assert!(locked["decision"].is_null());
    let late = bet(&app, &fan, &id, &outcome(0), 10).await;
    assert_eq!(late.code(), "INVALID_STATE", "{}", late.0);
    let cancelled = decide(&app, &streamer, "cancelPrediction", json!({ "p": id }))
        .await
        .data("cancelPrediction");
    assert_eq!(cancelled["decision"], "CANCELLED");
    let done = wait_for(&app, &fan, &id, |p| p["status"] == "REFUNDED").await;
    assert_eq!(done["myStake"]["payout"], 400);
    assert_eq!(points(&app, &fan).await, start);
    assert_eq!(points(&app, &other).await, start);
    let twice = decide(&app, &streamer, "cancelPrediction", json!({ "p": id })).await;
    assert_eq!(twice.code(), "INVALID_STATE", "{}", twice.0);

    // Predictions off: none opens.
    app.gql(
        Some(&streamer.access),
        "mutation { updateStreamerSettings(input: { predictionsEnabled: false }) {
           predictionsEnabled } }",
        json!({}),
    )
    .await
    .data("updateStreamerSettings");
    let off = create(&app, &streamer, json!({ "t": "Off?", "o": ["Yes", "No"] })).await;
    assert_eq!(off.code(), "INVALID_STATE", "{}", off.0);
    let listed = app
        .gql(
            None,
            "query($s: ID!) { channelPredictions(streamerId: $s) { id status } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("channelPredictions");
    assert_eq!(listed, json!([{ "id": id, "status": "REFUNDED" }]));
    app.assert_audit_clean().await;
}

/// The worker's sweep (a loop of `missionlink worker`) closes betting when the window ends,
/// within a second or so, and the feed says so; nobody locked it by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_closes_betting_when_the_window_ends() {
    let app = TestApp::with_temporal(&[]).await;
    let _worker = app.start_file_worker().await;
    let streamer = app.register_as("sweepstar", "STREAMER").await;
    let fan = app.register("sweepfan").await;
    let p = create(
        &app,
        &streamer,
        json!({ "t": "First blood?", "o": ["Us", "Them"], "w": 30 }),
    )
    .await
    .data("createPrediction");
    let id = p["id"].as_str().expect("id").to_owned();
    let us = p["outcomes"][0]["id"].as_str().expect("id").to_owned();
    bet(&app, &fan, &id, &us, 50).await.data("betOnPrediction");
    let lock_at = chrono::DateTime::parse_from_rfc3339(p["lockAt"].as_str().expect("lockAt"))
        .expect("rfc3339");
    // Up to 45 s: the 30-s window, then the sweep's pass.
    let locked = wait_up_to(&app, &fan, &id, Duration::from_secs(45), |p| {
        p["status"] == "LOCKED"
    })
    .await;
    assert_eq!(locked["status"], "LOCKED", "{locked}");
    let late = chrono::Utc::now().signed_duration_since(lock_at);
    assert!(
        late < chrono::Duration::seconds(5),
        "locked {late} after its lockAt"
    );
    let refused = bet(&app, &fan, &id, &us, 10).await;
    assert_eq!(refused.code(), "INVALID_STATE", "{}", refused.0);
    let feed = app
        .gql(
            Some(&streamer.access),
            "query($s: ID!) { missionEvents(streamerId: $s, afterSeq: 0) { nodes { kind } } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("missionEvents");
    assert_eq!(
        feed["nodes"],
        json!([{ "kind": "PREDICTION_OPENED" }, { "kind": "PREDICTION_LOCKED" }])
    );
    decide(&app, &streamer, "cancelPrediction", json!({ "p": id }))
        .await
        .data("cancelPrediction");
    wait_for(&app, &fan, &id, |p| p["status"] == "REFUNDED").await;
    app.assert_audit_clean().await;
}
