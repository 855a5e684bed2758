//! Top-ups at their edges, from an outside attack (issue 23), through real HTTP against the
//! local server that speaks Toss Payments' API (`fake_toss.rs`): payment keys that would climb
//! out of the provider's `/v1/payments/` path, a payment key of another order, `prepareTopUp`
//! past its per-user throttle, orders nobody confirmed within `TOPUP_ORDER_TTL_SECONDS`, and
//! the overlay link under a forged `Host`. Each on Postgres and SQLite where it touches the
//! database.

use crate::fake_toss::FakeToss;
use crate::support::{Gql, Session, TestApp, TestDatabases};
use chrono::Utc;
use missionlink_entities::missions::top_up;
use missionlink_ledger::status::TopUpStatus;
use missionlink_ledger::topup::{day, order};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

async fn prepare(app: &TestApp, who: &Session, amount: i64) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($a: Int!) { prepareTopUp(amount: $a) { orderId topUp { id status } } }",
        json!({ "a": amount }),
    )
    .await
}

pub(crate) async fn order_id(app: &TestApp, who: &Session, amount: i64) -> String {
    prepare(app, who, amount).await.data("prepareTopUp")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned()
}

pub(crate) async fn confirm(
    app: &TestApp,
    who: &Session,
    order_id: &str,
    key: &str,
    amount: i64,
) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($o: String!, $k: String!, $a: Int!) {
           confirmTopUp(orderId: $o, paymentKey: $k, amount: $a) { id status } }",
        json!({ "o": order_id, "k": key, "a": amount }),
    )
    .await
}

async fn top_up_rows(app: &TestApp) -> u64 {
    top_up::Entity::find()
        .count(&app.db.missions)
        .await
        .expect("count top-ups")
}

/// Keys that are no Toss payment key: each would name another resource in
/// `/v1/payments/{paymentKey}` (`..` is `GET /v1/`, with our secret key).
const CLIMBING_KEYS: &[&str] = &[
    "..",
    ".",
    "../..",
    "%2e%2e",
    "%2E%2E",
    "tgen_1/../../v1",
    "tgen_1?x=1",
    "tgen_1#x",
    "tgen 1",
];

