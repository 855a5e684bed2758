//! Top-ups through a payment provider (issue 15), through real HTTP: `prepareTopUp`,
//! `confirmTopUp` against a local server speaking Toss Payments' documented API
//! (`fake_toss.rs`; Toss itself is never called), its webhook, the daily limit in Asia/Seoul
//! days under concurrency, withdrawal (`cancelTopUp`) and the receipts.

use crate::fake_toss::{FakeToss, WEBHOOK_SECRET};
use crate::support::{PASSWORD, Session, TestApp, TestDatabases};
use serde_json::{Value, json};

const TOP_UP_FIELDS: &str = "id orderId amount status provider createdAt confirmedAt \
    withdrawableUntil withdrawnAt failureCode failureMessage";

async fn prepare(app: &TestApp, who: &Session, amount: i64) -> crate::support::Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "mutation($a: Int!) {{ prepareTopUp(amount: $a) {{ orderId orderName amount customerKey
               topUp {{ {TOP_UP_FIELDS} }} }} }}"
        ),
        json!({ "a": amount }),
    )
    .await
}

async fn order(app: &TestApp, who: &Session, amount: i64) -> String {
    prepare(app, who, amount).await.data("prepareTopUp")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned()
}

async fn confirm(
    app: &TestApp,
    who: &Session,
    order_id: &str,
    key: &str,
    amount: i64,
) -> crate::support::Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "mutation($o: String!, $k: String!, $a: Int!) {{
               confirmTopUp(orderId: $o, paymentKey: $k, amount: $a) {{ {TOP_UP_FIELDS} }} }}"
        ),
        json!({ "o": order_id, "k": key, "a": amount }),
    )
    .await
}

async fn cancel(app: &TestApp, who: &Session, id: &str, key: &str) -> crate::support::Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "mutation($id: ID!, $k: String!) {{
               cancelTopUp(topUpId: $id, idempotencyKey: $k) {{ {TOP_UP_FIELDS} }} }}"
        ),
        json!({ "id": id, "k": key }),
    )
    .await
}

/// The caller's wallet: cash, the limit, the top-ups and the cash statement.
async fn wallet(app: &TestApp, who: &Session) -> Value {
    app.gql(
        Some(&who.access),
        &format!(
            "{{ wallet {{ cash topUpLimit {{ limit usedToday remainingToday resetsAt }}
                 topUps(first: 50) {{ totalCount nodes {{ {TOP_UP_FIELDS} }} }}
                 transactions(first: 50) {{ nodes {{ id kind amount balanceAfter }} }} }} }}"
        ),
        json!({}),
    )
    .await
    .data("wallet")
}

fn kinds(w: &Value) -> Vec<(String, i64)> {
    w["transactions"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["kind"] != "SIGNUP_POINTS")
        .map(|n| {
            (
                n["kind"].as_str().expect("kind").to_owned(),
                n["amount"].as_i64().expect("amount"),
            )
        })
        .collect()
}

/// A confirmed top-up: its order, payment key and id.
async fn confirmed(app: &TestApp, fake: &FakeToss, who: &Session, amount: i64) -> Value {
    let order_id = order(app, who, amount).await;
    let key = fake.pay(&order_id, amount);
    confirm(app, who, &order_id, &key, amount)
        .await
        .data("confirmTopUp")
}

