//! Reconciliation with the payment provider (issue 26, item 4), through real HTTP against a
//! local server speaking Toss Payments' documented API (`fake_toss.rs`): what the provider does
//! behind our back becomes a case, an operator resolves it as a recorded action, what a wallet
//! cannot cover is owed and repaid first from the next top-up, and the audit stays clean at
//! every step.

use crate::disputes::operator;
use crate::fake_toss::{FakeToss, WEBHOOK_SECRET};
use crate::support::{Gql, Session, TestApp, TestDatabases, wait_for_metrics};
use serde_json::{Value, json};

const CASE_FIELDS: &str = "id kind status amount detail openedAt resolution resolvedAt debited \
    owed returned user { id } topUp { id status } resolvedBy { action note case { id } }";

/// A top-up of `amount` through the provider, confirmed: its payment key.
async fn paid_top_up(app: &TestApp, fake: &FakeToss, who: &Session, amount: i64) -> String {
    crate::refunds::paid_top_up(app, fake, who, amount).await.1
}

async fn cases(app: &TestApp, who: &Session, status: Option<&str>) -> Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "query($s: ReconciliationCaseStatus) {{ reconciliationCases(status: $s, first: 20) {{
               totalCount nodes {{ {CASE_FIELDS} }} }} }}"
        ),
        json!({ "s": status }),
    )
    .await
}

pub async fn open_cases(app: &TestApp, ops: &Session) -> Vec<Value> {
    cases(app, ops, Some("OPEN"))
        .await
        .data("reconciliationCases")["nodes"]
        .as_array()
        .expect("nodes")
        .clone()
}

pub async fn resolve(app: &TestApp, ops: &Session, case_id: &str, action: &str) -> Gql {
    app.gql(
        Some(&ops.access),
        &format!(
            "mutation($c: ID!, $a: ReconciliationAction!, $n: String!) {{
               resolveReconciliation(caseId: $c, action: $a, note: $n) {{ {CASE_FIELDS} }} }}"
        ),
        json!({ "c": case_id, "a": action, "n": format!("reconciled: {action}") }),
    )
    .await
}

/// The wallet's cash, what is owed, and the statement's won entries (kind, balance, amount),
/// oldest first.
async fn money(app: &TestApp, who: &Session) -> (i64, i64, Vec<(String, String, i64)>) {
    let w = app
        .gql(
            Some(&who.access),
            "{ wallet { cash owed transactions(first: 50) { nodes { kind balance amount } } } }",
            json!({}),
        )
        .await
        .data("wallet");
    let mut entries: Vec<(String, String, i64)> = w["transactions"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["balance"] != "POINTS")
        .map(|n| {
            (
                n["kind"].as_str().expect("kind").to_owned(),
                n["balance"].as_str().expect("balance").to_owned(),
                n["amount"].as_i64().expect("amount"),
            )
        })
        .collect();
    entries.reverse();
    (
        w["cash"].as_i64().expect("cash"),
        w["owed"].as_i64().expect("owed"),
        entries,
    )
}

fn entry(kind: &str, balance: &str, amount: i64) -> (String, String, i64) {
    (kind.to_owned(), balance.to_owned(), amount)
}

async fn deliver(app: &TestApp, fake: &FakeToss, key: &str, event: &str) {
    assert_eq!(
        fake.deliver_webhook(&app.url(""), key, event, WEBHOOK_SECRET)
            .await,
        200
    );
}

