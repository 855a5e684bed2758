//! Text the databases cannot store (NUL) is refused at the boundary, over HTTP and websocket:
//! `BAD_USER_INPUT` for the whole request, nothing run, nothing logged as an error. And the one
//! text rule (`missionlink_ledger::text`) over HTTP, on Postgres and SQLite: invisible characters
//! hide no banned word, direction controls are refused, invisible-only names are refused.

use crate::support::{PASSWORD, TestApp, TestDatabases, ws_open};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tracing_subscriber::layer::SubscriberExt;

/// Counts events logged at error level while installed.
struct ErrorEvents(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ErrorEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

const NUL: &str = "a\u{0}b";

/// Asserts the operation was refused as `BAD_USER_INPUT`, naming NUL, and ran nothing.
fn assert_refused(what: &str, r: &Value) {
    let error = &r["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{what}: {r}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NUL"),
        "{what}: unclear: {r}"
    );
    assert!(r["data"].is_null(), "{what}: something ran: {r}");
}

// The server runs on this test's (single) thread, so the subscriber installed here sees its logs.
#[tokio::test]
async fn nul_in_any_string_is_refused_before_anything_runs_on_postgres() {
    let errors = Arc::new(AtomicUsize::new(0));
    let _logs = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(ErrorEvents(errors.clone())),
    );
    let app = TestApp::spawn().await;
    let streamer = app.register_as("nulstreamer", "STREAMER").await;
    let fan = app.register("nulfan").await;
    app.top_up(&fan, 50_000, "t").await.data("topUp");
    let mission = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    let before = app.snapshot().await;

    let registration = |email: &str, handle: &str| json!({ "email": email, "password": PASSWORD, "handle": handle, "role": "VIEWER" });
    // (who, query, variables): each with NUL once in a variable, once in an inline literal.
    let cases: Vec<(Option<&str>, String, Value)> = vec![
        (
            None,
            "mutation($e: String!) { login(email: $e, password: \"x\") { accessToken } }".into(),
            json!({ "e": NUL }),
        ),
        (
            None,
            "mutation { login(email: \"nulfan@example.com\", password: \"a\\u0000b\") { accessToken } }"
                .into(),
            json!({}),
        ),
        (
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }".into(),
            json!({ "input": registration("nul@example.com", NUL) }),
        ),
        (
            None,
            format!(
                "mutation {{ register(input: {{ email: \"a\\u0000@example.com\", password: \"{PASSWORD}\", handle: \"nul2\", role: VIEWER }}) {{ user {{ id }} }} }}"
            ),
            json!({}),
        ),
        (
            None,
            "query($id: ID!) { mission(id: $id) { id } }".into(),
            json!({ "id": format!("{mission}\u{0}") }),
        ),
        (
            None,
            "{ mission(id: \"\\u0000\") { id } }".into(),
            json!({}),
        ),
        (
            Some(fan.access.as_str()),
            "mutation($m: ID!) { contribute(missionId: $m, amount: 1000, idempotencyKey: \"n1\") { id } }"
                .into(),
            json!({ "m": NUL }),
        ),
        (
            Some(fan.access.as_str()),
            format!(
                "mutation {{ contribute(missionId: \"{mission}\\u0000\", amount: 1000, idempotencyKey: \"n2\") {{ id }} }}"
            ),
            json!({}),
        ),
        // A valid operation that merely carries a NUL in an unused variable runs nothing either.
        (
            Some(fan.access.as_str()),
            "mutation($m: ID!) { contribute(missionId: $m, amount: 1000, idempotencyKey: \"n3\") { id } }"
                .into(),
            json!({ "m": mission, "unused": [{ "deep": NUL }] }),
        ),
    ];
    for (token, query, variables) in &cases {
        let r = app.gql(*token, query, variables.clone()).await;
        assert_refused(query, &r.0);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed something"
    );

    // Over the websocket too.
    let mut ws = ws_open(&app).await;
    for (id, (_, query, variables)) in cases.iter().enumerate().take(6) {
        let id = id.to_string();
        let subscribe = json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        });
        ws.send(Message::text(subscribe.to_string()))
            .await
            .expect("subscribe");
        let answer = loop {
            let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
                .await
                .expect("an answer within 15 s")
                .expect("socket open")
                .expect("message");
            if let Message::Text(text) = msg {
                let v: Value = serde_json::from_str(&text).expect("json");
                // Skip the acknowledgement and the previous operation's `complete`.
                if v["id"] == id.as_str() {
                    break v;
                }
            }
        };
        assert_eq!(answer["type"], "next", "{answer}");
        assert_refused(&format!("websocket {query}"), &answer["payload"]);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed something"
    );
    assert_eq!(errors.load(Ordering::SeqCst), 0, "errors were logged");
}