#[tokio::test]
async fn a_confirmed_top_up_credits_the_wallet_once_and_a_second_confirm_answers_it_again() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("tosspayer").await;
    let prepared = prepare(&app, &viewer, 50_000).await.data("prepareTopUp");
    assert_eq!(prepared["amount"], 50_000);
    // A random key of the viewer's, never their public id (`card_testing.rs` checks it more).
    assert_ne!(prepared["customerKey"], viewer.user_id.as_str());
    assert_eq!(prepared["topUp"]["status"], "PREPARED");
    assert!(
        prepared["orderName"]
            .as_str()
            .expect("name")
            .contains("50000")
    );
    let order_id = prepared["orderId"].as_str().expect("orderId");
    let key = fake.pay(order_id, 50_000);

    let first = confirm(&app, &viewer, order_id, &key, 50_000)
        .await
        .data("confirmTopUp");
    assert_eq!(first["status"], "CONFIRMED");
    assert_eq!(first["provider"], "toss");
    assert!(first["withdrawableUntil"].is_string(), "{first}");
    let again = confirm(&app, &viewer, order_id, &key, 50_000)
        .await
        .data("confirmTopUp");
    assert_eq!(again, first, "the same top-up, credited once");
    assert_eq!(fake.payment(&key).taken, 1);
    assert_eq!(fake.payment(&key).status, "DONE");

    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 50_000);
    assert_eq!(kinds(&w), vec![("TOP_UP".to_owned(), 50_000)]);
    assert_eq!(w["topUpLimit"]["usedToday"], 50_000);
    assert_eq!(w["topUpLimit"]["remainingToday"], 950_000);
    assert_eq!(w["topUps"]["totalCount"], 1);
    assert_eq!(w["topUps"]["nodes"][0]["id"], first["id"]);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn ten_concurrent_confirms_of_one_order_take_one_payment_and_ten_concurrent_cancels_refund_once()
 {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("doubleclick").await;
    let order_id = order(&app, &viewer, 25_000).await;
    let key = fake.pay(&order_id, 25_000);
    let answers =
        futures::future::join_all((0..10).map(|_| confirm(&app, &viewer, &order_id, &key, 25_000)))
            .await;
    for a in &answers {
        assert_eq!(a.data("confirmTopUp")["status"], "CONFIRMED");
    }
    assert_eq!(fake.payment(&key).taken, 1);
    assert_eq!(wallet(&app, &viewer).await["cash"], 25_000);

    let id = answers[0].data("confirmTopUp")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let cancels = futures::future::join_all((0..10).map(|i| {
        let (app, viewer, id) = (&app, &viewer, &id);
        async move { cancel(app, viewer, id, &format!("w{i}")).await }
    }))
    .await;
    for c in &cancels {
        assert_eq!(c.data("cancelTopUp")["status"], "WITHDRAWN", "{:?}", c.0);
    }
    assert_eq!(fake.payment(&key).cancels, 1);
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 0);
    assert_eq!(kinds(&w).len(), 2, "one credit, one withdrawal");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn an_amount_that_is_not_the_orders_is_refused_before_the_provider_is_asked() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("tamperer").await;
    let order_id = order(&app, &viewer, 30_000).await;
    let key = fake.pay(&order_id, 30_000);
    let before = app.snapshot().await;
    let r = confirm(&app, &viewer, &order_id, &key, 3_000).await;
    assert_eq!(r.code(), "TOPUP_AMOUNT_MISMATCH", "{:?}", r.0);
    assert!(r.message().contains("30000 won"), "{:?}", r.0);
    assert_eq!(app.snapshot().await, before, "nothing changed");
    assert_eq!(fake.confirm_requests(), 0, "the provider was not asked");
    // The order is still good for its own amount.
    let ok = confirm(&app, &viewer, &order_id, &key, 30_000)
        .await
        .data("confirmTopUp");
    assert_eq!(ok["status"], "CONFIRMED");
    assert_eq!(wallet(&app, &viewer).await["cash"], 30_000);

    // Paid 1,000 won in the widget for a 30,000-won order: the provider refuses the confirm
    // (400 INVALID_REQUEST), nothing is credited, the reservation is given back.
    let order_id = order(&app, &viewer, 30_000).await;
    let key = fake.pay(&order_id, 1_000);
    let r = confirm(&app, &viewer, &order_id, &key, 30_000).await;
    assert_eq!(r.code(), "PAYMENT_FAILED", "{:?}", r.0);
    assert_eq!(
        r.0["errors"][0]["extensions"]["providerCode"],
        "INVALID_REQUEST"
    );
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 30_000);
    assert_eq!(w["topUpLimit"]["usedToday"], 30_000);
    assert_eq!(w["topUps"]["nodes"][0]["status"], "FAILED");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn bad_top_up_input_is_refused_with_a_clear_code_and_nothing_changed() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("badinput").await;
    let order_id = order(&app, &viewer, 10_000).await;
    let key = fake.pay(&order_id, 10_000);
    let t = confirmed(&app, &fake, &viewer, 10_000).await;
    let id = t["id"].as_str().expect("id").to_owned();
    let other = app.register("notyours").await;
    let before = app.snapshot().await;
    let long_key = "k".repeat(201);
    let cases: Vec<(&str, crate::support::Gql)> = vec![
        ("BAD_USER_INPUT", prepare(&app, &viewer, 999).await),
        ("BAD_USER_INPUT", prepare(&app, &viewer, 1_000_001).await),
        (
            "NOT_FOUND",
            confirm(&app, &viewer, "ml-nope", &key, 10_000).await,
        ),
        (
            "BAD_USER_INPUT",
            confirm(&app, &viewer, &order_id, "", 10_000).await,
        ),
        (
            "BAD_USER_INPUT",
            confirm(&app, &viewer, &order_id, &long_key, 10_000).await,
        ),
        (
            "NOT_FOUND",
            cancel(&app, &viewer, "no-such-top-up", "k").await,
        ),
        ("BAD_USER_INPUT", cancel(&app, &viewer, &id, "").await),
    ];
    for (code, r) in cases {
        assert_eq!(r.code(), code, "{:?}", r.0);
        assert!(!r.message().is_empty());
    }
    // Another user's order is not theirs to confirm.
    assert_eq!(
        confirm(&app, &other, &order_id, &key, 10_000).await.code(),
        "NOT_FOUND"
    );
    assert_eq!(app.snapshot().await, before);
    // Unauthenticated: nothing at all.
    let r = app
        .gql(
            None,
            "mutation { prepareTopUp(amount: 10000) { orderId } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_declined_card_fails_the_top_up_credits_nothing_and_gives_the_limit_back() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("declined").await;
    let order_id = order(&app, &viewer, 100_000).await;
    let key = fake.pay(&order_id, 100_000);
    fake.decline(&key);
    let r = confirm(&app, &viewer, &order_id, &key, 100_000).await;
    assert_eq!(r.code(), "PAYMENT_FAILED", "{:?}", r.0);
    assert_eq!(
        r.0["errors"][0]["extensions"]["providerCode"],
        "REJECT_CARD_PAYMENT"
    );
    assert!(r.message().contains("잔액부족"), "{:?}", r.0);
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 0);
    assert_eq!(
        w["topUpLimit"]["usedToday"], 0,
        "the reservation is released"
    );
    let t = &w["topUps"]["nodes"][0];
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["failureCode"], "REJECT_CARD_PAYMENT");
    // The failed order cannot be confirmed again.
    let again = confirm(&app, &viewer, &order_id, &key, 100_000).await;
    assert_eq!(again.code(), "INVALID_STATE", "{:?}", again.0);
    assert_eq!(kinds(&wallet(&app, &viewer).await), vec![]);
    app.assert_audit_clean().await;

    // A top-up marked CONFIRMED without its credit is what the audit exists to catch.
    use sea_orm::ConnectionTrait;
    app.db
        .missions
        .execute_unprepared(&format!(
            "UPDATE top_ups SET status = 'CONFIRMED', confirmed_at = created_at \
             WHERE order_id = '{order_id}'"
        ))
        .await
        .expect("tamper");
    let out = app.audit().await;
    assert!(!out.status.success());
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("[top_up]"), "{report}");
}

