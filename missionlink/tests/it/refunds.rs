//! Refunds (issue 26, item 3), through real HTTP against the local Toss (`fake_toss.rs`): a
//! partial withdrawal of a top-up (`cancelTopUp` with `amount`, Toss's `cancelAmount`), exact to
//! the won and up to what is unspent.

use crate::fake_toss::{FakeToss, WEBHOOK_SECRET};
use crate::support::{Gql, Session, TestApp, TestDatabases};
use serde_json::json;

/// A confirmed top-up of `amount` through the provider: its id and payment key.
pub async fn paid_top_up(
    app: &TestApp,
    fake: &FakeToss,
    who: &Session,
    amount: i64,
) -> (String, String) {
    let order = app
        .gql(
            Some(&who.access),
            "mutation($a: Int!) { prepareTopUp(amount: $a) { orderId } }",
            json!({ "a": amount }),
        )
        .await
        .data("prepareTopUp")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned();
    let key = fake.pay(&order, amount);
    let t = app
        .gql(
            Some(&who.access),
            "mutation($o: String!, $k: String!, $a: Int!) {
               confirmTopUp(orderId: $o, paymentKey: $k, amount: $a) { id status } }",
            json!({ "o": order, "k": key, "a": amount }),
        )
        .await
        .data("confirmTopUp");
    assert_eq!(t["status"], "CONFIRMED");
    (t["id"].as_str().expect("id").to_owned(), key)
}

async fn withdraw(app: &TestApp, who: &Session, id: &str, amount: Option<i64>, key: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($id: ID!, $a: Int, $k: String!) {
           cancelTopUp(topUpId: $id, amount: $a, idempotencyKey: $k) {
             id status amount withdrawnAmount withdrawnAt } }",
        json!({ "id": id, "a": amount, "k": key }),
    )
    .await
}

async fn cash(app: &TestApp, who: &Session) -> i64 {
    app.wallet(who).await["cash"].as_i64().expect("cash")
}

#[tokio::test]
async fn part_of_a_top_up_is_withdrawn_exactly_up_to_what_is_unspent() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[("PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS", "1")],
        )
        .await;
    let streamer = app.register_as("partstreamer", "STREAMER").await;
    let viewer = app.register("partviewer").await;
    let (id, key) = paid_top_up(&app, &fake, &viewer, 50_000).await;
    app.new_mission(&viewer, &streamer.user_id, 30_001).await;
    assert_eq!(cash(&app, &viewer).await, 19_999);

    // More than is unspent, none, or more than the top-up: refused, nothing changed, the
    // provider not asked.
    let before = app.snapshot().await;
    let spent = withdraw(&app, &viewer, &id, Some(20_000), "w-1").await;
    assert_eq!(spent.code(), "TOPUP_ALREADY_SPENT", "{:?}", spent.0);
    assert!(spent.message().contains("at most 19999 won"), "{}", spent.message());
    for bad in [0, -5, 50_001] {
        assert_eq!(
            withdraw(&app, &viewer, &id, Some(bad), &format!("w-bad-{bad}"))
                .await
                .code(),
            "BAD_USER_INPUT"
        );
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(fake.payment(&key).cancels, 0);

    // Exactly what is unspent: the provider cancels that much of the payment, and no more.
    let w = withdraw(&app, &viewer, &id, Some(19_999), "w-2")
        .await
        .data("cancelTopUp");
    assert_eq!(w["status"], "WITHDRAWN");
    assert_eq!(w["amount"], 50_000);
    assert_eq!(w["withdrawnAmount"], 19_999);
    let p = fake.payment(&key);
    assert_eq!((p.status, p.cancelled, p.cancels), ("PARTIAL_CANCELED", 19_999, 1));
    assert_eq!(cash(&app, &viewer).await, 0);
    // The same request again answers it; another key finds it withdrawn: one withdrawal.
    let again = withdraw(&app, &viewer, &id, Some(19_999), "w-2")
        .await
        .data("cancelTopUp");
    assert_eq!(again, w);
    let other = withdraw(&app, &viewer, &id, Some(5), "w-3")
        .await
        .data("cancelTopUp");
    assert_eq!(other["withdrawnAmount"], 19_999);
    assert_eq!(fake.payment(&key).cancels, 1);
    app.assert_audit_clean().await;

    // The provider's webhook about our own partial cancel opens no case.
    assert_eq!(
        fake.deliver_webhook(&app.url(""), &key, "evt-own", WEBHOOK_SECRET)
            .await,
        200
    );
    let ops = crate::disputes::operator(&app, "refundops").await;
    let open = || async {
        crate::reconciliation::open_cases(&app, &ops)
            .await
            .iter()
            .map(|c| (c["kind"].as_str().expect("kind").to_owned(), c["amount"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(open().await, vec![]);
    // The rest cancelled at the provider behind our back is a case for the rest only.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    fake.cancel_at_provider(&key, None);
    assert_eq!(
        fake.deliver_webhook(&app.url(""), &key, "evt-rest", WEBHOOK_SECRET)
            .await,
        200
    );
    assert_eq!(
        open().await,
        vec![("TOPUP_CANCELLED_AT_PROVIDER".to_owned(), json!(30_001))]
    );
    app.assert_audit_clean().await;
}
