//! A prediction with a million bets settles through the real worker process at the default
//! page size with bounded memory: the worker's peak resident memory grows by far less than the
//! bets would take if they were held at once (about 250 bytes each as rows, ~250 MB), every bet
//! is paid, the payouts are exactly the pool, and the audit is clean.

use crate::support::{TestApp, free_port};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use std::time::Duration;

const BETS: i64 = 1_000_000;
/// The most the worker's peak memory may grow while it settles them.
const MAX_GROWTH_KB: i64 = 64 * 1024;

/// `VmHWM` (peak resident set) of a process, in kB.
fn peak_kb(pid: u32) -> i64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("proc status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

async fn figure(app: &TestApp, sql: &str, id: &str) -> i64 {
    app.db
        .missions
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [id.into()],
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n")
}

/// Waits (at most `seconds`) until the mission's prediction is `status`.
async fn wait_for_prediction(app: &TestApp, id: &str, status: &str, seconds: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let m = app
            .gql(
                None,
                "query($id: ID!) { mission(id: $id) { prediction { status } } }",
                json!({ "id": id }),
            )
            .await
            .data("mission");
        if m["prediction"]["status"] == json!(status) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the prediction never became {status}: {m}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_bets_settle_with_bounded_worker_memory() {
    let app = TestApp::with_temporal(&[]).await;
    let outbox = tempfile::tempdir().expect("outbox");
    let mut worker = app.spawn_worker_process(&[
        ("EMAIL_TRANSPORT", "file"),
        ("EMAIL_OUTBOX_DIR", &outbox.path().display().to_string()),
        ("WORKER_METRICS_ADDR", &format!("127.0.0.1:{}", free_port())),
    ]);
    let pid = worker.id().expect("worker pid");
    let streamer = app.register_as("scale_streamer", "STREAMER").await;
    let alice = app.register("scale_alice").await;
    app.top_up(&alice, 50_000, "t1").await.data("topUp");
    let id = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    wait_for_prediction(&app, &id, "OPEN", 30).await;

    let seeding = std::time::Instant::now();
    // A million bettors, each with a POINTS wallet and one bet (two in three on SUCCESS), the
    // points already in the pool: written in bulk, as if placed over the betting window.
    for sql in [
        "INSERT INTO accounts (id, kind, owner_id, currency, balance, materialised, created_at) \
         SELECT 'wallet:POINTS:scale' || g, 'WALLET', 'scale' || g, 'POINTS', 0, TRUE, now() \
         FROM generate_series(1, $2) g WHERE $1 <> ''",
        "INSERT INTO bets (id, mission_id, bettor_id, outcome, points, payout, created_at) \
         SELECT 'bet-' || lpad(g::text, 8, '0'), $1, 'scale' || g, \
                CASE WHEN g % 3 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, 1 + g % 250, NULL, now() \
         FROM generate_series(1, $2) g",
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at) \
         SELECT 'bet:' || $1 || ':scale' || g || ':seed', 'world:POINTS', 'pool:POINTS:' || $1, \
                'POINTS', 1 + g % 250, 'BET', now() \
         FROM generate_series(1, $2) g",
    ] {
        app.db
            .missions
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [id.clone().into(), BETS.into()],
            ))
            .await
            .expect("seed");
    }
    app.db
        .missions
        .execute_unprepared("ANALYZE bets; ANALYZE accounts; ANALYZE transfers")
        .await
        .expect("analyze");

    eprintln!(
        "seeded {BETS} bets in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let before = peak_kb(pid);
    let settling = std::time::Instant::now();
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    wait_for_prediction(&app, &id, "SETTLED", 900).await;
    let after = peak_kb(pid);
    eprintln!("settled in {:.1} s", settling.elapsed().as_secs_f64());
    eprintln!(
        "worker peak memory: {before} kB before, {after} kB after settling {BETS} bets (+{} kB)",
        after - before
    );
    assert!(
        after - before < MAX_GROWTH_KB,
        "the worker's peak memory grew by {} kB",
        after - before
    );

    let unpaid = figure(
        &app,
        "SELECT COUNT(*) AS n FROM bets WHERE mission_id = $1 AND payout IS NULL",
        &id,
    )
    .await;
    assert_eq!(unpaid, 0);
    let paid = figure(
        &app,
        "SELECT CAST(SUM(payout) - SUM(points) AS BIGINT) AS n FROM bets WHERE mission_id = $1",
        &id,
    )
    .await;
    assert_eq!(paid, 0, "the payouts are exactly the pool");
    let auditing = std::time::Instant::now();
    app.assert_audit_clean().await;
    eprintln!("audited in {:.1} s", auditing.elapsed().as_secs_f64());
    worker.start_kill().ok();
    worker.wait().await.ok();
}
