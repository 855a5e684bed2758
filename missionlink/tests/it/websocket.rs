//! The limits of `/graphql/ws` (graphql-transport-ws): message size, operations per socket,
//! sockets per address, the `connection_init` deadline, and who a socket acts as.

use crate::support::{TestApp, TestDatabases, signed_token, ws_connect};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, Message};

type Socket = crate::support::WsSocket;

async fn connect(app: &TestApp) -> Result<Socket, tungstenite::Error> {
    ws_connect(app).await
}

pub(crate) async fn send(ws: &mut Socket, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// A socket past `connection_init` with `payload`, acknowledged.
pub(crate) async fn initialised(app: &TestApp, payload: Value) -> Socket {
    let mut ws = connect(app).await.expect("connect");
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    let ack = next(&mut ws).await;
    assert!(
        matches!(&ack, Event::Json(v) if v["type"] == "connection_ack"),
        "{ack:?}"
    );
    ws
}

#[derive(Debug)]
pub(crate) enum Event {
    Json(Value),
    /// The server closed the socket, with this code if it sent one.
    Closed(Option<u16>),
}

/// The next message, or how the socket ended; fails the test after 15 s of silence.
pub(crate) async fn next(ws: &mut Socket) -> Event {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s");
        match msg {
            Some(Ok(Message::Text(text))) => {
                return Event::Json(serde_json::from_str(&text).expect("json"));
            }
            Some(Ok(Message::Close(frame))) => {
                return Event::Closed(frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Event::Closed(None),
        }
    }
}

/// The next message about operation `id` (others are skipped), or how the socket ended.
async fn next_for(ws: &mut Socket, id: &str) -> Event {
    loop {
        match next(ws).await {
            Event::Json(v) if v["id"] != id => {}
            event => return event,
        }
    }
}

pub(crate) fn subscribe(id: &str, query: &str) -> Value {
    json!({ "id": id, "type": "subscribe", "payload": { "query": query } })
}

pub(crate) const LONG_LIVED: &str =
    "subscription { missionChanged(streamerId: \"00000000-0000-0000-0000-000000000000\") { id } }";

#[tokio::test]
async fn a_message_larger_than_the_body_limit_is_refused_unread() {
    let app = TestApp::spawn().await;
    let mut ws = initialised(&app, json!({})).await;
    // Just under the limit runs.
    let padding = "#".repeat(60 * 1024);
    send(
        &mut ws,
        subscribe("small", &format!("{{ __typename }}\n{padding}")),
    )
    .await;
    let answer = next(&mut ws).await;
    assert!(
        matches!(&answer, Event::Json(v) if v["type"] == "next" && v["payload"]["data"]["__typename"] == "Query"),
        "{answer:?}"
    );
    assert!(matches!(next(&mut ws).await, Event::Json(v) if v["type"] == "complete"));

    let padding = "#".repeat(1024 * 1024);
    let big = subscribe("big", &format!("{{ __typename }}\n{padding}"));
    // The server may close while the client is still writing.
    ws.send(Message::text(big.to_string())).await.ok();
    let answer = next(&mut ws).await;
    assert!(
        matches!(answer, Event::Closed(None | Some(1009))),
        "a 1 MB message was answered: {answer:?}"
    );
}

#[tokio::test]
async fn a_socket_runs_at_most_the_configured_number_of_operations() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("WS_MAX_SUBSCRIPTIONS_PER_SOCKET", "2")],
    )
    .await;
    let mut ws = initialised(&app, json!({})).await;
    send(&mut ws, subscribe("1", LONG_LIVED)).await;
    send(&mut ws, subscribe("2", LONG_LIVED)).await;
    // One more, even a query that would answer at once, is refused and not run.
    send(&mut ws, subscribe("3", "{ __typename }")).await;
    let answer = next_for(&mut ws, "3").await;
    let Event::Json(error) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "3", "{error}");
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "RATE_LIMITED",
        "{error}"
    );

    // Completing one makes room.
    send(&mut ws, json!({ "id": "1", "type": "complete" })).await;
    send(&mut ws, subscribe("4", "{ __typename }")).await;
    let answer = next_for(&mut ws, "4").await;
    assert!(
        matches!(&answer, Event::Json(v) if v["type"] == "next"),
        "{answer:?}"
    );
    // An operation that completes by itself gives its place back too.
    assert!(matches!(next_for(&mut ws, "4").await, Event::Json(v) if v["type"] == "complete"));
    send(&mut ws, subscribe("5", "{ __typename }")).await;
    let answer = next_for(&mut ws, "5").await;
    assert!(
        matches!(&answer, Event::Json(v) if v["type"] == "next" && v["id"] == "5"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn an_address_holds_at_most_the_configured_number_of_sockets() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("WS_MAX_SOCKETS_PER_ADDRESS", "2")],
    )
    .await;
    let first = connect(&app).await.expect("first");
    let _second = connect(&app).await.expect("second");
    match connect(&app).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a third socket was not refused with 429: {other:?}"),
    }
    // Closing one gives its place back.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match connect(&app).await {
            Ok(_) => break,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_socket_that_never_initialises_is_closed_with_4408() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("WS_INIT_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let mut idle = connect(&app).await.expect("connect");
    let started = std::time::Instant::now();
    let answer = next(&mut idle).await;
    assert!(matches!(answer, Event::Closed(Some(4408))), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A socket that initialised in time stays open past the deadline.
    let mut ws = initialised(&app, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    send(&mut ws, subscribe("1", "{ __typename }")).await;
    assert!(matches!(next(&mut ws).await, Event::Json(v) if v["type"] == "next"));
}

#[tokio::test]
async fn connection_init_decides_who_the_socket_acts_as() {
    let app = TestApp::spawn().await;
    let fan = app.register("wsfan").await;
    let me = "{ me { id } }";

    // A bad token, under either spelling of the key, closes the socket with 4403.
    for payload in [
        json!({ "Authorization": "Bearer not-a-token" }),
        json!({ "authorization": format!("Bearer {}x", fan.access) }),
        json!({ "Authorization": fan.access }),
    ] {
        let mut ws = connect(&app).await.expect("connect");
        send(
            &mut ws,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        let answer = next(&mut ws).await;
        assert!(
            matches!(answer, Event::Closed(Some(4403))),
            "{payload}: {answer:?}"
        );
    }

    // A valid token: every operation runs as that user.
    for key in ["Authorization", "authorization"] {
        let mut ws = initialised(&app, json!({ key: format!("Bearer {}", fan.access) })).await;
        send(&mut ws, subscribe("1", me)).await;
        let answer = next(&mut ws).await;
        let Event::Json(v) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(
            v["payload"]["data"]["me"]["id"],
            fan.user_id.as_str(),
            "{v}"
        );
    }

    // No token: anonymous, allowed, and not anyone in particular.
    let mut ws = initialised(&app, json!({})).await;
    send(&mut ws, subscribe("1", me)).await;
    let answer = next(&mut ws).await;
    let Event::Json(v) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        v["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{v}"
    );
}

/// A token that expires ends its socket its own way: each running operation is told (an
/// `error`, `UNAUTHENTICATED`, "access token expired"), then the socket closes with 4401, which
/// graphql-ws clients (GraphiQL's) do not retry, as they do 4403; a new socket with the expired
/// token is closed with 4401 too.
#[tokio::test]
async fn a_socket_whose_token_expires_tells_its_operations_and_closes_with_4401() {
    let app = TestApp::spawn().await;
    let fan = app.register("wsexpiry").await;
    let token = signed_token(&fan.user_id, "VIEWER", 2);
    let mut ws = initialised(&app, json!({ "Authorization": format!("Bearer {token}") })).await;
    send(&mut ws, subscribe("1", "{ me { id } }")).await;
    let Event::Json(v) = next(&mut ws).await else {
        panic!("no answer")
    };
    assert_eq!(
        v["payload"]["data"]["me"]["id"],
        fan.user_id.as_str(),
        "{v}"
    );
    send(&mut ws, subscribe("live", LONG_LIVED)).await;
    let told = loop {
        match next(&mut ws).await {
            Event::Json(v) if v["id"] == "live" => break v,
            Event::Json(_) => continue, // the first operation's `complete`
            closed => panic!("closed before the operation was told: {closed:?}"),
        }
    };
    assert_eq!(told["type"], "error", "{told}");
    assert_eq!(told["payload"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(
        told["payload"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("access token expired")),
        "{told}"
    );
    assert!(matches!(next(&mut ws).await, Event::Closed(Some(4401))));

    // Connecting again with the same (expired) token: 4401 at once, not 4403.
    let mut again = connect(&app).await.expect("connect");
    send(
        &mut again,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    let answer = next(&mut again).await;
    assert!(matches!(answer, Event::Closed(Some(4401))), "{answer:?}");
}

/// `missionChanged` resolves caller-specific fields as the socket's user: the bettor sees their
/// own bet on each update, an anonymous socket sees none.
#[tokio::test]
async fn mission_changed_shows_the_socket_user_their_own_bet() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("wsbet_streamer", "STREAMER").await;
    let fan = app.register("wsbet_fan").await;
    app.top_up(&fan, 50_000, "t").await.data("topUp");
    let id = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    app.gql(
        Some(&fan.access),
        "mutation($m: ID!) { placeBet(missionId: $m, outcome: SUCCESS, points: 300, idempotencyKey: \"b\") { id } }",
        json!({ "m": id }),
    )
    .await
    .data("placeBet");

    let query = format!(
        "subscription {{ missionChanged(streamerId: \"{}\") {{ id prediction {{ myBet {{ points outcome }} }} }} }}",
        streamer.user_id
    );
    let mut as_fan = initialised(
        &app,
        json!({ "Authorization": format!("Bearer {}", fan.access) }),
    )
    .await;
    send(&mut as_fan, subscribe("1", &query)).await;
    let mut anonymous = initialised(&app, json!({})).await;
    send(&mut anonymous, subscribe("1", &query)).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    app.contribute(&fan, &id, 1_000, "more")
        .await
        .data("contribute");
    for (ws, expected) in [
        (&mut as_fan, json!({ "points": 300, "outcome": "SUCCESS" })),
        (&mut anonymous, Value::Null),
    ] {
        let Event::Json(v) = next_for(ws, "1").await else {
            panic!("no update")
        };
        assert!(v["payload"]["errors"].is_null(), "{v}");
        assert_eq!(
            v["payload"]["data"]["missionChanged"]["prediction"]["myBet"], expected,
            "{v}"
        );
    }
}

/// A socket acting as a user who gets suspended is closed with 4403 within seconds, ending the
/// subscription it was running; an anonymous socket beside it goes on.
#[tokio::test]
async fn a_suspended_users_socket_is_closed_and_its_subscriptions_end() {
    let app = TestApp::spawn().await;
    let fan = app.register("wssuspended").await;
    let op = crate::disputes::operator(&app, "wsops").await;
    let mut ws = initialised(
        &app,
        json!({ "Authorization": format!("Bearer {}", fan.access) }),
    )
    .await;
    let mut anonymous = initialised(&app, json!({})).await;
    send(&mut ws, subscribe("1", LONG_LIVED)).await;
    send(&mut anonymous, subscribe("1", LONG_LIVED)).await;
    app.gql(
        Some(&op.access),
        "mutation($u: ID!) { suspendUser(userId: $u, note: \"abuse in chat\") { id } }",
        json!({ "u": fan.user_id }),
    )
    .await
    .data("suspendUser");
    let started = std::time::Instant::now();
    assert!(
        matches!(next(&mut ws).await, Event::Closed(Some(4403))),
        "the suspended user's socket is closed as forbidden"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // The anonymous socket still answers.
    send(&mut anonymous, subscribe("2", "{ __typename }")).await;
    assert!(matches!(next_for(&mut anonymous, "2").await, Event::Json(v) if v["type"] == "next"));
}