#[tokio::test]
async fn a_top_up_cancelled_at_the_provider_after_it_was_pledged_is_owed_and_repaid_by_the_next_top_up()
 {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS", "1")],
        )
        .await;
    let ops = operator(&app, "recon").await;
    let streamer = app.register_as("reconstreamer", "STREAMER").await;
    let viewer = app.register("reconviewer").await;
    let key = paid_top_up(&app, &fake, &viewer, 50_000).await;
    app.new_mission(&viewer, &streamer.user_id, 40_000).await;
    assert_eq!(money(&app, &viewer).await.0, 10_000);
    app.assert_audit_clean().await;

    // The card issuer cancels the whole payment at the provider; its webhook says so.
    fake.cancel_at_provider(&key, None);
    deliver(&app, &fake, &key, "evt-cancel-1").await;
    let open = open_cases(&app, &ops).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let case = &open[0];
    assert_eq!(case["kind"], "TOPUP_CANCELLED_AT_PROVIDER");
    assert_eq!(case["amount"], 50_000);
    assert_eq!(case["user"]["id"], viewer.user_id.as_str());
    assert_eq!(case["topUp"]["status"], "CONFIRMED");
    assert!(case["resolution"].is_null());
    let case_id = case["id"].as_str().expect("id").to_owned();
    // Nothing moved yet: the wallet is as it was, and the case waits for an operator.
    assert_eq!(money(&app, &viewer).await.0, 10_000);
    app.assert_audit_clean().await;
    // The same cancel delivered again (a later delivery, another event) opens nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    deliver(&app, &fake, &key, "evt-cancel-2").await;
    assert_eq!(open_cases(&app, &ops).await.len(), 1);

    // Viewers can neither read nor resolve cases.
    assert_eq!(cases(&app, &viewer, None).await.code(), "FORBIDDEN");
    let before = app.snapshot().await;
    assert_eq!(
        resolve(&app, &viewer, &case_id, "NO_ACTION").await.code(),
        "FORBIDDEN"
    );
    // An action that does not fit a cancel: refused, nothing changed.
    let r = resolve(&app, &ops, &case_id, "REFUND_AT_PROVIDER").await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{:?}", r.0);
    assert_eq!(app.snapshot().await, before);

    // DEBIT_WALLET: the 10,000 left in the wallet, and 40,000 owed.
    let done = resolve(&app, &ops, &case_id, "DEBIT_WALLET")
        .await
        .data("resolveReconciliation");
    assert_eq!(done["status"], "RESOLVED");
    assert_eq!(done["resolution"], "DEBIT_WALLET");
    assert_eq!(done["debited"], 10_000);
    assert_eq!(done["owed"], 40_000);
    assert_eq!(done["resolvedBy"]["action"], "RESOLVE_RECONCILIATION");
    assert_eq!(done["resolvedBy"]["note"], "reconciled: DEBIT_WALLET");
    assert_eq!(done["resolvedBy"]["case"]["id"], case_id.as_str());
    let (cash, owed, entries) = money(&app, &viewer).await;
    assert_eq!((cash, owed), (0, 40_000));
    assert_eq!(
        entries,
        vec![
            entry("TOP_UP", "CASH", 50_000),
            entry("PLEDGE", "CASH", -40_000),
            entry("PROVIDER_REVERSAL", "CASH", -10_000),
            entry("OWED", "OWED", -40_000),
        ]
    );
    app.assert_audit_clean().await;
    // A second resolution (a retry, another operator) is refused and changes nothing.
    let before = app.snapshot().await;
    let again = resolve(&app, &ops, &case_id, "DEBIT_WALLET").await;
    assert_eq!(again.code(), "INVALID_STATE", "{:?}", again.0);
    assert_eq!(app.snapshot().await, before);
    assert!(open_cases(&app, &ops).await.is_empty());
    let resolved = cases(&app, &ops, Some("RESOLVED")).await;
    assert_eq!(resolved.data("reconciliationCases")["totalCount"], 1);

    // The next top-up pays back what is owed first: 30,000 of the 40,000.
    paid_top_up(&app, &fake, &viewer, 30_000).await;
    let (cash, owed, entries) = money(&app, &viewer).await;
    assert_eq!((cash, owed), (0, 10_000));
    // The repayment's two sides are one transfer: their order on the statement is not fixed.
    let mut repaid = entries[5..].to_vec();
    repaid.sort();
    assert_eq!(entries[4], entry("TOP_UP", "CASH", 30_000));
    assert_eq!(
        repaid,
        [
            entry("OWED_REPAID", "OWED", 30_000),
            entry("REPAYMENT", "CASH", -30_000),
        ]
    );
    app.assert_audit_clean().await;
    // And the one after: the last 10,000, the rest to spend.
    paid_top_up(&app, &fake, &viewer, 25_000).await;
    let (cash, owed, _) = money(&app, &viewer).await;
    assert_eq!((cash, owed), (15_000, 0));
    app.assert_audit_clean().await;

    // Every resolution is on the operators' record.
    let record = app
        .gql(
            Some(&ops.access),
            "{ operatorActions(first: 10) { nodes { action case { id kind } } } }",
            json!({}),
        )
        .await
        .data("operatorActions");
    assert_eq!(record["nodes"][0]["action"], "RESOLVE_RECONCILIATION");
    assert_eq!(record["nodes"][0]["case"]["id"], case_id.as_str());
}