async fn a_payment_key_outside_the_providers_alphabet_is_never_sent(dbs: TestDatabases) {
    let fake = FakeToss::start().await;
    let app = fake.app(dbs, &[]).await;
    let viewer = app.register(&unique("climber")).await;
    let order_id = order_id(&app, &viewer, 10_000).await;
    let before = app.snapshot().await;
    for key in CLIMBING_KEYS {
        let r = confirm(&app, &viewer, &order_id, key, 10_000).await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{key}: {:?}", r.0);
        assert!(r.message().contains("paymentKey"), "{key}: {:?}", r.0);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "nothing changed, no limit reserved"
    );
    // An unsigned webhook naming such a key, for a real order, is not looked up either.
    for (n, key) in CLIMBING_KEYS.iter().enumerate() {
        let body = json!({ "eventType": "PAYMENT_STATUS_CHANGED",
            "data": { "paymentKey": key, "orderId": order_id, "status": "DONE" } });
        let status = app
            .http
            .post(app.url("/payments/webhook"))
            .header("content-type", "application/json")
            .header(
                "tosspayments-webhook-transmission-id",
                format!("evt-climb-{n}"),
            )
            .body(body.to_string())
            .send()
            .await
            .expect("POST /payments/webhook")
            .status();
        assert_eq!(status, 200, "{key}");
    }
    assert_eq!(
        fake.requests(),
        Vec::<String>::new(),
        "the provider was never asked"
    );
    // The order is still good with its real key.
    let key = fake.pay(&order_id, 10_000);
    let t = confirm(&app, &viewer, &order_id, &key, 10_000)
        .await
        .data("confirmTopUp");
    assert_eq!(t["status"], "CONFIRMED");
    assert_eq!(
        fake.requests(),
        vec!["POST /v1/payments/confirm".to_owned()]
    );
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_payment_key_outside_the_providers_alphabet_is_never_sent_on_postgres() {
    a_payment_key_outside_the_providers_alphabet_is_never_sent(TestDatabases::postgres().await)
        .await;
}

#[tokio::test]
async fn a_payment_key_outside_the_providers_alphabet_is_never_sent_on_sqlite() {
    a_payment_key_outside_the_providers_alphabet_is_never_sent(TestDatabases::sqlite()).await;
}

/// A top-up stored CONFIRMING with such a key before keys were checked (its day's limit
/// reserved, stuck: every look-up went to `GET /v1/`): the worker's reconciliation fails it and
/// gives the reservation back, without sending the key anywhere.
#[tokio::test]
async fn a_top_up_stuck_with_such_a_key_is_failed_and_its_limit_released_without_asking() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register(&unique("stuck")).await;
    let order_id = order_id(&app, &viewer, 20_000).await;
    let db = &app.db.missions;
    let row = order::by_order(db, &order_id)
        .await
        .expect("read")
        .expect("order");
    let now = Utc::now();
    let today = day::day_key(day::kst_day(now));
    top_up::ActiveModel {
        id: Set(row.id.clone()),
        status: Set(TopUpStatus::Confirming),
        payment_key: Set(Some("..".into())),
        kst_day: Set(Some(today.clone())),
        confirming_at: Set(Some(now - chrono::Duration::minutes(5))),
        ..Default::default()
    }
    .update(db)
    .await
    .expect("store the stuck top-up");
    let txn = sea_orm::TransactionTrait::begin(db).await.expect("txn");
    // Under the key the order counts against (its person: the test support verifies everyone).
    day::reserve(&txn, row.limit_key(), 20_000, 1_000_000, now)
        .await
        .expect("reserve");
    txn.commit().await.expect("commit");

    let reconciler = reconciler(&app);
    assert_eq!(
        missionlink_workflows::payments::reconcile::round(&reconciler)
            .await
            .expect("round"),
        1
    );
    let t = order::by_order(db, &order_id)
        .await
        .expect("read")
        .expect("order");
    assert_eq!(t.status, TopUpStatus::Failed);
    assert_eq!(t.failure_code.as_deref(), Some("INVALID_REQUEST"));
    let usage = day::usage(db, t.limit_key(), 1_000_000, Utc::now())
        .await
        .expect("usage");
    assert_eq!(usage.used_won, 0, "the reservation is given back");
    assert_eq!(fake.requests(), Vec::<String>::new(), "nothing was sent");
    app.assert_audit_clean().await;
}

/// The worker's reconciliation of `app`'s top-ups, as the worker runs it.
fn reconciler(app: &TestApp) -> missionlink_workflows::payments::reconcile::Reconciler {
    missionlink_workflows::payments::reconcile::Reconciler::new(
        app.db.missions.clone(),
        app.config
            .topups
            .provider
            .as_ref()
            .expect("toss")
            .connect(std::time::Duration::from_secs(5))
            .expect("connect"),
        std::time::Duration::from_secs(1),
        app.config.topups.rules,
    )
}

