//! `topUp` and `wallet`: the sandbox payment provider credits at once, exactly once per key.

use crate::support::TestApp;
use serde_json::json;

#[tokio::test]
async fn replaying_a_top_up_returns_the_first_answer_and_credits_once() {
    let app = TestApp::spawn().await;
    let viewer = app.register("replay").await;
    let first = app.top_up(&viewer, 30_000, "order-1").await.data("topUp");
    let again = app.top_up(&viewer, 30_000, "order-1").await.data("topUp");
    assert_eq!(first, again);
    assert_eq!(app.wallet(&viewer).await["cash"], 30_000);

    // A later, different top-up moves the balance; replaying the first still answers what it
    // answered then, not the current balance.
    app.top_up(&viewer, 5_000, "order-2").await.data("topUp");
    assert_eq!(
        app.top_up(&viewer, 30_000, "order-1").await.data("topUp"),
        first
    );
    assert_eq!(app.wallet(&viewer).await["cash"], 35_000);
}

#[tokio::test]
async fn the_same_key_with_another_amount_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let viewer = app.register("reuse").await;
    app.top_up(&viewer, 10_000, "k").await.data("topUp");
    let before = app.snapshot().await;
    let r = app.top_up(&viewer, 20_000, "k").await;
    assert_eq!(r.code(), "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.wallet(&viewer).await["cash"], 10_000);
}

#[tokio::test]
async fn idempotency_keys_belong_to_their_user() {
    let app = TestApp::spawn().await;
    let a = app.register("alice").await;
    let b = app.register("bob").await;
    app.top_up(&a, 10_000, "same-key").await.data("topUp");
    app.top_up(&b, 20_000, "same-key").await.data("topUp");
    assert_eq!(app.wallet(&a).await["cash"], 10_000);
    assert_eq!(app.wallet(&b).await["cash"], 20_000);
}

async fn twenty_concurrent_calls_with_one_key_credit_once(app: &TestApp) {
    let viewer = app.register("racer").await;
    let calls = (0..20).map(|_| app.top_up(&viewer, 7_000, "double-click"));
    let answers = futures::future::join_all(calls).await;
    for a in &answers {
        assert_eq!(
            a.data("topUp")["cash"],
            7_000,
            "every caller sees the one credit"
        );
    }
    assert_eq!(app.wallet(&viewer).await["cash"], 7_000);
}

#[tokio::test]
async fn twenty_concurrent_top_ups_with_one_key_credit_once_on_postgres() {
    let app = TestApp::spawn().await;
    twenty_concurrent_calls_with_one_key_credit_once(&app).await;
}

#[tokio::test]
async fn twenty_concurrent_top_ups_with_one_key_credit_once_on_sqlite() {
    let app = TestApp::spawn_with(crate::support::TestDatabases::sqlite(), &[]).await;
    twenty_concurrent_calls_with_one_key_credit_once(&app).await;
}

#[tokio::test]
async fn concurrent_top_ups_with_distinct_keys_all_land() {
    let app = TestApp::spawn().await;
    let viewer = app.register("many").await;
    let calls = (0..30).map(|i| {
        let viewer = viewer.clone();
        let app = &app;
        async move { app.top_up(&viewer, 1_000, &format!("k{i}")).await }
    });
    for a in futures::future::join_all(calls).await {
        a.data("topUp");
    }
    assert_eq!(
        app.wallet(&viewer).await,
        json!({ "cash": 30_000, "points": 1000, "earnings": 0 })
    );
}

/// Moves `amount` from the outside world into `credit` directly through the ledger: what years
/// of top-ups or payouts would add up to.
async fn credit_directly(app: &TestApp, credit: missionlink_ledger::AccountId, amount: i64) {
    use missionlink_ledger::{AccountId, Amount, Currency, transfer};
    use sea_orm::TransactionTrait;
    let txn = app.db.missions.begin().await.expect("begin");
    transfer::apply(
        &txn,
        &transfer::Transfer {
            id: format!("topup:years-of-{}", uuid::Uuid::new_v4()),
            debit: AccountId::world(Currency::Cash),
            credit,
            amount: Amount::new(amount).expect("amount"),
            kind: missionlink_ledger::status::TransferKind::Topup,
        },
    )
    .await
    .expect("credit");
    txn.commit().await.expect("commit");
}

#[tokio::test]
async fn balances_and_earnings_beyond_two_to_the_31_read_back_exactly() {
    use missionlink_ledger::{AccountId, Currency};
    let app = TestApp::spawn().await;
    let streamer = app.register_as("bigearner", "STREAMER").await;
    // One top-up short of 2^31 - 1 won, then the top-up that used to commit and then break
    // every read of the wallet.
    credit_directly(
        &app,
        AccountId::wallet(Currency::Cash, &streamer.user_id),
        2_147_000_000,
    )
    .await;
    credit_directly(&app, AccountId::earnings(&streamer.user_id), 5_000_000_000).await;
    let after = app.top_up(&streamer, 1_000_000, "big").await.data("topUp");
    assert_eq!(after["cash"], 2_148_000_000_i64);
    let wallet = app.wallet(&streamer).await;
    assert_eq!(wallet["cash"], 2_148_000_000_i64);
    assert_eq!(wallet["earnings"], 5_000_000_000_i64);
}

#[tokio::test]
async fn a_top_up_that_would_make_the_balance_unreadable_is_refused_before_it_commits() {
    use missionlink_ledger::{AccountId, Currency};
    let app = TestApp::spawn().await;
    let viewer = app.register("nearthetop").await;
    let max = missionlink_ledger::money::MAX_BALANCE;
    credit_directly(
        &app,
        AccountId::wallet(Currency::Cash, &viewer.user_id),
        max - 500,
    )
    .await;
    let before = app.snapshot().await;
    let refused = app.top_up(&viewer, 1_000, "over").await;
    assert_eq!(refused.code(), "BAD_USER_INPUT", "{:?}", refused.0);
    assert!(refused.message().contains("at most"), "{:?}", refused.0);
    assert_eq!(app.snapshot().await, before, "nothing committed");
    assert_eq!(app.wallet(&viewer).await["cash"], max - 500);
}

/// `topUp` is the sandbox payment provider: it credits won without taking a payment, so a
/// production server refuses it and credits nothing.
#[tokio::test]
async fn top_up_is_refused_in_production_and_credits_nothing() {
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[("APP_ENV", "production")],
    )
    .await;
    let viewer = app.register("prod").await;
    let before = app.snapshot().await;
    let r = app.top_up(&viewer, 1_000_000, "free-money").await;
    assert_eq!(r.code(), "FORBIDDEN", "{}", r.0);
    assert!(r.message().contains("production"), "{}", r.0);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.wallet(&viewer).await["cash"], 0);
}
