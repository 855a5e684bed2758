//! Payouts an operator stops before money leaves (issue 23, defect 1), on Postgres and SQLite,
//! through real HTTP, the Temporal dev server, a worker and the sandbox bank: a streamer
//! suspended during the hold gets every waiting payout back in earnings; a suspension recorded
//! but not yet swept (the API died between its steps) holds the payout instead of paying it; an
//! operator holds, releases and cancels; operators cannot suspend operators through the API,
//! only with `missionlink operator suspend`. Each ends with a clean audit and the bank untouched
//! by what was stopped.

use crate::disputes::operator;
use crate::support::{Gql, Session, TestApp, TestDatabases, temporal_address};
use missionlink_entities::missions::bank_sandbox_transfer;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;

/// Every payout waits this long before the bank: long enough to act in, short enough to wait
/// out.
const HOLD_SECONDS: &str = "4";

const FIELDS: &str = "id status heldAt finishedAt amount";

async fn app_on(dbs: TestDatabases) -> TestApp {
    TestApp::spawn_with(
        dbs,
        &[
            ("TEMPORAL_ADDRESS", &temporal_address()),
            ("PAYOUT_HOLD_SECONDS", HOLD_SECONDS),
            ("PAYOUT_HELD_SLA_SECONDS", "1"),
        ],
    )
    .await
}

/// A streamer whose earnings hold `won` (a mission to them succeeded and was settled, and its
/// workflow finished, so that nothing changes behind a later snapshot), with a payout account.
async fn streamer_with_earnings(app: &TestApp, handle: &str, won: i64) -> Session {
    let streamer = app.register_as(handle, "STREAMER").await;
    let viewer = app.register(&format!("{handle}_fan")).await;
    app.top_up(&viewer, won, "earn").await.data("topUp");
    let id = app.new_mission(&viewer, &streamer.user_id, won).await;
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    app.wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;
    app.wait_until_notified(&id, 60).await;
    app.gql(
        Some(&streamer.access),
        "mutation { setPayoutAccount(bankCode: \"004\", accountNumber: \"123-456-789012\", holderName: \"김민지\") { bankCode } }",
        json!({}),
    )
    .await
    .data("setPayoutAccount");
    streamer
}