#[tokio::test]
async fn a_confirm_the_provider_answers_too_late_is_settled_by_its_signed_webhook_once() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[
                ("PAYMENT_TIMEOUT_SECONDS", "1"),
                ("PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS", "1"),
            ],
        )
        .await;
    let viewer = app.register("slowpg").await;
    let order_id = order(&app, &viewer, 70_000).await;
    let key = fake.pay(&order_id, 70_000);
    fake.answer_confirms_after(Some(std::time::Duration::from_secs(3)));
    let r = confirm(&app, &viewer, &order_id, &key, 70_000).await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    assert_eq!(fake.payment(&key).taken, 1, "the provider took the payment");
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 0, "nothing credited without the provider's word");
    assert_eq!(w["topUps"]["nodes"][0]["status"], "CONFIRMING");
    assert_eq!(
        w["topUpLimit"]["usedToday"], 70_000,
        "the limit stays reserved"
    );

    // A forged delivery (wrong key) is refused and changes nothing.
    let before = app.snapshot().await;
    let forged = fake
        .deliver_webhook(&app.url(""), &key, "evt-forged", "not-the-secret")
        .await;
    assert_eq!(forged, 401);
    assert_eq!(app.snapshot().await, before);

    // The provider's webhook: the payment is DONE (looked up at the provider), credited once.
    let url = app.url("");
    assert_eq!(
        fake.deliver_webhook(&url, &key, "evt-1", WEBHOOK_SECRET)
            .await,
        200
    );
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 70_000);
    assert_eq!(w["topUps"]["nodes"][0]["status"], "CONFIRMED");
    // The same delivery again, and another delivery about the same payment (once the order's
    // look-up interval has passed): no second credit.
    assert_eq!(
        fake.deliver_webhook(&url, &key, "evt-1", WEBHOOK_SECRET)
            .await,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        fake.deliver_webhook(&url, &key, "evt-2", WEBHOOK_SECRET)
            .await,
        200
    );
    // And the client's retry of the confirm answers the settled top-up.
    fake.answer_confirms_after(None);
    let retried = confirm(&app, &viewer, &order_id, &key, 70_000)
        .await
        .data("confirmTopUp");
    assert_eq!(retried["status"], "CONFIRMED");
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 70_000);
    assert_eq!(kinds(&w), vec![("TOP_UP".to_owned(), 70_000)]);
    assert_eq!(fake.payment(&key).taken, 1);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_confirm_retried_after_a_timeout_settles_through_the_providers_idempotency() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_TIMEOUT_SECONDS", "1")],
        )
        .await;
    let viewer = app.register("retrier").await;
    let order_id = order(&app, &viewer, 20_000).await;
    let key = fake.pay(&order_id, 20_000);
    fake.answer_confirms_after(Some(std::time::Duration::from_secs(3)));
    let r = confirm(&app, &viewer, &order_id, &key, 20_000).await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    fake.answer_confirms_after(None);
    let t = confirm(&app, &viewer, &order_id, &key, 20_000)
        .await
        .data("confirmTopUp");
    assert_eq!(t["status"], "CONFIRMED");
    assert_eq!(
        fake.payment(&key).taken,
        1,
        "one payment taken for two confirms"
    );
    assert_eq!(wallet(&app, &viewer).await["cash"], 20_000);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_provider_outage_leaves_the_top_up_pending_until_a_confirm_gets_through() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("outage").await;
    let order_id = order(&app, &viewer, 15_000).await;
    let key = fake.pay(&order_id, 15_000);
    fake.confirm_outage(true);
    let r = confirm(&app, &viewer, &order_id, &key, 15_000).await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 0);
    assert_eq!(
        w["topUps"]["nodes"][0]["status"], "CONFIRMING",
        "a 500 is not a refusal"
    );
    fake.confirm_outage(false);
    let t = confirm(&app, &viewer, &order_id, &key, 15_000)
        .await
        .data("confirmTopUp");
    assert_eq!(t["status"], "CONFIRMED");
    assert_eq!(wallet(&app, &viewer).await["cash"], 15_000);
    assert_eq!(fake.taken(), 1);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_webhook_without_a_valid_signature_or_time_is_refused_with_nothing_changed() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let before = app.snapshot().await;
    let body = r#"{"eventType":"PAYMENT_STATUS_CHANGED","data":{}}"#;
    let old = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let stale_sig =
        missionlink_api::payments::webhook::sign(WEBHOOK_SECRET.as_bytes(), body.as_bytes(), &old);
    for (sig, time) in [
        (None, Some(chrono::Utc::now().to_rfc3339())),
        (
            Some("v1:AAAA".to_owned()),
            Some(chrono::Utc::now().to_rfc3339()),
        ),
        (Some(stale_sig), Some(old.clone())),
    ] {
        let mut req = app
            .http
            .post(app.url("/payments/webhook"))
            .header("tosspayments-webhook-transmission-id", "evt-x")
            .body(body);
        if let Some(sig) = sig {
            req = req.header("tosspayments-webhook-signature", sig);
        }
        if let Some(time) = time {
            req = req.header("tosspayments-webhook-transmission-time", time);
        }
        assert_eq!(req.send().await.expect("POST").status().as_u16(), 401);
    }
    assert_eq!(app.snapshot().await, before);
}