#[tokio::test]
async fn partial_cancels_at_the_provider_each_open_a_case_for_what_they_cancelled() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS", "1")],
        )
        .await;
    let ops = operator(&app, "recon2").await;
    let viewer = app.register("partialviewer").await;
    let key = paid_top_up(&app, &fake, &viewer, 50_000).await;

    fake.cancel_at_provider(&key, Some(20_000));
    deliver(&app, &fake, &key, "evt-part-1").await;
    let open = open_cases(&app, &ops).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["kind"], "PARTIAL_CANCEL_AT_PROVIDER");
    assert_eq!(open[0]["amount"], 20_000);
    let first = open[0]["id"].as_str().expect("id").to_owned();

    // The rest is cancelled later: a second case for the 30,000, never the 20,000 again.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    fake.cancel_at_provider(&key, None);
    deliver(&app, &fake, &key, "evt-part-2").await;
    let open = open_cases(&app, &ops).await;
    assert_eq!(open.len(), 2);
    assert_eq!(open[1]["kind"], "TOPUP_CANCELLED_AT_PROVIDER");
    assert_eq!(open[1]["amount"], 30_000);
    let second = open[1]["id"].as_str().expect("id").to_owned();
    app.assert_audit_clean().await;

    // RECORD_RECEIVABLE owes all of it and leaves the cash alone; NO_ACTION moves nothing.
    let r = resolve(&app, &ops, &first, "RECORD_RECEIVABLE")
        .await
        .data("resolveReconciliation");
    assert_eq!(
        (r["debited"].as_i64(), r["owed"].as_i64()),
        (Some(0), Some(20_000))
    );
    let (cash, owed, _) = money(&app, &viewer).await;
    assert_eq!((cash, owed), (50_000, 20_000));
    let r = resolve(&app, &ops, &second, "NO_ACTION")
        .await
        .data("resolveReconciliation");
    assert_eq!(
        (r["debited"].as_i64(), r["owed"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(money(&app, &viewer).await.0, 50_000);
    assert!(open_cases(&app, &ops).await.is_empty());
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_payment_taken_and_never_credited_is_refunded_at_the_provider_once() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_TIMEOUT_SECONDS", "1")],
        )
        .await;
    let ops = operator(&app, "recon3").await;
    let viewer = app.register("mismatchviewer").await;
    let order = app
        .gql(
            Some(&viewer.access),
            "mutation { prepareTopUp(amount: 30000) { orderId } }",
            json!({}),
        )
        .await
        .data("prepareTopUp")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned();
    let key = fake.pay(&order, 30_000);
    // The provider describes the payment with another amount: taken, never credited.
    fake.misreport(&key, 31_000);
    let r = app
        .gql(
            Some(&viewer.access),
            "mutation($o: String!, $k: String!) {
               confirmTopUp(orderId: $o, paymentKey: $k, amount: 30000) { status } }",
            json!({ "o": order, "k": key }),
        )
        .await;
    assert_eq!(r.code(), "PAYMENT_UNDER_REVIEW", "{:?}", r.0);
    let open = open_cases(&app, &ops).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["kind"], "AMOUNT_MISMATCH");
    assert_eq!(open[0]["amount"], 31_000);
    let case_id = open[0]["id"].as_str().expect("id").to_owned();
    app.assert_audit_clean().await;

    // Nothing was credited, so nothing can be debited or owed.
    let before = app.snapshot().await;
    for action in ["DEBIT_WALLET", "RECORD_RECEIVABLE"] {
        assert_eq!(
            resolve(&app, &ops, &case_id, action).await.code(),
            "BAD_USER_INPUT"
        );
    }
    assert_eq!(app.snapshot().await, before);

    // A payment credited since is not refunded behind the wallet's back.
    use sea_orm::ConnectionTrait;
    let set_status = |status: &'static str| {
        let (db, key) = (app.db.missions.clone(), key.clone());
        let confirmed_at = if status == "CONFIRMED" {
            "created_at"
        } else {
            "NULL"
        };
        async move {
            db.execute_unprepared(&format!(
                "UPDATE top_ups SET status = '{status}', confirmed_at = {confirmed_at} \
                 WHERE payment_key = '{key}'"
            ))
            .await
            .expect("set the top-up's status")
        }
    };
    set_status("CONFIRMED").await;
    let credited = resolve(&app, &ops, &case_id, "REFUND_AT_PROVIDER").await;
    assert_eq!(credited.code(), "INVALID_STATE", "{:?}", credited.0);
    assert_eq!(fake.payment(&key).cancels, 0);
    set_status("FAILED").await;

    // The provider cancels, but its answer comes too late: the case stays open.
    fake.answer_cancels_after(Some(std::time::Duration::from_secs(3)));
    let late = resolve(&app, &ops, &case_id, "REFUND_AT_PROVIDER").await;
    assert_eq!(late.code(), "PAYMENT_PENDING", "{:?}", late.0);
    assert_eq!(open_cases(&app, &ops).await.len(), 1);
    // Resolved again: the same cancel (its idempotency key) is answered, not made twice.
    fake.answer_cancels_after(None);
    let done = resolve(&app, &ops, &case_id, "REFUND_AT_PROVIDER")
        .await
        .data("resolveReconciliation");
    assert_eq!(done["status"], "RESOLVED");
    assert_eq!(done["resolution"], "REFUND_AT_PROVIDER");
    assert_eq!(fake.payment(&key).status, "CANCELED");
    assert_eq!(fake.payment(&key).cancels, 1, "refunded once");
    assert_eq!(money(&app, &viewer).await.0, 0);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn racing_resolutions_of_one_case_settle_it_once() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let ops = operator(&app, "recon4").await;
    let viewer = app.register("raceviewer").await;
    let key = paid_top_up(&app, &fake, &viewer, 20_000).await;
    fake.cancel_at_provider(&key, None);
    deliver(&app, &fake, &key, "evt-race").await;
    let case_id = open_cases(&app, &ops).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let tries = (0..6).map(|_| resolve(&app, &ops, &case_id, "DEBIT_WALLET"));
    let answers = futures::future::join_all(tries).await;
    let won = answers.iter().filter(|a| a.0["errors"].is_null()).count();
    assert_eq!(won, 1, "{answers:?}");
    for a in answers.iter().filter(|a| !a.0["errors"].is_null()) {
        assert_eq!(a.code(), "INVALID_STATE");
    }
    let (cash, owed, _) = money(&app, &viewer).await;
    assert_eq!((cash, owed), (0, 0), "debited once");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn deliveries_of_one_cancel_racing_open_one_case() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("racecancel").await;
    paid_top_up(&app, &fake, &viewer, 20_000).await;
    use missionlink_entities::missions::top_up;
    use sea_orm::EntityTrait;
    let t = top_up::Entity::find()
        .one(&app.db.missions)
        .await
        .expect("read")
        .expect("the top-up");
    // What the webhook does for each delivery, eight at once (the webhook's own per-order
    // look-up interval would keep real deliveries apart).
    let db = app.db.missions.clone();
    let runs = (0..8).map(|_| {
        let (db, id) = (db.clone(), t.id.clone());
        tokio::spawn(async move {
            missionlink_ledger::reconcile::cases::provider_cancelled(&db, &id, 5_000, "test").await
        })
    });
    let opened = futures::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.expect("join").expect("provider_cancelled"))
        .filter(Option::is_some)
        .count();
    assert_eq!(opened, 1);
    app.assert_audit_clean().await;
}