/// Everything a refused text could have changed: [`TestApp::snapshot`] and the missions,
/// pledges, payout accounts and channel settings.
async fn everything(app: &TestApp) -> String {
    use missionlink_entities::missions::{mission, payout_account, pledge, streamer_setting};
    use sea_orm::{EntityTrait, QueryOrder};
    let m = &app.db.missions;
    format!(
        "{}\n{:?}\n{:?}\n{:?}\n{:?}",
        app.snapshot().await,
        mission::Entity::find()
            .order_by_asc(mission::Column::Id)
            .all(m)
            .await
            .expect("missions"),
        pledge::Entity::find()
            .order_by_asc(pledge::Column::Id)
            .all(m)
            .await
            .expect("pledges"),
        payout_account::Entity::find()
            .order_by_asc(payout_account::Column::UserId)
            .all(m)
            .await
            .expect("payout accounts"),
        streamer_setting::Entity::find()
            .order_by_asc(streamer_setting::Column::StreamerId)
            .all(m)
            .await
            .expect("settings"),
    )
}

fn refused(what: &str, r: &crate::support::Gql, code: &str, says: &str) {
    assert_eq!(r.code(), code, "{what}: {}", r.0);
    assert!(r.message().contains(says), "{what}: unclear: {}", r.0);
}

async fn one_text_rule(app: &TestApp) {
    let streamer = app.register_as("textstreamer", "STREAMER").await;
    let fan = app.register("textfan").await;
    app.top_up(&fan, 50_000, "t").await.data("topUp");
    let mission = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    let before = everything(app).await;

    // A banned title split by U+FE0F, either word: what banned titles get.
    for title in ["Boss fu\u{FE0F}ck now", "씨\u{FE0F}발 보스"] {
        let r = app
            .create_mission(&fan, &streamer.user_id, 5_000, json!({ "title": title }))
            .await;
        refused(title, &r, "CONTENT_BLOCKED", "does not allow");
    }
    // A word reversed behind a right-to-left override.
    let r = app
        .create_mission(
            &fan,
            &streamer.user_id,
            5_000,
            json!({ "title": "Boss \u{202E}kcuf" }),
        )
        .await;
    refused("override", &r, "BAD_USER_INPUT", "direction controls");
    // A pledge message split by a tag character.
    let r = app
        .gql(
            Some(&fan.access),
            "mutation($m: ID!, $msg: String) {
               contribute(missionId: $m, amount: 2000, idempotencyKey: \"tagged\", message: $msg) { id } }",
            json!({ "m": mission, "msg": "fu\u{E0020}ck" }),
        )
        .await;
    refused("tagged message", &r, "CONTENT_BLOCKED", "does not allow");
    // A display name of only a zero-width space.
    let r = app
        .gql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }",
            json!({ "input": { "email": "ghost@example.com", "password": PASSWORD,
                               "handle": "ghost", "displayName": "\u{200B}", "role": "VIEWER" } }),
        )
        .await;
    refused("display name", &r, "BAD_USER_INPUT", "invisible");
    // A holder name of only zero-width spaces, which receipts would print.
    let r = app
        .gql(
            Some(&streamer.access),
            "mutation($h: String!) { setPayoutAccount(bankCode: \"004\", accountNumber: \"123-4567-8901\", holderName: $h) { holderName } }",
            json!({ "h": "\u{200B}\u{200B}\u{200B}" }),
        )
        .await;
    refused("holder name", &r, "BAD_USER_INPUT", "invisible");
    assert_eq!(
        everything(app).await,
        before,
        "a refused text changed something"
    );

    // What is stored is the visible text: a title with a zero-width space in it is kept
    // without it.
    let id = app
        .create_mission(
            &fan,
            &streamer.user_id,
            5_000,
            json!({ "title": "  Beat\u{200B} the ＢＯＳＳ  " }),
        )
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.mission(&id).await["title"], "Beat the BOSS");
}

#[tokio::test]
async fn invisible_and_direction_characters_hide_nothing_on_postgres() {
    one_text_rule(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn invisible_and_direction_characters_hide_nothing_on_sqlite() {
    one_text_rule(&TestApp::spawn_with(TestDatabases::sqlite(), &[]).await).await;
}