/// Top-ups the provider keeps answering nothing for, more than one round takes, do not hold
/// back a newer one: each round goes on where the last one stopped.
#[tokio::test]
async fn the_reconciliation_reaches_every_stuck_top_up_however_many_stay_pending() {
    use missionlink_workflows::payments::reconcile::{BATCH, round};
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let viewer = app.register(&unique("queue")).await;
    let db = &app.db.missions;
    let now = Utc::now();
    let stuck = usize::try_from(BATCH).expect("a batch") + 1;
    let mut keys = Vec::new();
    for i in 0..=stuck {
        let order_id = order_id(&app, &viewer, 1_000).await;
        let key = fake.pay(&order_id, 1_000);
        let newest = i == stuck;
        if !newest {
            fake.stall(&key);
        }
        let row = order::by_order(db, &order_id)
            .await
            .expect("read")
            .expect("order");
        // Oldest first; each waited past TOPUP_RECONCILE_AFTER_SECONDS.
        let minutes = i64::try_from(100 - i).expect("minutes");
        let txn = sea_orm::TransactionTrait::begin(db).await.expect("txn");
        top_up::ActiveModel {
            id: Set(row.id.clone()),
            status: Set(TopUpStatus::Confirming),
            payment_key: Set(Some(key.clone())),
            kst_day: Set(Some(day::day_key(day::kst_day(now)))),
            confirming_at: Set(Some(now - chrono::Duration::minutes(minutes))),
            ..Default::default()
        }
        .update(&txn)
        .await
        .expect("store the stuck top-up");
        day::reserve(&txn, &viewer.user_id, 1_000, 1_000_000, now)
            .await
            .expect("reserve");
        txn.commit().await.expect("commit");
        keys.push((order_id, newest));
    }
    let reconciler = reconciler(&app);
    // As many rounds as it takes to pass them all once.
    for _ in 0..2 {
        round(&reconciler).await.expect("round");
    }
    for (order_id, newest) in &keys {
        let t = order::by_order(db, order_id)
            .await
            .expect("read")
            .expect("order");
        let expected = if *newest {
            TopUpStatus::Confirmed
        } else {
            TopUpStatus::Confirming
        };
        assert_eq!(t.status, expected, "{order_id}");
    }
    assert_eq!(app.wallet(&viewer).await["cash"], 1_000);
    // Having passed the newest, the next round starts over at the oldest.
    let asked = fake.confirm_requests();
    round(&reconciler).await.expect("round");
    assert_eq!(
        fake.confirm_requests() - asked,
        u32::try_from(BATCH).expect("a batch"),
        "a full page again, from the start"
    );
    app.assert_audit_clean().await;
}