/// Migration 000020 keeps every account, transfer and operator action on both backends (SQLite
/// rebuilds `accounts` and `operator_actions`), the audit stays clean, and the new rules hold:
/// a receivable never goes above zero, a wallet never below, the record stays append-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciliation_migration_keeps_every_account_transfer_and_action() {
    use missionlink_ledger::transfer::{self, Transfer};
    use missionlink_ledger::{AccountId, Amount, Currency, account, status::TransferKind};
    use missionlink_migration::Migrate as _;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = sea_orm::Database::connect(&dbs.missions_url)
            .await
            .expect("connect");
        let backend = db.get_database_backend();
        if backend == DbBackend::Sqlite {
            db.execute_unprepared("PRAGMA foreign_keys = ON")
                .await
                .expect("foreign keys");
        }
        missionlink_migration::missions::Migrator::up(&db, Some(18))
            .await
            .expect("migrate to 18");
        let mut opened = account::system_accounts();
        opened.extend(account::user_accounts("u1"));
        account::open(&db, &opened).await.expect("accounts");
        transfer::apply(
            &db,
            &Transfer {
                id: "topup:u1:k".into(),
                debit: AccountId::world(Currency::Cash),
                credit: AccountId::wallet(Currency::Cash, "u1"),
                amount: Amount::new(5_000).expect("amount"),
                kind: TransferKind::Topup,
            },
        )
        .await
        .expect("top-up");
        let now = if backend == DbBackend::Postgres {
            "now()"
        } else {
            "'2026-12-06T10:00:00+00:00'"
        };
        db.execute_unprepared(&format!(
            "INSERT INTO operator_actions (id, operator_id, action, user_id, note, created_at) \
             VALUES ('a1', 'op', 'SUSPEND_USER', 'u1', 'fraud', {now})"
        ))
        .await
        .expect("an action");
        let read = |sql: &'static str| {
            let db = db.clone();
            async move {
                db.query_all_raw(Statement::from_string(backend, sql))
                    .await
                    .expect(sql)
                    .iter()
                    .map(|r| {
                        (
                            r.try_get_by_index::<String>(0).expect("id"),
                            r.try_get_by_index::<i64>(1).expect("number"),
                        )
                    })
                    .collect::<Vec<_>>()
            }
        };
        let accounts = "SELECT id, balance FROM accounts ORDER BY id";
        let transfers = "SELECT id, amount FROM transfers ORDER BY id";
        let before = (read(accounts).await, read(transfers).await);
        missionlink_migration::missions::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        assert_eq!(
            (read(accounts).await, read(transfers).await),
            before,
            "{backend:?}"
        );
        assert_eq!(
            read("SELECT id, CAST(0 AS BIGINT) FROM operator_actions").await,
            vec![("a1".to_owned(), 0)]
        );
        assert!(
            missionlink_ledger::audit::run(&db)
                .await
                .expect("audit")
                .is_empty(),
            "{backend:?}"
        );
        for refused in [
            "INSERT INTO accounts (id, kind, owner_id, currency, balance, materialised, created_at) \
             VALUES ('receivable:CASH:u2', 'RECEIVABLE', 'u2', 'CASH', 1, TRUE, {now})",
            "UPDATE accounts SET balance = -1 WHERE id = 'wallet:CASH:u1'",
            "UPDATE operator_actions SET note = 'changed'",
            "INSERT INTO operator_actions (id, operator_id, action, note, created_at) \
             VALUES ('a2', 'op', 'RESOLVE_RECONCILIATION', 'no case', {now})",
        ] {
            let sql = refused.replace("{now}", now);
            assert!(
                db.execute_unprepared(&sql).await.is_err(),
                "{backend:?}: {sql}"
            );
        }
        if backend == DbBackend::Sqlite {
            let broken = db
                .query_all_raw(Statement::from_string(backend, "PRAGMA foreign_key_check"))
                .await
                .expect("foreign key check");
            assert!(broken.is_empty());
        }
    }
}

