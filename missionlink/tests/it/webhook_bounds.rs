//! The payment webhook's bounds (issue 23, defects 2 and 3, and the weaker points beside them),
//! on Postgres and SQLite, through real HTTP against the local server that speaks Toss
//! Payments' documented API (`fake_toss.rs`): deliveries naming nothing of ours are answered and
//! stored nowhere, whatever their size; one client's flood is throttled; an order's payment is
//! looked up at most once per `PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS`; refusals quote no
//! parser; and a provider whose word disagrees with the order (another amount) leaves no top-up
//! stuck and no confirm answering an internal error: the top-up fails with nothing credited and
//! the word is kept for an operator.

use crate::fake_toss::{FakeToss, WEBHOOK_SECRET};
use crate::support::{Session, TestApp, TestDatabases};
use crate::topup_edges::{confirm, order_id};
use missionlink_entities::missions::{payment_discrepancy, payment_webhook_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

/// What the wallet shows: cash, the newest top-up's status and failure, the day's usage.
async fn wallet(app: &TestApp, who: &Session) -> serde_json::Value {
    app.gql(
        Some(&who.access),
        "{ wallet { cash topUps(first: 1) { nodes { status failureCode } } topUpLimit { usedToday } } }",
        json!({}),
    )
    .await
    .data("wallet")
}

/// Posts `body` unsigned as delivery `event_id`: the HTTP status, `Retry-After` and the text.
async fn post(app: &TestApp, event_id: &str, body: String) -> (u16, Option<String>, String) {
    let r = app
        .http
        .post(app.url("/payments/webhook"))
        .header("content-type", "application/json")
        .header("tosspayments-webhook-transmission-id", event_id)
        .body(body)
        .send()
        .await
        .expect("POST /payments/webhook");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, retry, r.text().await.expect("text"))
}

fn hint(order_id: &str, payment_key: &str) -> String {
    json!({ "eventType": "PAYMENT_STATUS_CHANGED",
            "data": { "paymentKey": payment_key, "orderId": order_id, "status": "DONE" } })
    .to_string()
}

async fn stored_deliveries(app: &TestApp) -> u64 {
    payment_webhook_event::Entity::find()
        .count(&app.db.missions)
        .await
        .expect("count")
}

/// Look-ups the provider received (`GET /v1/payments/<key>`).
fn look_ups(fake: &FakeToss) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.starts_with("GET /v1/payments/"))
        .count()
}