/// Toss does not sign payment-status deliveries: an unsigned one is a hint, acted on only
/// through the provider's own look-up, so a forged one changes nothing and a real one settles
/// the top-up it names, once.
#[tokio::test]
async fn an_unsigned_webhook_is_acted_on_only_through_the_providers_look_up() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[
                ("PAYMENT_TIMEOUT_SECONDS", "1"),
                ("PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS", "1"),
            ],
        )
        .await;
    let viewer = app.register("unsigned").await;
    let order_id = order(&app, &viewer, 60_000).await;
    let key = fake.pay(&order_id, 60_000);
    fake.answer_confirms_after(Some(std::time::Duration::from_secs(3)));
    let r = confirm(&app, &viewer, &order_id, &key, 60_000).await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    let unsigned = |payment_key: String, event: &'static str| {
        let body = json!({ "eventType": "PAYMENT_STATUS_CHANGED",
            "data": { "paymentKey": payment_key, "orderId": order_id, "status": "DONE" } })
        .to_string();
        let req = app
            .http
            .post(app.url("/payments/webhook"))
            .header("content-type", "application/json")
            .header("tosspayments-webhook-transmission-id", event)
            .body(body);
        async move { req.send().await.expect("POST").status().as_u16() }
    };
    // A forged delivery naming a payment the provider does not have: nothing moves.
    let before = app.snapshot().await;
    assert_eq!(unsigned("forged-key".into(), "evt-forged").await, 200);
    assert_eq!(wallet(&app, &viewer).await["cash"], 0);
    assert_eq!(app.snapshot().await, before);
    // The real payment: DONE at the provider, so it is credited, once (each delivery once the
    // order's look-up interval has passed).
    let interval = std::time::Duration::from_millis(1100);
    tokio::time::sleep(interval).await;
    assert_eq!(unsigned(key.clone(), "evt-real").await, 200);
    tokio::time::sleep(interval).await;
    assert_eq!(unsigned(key.clone(), "evt-real-again").await, 200);
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 60_000);
    assert_eq!(w["topUps"]["nodes"][0]["status"], "CONFIRMED");
    assert_eq!(fake.payment(&key).taken, 1);
    app.assert_audit_clean().await;
}

