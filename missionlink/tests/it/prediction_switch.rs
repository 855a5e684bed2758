//! The streamer's switch for the prediction game (issue 31, item 3), through HTTP and the
//! Temporal dev server: with predictions off an accepted mission opens none (no bet is taken,
//! and the mission still settles); a streamer's own window sets when betting closes; a window
//! outside 30 to 1,800 seconds is refused, naming the field.

use crate::support::{Session, TestApp};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

async fn settings(app: &TestApp, streamer: &Session, input: Value) -> crate::support::Gql {
    app.gql(
        Some(&streamer.access),
        "mutation($i: StreamerSettingsInput!) { updateStreamerSettings(input: $i) {
           predictionsEnabled predictionWindowSeconds } }",
        json!({ "i": input }),
    )
    .await
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamer_turns_predictions_off_and_chooses_their_window() {
    let app = TestApp::with_temporal(&[]).await;
    let _worker = app.start_file_worker().await;
    let streamer = app.register_as("switchstar", "STREAMER").await;
    let fan = app.register("switchfan").await;
    app.top_up(&fan, 50_000, "fund").await.data("topUp");

    let r = settings(&app, &streamer, json!({ "predictionWindowSeconds": 10 })).await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    assert_eq!(
        r.0["errors"][0]["extensions"]["field"],
        "predictionWindowSeconds"
    );
    let off = settings(&app, &streamer, json!({ "predictionsEnabled": false }))
        .await
        .data("updateStreamerSettings");
    assert_eq!(
        off,
        json!({ "predictionsEnabled": false, "predictionWindowSeconds": null })
    );

    // Off: the accepted mission has no prediction, and takes no bet.
    let quiet = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &quiet)
        .await
        .data("acceptMission");
    assert!(app.mission(&quiet).await["prediction"].is_null());
    let bet = app
        .gql(
            Some(&fan.access),
            "mutation($m: ID!) { placeBet(missionId: $m, outcome: SUCCESS, points: 100,
               idempotencyKey: \"no-game\") { id } }",
            json!({ "m": quiet }),
        )
        .await;
    assert_eq!(
        bet.code(),
        "INVALID_STATE",
        "a bet without a game: {}",
        bet.0
    );
    app.act(&streamer, "SUCCESS", &quiet)
        .await
        .data("decideMission");
    let done = app
        .wait_for_mission(&quiet, 60, |m| !m["settledAt"].is_null())
        .await;
    assert_eq!(done["status"], "SUCCEEDED");

    // On again, with a window of their own: betting closes 30 seconds after the acceptance.
    let on = settings(
        &app,
        &streamer,
        json!({ "predictionsEnabled": true, "predictionWindowSeconds": 30 }),
    )
    .await
    .data("updateStreamerSettings");
    assert_eq!(
        on,
        json!({ "predictionsEnabled": true, "predictionWindowSeconds": 30 })
    );
    let game = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &game)
        .await
        .data("acceptMission");
    let m = app
        .gql(
            None,
            "query($m: ID!) { mission(id: $m) { deadline prediction { status lockAt } } }",
            json!({ "m": game }),
        )
        .await
        .data("mission");
    assert_eq!(m["prediction"]["status"], "OPEN");
    // Accepted its duration (the test support's 3,600 seconds) before its deadline.
    let accepted = at(&m["deadline"]) - chrono::Duration::seconds(3_600);
    let window = at(&m["prediction"]["lockAt"]) - accepted;
    assert_eq!(window.num_seconds(), 30, "{m}");

    // Null: the platform's window again.
    let reset = settings(&app, &streamer, json!({ "predictionWindowSeconds": null }))
        .await
        .data("updateStreamerSettings");
    assert_eq!(reset["predictionWindowSeconds"], Value::Null);
    app.assert_audit_clean().await;
}