/// How many `READ_USER_MONEY` actions the record holds about `user_id`.
async fn reads_of(app: &TestApp, ops: &Session, user_id: &str) -> usize {
    app.gql(
        Some(&ops.access),
        "query($u: ID!) { operatorActions(userId: $u, first: 50) { nodes { action } } }",
        json!({ "u": user_id }),
    )
    .await
    .data("operatorActions")["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["action"] == "READ_USER_MONEY")
        .count()
}

#[tokio::test]
async fn an_operator_reads_one_users_money_and_every_read_is_recorded() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let ops = operator(&app, "moneyview").await;
    let streamer = app.register_as("moneystreamer", "STREAMER").await;
    let viewer = app.register("moneyviewer").await;
    let key = paid_top_up(&app, &fake, &viewer, 30_000).await;
    app.new_mission(&viewer, &streamer.user_id, 12_000).await;
    fake.cancel_at_provider(&key, Some(5_000));
    deliver(&app, &fake, &key, "evt-view").await;

    let query = "query($u: ID!, $r: String!) { userMoney(userId: $u, reason: $r) {
        user { id } read { action note user { id } operator { id } }
        wallet { cash owed earnings transactions(first: 10) { totalCount }
                 topUps(first: 10) { totalCount nodes { amount status } }
                 payouts(first: 10) { totalCount } }
        pledges(first: 10) { totalCount nodes { amount status } }
        cases(first: 10) { totalCount nodes { kind amount status } } } }";
    let read = |who: &Session, user: &str, reason: &str| {
        let (token, vars) = (who.access.clone(), json!({ "u": user, "r": reason }));
        let app = &app;
        async move { app.gql(Some(&token), query, vars).await }
    };
    let m = read(
        &ops,
        &viewer.user_id,
        "ticket #4711: the user asks where their won went",
    )
    .await
    .data("userMoney");
    assert_eq!(m["user"]["id"], viewer.user_id.as_str());
    assert_eq!(m["wallet"]["cash"], 18_000);
    assert_eq!(m["wallet"]["owed"], 0);
    assert_eq!(m["wallet"]["topUps"]["nodes"][0]["amount"], 30_000);
    assert_eq!(m["pledges"]["totalCount"], 1);
    assert_eq!(m["pledges"]["nodes"][0]["amount"], 12_000);
    assert_eq!(m["cases"]["totalCount"], 1);
    assert_eq!(m["cases"]["nodes"][0]["kind"], "PARTIAL_CANCEL_AT_PROVIDER");
    assert_eq!(m["cases"]["nodes"][0]["amount"], 5_000);
    assert_eq!(m["read"]["action"], "READ_USER_MONEY");
    assert_eq!(
        m["read"]["note"],
        "ticket #4711: the user asks where their won went"
    );
    assert_eq!(m["read"]["user"]["id"], viewer.user_id.as_str());
    assert_eq!(m["read"]["operator"]["id"], ops.user_id.as_str());
    assert_eq!(reads_of(&app, &ops, &viewer.user_id).await, 1);
    // Every read is recorded, not only the first.
    read(&ops, &viewer.user_id, "again, for the refund")
        .await
        .data("userMoney");
    assert_eq!(reads_of(&app, &ops, &viewer.user_id).await, 2);

    // Refused, nothing read and nothing recorded: a viewer, no reason, an unknown user.
    assert_eq!(
        read(&viewer, &viewer.user_id, "curious").await.code(),
        "FORBIDDEN"
    );
    assert_eq!(
        read(&ops, &viewer.user_id, "  ").await.code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        read(&ops, "01900000-0000-7000-8000-000000000000", "lookup")
            .await
            .code(),
        "NOT_FOUND"
    );
    assert_eq!(reads_of(&app, &ops, &viewer.user_id).await, 2);
}

