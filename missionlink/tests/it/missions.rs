//! Missions end to end through GraphQL, with the real Temporal dev server and a worker.

use crate::support::{Mail, Session, TestApp};
use serde_json::{Value, json};

fn settled(m: &Value) -> bool {
    !m["settledAt"].is_null()
}

/// A streamer and two viewers with money.
async fn cast(app: &TestApp) -> (Session, Session, Session) {
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.top_up(&alice, 100_000, "t").await.data("topUp");
    app.top_up(&bob, 100_000, "t").await.data("topUp");
    (streamer, alice, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_mission_pays_the_streamer_less_the_fee_and_emails_everyone() {
    let app = TestApp::with_temporal(&[("PLATFORM_FEE_BPS", "250")]).await;
    let worker = app.start_worker().await;
    let (streamer, alice, bob) = cast(&app).await;

    let m = app
        .create_mission(&alice, &streamer.user_id, 10_000, json!({}))
        .await
        .data("createMission");
    let id = m["id"].as_str().expect("id").to_owned();
    assert_eq!(m["status"], "PENDING");
    assert_eq!(m["totalPledged"], 10_000);
    assert_eq!(app.wallet(&alice).await["cash"], 90_000, "held at once");

    app.contribute(&bob, &id, 5_000, "b1")
        .await
        .data("contribute");
    app.contribute(&bob, &id, 2_000, "b2")
        .await
        .data("contribute");
    let m = app.mission(&id).await;
    assert_eq!(
        (m["totalPledged"].clone(), m["backerCount"].clone()),
        (json!(17_000), json!(2))
    );

    let accepted = app
        .act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    assert_eq!(accepted["status"], "ACTIVE");
    assert!(!accepted["deadline"].is_null());
    let decided = app
        .act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    assert_eq!(decided["status"], "SUCCEEDED");

    let m = app.wait_for_mission(&id, 60, settled).await;
    for p in m["pledges"]["nodes"].as_array().expect("pledges") {
        assert_eq!(p["status"], "PAID");
    }
    // 2.5 % of each pledge, floored: 250 + 125 + 50.
    assert_eq!(app.wallet(&streamer).await["earnings"], 17_000 - 425);
    assert_eq!(app.wallet(&alice).await["cash"], 90_000);
    assert_eq!(app.wallet(&bob).await["cash"], 93_000);

    // Emails (read back from SES): one per backer, Bob's two pledges summed, in their locale
    // (Korean by default), and one summary to the streamer.
    let title = m["title"].as_str().expect("title");
    let mail = worker.wait_for_mail(title, 3).await;
    assert_eq!(mail.len(), 3, "{mail:#?}");
    let to = |addr: &str| -> Vec<&Mail> { mail.iter().filter(|m| m.to == addr).collect() };
    let bob_mail = to("bob@example.com");
    assert_eq!(bob_mail.len(), 1, "{mail:#?}");
    assert!(bob_mail[0].subject.contains("성공"), "{:?}", bob_mail[0]);
    assert!(
        bob_mail[0].body.contains("7,000원") && bob_mail[0].body.contains("지급"),
        "{:?}",
        bob_mail[0]
    );
    assert!(to("alice@example.com")[0].body.contains("10,000원"));
    let summary = to("streamer@example.com");
    assert_eq!(summary.len(), 1);
    assert!(
        summary[0].body.contains("16,575원") && summary[0].body.contains("425원"),
        "{:?}",
        summary[0]
    );
    app.assert_audit_clean().await;
    if std::env::var_os("RECORD_WORKFLOW_HISTORY").is_some() {
        record_history(&app, &id).await;
    }
    worker.stop().await;
}

async fn refunded_path(action: &str, overrides: &[(&str, &str)], extra: Value) {
    let app = TestApp::with_temporal(overrides).await;
    let worker = app.start_worker().await;
    let (streamer, alice, bob) = cast(&app).await;
    let id = app
        .create_mission(&alice, &streamer.user_id, 10_000, extra)
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.contribute(&bob, &id, 4_000, "b1")
        .await
        .data("contribute");
    let expected = match action {
        "FAILURE" => {
            app.act(&streamer, "accept", &id)
                .await
                .data("acceptMission");
            app.act(&streamer, "FAILURE", &id)
                .await
                .data("decideMission");
            "FAILED"
        }
        "reject" => {
            assert_eq!(
                app.act(&streamer, "reject", &id)
                    .await
                    .data("rejectMission")["status"],
                "REJECTED"
            );
            "REJECTED"
        }
        "deadline" => {
            app.act(&streamer, "accept", &id)
                .await
                .data("acceptMission");
            "EXPIRED"
        }
        _ => "EXPIRED",
    };
    let m = app.wait_for_mission(&id, 60, settled).await;
    assert_eq!(m["status"], expected);
    for p in m["pledges"]["nodes"].as_array().expect("pledges") {
        assert_eq!(p["status"], "REFUNDED");
    }
    assert_eq!(app.wallet(&alice).await["cash"], 100_000);
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    assert_eq!(app.wallet(&streamer).await["earnings"], 0);
    let mail = worker
        .wait_for_mail(m["title"].as_str().expect("title"), 3)
        .await;
    assert_eq!(mail.len(), 3, "{mail:#?}");
    let bob_mail: Vec<&Mail> = mail.iter().filter(|m| m.to == "bob@example.com").collect();
    assert_eq!(bob_mail.len(), 1, "{mail:#?}");
    let word = match expected {
        "FAILED" => "실패",
        "REJECTED" => "거절",
        _ => "만료",
    };
    assert!(bob_mail[0].subject.contains(word), "{:?}", bob_mail[0]);
    assert!(
        bob_mail[0].body.contains("4,000원") && bob_mail[0].body.contains("환불"),
        "{:?}",
        bob_mail[0]
    );
    assert!(
        mail.iter()
            .any(|m| m.to == "alice@example.com" && m.body.contains("10,000원"))
    );
    assert!(
        mail.iter()
            .any(|m| m.to == "streamer@example.com" && m.body.contains("14,000원"))
    );
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_mission_refunds_every_backer() {
    refunded_path("FAILURE", &[], json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_mission_refunds_every_backer() {
    refunded_path("reject", &[], json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mission_nobody_accepts_in_time_expires_and_refunds() {
    refunded_path("accept window", &[], json!({ "acceptWithinSeconds": 2 })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mission_past_its_deadline_expires_and_refunds() {
    refunded_path(
        "deadline",
        &[("MISSION_MIN_DURATION_SECONDS", "1")],
        json!({ "durationSeconds": 2 }),
    )
    .await;
}

#[tokio::test]
async fn only_the_missions_streamer_may_accept_reject_or_decide() {
    let app = TestApp::spawn().await;
    let (streamer, alice, bob) = cast(&app).await;
    let other = app.register_as("otherstreamer", "STREAMER").await;
    let id = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    let before = app.snapshot().await;
    for who in [&alice, &bob, &other] {
        for action in ["accept", "reject", "SUCCESS"] {
            let r = app.act(who, action, &id).await;
            assert_eq!(r.code(), "FORBIDDEN", "{action}: {}", r.0);
        }
    }
    let own = app.contribute(&streamer, &id, 1_000, "own").await;
    assert_eq!(own.code(), "FORBIDDEN");
    // The right person in the wrong state.
    assert_eq!(
        app.act(&streamer, "SUCCESS", &id).await.code(),
        "INVALID_STATE"
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "refused actions changed nothing"
    );
    // A verdict is final.
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    app.act(&streamer, "FAILURE", &id)
        .await
        .data("decideMission");
    assert_eq!(
        app.act(&streamer, "SUCCESS", &id).await.code(),
        "INVALID_STATE"
    );
    assert_eq!(
        app.contribute(&bob, &id, 1_000, "late").await.code(),
        "INVALID_STATE"
    );
}

#[tokio::test]
async fn mission_input_is_validated_and_nothing_changes_on_refusal() {
    let app = TestApp::spawn().await;
    let (streamer, alice, _) = cast(&app).await;
    let viewer_target = app.register("notastreamer").await;
    let broke = app.register("broke").await;
    let before = app.snapshot().await;
    for (what, target, amount, extra) in [
        (
            "viewer as streamer",
            viewer_target.user_id.as_str(),
            10_000,
            json!({}),
        ),
        ("unknown streamer", "nobody", 10_000, json!({})),
        (
            "empty title",
            streamer.user_id.as_str(),
            10_000,
            json!({ "title": "  " }),
        ),
        (
            "long title",
            streamer.user_id.as_str(),
            10_000,
            json!({ "title": "x".repeat(101) }),
        ),
        (
            "short duration",
            streamer.user_id.as_str(),
            10_000,
            json!({ "durationSeconds": 59 }),
        ),
        (
            "long duration",
            streamer.user_id.as_str(),
            10_000,
            json!({ "durationSeconds": 604_801 }),
        ),
        (
            "below pledge minimum",
            streamer.user_id.as_str(),
            999,
            json!({}),
        ),
        (
            "above pledge maximum",
            streamer.user_id.as_str(),
            3_000_001,
            json!({}),
        ),
        (
            "zero accept window",
            streamer.user_id.as_str(),
            10_000,
            json!({ "acceptWithinSeconds": 0 }),
        ),
    ] {
        let r = app.create_mission(&alice, target, amount, extra).await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{what}: {}", r.0);
    }
    let r = app
        .create_mission(&broke, &streamer.user_id, 10_000, json!({}))
        .await;
    assert_eq!(r.code(), "INSUFFICIENT_FUNDS");
    let r = app.contribute(&alice, "no-such-mission", 1_000, "k").await;
    assert_eq!(r.code(), "NOT_FOUND");
    assert_eq!(
        app.snapshot().await,
        before,
        "refused requests changed nothing"
    );
}

#[tokio::test]
async fn a_contribution_replays_by_key_and_refuses_a_changed_request() {
    let app = TestApp::spawn().await;
    let (streamer, alice, bob) = cast(&app).await;
    let id = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    let first = app
        .contribute(&bob, &id, 3_000, "same")
        .await
        .data("contribute");
    let again = app
        .contribute(&bob, &id, 3_000, "same")
        .await
        .data("contribute");
    assert_eq!(first["id"], again["id"]);
    assert_eq!(
        app.contribute(&bob, &id, 4_000, "same").await.code(),
        "IDEMPOTENCY_KEY_REUSED"
    );
    assert_eq!(app.wallet(&bob).await["cash"], 97_000);
    assert_eq!(app.mission(&id).await["totalPledged"], 13_000);
}

#[tokio::test]
async fn fifty_racing_pledges_from_a_wallet_that_covers_ten_hold_exactly_ten() {
    let app = TestApp::spawn().await;
    let (streamer, alice, _) = cast(&app).await;
    let id = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    let racer = app.register("racer").await;
    app.top_up(&racer, 10_000, "t").await.data("topUp");
    let app_ref = &app;
    let racer_ref = &racer;
    let id_ref = &id;
    let results = futures::future::join_all((0..50).map(|i| async move {
        app_ref
            .contribute(racer_ref, id_ref, 1_000, &format!("p{i}"))
            .await
    }))
    .await;
    let ok = results
        .iter()
        .filter(|r| r.0.get("errors").is_none())
        .count();
    assert_eq!(ok, 10);
    for r in results.iter().filter(|r| r.0.get("errors").is_some()) {
        assert_eq!(r.code(), "INSUFFICIENT_FUNDS", "{}", r.0);
    }
    assert_eq!(app.wallet(&racer).await["cash"], 0);
    assert_eq!(app.mission(&id).await["totalPledged"], 20_000);
    app.assert_audit_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pledges_racing_the_verdict_are_either_settled_or_refused() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let (streamer, alice, bob) = cast(&app).await;
    let id = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    let app_ref = &app;
    let (bob_ref, id_ref) = (&bob, &id);
    let pledges = futures::future::join_all((0..40).map(|i| async move {
        app_ref
            .contribute(bob_ref, id_ref, 1_000, &format!("r{i}"))
            .await
    }));
    let verdict = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        app.act(&streamer, "SUCCESS", &id).await
    };
    let (pledges, verdict) = tokio::join!(pledges, verdict);
    verdict.data("decideMission");
    let accepted = pledges
        .iter()
        .filter(|r| r.0.get("errors").is_none())
        .count();
    for r in pledges.iter().filter(|r| r.0.get("errors").is_some()) {
        assert_eq!(r.code(), "INVALID_STATE", "{}", r.0);
    }
    let m = app.wait_for_mission(&id, 60, settled).await;
    let total = 10_000 + 1_000 * i64::try_from(accepted).expect("count");
    assert_eq!(m["totalPledged"], total);
    assert_eq!(
        app.wallet(&streamer).await["earnings"],
        total,
        "every accepted pledge was paid"
    );
    assert_eq!(app.wallet(&bob).await["cash"], 100_000 - (total - 10_000));
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test]
async fn missions_page_by_streamer_and_status() {
    let app = TestApp::spawn().await;
    let (streamer, alice, _) = cast(&app).await;
    let other = app.register_as("second", "STREAMER").await;
    for _ in 0..3 {
        app.create_mission(&alice, &streamer.user_id, 1_000, json!({}))
            .await
            .data("createMission");
    }
    app.create_mission(&alice, &other.user_id, 1_000, json!({}))
        .await
        .data("createMission");
    let q = "query($s: ID, $st: MissionStatus, $after: String) { missions(streamerId: $s, status: $st, first: 2, after: $after) {
        nodes { id streamer { id } } endCursor hasNextPage } }";
    let page1 = app
        .gql(None, q, json!({ "s": streamer.user_id, "st": "PENDING" }))
        .await
        .data("missions");
    assert_eq!(page1["nodes"].as_array().map(Vec::len), Some(2));
    assert_eq!(page1["hasNextPage"], true);
    let page2 = app
        .gql(
            None,
            q,
            json!({ "s": streamer.user_id, "st": "PENDING", "after": page1["endCursor"] }),
        )
        .await
        .data("missions");
    assert_eq!(page2["nodes"].as_array().map(Vec::len), Some(1));
    assert_eq!(page2["hasNextPage"], false);
    let none = app
        .gql(None, q, json!({ "s": streamer.user_id, "st": "ACTIVE" }))
        .await
        .data("missions");
    assert_eq!(none["nodes"].as_array().map(Vec::len), Some(0));
    let bad = app
        .gql(None, "{ missions(first: 1000) { hasNextPage } }", json!({}))
        .await;
    assert_eq!(bad.code(), "BAD_USER_INPUT");
}

/// Waits for the mission's workflow to finish and stores its history as the replay fixture.
async fn record_history(app: &TestApp, mission_id: &str) {
    let client = missionlink_workflows::temporal::connect(
        &missionlink_workflows::TemporalConfig {
            address: crate::support::temporal_address(),
            ..app.config.temporal.clone()
        },
        "recorder",
    )
    .await
    .expect("client");
    client
        .get_workflow_handle::<missionlink_workflows::mission::MissionWorkflow>(
            missionlink_ledger::mission::workflow_id(mission_id),
        )
        .get_result(temporalio_client::WorkflowGetResultOptions::default())
        .await
        .expect("workflow result");
    let history = missionlink_workflows::mission::recorded_history(&client, mission_id)
        .await
        .expect("history");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflows/tests/fixtures/mission-succeeded.binpb");
    std::fs::write(&path, history).expect("write fixture");
}
