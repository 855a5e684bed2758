//! The prediction game end to end: bets through GraphQL, settled by the mission's workflow.

use crate::support::{Gql, Session, TestApp};
use missionlink_entities::missions::bet;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::status::Outcome;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;

async fn bet(
    app: &TestApp,
    who: &Session,
    mission: &str,
    outcome: &str,
    points: i64,
    key: &str,
) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($m: ID!, $o: Outcome!, $p: Int!, $k: String!) {
           placeBet(missionId: $m, outcome: $o, points: $p, idempotencyKey: $k) { id outcome points payout } }",
        json!({ "m": mission, "o": outcome, "p": points, "k": key }),
    )
    .await
}

/// The mission's prediction as `who` sees it.
async fn prediction(app: &TestApp, who: &Session, mission: &str) -> Value {
    app.gql(
        Some(&who.access),
        "query($m: ID!) { mission(id: $m) { prediction { status lockAt successPoints failurePoints
           myBet { id outcome points payout } } } }",
        json!({ "m": mission }),
    )
    .await
    .data("mission")["prediction"]
        .clone()
}

async fn wait_for_prediction(app: &TestApp, who: &Session, mission: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let p = prediction(app, who, mission).await;
        if p["status"] == status {
            return p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "prediction never became {status}: {p}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Table {
    streamer: Session,
    a: Session,
    b: Session,
    c: Session,
    mission: String,
}

/// A streamer, three viewers with 1,000 signup points each, an accepted mission, and bets:
/// A 300 on SUCCESS, B 600 on FAILURE, C 100 on SUCCESS.
async fn table(app: &TestApp) -> Table {
    let streamer = app.register_as("host", "STREAMER").await;
    let a = app.register("viewera").await;
    let b = app.register("viewerb").await;
    let c = app.register("viewerc").await;
    app.top_up(&a, 10_000, "t").await.data("topUp");
    let mission = app.new_mission(&a, &streamer.user_id, 5_000).await;
    assert!(
        app.mission(&mission)
            .await
            .get("prediction")
            .is_none_or(Value::is_null)
    );
    assert_eq!(
        bet(app, &a, &mission, "SUCCESS", 10, "early").await.code(),
        "INVALID_STATE",
        "no betting before acceptance"
    );
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    bet(app, &a, &mission, "SUCCESS", 300, "a1")
        .await
        .data("placeBet");
    bet(app, &b, &mission, "FAILURE", 600, "b1")
        .await
        .data("placeBet");
    bet(app, &c, &mission, "SUCCESS", 100, "c1")
        .await
        .data("placeBet");
    let p = prediction(app, &a, &mission).await;
    assert_eq!(p["status"], "OPEN");
    assert_eq!(
        (p["successPoints"].clone(), p["failurePoints"].clone()),
        (json!(400), json!(600))
    );
    assert_eq!(p["myBet"]["points"], 300);
    assert!(p["myBet"]["payout"].is_null());
    Table {
        streamer,
        a,
        b,
        c,
        mission,
    }
}

async fn points(app: &TestApp, who: &Session) -> Value {
    app.wallet(who).await["points"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_verdict_splits_the_whole_pool_among_success_bettors() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let t = table(&app).await;
    app.act(&t.streamer, "SUCCESS", &t.mission)
        .await
        .data("decideMission");
    let p = wait_for_prediction(&app, &t.a, &t.mission, "SETTLED").await;
    // Pool 1,000; SUCCESS pool 400: A gets 300 × 1000 / 400 = 750, C 250, B 0.
    assert_eq!(p["myBet"]["payout"], 750);
    assert_eq!(
        prediction(&app, &t.b, &t.mission).await["myBet"]["payout"],
        0
    );
    assert_eq!(
        prediction(&app, &t.c, &t.mission).await["myBet"]["payout"],
        250
    );
    assert_eq!(points(&app, &t.a).await, 1_000 - 300 + 750);
    assert_eq!(points(&app, &t.b).await, 1_000 - 600);
    assert_eq!(points(&app, &t.c).await, 1_000 - 100 + 250);
    assert_eq!(
        app.wallet(&t.a).await["cash"],
        5_000,
        "points never touch cash"
    );
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_verdict_pays_the_failure_bettors() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let t = table(&app).await;
    app.act(&t.streamer, "accept", &t.mission).await; // already accepted: refused, harmless
    app.act(&t.streamer, "FAILURE", &t.mission)
        .await
        .data("decideMission");
    wait_for_prediction(&app, &t.b, &t.mission, "SETTLED").await;
    assert_eq!(points(&app, &t.a).await, 700);
    assert_eq!(points(&app, &t.b).await, 1_000 - 600 + 1_000);
    assert_eq!(points(&app, &t.c).await, 900);
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_winning_bets_everyone_is_refunded() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("host", "STREAMER").await;
    let a = app.register("viewera").await;
    let b = app.register("viewerb").await;
    app.top_up(&a, 10_000, "t").await.data("topUp");
    let mission = app.new_mission(&a, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    bet(&app, &a, &mission, "SUCCESS", 200, "a")
        .await
        .data("placeBet");
    bet(&app, &b, &mission, "SUCCESS", 500, "b")
        .await
        .data("placeBet");
    app.act(&streamer, "FAILURE", &mission)
        .await
        .data("decideMission");
    let p = wait_for_prediction(&app, &a, &mission, "REFUNDED").await;
    assert_eq!(p["myBet"]["payout"], 200);
    assert_eq!(points(&app, &a).await, 1_000);
    assert_eq!(points(&app, &b).await, 1_000);
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_mission_refunds_every_bet() {
    let app = TestApp::with_temporal(&[("MISSION_MIN_DURATION_SECONDS", "1")]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("host", "STREAMER").await;
    let a = app.register("viewera").await;
    app.top_up(&a, 10_000, "t").await.data("topUp");
    let mission = app
        .create_mission(
            &a,
            &streamer.user_id,
            5_000,
            json!({ "durationSeconds": 3 }),
        )
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    let p = prediction(&app, &a, &mission).await;
    assert_eq!(
        p["status"], "OPEN",
        "the lock is capped by the 3 s deadline, not 300 s"
    );
    bet(&app, &a, &mission, "FAILURE", 400, "a")
        .await
        .data("placeBet");
    let p = wait_for_prediction(&app, &a, &mission, "REFUNDED").await;
    assert_eq!(p["myBet"]["payout"], 400);
    assert_eq!(app.mission(&mission).await["status"], "EXPIRED");
    assert_eq!(points(&app, &a).await, 1_000);
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflow_locks_betting_when_the_window_closes() {
    let app = TestApp::with_temporal(&[("PREDICTION_WINDOW_SECONDS", "2")]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("host", "STREAMER").await;
    let a = app.register("viewera").await;
    app.top_up(&a, 10_000, "t").await.data("topUp");
    let mission = app.new_mission(&a, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    bet(&app, &a, &mission, "SUCCESS", 100, "before")
        .await
        .data("placeBet");
    wait_for_prediction(&app, &a, &mission, "LOCKED").await;
    let late = bet(&app, &a, &mission, "SUCCESS", 100, "after").await;
    assert_eq!(late.code(), "INVALID_STATE");
    assert_eq!(points(&app, &a).await, 900);
    // The mission itself goes on: the verdict still settles the locked prediction.
    app.act(&streamer, "SUCCESS", &mission)
        .await
        .data("decideMission");
    let p = wait_for_prediction(&app, &a, &mission, "SETTLED").await;
    assert_eq!(p["myBet"]["payout"], 100);
    worker.stop().await;
}

#[tokio::test]
async fn betting_rules_are_enforced_and_refusals_change_nothing() {
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[("SIGNUP_POINTS", "300000")],
    )
    .await;
    let t = {
        let streamer = app.register_as("host", "STREAMER").await;
        let a = app.register("viewera").await;
        app.top_up(&a, 10_000, "t").await.data("topUp");
        let mission = app.new_mission(&a, &streamer.user_id, 5_000).await;
        app.act(&streamer, "accept", &mission)
            .await
            .data("acceptMission");
        (streamer, a, mission)
    };
    let (streamer, a, mission) = (&t.0, &t.1, &t.2);
    bet(&app, a, mission, "SUCCESS", 200_000, "big")
        .await
        .data("placeBet");
    let before = app.snapshot().await;
    let cases = [
        (
            bet(&app, streamer, mission, "SUCCESS", 10, "own").await,
            "FORBIDDEN",
            "the streamer's own mission",
        ),
        (
            bet(&app, a, mission, "FAILURE", 10, "other-side").await,
            "BAD_USER_INPUT",
            "the other side",
        ),
        (
            bet(&app, a, mission, "SUCCESS", 50_001, "over").await,
            "BAD_USER_INPUT",
            "over 250,000 in all",
        ),
        (
            bet(&app, a, mission, "SUCCESS", 250_001, "huge").await,
            "BAD_USER_INPUT",
            "over 250,000 at once",
        ),
        (
            bet(&app, a, mission, "SUCCESS", 0, "zero").await,
            "BAD_USER_INPUT",
            "zero",
        ),
        (
            bet(&app, a, mission, "SUCCESS", -5, "negative").await,
            "BAD_USER_INPUT",
            "negative",
        ),
        (
            bet(&app, a, "no-such-mission", "SUCCESS", 5, "nowhere").await,
            "NOT_FOUND",
            "unknown mission",
        ),
    ];
    for (r, code, what) in cases {
        assert_eq!(r.code(), code, "{what}: {}", r.0);
    }
    assert_eq!(app.snapshot().await, before, "refused bets changed nothing");
    // Adding to the same side, up to the limit, is allowed; replaying a key adds nothing.
    let raised = bet(&app, a, mission, "SUCCESS", 50_000, "more")
        .await
        .data("placeBet");
    assert_eq!(raised["points"], 250_000);
    let replay = bet(&app, a, mission, "SUCCESS", 50_000, "more")
        .await
        .data("placeBet");
    assert_eq!(replay["points"], 250_000);
    assert_eq!(
        bet(&app, a, mission, "SUCCESS", 1, "more").await.code(),
        "IDEMPOTENCY_KEY_REUSED"
    );
    assert_eq!(points(&app, a).await, 300_000 - 250_000);
    let other = app.register("otherside").await;
    bet(&app, &other, mission, "FAILURE", 250_000, "all")
        .await
        .data("placeBet");
    let p = prediction(&app, a, mission).await;
    assert_eq!(
        (p["successPoints"].clone(), p["failurePoints"].clone()),
        (json!(250_000), json!(250_000))
    );
}

#[tokio::test]
async fn a_bet_beyond_the_points_wallet_is_insufficient_funds() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("host", "STREAMER").await;
    let a = app.register("viewera").await;
    app.top_up(&a, 10_000, "t").await.data("topUp");
    let mission = app.new_mission(&a, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    assert_eq!(
        bet(&app, &a, &mission, "SUCCESS", 1_001, "k").await.code(),
        "INSUFFICIENT_FUNDS"
    );
    assert_eq!(points(&app, &a).await, 1_000);
}

fn spawn_worker(app: &TestApp) -> tokio::process::Child {
    let outbox = std::env::temp_dir().join(format!("ml-outbox-{}", uuid::Uuid::new_v4()));
    app.spawn_worker_process(&[
        ("SETTLEMENT_PAGE_SIZE", "5"),
        ("EMAIL_OUTBOX_DIR", outbox.to_str().expect("utf-8 path")),
    ])
}

async fn paid_bets(app: &TestApp, mission: &str) -> u64 {
    bet::Entity::find()
        .filter(bet::Column::MissionId.eq(mission))
        .filter(bet::Column::Payout.is_not_null())
        .count(&app.db.missions)
        .await
        .expect("count")
}

/// 1,000 bets; the worker is SIGKILLed while paying them and started again: every bet is paid
/// exactly once and the payouts add up to the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_worker_mid_payout_of_a_thousand_bets_pays_each_once() {
    let app = TestApp::with_temporal(&[]).await;
    let streamer = app.register_as("host", "STREAMER").await;
    let a = app.register("viewera").await;
    app.top_up(&a, 10_000, "t").await.data("topUp");
    let mission = app.new_mission(&a, &streamer.user_id, 5_000).await;
    let mut worker = spawn_worker(&app);
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");

    // Seed 1,000 bettors straight through the ledger.
    let seeds = (0..1_000_u32).map(|i| {
        let (app, mission) = (&app, mission.clone());
        async move {
            let user = uuid::Uuid::now_v7().to_string();
            missionlink_ledger::wallet::open_user(&app.db.missions, &user, 1_000)
                .await
                .expect("open");
            let side = if i % 3 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            let key = IdempotencyKey::parse("seed").expect("key");
            missionlink_ledger::prediction::place_bet(
                &app.db.missions,
                &mission,
                &user,
                side,
                i64::from(i % 97 + 1),
                &key,
            )
            .await
            .expect("bet");
        }
    });
    futures::StreamExt::collect::<Vec<()>>(futures::StreamExt::buffer_unordered(
        futures::stream::iter(seeds),
        8,
    ))
    .await;

    app.act(&streamer, "SUCCESS", &mission)
        .await
        .data("decideMission");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let paid = paid_bets(&app, &mission).await;
        if paid >= 50 {
            assert!(paid < 1_000, "the kill came too late to test anything");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "payouts never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.start_kill().expect("kill");
    worker.wait().await.expect("reap");
    assert!(paid_bets(&app, &mission).await < 1_000);

    let mut worker = spawn_worker(&app);
    let admin = app.register("observer").await;
    wait_for_prediction(&app, &admin, &mission, "SETTLED").await;
    assert_eq!(paid_bets(&app, &mission).await, 1_000);
    let bets = bet::Entity::find()
        .filter(bet::Column::MissionId.eq(&mission))
        .all(&app.db.missions)
        .await
        .expect("bets");
    let pool: i64 = bets.iter().map(|b| b.points).sum();
    let paid: i64 = bets.iter().filter_map(|b| b.payout).sum();
    assert_eq!(paid, pool, "the payouts are exactly the pool");
    assert!(
        bets.iter()
            .filter(|b| b.outcome == Outcome::Failure)
            .all(|b| b.payout == Some(0))
    );
    app.assert_audit_clean().await;
    worker.start_kill().ok();
    worker.wait().await.ok();
}