/// A case open past `RECONCILIATION_SLA_SECONDS` is counted by the worker (a `missionlink
/// worker` process) into the gauges the business dashboard and
/// `MissionLinkReconciliationOverdue` read; once resolved, it is counted no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_past_its_sla_is_counted_for_the_alert() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let ops = operator(&app, "recon5").await;
    let viewer = app.register("slaviewer").await;
    let key = paid_top_up(&app, &fake, &viewer, 10_000).await;
    let metrics_addr = format!("127.0.0.1:{}", crate::support::free_port());
    // The worker sends the top-up's receipt: to files of this test's own.
    let outbox = tempfile::tempdir().expect("outbox");
    let _worker = app.spawn_worker_process(&[
        ("RECONCILIATION_SLA_SECONDS", "1"),
        ("WORKER_METRICS_ADDR", metrics_addr.as_str()),
        ("EMAIL_TRANSPORT", "file"),
        (
            "EMAIL_OUTBOX_DIR",
            outbox.path().to_str().expect("utf-8 path"),
        ),
    ]);
    fake.cancel_at_provider(&key, None);
    deliver(&app, &fake, &key, "evt-sla").await;
    let topic = "reconciliation";
    wait_for_metrics(
        &app.http,
        &metrics_addr,
        &[
            "missionlink_reconciliation_cases_open 1",
            "missionlink_reconciliation_cases_overdue 1",
        ],
        topic,
    )
    .await;
    let case_id = open_cases(&app, &ops).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    resolve(&app, &ops, &case_id, "DEBIT_WALLET")
        .await
        .data("resolveReconciliation");
    wait_for_metrics(
        &app.http,
        &metrics_addr,
        &[
            "missionlink_reconciliation_cases_open 0",
            "missionlink_reconciliation_cases_overdue 0",
        ],
        topic,
    )
    .await;
    // The user is told, once, in their language, what moved (the worker's notice).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let notices = loop {
        let found: Vec<crate::support::Mail> = std::fs::read_dir(outbox.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| crate::support::parse_eml(&std::fs::read_to_string(e.path()).expect("eml")))
            .filter(|m| m.subject.contains("조정") || m.subject.contains("adjusted"))
            .collect();
        if !found.is_empty() || tokio::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert!(
        notices[0].subject.contains("10,000"),
        "{}",
        notices[0].subject
    );
    let body = &notices[0].body;
    let (taken, owed) = if body.contains("캐시에서") {
        (
            "캐시에서 차감: 10,000원",
            "(다음 충전·환불에서 먼저 차감): 0원",
        )
    } else {
        (
            "Taken from your cash: 10,000 won",
            "Owed (taken first from your next top-ups and refunds): 0 won",
        )
    };
    assert!(body.contains(taken) && body.contains(owed), "{body}");
    assert!(body.contains(&case_id), "{body}");
    // Recorded sent once: the case is its own outbox, and nothing is due any more.
    use missionlink_entities::missions::reconciliation_case;
    use sea_orm::EntityTrait;
    let row = reconciliation_case::Entity::find_by_id(case_id.clone())
        .one(&app.db.missions)
        .await
        .expect("read")
        .expect("the case");
    assert!(row.notice_sent_at.is_some(), "{row:?}");
    assert_eq!(
        row.notice_status,
        Some(missionlink_entities::missions::status::DeliveryStatus::Sent)
    );
    // The API counts what it opened and what operators resolved.
    let api = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics");
    for line in [
        "missionlink_reconciliation_cases_opened_total{kind=\"TOPUP_CANCELLED_AT_PROVIDER\"}",
        "missionlink_reconciliation_cases_resolved_total{action=\"DEBIT_WALLET\"}",
    ] {
        assert!(
            api.lines()
                .any(|l| l.starts_with(line) && !l.ends_with(" 0")),
            "{line}:\n{api}"
        );
    }
}