/// A refusal alone decides nothing: a confirm whose first answer was lost, retried through a
/// server whose secret key the provider no longer takes (401 on the confirm and on the
/// look-up), stays CONFIRMING with its limit reserved, and settles once the provider can be
/// asked again. And a server that cannot reach the top-up's provider refuses its withdrawal
/// before any won leave the wallet.
#[tokio::test]
async fn a_refusal_after_a_lost_answer_decides_nothing_and_an_unreachable_provider_withdraws_nothing()
 {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_TIMEOUT_SECONDS", "1")],
        )
        .await;
    let viewer = app.register("rotated").await;
    let order_id = order(&app, &viewer, 40_000).await;
    let key = fake.pay(&order_id, 40_000);
    fake.answer_confirms_after(Some(std::time::Duration::from_secs(3)));
    let r = confirm(&app, &viewer, &order_id, &key, 40_000).await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    fake.answer_confirms_after(None);

    let rotated = fake
        .app(
            app.dbs.shared(),
            &[("TOSS_SECRET_KEY", "test_sk_rotated_0000000000")],
        )
        .await;
    let r = confirm(&rotated, &viewer, &order_id, &key, 40_000).await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    let w = wallet(&app, &viewer).await;
    assert_eq!(
        w["topUps"]["nodes"][0]["status"], "CONFIRMING",
        "not FAILED: the payment was taken"
    );
    assert_eq!(w["topUpLimit"]["usedToday"], 40_000);

    let done = confirm(&app, &viewer, &order_id, &key, 40_000)
        .await
        .data("confirmTopUp");
    assert_eq!(done["status"], "CONFIRMED");
    assert_eq!(fake.payment(&key).taken, 1);
    assert_eq!(wallet(&app, &viewer).await["cash"], 40_000);

    let none = TestApp::spawn_with(app.dbs.shared(), &[("PAYMENT_PROVIDER", "none")]).await;
    let before = app.snapshot().await;
    let r = cancel(&none, &viewer, done["id"].as_str().expect("id"), "w-none").await;
    assert!(
        ["FORBIDDEN", "INVALID_STATE"].contains(&r.code().as_str()),
        "{:?}",
        r.0
    );
    assert_eq!(app.snapshot().await, before, "no won left the wallet");
    app.assert_audit_clean().await;
}

/// Twenty top-ups of 70,000 won at once against the 1,000,000-won limit: exactly fourteen
/// land (980,000 won), six are refused with what remains (20,000) and when it resets.
async fn twenty_racing_top_ups_stop_at_the_limit(app: &TestApp, fake: Option<&FakeToss>) {
    let viewer = app.register("racer").await;
    let answers: Vec<crate::support::Gql> = match fake {
        None => {
            let viewer = &viewer;
            let calls = (0..20)
                .map(|i| async move { app.top_up(viewer, 70_000, &format!("race-{i}")).await });
            futures::future::join_all(calls).await
        }
        Some(fake) => {
            let mut orders = Vec::new();
            for _ in 0..20 {
                let order_id = order(app, &viewer, 70_000).await;
                let key = fake.pay(&order_id, 70_000);
                orders.push((order_id, key));
            }
            let calls = orders
                .iter()
                .map(|(o, k)| confirm(app, &viewer, o, k, 70_000));
            futures::future::join_all(calls).await
        }
    };
    let refused: Vec<&crate::support::Gql> = answers
        .iter()
        .filter(|a| a.0.get("errors").is_some())
        .collect();
    assert_eq!(refused.len(), 6, "{answers:?}");
    let midnight = missionlink_ledger::topup::day::next_kst_midnight(chrono::Utc::now());
    for r in refused {
        assert_eq!(r.code(), "TOPUP_LIMIT_EXCEEDED", "{:?}", r.0);
        let ext = &r.0["errors"][0]["extensions"];
        assert_eq!(ext["remainingToday"], 20_000, "{ext}");
        assert_eq!(ext["limit"], 1_000_000, "{ext}");
        let retry_at =
            chrono::DateTime::parse_from_rfc3339(ext["retryAt"].as_str().expect("retryAt"))
                .expect("rfc3339");
        assert_eq!(retry_at, midnight, "the next midnight in Asia/Seoul");
    }
    let w = wallet(app, &viewer).await;
    assert_eq!(w["cash"], 980_000);
    assert_eq!(w["topUpLimit"]["usedToday"], 980_000);
    assert_eq!(w["topUpLimit"]["remainingToday"], 20_000);
    if let Some(fake) = fake {
        assert_eq!(fake.taken(), 14, "a refused top-up is never charged");
    }
    // prepareTopUp refuses early now, too.
    let early = prepare(app, &viewer, 30_000).await;
    assert_eq!(early.code(), "TOPUP_LIMIT_EXCEEDED", "{:?}", early.0);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn twenty_racing_confirms_never_pass_the_daily_limit_on_postgres() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    twenty_racing_top_ups_stop_at_the_limit(&app, Some(&fake)).await;
}

#[tokio::test]
async fn twenty_racing_sandbox_top_ups_never_pass_the_daily_limit_on_postgres() {
    let app = TestApp::spawn().await;
    twenty_racing_top_ups_stop_at_the_limit(&app, None).await;
}

#[tokio::test]
async fn twenty_racing_top_ups_never_pass_the_daily_limit_on_sqlite() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::sqlite(), &[]).await;
    twenty_racing_top_ups_stop_at_the_limit(&app, Some(&fake)).await;
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    twenty_racing_top_ups_stop_at_the_limit(&app, None).await;
}