async fn the_webhook_stays_bounded(dbs: TestDatabases) {
    let fake = FakeToss::start().await;
    let app = fake.app(dbs, &[("PAYMENT_TIMEOUT_SECONDS", "1")]).await;

    // Defect 2: 120 unsigned deliveries naming nothing of ours, each with a 60 KB event type:
    // answered (the provider must not resend them), stored nowhere, the provider never asked.
    let before = app.snapshot().await;
    let huge = "X".repeat(60_000);
    for n in 0..120 {
        let body = json!({ "eventType": huge, "data": { "orderId": format!("nope-{n}"), "paymentKey": "tgen_x" } })
            .to_string();
        let (status, _, _) = post(&app, &format!("junk-{n}"), body).await;
        assert_eq!(status, 200, "delivery {n}");
    }
    let (status, _, _) = post(
        &app,
        "junk-type",
        hint("nope", "tgen_x").replace("PAYMENT_STATUS_CHANGED", "OTHER"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        stored_deliveries(&app).await,
        0,
        "strangers filled the table"
    );
    assert_eq!(look_ups(&fake), 0);
    assert_eq!(app.snapshot().await, before);

    // Defect 3: refusals quote no parser and name no type.
    for (body, event) in [
        ("\"x\"".to_owned(), "bad-1"),
        ("{\"eventType\": 5}".to_owned(), "bad-2"),
        ("not json".to_owned(), "bad-3"),
    ] {
        let (status, _, text) = post(&app, event, body).await;
        assert_eq!(status, 400);
        for leak in [
            "invalid type",
            "line",
            "column",
            "struct",
            "expected value",
            "Event",
        ] {
            assert!(!text.contains(leak), "{text:?} quotes the parser ({leak})");
        }
    }

    // An order's payment is looked up at most once per interval, however many hints name it;
    // the others are 429 with Retry-After (the provider resends), nothing stored for them.
    let viewer = app.register("hinted").await;
    let order = order_id(&app, &viewer, 40_000).await;
    let key = fake.pay(&order, 40_000);
    fake.answer_confirms_after(Some(std::time::Duration::from_secs(3)));
    assert_eq!(
        confirm(&app, &viewer, &order, &key, 40_000).await.code(),
        "PAYMENT_PENDING"
    );
    fake.answer_confirms_after(None);
    let looked = look_ups(&fake);
    let mut answers = Vec::new();
    for n in 0..10 {
        answers.push(post(&app, &format!("hint-{n}"), hint(&order, &key)).await);
    }
    assert_eq!(answers[0].0, 200, "{answers:?}");
    for (status, retry, _) in &answers[1..] {
        assert_eq!(*status, 429);
        assert_eq!(retry.as_deref(), Some("10"), "the default interval");
    }
    assert_eq!(look_ups(&fake) - looked, 1, "one look-up for ten hints");
    assert_eq!(
        stored_deliveries(&app).await,
        1,
        "only the handled one is recorded"
    );
    assert_eq!(wallet(&app, &viewer).await["cash"], 40_000, "settled once");

    // The provider's word disagrees with the order (another amount). Confirm: a clear code,
    // never INTERNAL_SERVER_ERROR; the top-up FAILED, nothing credited, the day's limit free,
    // the word kept for an operator.
    let cheat = app.register("misreported").await;
    let order = order_id(&app, &cheat, 50_000).await;
    let key = fake.pay(&order, 50_000);
    fake.misreport(&key, 70_000);
    let r = confirm(&app, &cheat, &order, &key, 50_000).await;
    assert_eq!(r.code(), "PAYMENT_UNDER_REVIEW", "{}", r.0);
    let again = confirm(&app, &cheat, &order, &key, 50_000).await;
    assert_ne!(again.code(), "INTERNAL_SERVER_ERROR", "{}", again.0);
    assert_ne!(again.code(), "", "{}", again.0);
    let w = wallet(&app, &cheat).await;
    assert_eq!(w["cash"], 0);
    assert_eq!(w["topUps"]["nodes"][0]["status"], "FAILED");
    assert_eq!(w["topUps"]["nodes"][0]["failureCode"], "PROVIDER_MISMATCH");
    assert_eq!(w["topUpLimit"]["usedToday"], 0);

    // Webhook: a top-up left CONFIRMING (the confirm's answer lost) whose payment the provider
    // then reports for another amount is answered 200 (not 503 for days), failed, kept once.
    let late = app.register("latepayer").await;
    let order = order_id(&app, &late, 60_000).await;
    let key = fake.pay(&order, 60_000);
    fake.answer_confirms_after(Some(std::time::Duration::from_secs(3)));
    assert_eq!(
        confirm(&app, &late, &order, &key, 60_000).await.code(),
        "PAYMENT_PENDING"
    );
    fake.answer_confirms_after(None);
    fake.misreport(&key, 90_000);
    let url = app.url("");
    assert_eq!(
        fake.deliver_webhook(&url, &key, "evt-disagree", WEBHOOK_SECRET)
            .await,
        200
    );
    let w = wallet(&app, &late).await;
    assert_eq!(w["cash"], 0);
    assert_eq!(w["topUps"]["nodes"][0]["status"], "FAILED");
    let kept = payment_discrepancy::Entity::find()
        .all(&app.db.missions)
        .await
        .expect("discrepancies");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter()
            .any(|d| d.provider_amount == 90_000 && d.payment_key == key)
    );
    assert!(kept.iter().any(|d| d.provider_amount == 70_000));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn the_webhook_stays_bounded_on_postgres() {
    the_webhook_stays_bounded(TestDatabases::postgres().await).await;
}

#[tokio::test]
async fn the_webhook_stays_bounded_on_sqlite() {
    the_webhook_stays_bounded(TestDatabases::sqlite()).await;
}

/// One client's flood is throttled at `PAYMENT_WEBHOOK_MAX_PER_CLIENT`: past it every delivery
/// is 429 with `Retry-After`, read nowhere.
#[tokio::test]
async fn one_clients_flood_is_throttled() {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[
                ("PAYMENT_WEBHOOK_MAX_PER_CLIENT", "20"),
                ("PAYMENT_WEBHOOK_WINDOW_SECONDS", "60"),
            ],
        )
        .await;
    let mut statuses = Vec::new();
    for n in 0..30 {
        let (status, retry, _) = post(&app, &format!("flood-{n}"), hint("nope", "tgen_x")).await;
        if status == 429 {
            let seconds: i64 = retry.expect("Retry-After").parse().expect("seconds");
            assert!((1..=60).contains(&seconds), "{seconds}");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10);
    assert_eq!(stored_deliveries(&app).await, 0);
}

/// A payment taken for an order past `TOPUP_ORDER_TTL_SECONDS` (confirmed outside this server,
/// which never confirms an expired order): the webhook answers 200, not 503 for days, and
/// credits nothing.
#[tokio::test]
async fn a_payment_for_an_expired_order_is_answered_and_never_credited() {
    use base64::Engine;
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register("expiredpayer").await;
    let ttl = app.config.topups.rules.order_ttl_seconds;
    let stale = missionlink_ledger::topup::order::prepare(
        &app.db.missions,
        &viewer.user_id,
        &viewer.user_id,
        false,
        10_000,
        "toss",
        &app.config.topups.rules,
        chrono::Utc::now() - chrono::Duration::seconds(ttl + 1),
    )
    .await
    .expect("an old order");
    let key = fake.pay(&stale.order_id, 10_000);
    let taken = reqwest::Client::new()
        .post(format!("{}/v1/payments/confirm", fake.url()))
        .header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:", crate::fake_toss::SECRET_KEY))
            ),
        )
        .json(&json!({ "paymentKey": key, "orderId": stale.order_id, "amount": 10_000 }))
        .send()
        .await
        .expect("confirm at the provider");
    assert!(taken.status().is_success());
    assert_eq!(
        fake.deliver_webhook(&app.url(""), &key, "evt-expired", WEBHOOK_SECRET)
            .await,
        200
    );
    assert_eq!(wallet(&app, &viewer).await["cash"], 0, "credited");
    let kept = payment_discrepancy::Entity::find()
        .all(&app.db.missions)
        .await
        .expect("discrepancies");
    assert_eq!(kept.len(), 1, "kept for an operator to refund: {kept:?}");
    assert_eq!(kept[0].order_id, stale.order_id);
    // The sweep deletes the expired order; the record of its payment stays.
    missionlink_workflows::payments::expiry::round(&app.db.missions, &app.config.topups.rules)
        .await
        .expect("sweep");
    assert_eq!(
        payment_discrepancy::Entity::find()
            .count(&app.db.missions)
            .await
            .expect("count"),
        1
    );
    app.assert_audit_clean().await;
}