/// A paid payout the bank later sends back: the worker (a `missionlink worker` process, asking
/// the bank again every `PAYOUT_RETURN_CHECK_SECONDS`) opens one case for the net it sent, and
/// the operator gives it back to the streamer's earnings, once, with the audit clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_the_bank_sends_back_becomes_a_case_and_returns_to_earnings() {
    use crate::payouts::{request, set_account, streamer_with_earnings, wait_for_status};
    let app =
        TestApp::with_temporal(&[("PAYOUT_HOLD_SECONDS", "1"), ("PAYOUT_FEE_WON", "500")]).await;
    let earner = app.start_worker().await;
    let streamer = streamer_with_earnings(&app, "ko", 30_000).await;
    set_account(&app, &streamer, "004", "123-456-789012")
        .await
        .data("setPayoutAccount");
    let id = request(&app, &streamer, 30_000, "p1")
        .await
        .data("requestPayout")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_for_status(&app, &streamer, &id, "PAID", 60).await;
    earner.stop().await;
    assert_eq!(app.wallet(&streamer).await["earnings"], 0);

    // The receiving bank sends it back: the sandbox bank's books say so from now on.
    use sea_orm::ConnectionTrait;
    app.db
        .missions
        .execute_unprepared(&format!(
            "UPDATE bank_sandbox_transfers SET returned_at = received_at, \
             return_reason = 'account closed' WHERE request_id = 'missionlink-payout-{id}'"
        ))
        .await
        .expect("the bank returns it");
    let outbox = tempfile::tempdir().expect("outbox");
    let mut worker = app.spawn_worker_process(&[
        ("PAYOUT_RETURN_CHECK_SECONDS", "1"),
        ("EMAIL_TRANSPORT", "file"),
        (
            "EMAIL_OUTBOX_DIR",
            outbox.path().to_str().expect("utf-8 path"),
        ),
    ]);
    let ops = operator(&app, "returns").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let case = loop {
        if let Some(c) = open_cases(&app, &ops).await.into_iter().next() {
            break c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the returned payout never became a case"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(case["kind"], "PAYOUT_RETURNED_BY_BANK");
    assert_eq!(case["amount"], 29_500, "the net the bank sent");
    assert_eq!(case["user"]["id"], streamer.user_id.as_str());
    assert!(
        case["detail"]
            .as_str()
            .expect("detail")
            .contains("account closed")
    );
    // Asked again and again, it stays one case.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let all = cases(&app, &ops, None).await;
    assert_eq!(all.data("reconciliationCases")["totalCount"], 1);
    worker.kill().await.ok();

    let case_id = case["id"].as_str().expect("id");
    assert_eq!(
        resolve(&app, &ops, case_id, "DEBIT_WALLET").await.code(),
        "BAD_USER_INPUT"
    );
    let done = resolve(&app, &ops, case_id, "RETURN_TO_BALANCE")
        .await
        .data("resolveReconciliation");
    assert_eq!(done["status"], "RESOLVED");
    assert_eq!(done["returned"], 29_500);
    assert_eq!(app.wallet(&streamer).await["earnings"], 29_500);
    assert_eq!(
        wait_for_status(&app, &streamer, &id, "PAID", 1).await["status"],
        "PAID",
        "the payout was paid; the return is the case's"
    );
    app.assert_audit_clean().await;
}