#[tokio::test]
async fn an_unspent_top_up_is_withdrawn_within_the_window_once() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("withdrawer").await;
    let t = confirmed(&app, &fake, &viewer, 30_000).await;
    let id = t["id"].as_str().expect("id");
    let done = cancel(&app, &viewer, id, "w-1").await.data("cancelTopUp");
    assert_eq!(done["status"], "WITHDRAWN");
    assert!(done["withdrawnAt"].is_string());
    assert!(done["withdrawableUntil"].is_null());
    let key = fake
        .payment_key_of(t["orderId"].as_str().expect("order"))
        .expect("payment");
    assert_eq!(fake.payment(&key).status, "CANCELED");
    assert_eq!(fake.payment(&key).cancels, 1);
    // The same key again, or another key: the withdrawn top-up, no second debit or cancel.
    assert_eq!(
        cancel(&app, &viewer, id, "w-1").await.data("cancelTopUp"),
        done
    );
    assert_eq!(
        cancel(&app, &viewer, id, "w-2").await.data("cancelTopUp"),
        done
    );
    assert_eq!(fake.payment(&key).cancels, 1);
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 0);
    assert_eq!(
        kinds(&w),
        vec![
            ("WITHDRAWAL".to_owned(), -30_000),
            ("TOP_UP".to_owned(), 30_000)
        ]
    );
    // Each line names its top-up.
    let lines = app
        .gql(
            Some(&viewer.access),
            "{ wallet { transactions(kind: [TOP_UP, WITHDRAWAL]) { nodes { kind topUp { id status } } } } }",
            json!({}),
        )
        .await
        .data("wallet");
    for line in lines["transactions"]["nodes"].as_array().expect("nodes") {
        assert_eq!(line["topUp"]["id"], id, "{line}");
        assert_eq!(line["topUp"]["status"], "WITHDRAWN", "{line}");
    }
    // Another user cannot withdraw it.
    let other = app.register("notmine").await;
    assert_eq!(cancel(&app, &other, id, "w-3").await.code(), "NOT_FOUND");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_withdrawal_after_the_window_or_after_spending_is_refused_with_nothing_changed() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("latecomer").await;
    let streamer = app.register_as("spentonme", "STREAMER").await;

    // Eight days ago: past the 7-day window.
    let old = confirmed(&app, &fake, &viewer, 20_000).await;
    let old_id = old["id"].as_str().expect("id");
    use sea_orm::ConnectionTrait;
    app.db
        .missions
        .execute_unprepared(&format!(
            "UPDATE top_ups SET confirmed_at = confirmed_at - INTERVAL '8 days' WHERE id = '{old_id}'"
        ))
        .await
        .expect("age the top-up");
    let before = app.snapshot().await;
    let r = cancel(&app, &viewer, old_id, "late").await;
    assert_eq!(r.code(), "WITHDRAWAL_WINDOW_CLOSED", "{:?}", r.0);
    assert!(r.message().contains("7 days"), "{:?}", r.0);
    assert_eq!(app.snapshot().await, before);

    // Spent: 25,000 of the 40,000 won in the wallet went to a mission.
    let fresh = confirmed(&app, &fake, &viewer, 20_000).await;
    let fresh_id = fresh["id"].as_str().expect("id");
    app.new_mission(&viewer, &streamer.user_id, 25_000).await;
    let before = app.snapshot().await;
    let r = cancel(&app, &viewer, fresh_id, "spent").await;
    assert_eq!(r.code(), "TOPUP_ALREADY_SPENT", "{:?}", r.0);
    assert!(r.message().contains("15000 won"), "{:?}", r.0);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(wallet(&app, &viewer).await["cash"], 15_000);
    // Never confirmed: nothing to withdraw.
    let prepared = prepare(&app, &viewer, 5_000).await.data("prepareTopUp");
    let r = cancel(
        &app,
        &viewer,
        prepared["topUp"]["id"].as_str().expect("id"),
        "p",
    )
    .await;
    assert_eq!(r.code(), "INVALID_STATE", "{:?}", r.0);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_withdrawal_the_provider_answers_too_late_is_finished_by_a_retry_or_the_webhook() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_TIMEOUT_SECONDS", "1")],
        )
        .await;
    let viewer = app.register("slowcancel").await;
    fake.answer_cancels_after(Some(std::time::Duration::from_secs(3)));
    for (n, by_webhook) in [(0, false), (1, true)] {
        let t = confirmed(&app, &fake, &viewer, 10_000).await;
        let id = t["id"].as_str().expect("id");
        let key = fake
            .payment_key_of(t["orderId"].as_str().expect("order"))
            .expect("payment");
        let r = cancel(&app, &viewer, id, &format!("w{n}")).await;
        assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
        let w = wallet(&app, &viewer).await;
        assert_eq!(w["cash"], 0, "the won are held out of the wallet");
        assert_eq!(w["topUps"]["nodes"][0]["status"], "WITHDRAWING");
        assert_eq!(fake.payment(&key).status, "CANCELED");
        if by_webhook {
            let url = app.url("");
            assert_eq!(
                fake.deliver_webhook(&url, &key, &format!("evt-cancel-{n}"), WEBHOOK_SECRET)
                    .await,
                200
            );
            let w = wallet(&app, &viewer).await;
            assert_eq!(w["topUps"]["nodes"][0]["status"], "WITHDRAWN");
        } else {
            fake.answer_cancels_after(None);
            let done = cancel(&app, &viewer, id, &format!("w{n}"))
                .await
                .data("cancelTopUp");
            assert_eq!(done["status"], "WITHDRAWN");
            fake.answer_cancels_after(Some(std::time::Duration::from_secs(3)));
        }
        assert_eq!(fake.payment(&key).cancels, 1);
    }
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 0);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_cancel_the_provider_refuses_gives_the_won_back() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("uncancelable").await;
    let t = confirmed(&app, &fake, &viewer, 40_000).await;
    let key = fake
        .payment_key_of(t["orderId"].as_str().expect("order"))
        .expect("payment");
    fake.refuse_cancel(&key);
    let id = t["id"].as_str().expect("id");
    let r = cancel(&app, &viewer, id, "w").await;
    assert_eq!(r.code(), "WITHDRAWAL_REFUSED", "{:?}", r.0);
    let w = wallet(&app, &viewer).await;
    assert_eq!(w["cash"], 40_000);
    assert_eq!(
        kinds(&w),
        vec![
            ("WITHDRAWAL_RETURNED".to_owned(), 40_000),
            ("WITHDRAWAL".to_owned(), -40_000),
            ("TOP_UP".to_owned(), 40_000)
        ]
    );
    assert_eq!(w["topUps"]["nodes"][0]["status"], "CONFIRMED");
    assert_eq!(
        w["topUps"]["nodes"][0]["failureCode"],
        "NOT_CANCELABLE_PAYMENT"
    );
    for key in ["w", "w2"] {
        let again = cancel(&app, &viewer, id, key).await;
        assert_eq!(again.code(), "WITHDRAWAL_REFUSED", "{key}: {:?}", again.0);
    }
    assert_eq!(wallet(&app, &viewer).await["cash"], 40_000);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn withdrawal_on_sqlite_inside_and_outside_the_window() {
    // The sandbox provider (the dev default): confirm with any payment key.
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    let viewer = app.register("sqlitewithdraw").await;
    let order_id = order(&app, &viewer, 12_000).await;
    let t = confirm(&app, &viewer, &order_id, "sandbox-key-1", 12_000)
        .await
        .data("confirmTopUp");
    assert_eq!(t["provider"], "sandbox");
    let done = cancel(&app, &viewer, t["id"].as_str().expect("id"), "w")
        .await
        .data("cancelTopUp");
    assert_eq!(done["status"], "WITHDRAWN");
    assert_eq!(wallet(&app, &viewer).await["cash"], 0);
    app.assert_audit_clean().await;

    let closed =
        TestApp::spawn_with(TestDatabases::sqlite(), &[("TOPUP_WITHDRAWAL_DAYS", "0")]).await;
    let viewer = closed.register("sqliteclosed").await;
    let order_id = order(&closed, &viewer, 12_000).await;
    let t = confirm(&closed, &viewer, &order_id, "sandbox-key-2", 12_000)
        .await
        .data("confirmTopUp");
    let before = closed.snapshot().await;
    let r = cancel(&closed, &viewer, t["id"].as_str().expect("id"), "w").await;
    assert_eq!(r.code(), "WITHDRAWAL_WINDOW_CLOSED", "{:?}", r.0);
    assert_eq!(closed.snapshot().await, before);
    closed.assert_audit_clean().await;
}

