//! Card testing (issue 26, item 6), through real HTTP against the local server speaking Toss
//! Payments' documented API (`fake_toss.rs`), at the default limit: failed top-ups are counted
//! per user and per client address, and past the limit nothing reaches the provider; the widget's
//! `customerKey` is a random key per user, not their id.

use crate::fake_toss::FakeToss;
use crate::support::{Gql, Session, TestApp, TestDatabases};
use serde_json::{Value, json};

const PREPARE: &str = "mutation($a: Int!) { prepareTopUp(amount: $a) { orderId customerKey } }";
const CONFIRM: &str = "mutation($o: String!, $k: String!, $a: Int!) {
    confirmTopUp(orderId: $o, paymentKey: $k, amount: $a) { status } }";

/// One operation of `who` from the client address `client` (behind the trusted proxy).
async fn from(app: &TestApp, who: &Session, client: &str, query: &str, variables: Value) -> Gql {
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&who.access)
        .header("X-Forwarded-For", client)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("POST /graphql");
    Gql(response.json().await.expect("JSON body"))
}

async fn order(app: &TestApp, who: &Session, client: &str) -> Gql {
    from(app, who, client, PREPARE, json!({ "a": 10_000 })).await
}

/// `who` orders a top-up from `client` and pays it with a card the provider declines.
async fn declined(app: &TestApp, fake: &FakeToss, who: &Session, client: &str) -> Gql {
    let made = order(app, who, client).await;
    let Some(id) = made.0["data"]["prepareTopUp"]["orderId"].as_str() else {
        return made;
    };
    let key = fake.pay(id, 10_000);
    fake.decline(&key);
    from(
        app,
        who,
        client,
        CONFIRM,
        json!({ "o": id, "k": key, "a": 10_000 }),
    )
    .await
}

#[tokio::test]
async fn declined_cards_stop_at_the_default_limits_per_account_and_per_address() {
    use missionlink_config::topups::{TOPUP_FAILURES_MAX, TOPUP_FAILURES_MAX_PER_ADDRESS};
    let fake = FakeToss::start().await;
    let (per_user, per_address) = (
        TOPUP_FAILURES_MAX.default_text(),
        TOPUP_FAILURES_MAX_PER_ADDRESS.default_text(),
    );
    let app = fake
        .app(
            TestDatabases::postgres().await,
            &[
                ("TOPUP_FAILURES_MAX", per_user.as_ref()),
                ("TOPUP_FAILURES_MAX_PER_ADDRESS", per_address.as_ref()),
                ("TRUSTED_PROXIES", "127.0.0.1/32"),
            ],
        )
        .await;
    let per_user: i64 = per_user.parse().expect("a number");
    let per_address: i64 = per_address.parse().expect("a number");
    let (bot_address, elsewhere, another) = ("203.0.113.9", "198.51.100.7", "192.0.2.44");
    let bot = app.register("cardbot").await;
    let honest = app.register("honestfan").await;

    // The bot tries one stolen card after another: each order is made, each payment declined.
    for _ in 0..per_user {
        let r = declined(&app, &fake, &bot, bot_address).await;
        assert_eq!(r.code(), "PAYMENT_FAILED", "{}", r.0);
    }
    let asked = fake.confirm_requests();
    // Past its limit: refused before anything, with when to come back, from any address.
    let r = order(&app, &bot, bot_address).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    assert!(
        r.0["errors"][0]["extensions"]["retryAt"].is_string(),
        "{}",
        r.0
    );
    let r = order(&app, &bot, another).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    // Not even a good card of an order made before gets through: the provider is not asked.
    let made = order(&app, &honest, elsewhere).await.data("prepareTopUp")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned();
    let key = fake.pay(&made, 10_000);
    let r = from(
        &app,
        &bot,
        bot_address,
        CONFIRM,
        json!({ "o": made, "k": key, "a": 10_000 }),
    )
    .await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    assert_eq!(fake.confirm_requests(), asked, "the provider was not asked");

    // Mistyped orders from a shared address use up nothing of the address's allowance.
    let typo = app.register("typofan").await;
    for _ in 0..per_address {
        let r = from(
            &app,
            &typo,
            bot_address,
            CONFIRM,
            json!({ "o": "ml-nosuchorder", "k": "tgen_x", "a": 10_000 }),
        )
        .await;
        assert_ne!(r.code(), "PAYMENT_FAILED", "{}", r.0);
    }
    // More accounts on the bot's address: their declined cards add up to the address's limit,
    // then every account there is held back.
    let mut declines = per_user;
    let mut n = 0;
    while declines < per_address {
        n += 1;
        let accomplice = app.register(&format!("cardbotx{n}")).await;
        for _ in 0..per_user.min(per_address - declines) {
            let r = declined(&app, &fake, &accomplice, bot_address).await;
            assert_eq!(r.code(), "PAYMENT_FAILED", "{}", r.0);
            declines += 1;
        }
    }
    let fresh = app.register("cardbotfresh").await;
    let r = order(&app, &fresh, bot_address).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    assert!(r.message().contains("address"), "{}", r.0);

    // Someone else, elsewhere, tops up as ever, and their successes count nothing.
    for _ in 0..=per_user {
        let id = order(&app, &honest, elsewhere).await.data("prepareTopUp")["orderId"]
            .as_str()
            .expect("orderId")
            .to_owned();
        let key = fake.pay(&id, 10_000);
        let r = from(
            &app,
            &honest,
            elsewhere,
            CONFIRM,
            json!({ "o": id, "k": key, "a": 10_000 }),
        )
        .await;
        assert_eq!(r.data("confirmTopUp")["status"], "CONFIRMED");
    }
    assert_eq!(app.wallet(&bot).await["cash"], 0);
    assert_eq!(app.wallet(&honest).await["cash"], 10_000 * (per_user + 1));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn the_widgets_customer_key_is_a_random_key_per_user_not_their_id() {
    let fake = FakeToss::start().await;
    let app = fake.app(TestDatabases::postgres().await, &[]).await;
    let a = app.register("keyholder").await;
    let b = app.register("keyholder2").await;
    let key_of = |who: &Session| {
        let (app, who) = (&app, who.clone());
        async move {
            app.gql(Some(&who.access), PREPARE, json!({ "a": 10_000 }))
                .await
                .data("prepareTopUp")["customerKey"]
                .as_str()
                .expect("customerKey")
                .to_owned()
        }
    };
    let (first, again, other) = (key_of(&a).await, key_of(&a).await, key_of(&b).await);
    assert_eq!(first, again, "one key per user");
    assert_ne!(first, other);
    assert_ne!(first, a.user_id);
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
}