async fn another_orders_payment_key_is_refused_without_saying_whose(dbs: TestDatabases) {
    let fake = FakeToss::start().await;
    let app = fake.app(dbs, &[]).await;
    let payer = app.register(&unique("payer")).await;
    let paid = order_id(&app, &payer, 10_000).await;
    let key = fake.pay(&paid, 10_000);
    let t = confirm(&app, &payer, &paid, &key, 10_000)
        .await
        .data("confirmTopUp");
    assert_eq!(t["status"], "CONFIRMED");

    let stranger = app.register(&unique("prober")).await;
    let probe = order_id(&app, &stranger, 10_000).await;
    let asked = fake.requests().len();
    let before = app.snapshot().await;
    let r = confirm(&app, &stranger, &probe, &key, 10_000).await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{:?}", r.0);
    assert!(r.message().contains("not this order"), "{:?}", r.0);
    assert!(
        !r.message().contains(&key) && !r.message().contains(&paid),
        "names neither the key nor its order: {:?}",
        r.0
    );
    assert_eq!(app.snapshot().await, before, "nothing changed");
    assert_eq!(fake.requests().len(), asked, "the provider was not asked");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn another_orders_payment_key_is_refused_without_saying_whose_on_postgres() {
    another_orders_payment_key_is_refused_without_saying_whose(TestDatabases::postgres().await)
        .await;
}

#[tokio::test]
async fn another_orders_payment_key_is_refused_without_saying_whose_on_sqlite() {
    another_orders_payment_key_is_refused_without_saying_whose(TestDatabases::sqlite()).await;
}

/// `extensions.retryAt` of a refusal, checked to lie within the window from now.
fn retry_at(r: &Gql, window_seconds: i64) -> chrono::DateTime<Utc> {
    let at = r.0["errors"][0]["extensions"]["retryAt"]
        .as_str()
        .unwrap_or_else(|| panic!("no retryAt: {}", r.0));
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .expect("RFC 3339")
        .with_timezone(&Utc);
    let now = Utc::now();
    assert!(
        at > now - chrono::Duration::seconds(1)
            && at <= now + chrono::Duration::seconds(window_seconds + 1),
        "retryAt {at} is not within the window from {now}"
    );
    at
}

async fn prepare_top_up_past_its_throttle_is_refused_with_retry_at(dbs: TestDatabases) {
    let fake = FakeToss::start().await;
    let app = fake
        .app(
            dbs,
            &[
                ("TOPUP_PREPARE_MAX_PER_USER", "3"),
                ("TOPUP_PREPARE_WINDOW_SECONDS", "600"),
            ],
        )
        .await;
    let viewer = app.register(&unique("spammer")).await;
    // Refused orders (an amount out of bounds) make nothing and count nothing.
    for _ in 0..5 {
        assert_eq!(prepare(&app, &viewer, 999).await.code(), "BAD_USER_INPUT");
    }
    // The attack: one request of five aliased prepareTopUp, sent twenty times at once.
    let five = "mutation { a: prepareTopUp(amount: 1000) { orderId }
        b: prepareTopUp(amount: 1000) { orderId } c: prepareTopUp(amount: 1000) { orderId }
        d: prepareTopUp(amount: 1000) { orderId } e: prepareTopUp(amount: 1000) { orderId } }";
    let answers =
        futures::future::join_all((0..20).map(|_| app.gql(Some(&viewer.access), five, json!({}))))
            .await;
    let refused: Vec<Value> = answers
        .iter()
        .flat_map(|a| a.0["errors"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(refused.len(), 97, "100 asked, 3 made");
    for e in &refused {
        assert_eq!(e["extensions"]["code"], "RATE_LIMITED", "{e}");
    }
    assert_eq!(top_up_rows(&app).await, 3, "3 rows, not 100");

    let before = app.snapshot().await;
    let r = prepare(&app, &viewer, 1_000).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{:?}", r.0);
    retry_at(&r, 600);
    assert_eq!(app.snapshot().await, before, "a refusal changes nothing");
    // Per user: another viewer orders as usual.
    let other = app.register(&unique("bystander")).await;
    assert_eq!(
        prepare(&app, &other, 1_000).await.data("prepareTopUp")["topUp"]["status"],
        "PREPARED"
    );
    assert_eq!(fake.requests(), Vec::<String>::new());
}

#[tokio::test]
async fn prepare_top_up_past_its_throttle_is_refused_with_retry_at_on_postgres() {
    prepare_top_up_past_its_throttle_is_refused_with_retry_at(TestDatabases::postgres().await)
        .await;
}

#[tokio::test]
async fn prepare_top_up_past_its_throttle_is_refused_with_retry_at_on_sqlite() {
    prepare_top_up_past_its_throttle_is_refused_with_retry_at(TestDatabases::sqlite()).await;
}

/// An order made `age` ago by `who` (the ledger's own step, run with an earlier clock).
async fn order_made_ago(app: &TestApp, who: &Session, age: chrono::Duration) -> top_up::Model {
    order::prepare(
        &app.db.missions,
        &who.user_id,
        &who.user_id,
        false,
        10_000,
        "toss",
        &app.config.topups.rules,
        Utc::now() - age,
    )
    .await
    .expect("an order")
}

async fn an_order_older_than_its_ttl_is_refused_and_swept(dbs: TestDatabases) -> TestApp {
    let fake = FakeToss::start().await;
    let app = fake.app(dbs, &[("TOPUP_ORDER_TTL_SECONDS", "1800")]).await;
    let viewer = app.register(&unique("late")).await;
    let stale = order_made_ago(&app, &viewer, chrono::Duration::seconds(1_801)).await;
    let fresh = order_made_ago(&app, &viewer, chrono::Duration::seconds(1_700)).await;
    let stale_key = fake.pay(&stale.order_id, 10_000);

    let before = app.snapshot().await;
    let r = confirm(&app, &viewer, &stale.order_id, &stale_key, 10_000).await;
    assert_eq!(r.code(), "ORDER_EXPIRED", "{:?}", r.0);
    assert!(r.message().contains("prepare a new top-up"), "{:?}", r.0);
    assert_eq!(app.snapshot().await, before, "nothing changed");
    assert_eq!(
        fake.requests(),
        Vec::<String>::new(),
        "the provider was not asked"
    );

    // The sweep deletes the expired order only: it reserved and charged nothing.
    let rules = app.config.topups.rules;
    assert_eq!(
        missionlink_workflows::payments::expiry::round(&app.db.missions, &rules)
            .await
            .expect("sweep"),
        1
    );
    assert!(
        order::by_order(&app.db.missions, &stale.order_id)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        order::by_order(&app.db.missions, &fresh.order_id)
            .await
            .expect("read")
            .is_some()
    );
    // Gone, it is still refused as expired (its age is in its order id), changing nothing.
    let before = app.snapshot().await;
    let again = confirm(&app, &viewer, &stale.order_id, &stale_key, 10_000).await;
    assert_eq!(again.code(), "ORDER_EXPIRED", "{:?}", again.0);
    assert_eq!(app.snapshot().await, before);
    // The fresh one still confirms.
    let key = fake.pay(&fresh.order_id, 10_000);
    let t = confirm(&app, &viewer, &fresh.order_id, &key, 10_000)
        .await
        .data("confirmTopUp");
    assert_eq!(t["status"], "CONFIRMED");
    app.assert_audit_clean().await;
    app
}

#[tokio::test]
async fn an_order_older_than_its_ttl_is_refused_and_swept_on_postgres() {
    let app =
        an_order_older_than_its_ttl_is_refused_and_swept(TestDatabases::postgres().await).await;
    // The worker runs the sweep by itself.
    let viewer = app.register(&unique("abandoned")).await;
    let abandoned = order_made_ago(&app, &viewer, chrono::Duration::hours(2)).await;
    let worker = app.start_file_worker().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while order::by_order(&app.db.missions, &abandoned.order_id)
        .await
        .expect("read")
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not sweep"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    worker.stop().await;
}

#[tokio::test]
async fn an_order_older_than_its_ttl_is_refused_and_swept_on_sqlite() {
    an_order_older_than_its_ttl_is_refused_and_swept(TestDatabases::sqlite()).await;
}

async fn rotate_with_host(app: &TestApp, who: &Session, host: &str) -> String {
    let body: Value = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", who.access))
        .header("host", host)
        .header("x-forwarded-host", host)
        .header("x-forwarded-proto", "https")
        .body(json!({ "query": "mutation { rotateOverlayToken { url token } }" }).to_string())
        .send()
        .await
        .expect("POST /graphql")
        .json()
        .await
        .expect("JSON");
    let link = &body["data"]["rotateOverlayToken"];
    let (url, token) = (link["url"].as_str(), link["token"].as_str());
    let (Some(url), Some(token)) = (url, token) else {
        panic!("no link: {body}");
    };
    assert!(url.ends_with(&format!("/overlay/{token}")), "{url}");
    url.to_owned()
}

#[tokio::test]
async fn the_overlay_link_is_built_on_public_url_whatever_host_the_request_names() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("PUBLIC_URL", "https://live.missionlink.test/")],
    )
    .await;
    let streamer = app.register_as(&unique("host"), "STREAMER").await;
    let url = rotate_with_host(&app, &streamer, "evil.example").await;
    assert!(
        url.starts_with("https://live.missionlink.test/overlay/"),
        "{url}"
    );
}

#[tokio::test]
async fn in_dev_without_public_url_the_overlay_link_names_the_address_the_api_listens_on() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    let streamer = app.register_as(&unique("devhost"), "STREAMER").await;
    let url = rotate_with_host(&app, &streamer, "evil.example").await;
    assert!(
        url.starts_with(&format!("http://{}/overlay/", app.addr)),
        "{url}"
    );
}

/// A handle of this run's own.
fn unique(stem: &str) -> String {
    format!("{stem}{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}