/// Registers a user with `locale`, under a handle of this run's own.
async fn register_in(app: &TestApp, stem: &str, locale: &str) -> Session {
    let handle = format!("{stem}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let email = format!("{handle}@example.com");
    app.register_with(
        json!({ "email": email, "password": PASSWORD, "handle": handle,
                              "role": "VIEWER", "locale": locale }),
    )
    .await
}

async fn receipts_are_sent_once_per_event(
    app: &TestApp,
    worker: &crate::support::TestWorker,
    locale: &str,
    amount: i64,
) {
    let viewer = register_in(app, "receipt", locale).await;
    let order_id = order(app, &viewer, amount).await;
    let t = confirm(
        app,
        &viewer,
        &order_id,
        &format!("sandbox-{order_id}"),
        amount,
    )
    .await
    .data("confirmTopUp");
    cancel(app, &viewer, t["id"].as_str().expect("id"), "w")
        .await
        .data("cancelTopUp");
    let shown = missionlink_workflows::email::won(amount);
    let mine = |mail: Vec<crate::support::Mail>| -> Vec<crate::support::Mail> {
        mail.into_iter()
            .filter(|m| m.to.contains(&viewer.email))
            .collect()
    };
    // moto keeps every test's mail: wait for this user's own two.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mail = loop {
        let mail = mine(worker.mail_about(&shown).await);
        if mail.len() >= 2 || tokio::time::Instant::now() > deadline {
            break mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(mail.len(), 2, "{mail:?}");
    let (paid, withdrawn) = if locale == "ko" {
        ("캐시 충전 영수증", "청약 철회")
    } else {
        ("Top-up receipt", "withdrawn")
    };
    let receipt = mail
        .iter()
        .find(|m| m.subject.contains(paid))
        .expect("payment receipt");
    for part in [
        " KST",
        "MissionLink",
        "support@missionlink.local",
        order_id.as_str(),
    ] {
        assert!(receipt.body.contains(part), "{part}: {}", receipt.body);
    }
    let objection = if locale == "ko" {
        "이의 제기"
    } else {
        "To object"
    };
    assert!(receipt.body.contains(objection), "{}", receipt.body);
    assert!(
        mail.iter().any(|m| m.subject.contains(withdrawn)),
        "{mail:?}"
    );
    // Rounds later, still one of each.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(mine(worker.mail_about(&shown).await).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_go_out_once_as_eml_files() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_file_worker().await;
    receipts_are_sent_once_per_event(&app, &worker, "ko", 13_579).await;
    worker.stop().await;
    app.assert_audit_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_go_out_once_through_ses() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    receipts_are_sent_once_per_event(&app, &worker, "en", 24_681).await;
    worker.stop().await;
    app.assert_audit_clean().await;
}

/// Polls `viewer`'s newest top-up until its status is `status` (at most 30 s).
async fn wait_for_status(app: &TestApp, viewer: &Session, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let w = wallet(app, viewer).await;
        if w["topUps"]["nodes"][0]["status"] == status {
            // One query reads the balance before the list, so a change committed between the
            // two shows the new status beside the old balance: read again once it shows.
            return wallet(app, viewer).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {status}: {w}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_settles_a_confirm_and_finishes_a_withdrawal_nobody_reported_back() {
    let fake = FakeToss::start().await;
    let env = fake.env();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend([
        ("PAYMENT_TIMEOUT_SECONDS", "1"),
        ("TOPUP_RECONCILE_AFTER_SECONDS", "1"),
    ]);
    let app = TestApp::with_temporal(&all).await;
    let worker = app.start_file_worker().await;
    let viewer = app.register("reconciled").await;

    // The provider takes the payment but its answer never reaches the client, and no webhook
    // comes: the worker asks again (same idempotency key) and credits it once.
    let order_id = order(&app, &viewer, 11_000).await;
    let key = fake.pay(&order_id, 11_000);
    fake.answer_confirms_after(Some(std::time::Duration::from_secs(3)));
    let r = confirm(&app, &viewer, &order_id, &key, 11_000).await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    fake.answer_confirms_after(None);
    let w = wait_for_status(&app, &viewer, "CONFIRMED").await;
    assert_eq!(w["cash"], 11_000);
    assert_eq!(fake.payment(&key).taken, 1);

    // The same for a withdrawal's cancel.
    fake.answer_cancels_after(Some(std::time::Duration::from_secs(3)));
    let id = w["topUps"]["nodes"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = cancel(&app, &viewer, &id, "w").await;
    assert_eq!(r.code(), "PAYMENT_PENDING", "{:?}", r.0);
    fake.answer_cancels_after(None);
    let w = wait_for_status(&app, &viewer, "WITHDRAWN").await;
    assert_eq!(w["cash"], 0);
    assert_eq!(fake.payment(&key).cancels, 1);
    // And each event's receipt, once.
    let mail = worker
        .wait_for_mail(&missionlink_workflows::email::won(11_000), 2)
        .await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    worker.stop().await;
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn production_refuses_the_sandbox_payment_provider_and_runs_with_toss() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
        .arg("audit")
        .env_clear()
        .env("APP_ENV", "production")
        .env("JWT_SECRET", crate::support::TEST_JWT_SECRET)
        .env("PAYMENT_PROVIDER", "sandbox")
        .output()
        .await
        .expect("run missionlink");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PAYMENT_PROVIDER"), "{stderr}");

    // Production without a provider: no top-ups through one.
    let none = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("APP_ENV", "production")],
    )
    .await;
    let viewer = none.register("prodnone").await;
    assert_eq!(prepare(&none, &viewer, 10_000).await.code(), "FORBIDDEN");

    // Production with Toss configured: the real flow, against the local server.
    let fake = FakeToss::start().await;
    let prod = fake
        .app(
            TestDatabases::postgres().await,
            &[("APP_ENV", "production")],
        )
        .await;
    let viewer = prod.register("prodtoss").await;
    let t = confirmed(&prod, &fake, &viewer, 10_000).await;
    assert_eq!(t["status"], "CONFIRMED");
    assert_eq!(
        prod.top_up(&viewer, 10_000, "free").await.code(),
        "FORBIDDEN"
    );
    prod.assert_audit_clean().await;
}
