//! The game's leaderboards (issue 31, item 5) on a seeded history, through HTTP and the
//! Temporal dev server: four predictions of the streamer's own and one mission's prediction,
//! settled; `topPredictors` ranks by points won (the loser is not listed), `calibrationBoard`
//! by being right against the pools' odds among viewers with `CALIBRATION_MIN_PREDICTIONS`
//! (here 3) picks, whatever they staked.

use crate::support::{Session, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

/// Opens a Yes/No prediction, takes `bets` in order (who, outcome 0 or 1, points), resolves it
/// to `winner`, and waits until it is paid out.
async fn play(app: &TestApp, streamer: &Session, bets: &[(&Session, usize, i64)], winner: usize) {
    let p = app
        .gql(
            Some(&streamer.access),
            "mutation { createPrediction(title: \"Clutch?\", outcomes: [\"Yes\", \"No\"]) {
               id outcomes { id } } }",
            json!({}),
        )
        .await
        .data("createPrediction");
    let id = p["id"].as_str().expect("id").to_owned();
    let outcome = |i: usize| p["outcomes"][i]["id"].as_str().expect("id").to_owned();
    for (who, o, points) in bets {
        app.gql(
            Some(&who.access),
            "mutation($p: ID!, $o: ID!, $n: Int!, $k: String!) { betOnPrediction(
               predictionId: $p, outcomeId: $o, points: $n, idempotencyKey: $k) { id } }",
            json!({ "p": id, "o": outcome(*o), "n": points, "k": format!("board-{id}") }),
        )
        .await
        .data("betOnPrediction");
    }
    app.gql(
        Some(&streamer.access),
        "mutation($p: ID!, $o: ID!) { resolvePrediction(predictionId: $p, outcomeId: $o) {
           id } }",
        json!({ "p": id, "o": outcome(winner) }),
    )
    .await
    .data("resolvePrediction");
    for _ in 0..100 {
        let status = app
            .gql(
                None,
                "query($id: ID!) { channelPrediction(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await
            .data("channelPrediction")["status"]
            .clone();
        if status == "SETTLED" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prediction {id} was not paid out");
}

fn handles(board: &Value) -> Vec<&str> {
    board
        .as_array()
        .expect("board")
        .iter()
        .map(|r| r["user"]["handle"].as_str().expect("handle"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_leaderboards_rank_a_seeded_history() {
    let app = TestApp::with_temporal(&[("CALIBRATION_MIN_PREDICTIONS", "3")]).await;
    let _worker = app.start_file_worker().await;
    let streamer = app.register_as("boardstar", "STREAMER").await;
    let [ana, ben, cho, dan, eve] = [
        app.register("ana").await,
        app.register("ben").await,
        app.register("cho").await,
        app.register("dan").await,
        app.register("eve").await,
    ];
    const YES: usize = 0;
    const NO: usize = 1;
    // Ben backs the favourite big, Cho long shots, Ana small and late, Dan twice.
    // 1: No wins; pool 370 over 70: Cho 264, Ana 105 + the leftover point = 106.
    play(
        &app,
        &streamer,
        &[(&ben, YES, 300), (&cho, NO, 50), (&ana, NO, 20)],
        NO,
    )
    .await;
    // 2: Yes wins; pool 370 over 320: Ben 346 + the leftover point = 347, Ana 23.
    play(
        &app,
        &streamer,
        &[(&ben, YES, 300), (&cho, NO, 50), (&ana, YES, 20)],
        YES,
    )
    .await;
    // 3: No wins; pool 470 over 120: Ana 78, Dan 391 + the leftover point = 392.
    play(
        &app,
        &streamer,
        &[
            (&ben, YES, 300),
            (&cho, YES, 50),
            (&ana, NO, 20),
            (&dan, NO, 100),
        ],
        NO,
    )
    .await;
    // 4: everyone on Yes, Yes wins: each gets their stake back (won nothing).
    play(&app, &streamer, &[(&dan, YES, 100), (&ben, YES, 300)], YES).await;

    // A mission's own prediction counts for points won: Cho 100 on SUCCESS, Ben 100 on
    // FAILURE; it succeeds.
    app.top_up(&eve, 10_000, "fund").await.data("topUp");
    let mission = app.new_mission(&eve, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    for (who, side) in [(&cho, "SUCCESS"), (&ben, "FAILURE")] {
        app.gql(
            Some(&who.access),
            "mutation($m: ID!, $o: Outcome!) { placeBet(missionId: $m, outcome: $o,
               points: 100, idempotencyKey: \"board\") { id } }",
            json!({ "m": mission, "o": side }),
        )
        .await
        .data("placeBet");
    }
    app.act(&streamer, "SUCCESS", &mission)
        .await
        .data("decideMission");
    for _ in 0..300 {
        let m = app
            .gql(
                None,
                "query($id: ID!) { mission(id: $id) { prediction { status } } }",
                json!({ "id": mission }),
            )
            .await
            .data("mission");
        if m["prediction"]["status"] == "SETTLED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Points won: Dan +292, Cho +214 +100 -50 -50 = +214, Ana +86 +3 +58 = +147; Ben lost.
    let top = app
        .gql(
            None,
            "query($s: ID!) { topPredictors(streamerId: $s, period: ALL_TIME) {
               rank user { handle } pointsWon predictions correct } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("topPredictors");
    assert_eq!(
        top,
        json!([
            { "rank": 1, "user": { "handle": "dan" }, "pointsWon": 292, "predictions": 2, "correct": 2 },
            { "rank": 2, "user": { "handle": "cho" }, "pointsWon": 214, "predictions": 4, "correct": 2 },
            { "rank": 3, "user": { "handle": "ana" }, "pointsWon": 147, "predictions": 3, "correct": 3 },
        ])
    );
    let week = app
        .gql(
            None,
            "query($s: ID!) { topPredictors(streamerId: $s, first: 2) { user { handle } } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("topPredictors");
    assert_eq!(handles(&week), ["dan", "cho"], "this week's, the first two");
    let too_many = app
        .gql(
            None,
            "query($s: ID!) { topPredictors(streamerId: $s, first: 51) { rank } }",
            json!({ "s": streamer.user_id }),
        )
        .await;
    assert_eq!(too_many.0["errors"][0]["extensions"]["field"], "first");

    // Calibration (streamers' own predictions; Dan has 2 picks, below the 3 needed). Ana was
    // right three times on outcomes the pool gave 14.3%, 85.7% and 0%: skill 0.585. Cho, right
    // once at 0% and wrong at 0% and at 100%: the crowd's Brier equals his, skill 0. Ben, on
    // the favourite at even odds, right twice in four: skill 0.1875 − 0.5.
    let board = app
        .gql(
            None,
            "query($s: ID!) { calibrationBoard(streamerId: $s) {
               rank user { handle } predictions correct brierSkill crowdBrier brierScore } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("calibrationBoard");
    assert_eq!(handles(&board), ["ana", "cho", "ben"], "{board:#}");
    let ppm2 = |n: f64| (n / 1e6) * (n / 1e6);
    let ana_skill = (ppm2(857_143.0) + ppm2(142_858.0) + 1.0) / 3.0;
    let close = |v: &Value, want: f64| (v.as_f64().expect("a number") - want).abs() < 1e-9;
    assert!(close(&board[0]["brierSkill"], ana_skill), "{board:#}");
    assert_eq!(board[0]["brierScore"], 0.0);
    assert_eq!(
        (board[0]["predictions"].clone(), board[0]["correct"].clone()),
        (json!(3), json!(3))
    );
    assert!(close(&board[1]["brierSkill"], 0.0), "{board:#}");
    assert!(close(&board[2]["brierSkill"], 0.1875 - 0.5), "{board:#}");
    assert!(close(&board[2]["crowdBrier"], 0.1875), "{board:#}");
    assert_eq!(board[2]["predictions"], 4);
    app.assert_audit_clean().await;
}