async fn request(app: &TestApp, who: &Session, amount: i64, key: &str) -> String {
    app.gql(
        Some(&who.access),
        &format!("mutation($a: Won!, $k: String!) {{ requestPayout(amount: $a, idempotencyKey: $k) {{ {FIELDS} }} }}"),
        json!({ "a": amount, "k": key }),
    )
    .await
    .data("requestPayout")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// The payout as `who` reads it through `node` (its streamer, or an operator).
async fn payout(app: &TestApp, who: &Session, id: &str) -> Value {
    app.gql(
        Some(&who.access),
        &format!("query($id: ID!) {{ node(id: $id) {{ ... on Payout {{ {FIELDS} }} }} }}"),
        json!({ "id": id }),
    )
    .await
    .data("node")
}

async fn operator_on_payout(app: &TestApp, op: &Session, mutation: &str, id: &str) -> Gql {
    app.gql(
        Some(&op.access),
        &format!("mutation($p: ID!) {{ {mutation}(payoutId: $p, note: \"account takeover reported\") {{ {FIELDS} }} }}"),
        json!({ "p": id }),
    )
    .await
}

async fn wait_for(app: &TestApp, who: &Session, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let p = payout(app, who, id).await;
        if p["status"] == status {
            return p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "payout never became {status}: {p}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits out the hold and a margin for the workflow to act on its end.
async fn past_the_hold() {
    let hold: u64 = HOLD_SECONDS.parse().expect("seconds");
    tokio::time::sleep(Duration::from_secs(hold + 3)).await;
}

async fn bank_rows(app: &TestApp, id: &str) -> usize {
    bank_sandbox_transfer::Entity::find()
        .filter(bank_sandbox_transfer::Column::RequestId.contains(id))
        .all(&app.db.missions)
        .await
        .expect("bank rows")
        .len()
}

/// The payout actions recorded about `id`, oldest first: (action, cause's action).
async fn actions_on(app: &TestApp, op: &Session, id: &str) -> Vec<(String, Value)> {
    let r = app
        .gql(
            Some(&op.access),
            "query($p: ID!) { operatorActions(payoutId: $p, first: 10) { nodes { action note payout { id } cause { action } } } }",
            json!({ "p": id }),
        )
        .await
        .data("operatorActions");
    let mut all: Vec<(String, Value)> = r["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            assert_eq!(n["payout"]["id"], id);
            (
                n["action"].as_str().expect("action").to_owned(),
                n["cause"]["action"].clone(),
            )
        })
        .collect();
    all.reverse();
    all
}

/// The operator `op` suspends `user` (no end date).
pub(crate) async fn suspend(app: &TestApp, op: &Session, user: &str) -> Gql {
    app.gql(
        Some(&op.access),
        "mutation($u: ID!) { suspendUser(userId: $u, note: \"stolen account\") { id action } }",
        json!({ "u": user }),
    )
    .await
}

async fn payouts_stop_before_the_bank(app: TestApp) {
    let worker = app.start_worker().await;
    let op = operator(&app, "payoutops").await;

    // 1. Suspended during the hold: the payout is cancelled, the money back in earnings, the
    //    bank never asked.
    let taken = streamer_with_earnings(&app, "takenover", 50_000).await;
    let first = request(&app, &taken, 20_000, "first").await;
    let second = request(&app, &taken, 10_000, "second").await;
    assert_eq!(app.wallet(&taken).await["earnings"], 20_000);
    suspend(&app, &op, &taken.user_id).await.data("suspendUser");
    past_the_hold().await;
    for id in [&first, &second] {
        let p = wait_for(&app, &op, id, "CANCELLED").await;
        assert!(p["heldAt"].is_null(), "{p}");
        assert_eq!(bank_rows(&app, id).await, 0, "money left for the bank");
        assert_eq!(
            actions_on(&app, &op, id).await,
            vec![("CANCEL_PAYOUT".to_owned(), json!("SUSPEND_USER"))]
        );
    }
    let wallet = missionlink_ledger::wallet::read(&app.db.missions, &taken.user_id)
        .await
        .expect("wallet");
    assert_eq!(wallet.earnings_won, 50_000, "every won back in earnings");

    // 2. A suspension recorded whose sweep never ran (the API died between the two): the
    //    workflow's standing check holds the payout for an operator instead of paying it.
    let half = streamer_with_earnings(&app, "halfway", 30_000).await;
    let stuck = request(&app, &half, 30_000, "only").await;
    let acting = missionlink_ledger::operator::Acting::new(&op.user_id, "recorded, then crashed")
        .expect("acting");
    missionlink_ledger::operator::suspend(&app.db.missions, &acting, &half.user_id, None)
        .await
        .expect("record the suspension only");
    past_the_hold().await;
    let held = payout(&app, &op, &stuck).await;
    assert_eq!(held["status"], "REQUESTED", "{held}");
    assert!(!held["heldAt"].is_null(), "held for an operator: {held}");
    assert_eq!(bank_rows(&app, &stuck).await, 0);
    // Its streamer is still suspended: releasing it is refused, nothing changes.
    let before = app.snapshot().await;
    assert_eq!(
        operator_on_payout(&app, &op, "releasePayout", &stuck)
            .await
            .code(),
        "INVALID_STATE"
    );
    assert_eq!(app.snapshot().await, before);
    let cancelled = operator_on_payout(&app, &op, "cancelPayoutAsOperator", &stuck)
        .await
        .data("cancelPayoutAsOperator");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(
        actions_on(&app, &op, &stuck).await,
        vec![("CANCEL_PAYOUT".to_owned(), Value::Null)]
    );
    assert_eq!(bank_rows(&app, &stuck).await, 0);

    // 3. An operator holds a payout: past its hold it waits; released, it is paid.
    let good = streamer_with_earnings(&app, "goodstreamer", 40_000).await;
    let id = request(&app, &good, 25_000, "good").await;
    let viewer = app.register("nosy").await;
    let before = app.snapshot().await;
    assert_eq!(
        operator_on_payout(&app, &viewer, "holdPayout", &id)
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.gql(
            Some(&op.access),
            "mutation($p: ID!) { holdPayout(payoutId: $p, note: \"  \") { id } }",
            json!({ "p": id }),
        )
        .await
        .code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        operator_on_payout(&app, &op, "releasePayout", &id)
            .await
            .code(),
        "INVALID_STATE",
        "not held"
    );
    assert_eq!(app.snapshot().await, before, "refusals changed something");
    let held = operator_on_payout(&app, &op, "holdPayout", &id)
        .await
        .data("holdPayout");
    assert!(!held["heldAt"].is_null());
    assert_eq!(
        operator_on_payout(&app, &op, "holdPayout", &id)
            .await
            .code(),
        "INVALID_STATE",
        "held already"
    );
    // Its streamer can neither cancel it nor route around it with a new request: that one is
    // held too.
    let own_cancel = app
        .gql(
            Some(&good.access),
            "mutation($id: ID!) { cancelPayout(id: $id, idempotencyKey: \"mine\") { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(own_cancel.code(), "INVALID_STATE", "{}", own_cancel.0);
    let around = request(&app, &good, 10_000, "around").await;
    assert!(
        !payout(&app, &op, &around).await["heldAt"].is_null(),
        "a new request went around the hold"
    );
    past_the_hold().await;
    let waiting = payout(&app, &op, &id).await;
    assert_eq!(waiting["status"], "REQUESTED", "{waiting}");
    assert_eq!(bank_rows(&app, &id).await, 0, "a held payout left");
    // The worker counts it (and, past PAYOUT_HELD_SLA_SECONDS, as overdue) for the alert.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !missionlink_telemetry::metrics()
        .render()
        .lines()
        .any(|l| l.starts_with("missionlink_payouts_held_overdue ") && !l.ends_with(" 0"))
    {
        assert!(tokio::time::Instant::now() < deadline, "never counted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let released = operator_on_payout(&app, &op, "releasePayout", &id)
        .await
        .data("releasePayout");
    assert!(released["heldAt"].is_null());
    let paid = wait_for(&app, &op, &id, "PAID").await;
    assert!(!paid["finishedAt"].is_null());
    assert_eq!(bank_rows(&app, &id).await, 1, "paid once");
    assert_eq!(
        actions_on(&app, &op, &id).await,
        vec![
            ("HOLD_PAYOUT".to_owned(), Value::Null),
            ("RELEASE_PAYOUT".to_owned(), Value::Null)
        ]
    );
    assert_eq!(
        operator_on_payout(&app, &op, "cancelPayoutAsOperator", &id)
            .await
            .code(),
        "INVALID_STATE",
        "it left already"
    );
    // The other stays held until an operator decides; cancelled, its money is back.
    assert_eq!(payout(&app, &op, &around).await["status"], "REQUESTED");
    assert_eq!(bank_rows(&app, &around).await, 0);
    operator_on_payout(&app, &op, "cancelPayoutAsOperator", &around)
        .await
        .data("cancelPayoutAsOperator");
    assert_eq!(app.wallet(&good).await["earnings"], 15_000);

    // 4. Operators cannot suspend operators through the API; the command can, recorded.
    let other = operator(&app, "otherops").await;
    let before = app.snapshot().await;
    assert_eq!(suspend(&app, &op, &other.user_id).await.code(), "FORBIDDEN");
    assert_eq!(app.snapshot().await, before);
    let suspend_cli = |target: String, acting: String, note: &'static str| {
        let env = app.binary_env();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
                .args([
                    "operator", "suspend", &target, "--as", &acting, "--note", note,
                ])
                .env_clear()
                .envs(env)
                .output()
                .await
                .expect("run missionlink operator suspend")
        }
    };
    // Refused: no such user, `--as` not an operator (1); no note (2). Nothing changes.
    let refusals = [
        ("nobody@example.com".to_owned(), op.email.clone(), "x", 1),
        (other.email.clone(), viewer.email.clone(), "x", 1),
        (other.email.clone(), op.email.clone(), "   ", 2),
    ];
    for (target, acting, note, code) in refusals {
        let out = suspend_cli(target, acting, note).await;
        assert_eq!(out.status.code(), Some(code), "{out:?}");
    }
    assert_eq!(app.snapshot().await, before);
    let out = suspend_cli(other.email.clone(), op.email.clone(), "left the company").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refreshed = app
        .gql(
            None,
            "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
            json!({ "t": other.refresh }),
        )
        .await;
    assert_eq!(refreshed.code(), "USER_SUSPENDED", "{}", refreshed.0);
    let recorded = app
        .gql(
            Some(&op.access),
            "query($u: ID!) { operatorActions(userId: $u, first: 5) { nodes { action operator { id } } } }",
            json!({ "u": other.user_id }),
        )
        .await
        .data("operatorActions");
    assert_eq!(recorded["nodes"][0]["action"], "SUSPEND_USER");
    assert_eq!(recorded["nodes"][0]["operator"]["id"], op.user_id);

    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_stop_before_the_bank_on_postgres() {
    payouts_stop_before_the_bank(app_on(TestDatabases::postgres().await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_stop_before_the_bank_on_sqlite() {
    payouts_stop_before_the_bank(app_on(TestDatabases::sqlite()).await).await;
}

/// Migration 000014 keeps every operator action and the outbox entries and missions that name
/// them on both backends (SQLite rebuilds `operator_actions`), the record stays append-only, and
/// its new rules hold: a payout action names its payout, a mission action its mission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payout_holds_migration_keeps_every_operator_action() {
    use missionlink_migration::Migrate as _;
    use sea_orm::{ConnectionTrait, DbBackend};
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = sea_orm::Database::connect(&dbs.missions_url)
            .await
            .expect("connect");
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared("PRAGMA foreign_keys = ON")
                .await
                .expect("foreign keys");
        }
        let backend = db.get_database_backend();
        missionlink_migration::missions::Migrator::up(&db, Some(13))
            .await
            .expect("migrate to 13");
        let now = if backend == DbBackend::Postgres {
            "now()"
        } else {
            "'2026-12-06T10:00:00+00:00'"
        };
        for sql in [
            format!(
                "INSERT INTO missions (id, streamer_id, creator_id, title, status, duration_seconds, \
                 accept_by, closed_at, created_at) VALUES \
                 ('m1', 's', 'c', 'cancelled one', 'CANCELLED', 60, {now}, {now}, {now})"
            ),
            format!(
                "INSERT INTO operator_actions (id, operator_id, action, user_id, note, created_at) \
                 VALUES ('a1', 'op', 'SUSPEND_USER', 's', 'fraud', {now})"
            ),
            format!(
                "INSERT INTO operator_actions (id, operator_id, action, mission_id, cause_id, note, created_at) \
                 VALUES ('a2', 'op', 'CANCEL_MISSION', 'm1', 'a1', 'swept', {now})"
            ),
            format!(
                "INSERT INTO workflow_outbox (mission_id, pending_action, created_at) VALUES ('m1', 'a2', {now})"
            ),
        ] {
            db.execute_unprepared(&sql).await.expect(&sql);
        }
        missionlink_migration::missions::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        let ids: Vec<(String, Option<String>)> = db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                "SELECT id, cause_id FROM operator_actions ORDER BY id",
            ))
            .await
            .expect("actions")
            .iter()
            .map(|r| {
                (
                    r.try_get_by_index::<String>(0).expect("id"),
                    r.try_get_by_index::<Option<String>>(1).expect("cause"),
                )
            })
            .collect();
        assert_eq!(
            ids,
            vec![
                ("a1".to_owned(), None),
                ("a2".to_owned(), Some("a1".to_owned()))
            ],
            "{backend:?}"
        );
        if backend == DbBackend::Sqlite {
            let broken = db
                .query_all_raw(sea_orm::Statement::from_string(
                    backend,
                    "PRAGMA foreign_key_check",
                ))
                .await
                .expect("foreign_key_check");
            assert!(broken.is_empty(), "foreign keys broken by the rebuild");
        }
        // Still append-only.
        assert!(
            db.execute_unprepared("UPDATE operator_actions SET note = 'x' WHERE id = 'a1'")
                .await
                .is_err(),
            "{backend:?}"
        );
        assert!(
            db.execute_unprepared("DELETE FROM operator_actions WHERE id = 'a2'")
                .await
                .is_err()
        );
        // The new rules: a payout action must name a payout, and no other action may.
        assert!(
            db.execute_unprepared(&format!(
                "INSERT INTO operator_actions (id, operator_id, action, note, created_at) \
                 VALUES ('a3', 'op', 'HOLD_PAYOUT', 'no payout', {now})"
            ))
            .await
            .is_err()
        );
        assert!(
            db.execute_unprepared(&format!(
                "INSERT INTO operator_actions (id, operator_id, action, mission_id, note, created_at) \
                 VALUES ('a4', 'op', 'LOSE_MONEY', 'm1', 'no such action', {now})"
            ))
            .await
            .is_err()
        );
    }
}
