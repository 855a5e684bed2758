//! `/graphql/ws`: GraphQL over a websocket (graphql-transport-ws, and the legacy graphql-ws),
//! spoken by async-graphql's [`GraphQLWebSocket`], inside the limits a socket must keep:
//!
//! - a message is at most [`MAX_BODY_BYTES`], like an HTTP body; a larger one closes the socket
//!   (the websocket layer drops the connection) before any of it is parsed;
//! - a client address holds at most `WS_MAX_SOCKETS_PER_ADDRESS` sockets; the next upgrade is
//!   refused with HTTP 429;
//! - a socket runs at most `WS_MAX_SUBSCRIPTIONS_PER_SOCKET` operations; the next `subscribe` gets
//!   an `error` message for its id and is not run. An `error` ends only that operation in
//!   graphql-ws clients, while a close would end all of them and make the client reconnect and
//!   resubscribe into the same limit;
//! - a socket that has not been acknowledged `WS_INIT_TIMEOUT_SECONDS` after opening is closed
//!   with 4408 (async-graphql has no such deadline: only a keep-alive timeout);
//! - `connection_init` may carry `{"Authorization": "Bearer <accessToken>"}` (the key in any
//!   case): a valid token makes every operation of the socket run as that user, with the same
//!   [`Caller`] the HTTP path builds; an invalid one closes the socket with 4403, as graphql-ws
//!   specifies; none means anonymous;
//! - a socket acting as a user asks every [`STANDING_CHECK`] whether that user may still act:
//!   once they are suspended (or gone), it is closed with 4403, ending the subscriptions it ran
//!   (each new operation is refused before that too);
//! - an access token that expires ends its socket its own way, so a client knows to refresh
//!   rather than retry: `connection_init` with an expired token is closed with 4401 "access
//!   token expired" (graphql-ws clients do not reconnect after 4401, as they do after 4403);
//!   a socket whose token expires while it is open first sends each running operation an
//!   `error` (`UNAUTHENTICATED`, "access token expired: …"), then closes the same way.

use super::{HttpState, MAX_BODY_BYTES, caller_from_authorization};
use crate::graphql::{Caller, ClientAddr, PublicOrigin};
use async_graphql::Data;
use async_graphql::http::WebSocketProtocols;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Json;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// graphql-ws: the client did not send `connection_init` in time.
const INIT_TIMEOUT: u16 = 4408;
/// graphql-ws: `connection_init` carried credentials that are not valid.
const FORBIDDEN: u16 = 4403;
/// The socket's access token expired (graphql-ws's "Unauthorized": clients stop, and refresh).
const TOKEN_EXPIRED: u16 = 4401;
/// The close reason and error message of an expired token.
const EXPIRED: &str = "access token expired";
/// Refusals waiting to be written to a socket; past that, further refusals are dropped.
const REFUSALS_QUEUED: usize = 16;
/// How often a socket acting as a user checks that the user may still act (the check reads
/// `ActiveUsers`' cache, so a suspension made elsewhere shows within `USER_CACHE_SECONDS` more).
pub const STANDING_CHECK: Duration = Duration::from_secs(2);

/// Open sockets per client address, in this process.
#[derive(Clone, Default)]
pub struct OpenSockets(Arc<Mutex<HashMap<IpAddr, usize>>>);

impl OpenSockets {
    /// A slot for one more socket of `addr`, unless it already holds `max`.
    fn admit(&self, addr: IpAddr, max: usize) -> Option<SocketSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(addr).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            sockets: self.clone(),
            addr,
        })
    }
}

/// One open socket's place in [`OpenSockets`], given back when dropped.
struct SocketSlot {
    sockets: OpenSockets,
    addr: IpAddr,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.sockets.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.addr) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

/// `GET /graphql/ws`.
pub(super) async fn upgrade(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let limits = s.app.settings.websocket.clone();
    // Behind a load balancer, the client named by `X-Forwarded-For` (see `TRUSTED_PROXIES`).
    let client = s.app.settings.trusted_proxies.client(peer.ip(), &headers);
    let Some(slot) = s.sockets.admit(client, limits.max_sockets_per_address) else {
        let body = json!({ "errors": [{
            "message": "too many open websockets from your address: close one first",
            "extensions": { "code": "RATE_LIMITED" },
        }] });
        return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    };
    // async-graphql speaks the client's first known protocol: the handshake names that one.
    let chosen = client_protocol(&headers).unwrap_or(WebSocketProtocols::GraphQLWS);
    let legacy = chosen == WebSocketProtocols::SubscriptionsTransportWS;
    let origin = s.origin.clone();
    let socket = Socket {
        s,
        client: ClientAddr(client),
        origin,
        protocol,
        legacy,
        max_subscriptions: limits.max_subscriptions_per_socket,
        init_timeout: Duration::from_secs(limits.init_timeout_seconds),
        _slot: slot,
    };
    upgrade
        .protocols([chosen.sec_websocket_protocol()])
        .max_message_size(MAX_BODY_BYTES)
        .max_frame_size(MAX_BODY_BYTES)
        .on_upgrade(move |ws| socket.serve(ws))
}

/// The first protocol the client offers that async-graphql knows, as [`GraphQLProtocol`] picks it.
fn client_protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
}

/// One accepted socket, before it is served.
struct Socket {
    s: HttpState,
    client: ClientAddr,
    origin: PublicOrigin,
    protocol: GraphQLProtocol,
    legacy: bool,
    max_subscriptions: usize,
    init_timeout: Duration,
    _slot: SocketSlot,
}

/// What the gate around async-graphql knows about one socket.
#[derive(Default)]
struct Session {
    /// Ids of the operations running.
    running: Mutex<HashSet<String>>,
    acknowledged: AtomicBool,
    forbidden: AtomicBool,
    /// `connection_init` presented an expired token.
    expired: AtomicBool,
    /// The token the socket acts with, once `connection_init` presented one.
    user: std::sync::OnceLock<missionlink_identity::AccessClaims>,
}

/// The part of a client or server message the gate reads.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

impl Socket {
    async fn serve(self, ws: WebSocket) {
        let (mut sink, source) = ws.split();
        let session = Arc::new(Session::default());
        // async-graphql's messages, with backpressure, and the gate's own refusals.
        let (graphql_tx, graphql_rx) = futures::channel::mpsc::channel::<Message>(16);
        // Bounded: a client that floods refused subscribes without reading the answers gets no
        // more answers (the refused operations do not run either way), never unbounded memory.
        let (mut refusal_tx, refusal_rx) =
            futures::channel::mpsc::channel::<Message>(REFUSALS_QUEUED);

        let gate = session.clone();
        let (max, legacy) = (self.max_subscriptions, self.legacy);
        let input = source.filter(move |message| {
            let refusal = match message {
                Ok(message) => gate.admit(message, max, legacy),
                Err(_) => None,
            };
            let pass = refusal.is_none();
            if let Some(refusal) = refusal {
                refusal_tx.try_send(refusal).ok();
            }
            std::future::ready(pass)
        });

        let standing_of = self.s.app.clone();
        let mut data = Data::default();
        data.insert(self.client);
        data.insert(self.origin);
        let (app, init_session) = (self.s.app.clone(), session.clone());
        let graphql = GraphQLWebSocket::new_with_pair(
            graphql_tx.sink_map_err(drop),
            input,
            self.s.schema.clone(),
            self.protocol,
        )
        .with_data(data)
        .on_connection_init(move |payload| async move {
            match authorization(&payload).map(|value| caller_from_authorization(&app, value)) {
                None => Ok(caller_data(Caller::Anonymous)),
                Some(Caller::User(claims)) => {
                    init_session.user.set(claims.clone()).ok();
                    if !may_act(&app, &init_session).await {
                        // Suspended (or gone): refused like an invalid token.
                        init_session.forbidden.store(true, Ordering::SeqCst);
                        return Err("Forbidden".into());
                    }
                    Ok(caller_data(Caller::User(claims)))
                }
                Some(Caller::Invalid(why)) if why == EXPIRED => {
                    init_session.expired.store(true, Ordering::SeqCst);
                    Err(EXPIRED.into())
                }
                Some(_) => {
                    init_session.forbidden.store(true, Ordering::SeqCst);
                    Err("Forbidden".into())
                }
            }
        })
        .serve();

        let outgoing = futures::stream::select(graphql_rx, refusal_rx);
        let deadline = tokio::time::sleep(self.init_timeout);
        tokio::pin!(graphql, outgoing, deadline);
        let mut graphql_done = false;
        // The user's standing is watched by a task of its own: awaited here, a lookup could wait
        // on one the socket's own operation started in the user cache, which only this loop
        // drives.
        let (revoked_tx, mut revoked) = tokio::sync::oneshot::channel::<Ended>();
        let watcher = tokio::spawn(watch_standing(standing_of, session.clone(), revoked_tx));
        loop {
            tokio::select! {
                Ok(ended) = &mut revoked => {
                    if ended == Ended::Expired {
                        // Each running operation is told why, then the socket closes.
                        for id in session.running_ids() {
                            sink.send(expired_error(&id, self.legacy)).await.ok();
                        }
                        sink.send(close(TOKEN_EXPIRED, EXPIRED)).await.ok();
                    } else {
                        sink.send(close(FORBIDDEN, "Forbidden")).await.ok();
                    }
                    break;
                }
                () = &mut graphql, if !graphql_done => graphql_done = true,
                message = outgoing.next() => {
                    // None: async-graphql is done and every message it sent went out.
                    let Some(message) = message else { break };
                    let message = session.outgoing(message);
                    let closing = matches!(message, Message::Close(_));
                    if sink.send(message).await.is_err() || closing {
                        break;
                    }
                }
                () = &mut deadline, if !session.acknowledged.load(Ordering::SeqCst) => {
                    let close = close(INIT_TIMEOUT, "Connection initialisation timeout");
                    sink.send(close).await.ok();
                    break;
                }
            }
        }
        watcher.abort();
    }
}

impl Session {
    /// The ids of the operations running now.
    fn running_ids(&self) -> Vec<String> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.iter().cloned().collect()
    }

    /// `None` to let a client message through; otherwise the answer that refuses it.
    fn admit(&self, message: &Message, max: usize, legacy: bool) -> Option<Message> {
        let bytes: &[u8] = match message {
            Message::Text(text) => text.as_str().as_bytes(),
            Message::Binary(bytes) => bytes.as_ref(),
            _ => return None,
        };
        // Not a message at all: async-graphql closes the socket for it.
        let Ok(Envelope { kind, id: Some(id) }) = serde_json::from_slice::<Envelope>(bytes) else {
            return None;
        };
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match kind.as_str() {
            "subscribe" | "start" if !running.contains(&id) => {
                if running.len() >= max {
                    return Some(too_many_operations(&id, max, legacy));
                }
                running.insert(id);
            }
            "complete" | "stop" => {
                running.remove(&id);
            }
            _ => {}
        }
        None
    }

    /// Notes what a server message means for the session; rewrites the close of a refused
    /// `connection_init` to 4403.
    fn outgoing(&self, message: Message) -> Message {
        match &message {
            Message::Text(text) if text.as_str().starts_with(r#"{"type":"connection_ack""#) => {
                self.acknowledged.store(true, Ordering::SeqCst);
            }
            Message::Text(text) if text.as_str().starts_with(r#"{"type":"complete""#) => {
                if let Ok(Envelope { id: Some(id), .. }) = serde_json::from_str(text.as_str()) {
                    let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                    running.remove(&id);
                }
            }
            Message::Close(_) if self.forbidden.load(Ordering::SeqCst) => {
                return close(FORBIDDEN, "Forbidden");
            }
            Message::Close(_) if self.expired.load(Ordering::SeqCst) => {
                return close(TOKEN_EXPIRED, EXPIRED);
            }
            _ => {}
        }
        message
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The `error` message refusing operation `id`, in the socket's protocol.
fn too_many_operations(id: &str, max: usize, legacy: bool) -> Message {
    let message = format!(
        "this connection already runs {max} operations, the most allowed: complete one first"
    );
    error_message(id, &message, "RATE_LIMITED", legacy)
}

/// The `error` message ending operation `id` because the socket's token expired.
fn expired_error(id: &str, legacy: bool) -> Message {
    let message = format!(
        "{EXPIRED}: get a new one (refresh) and subscribe again on a new connection with it"
    );
    error_message(id, &message, "UNAUTHENTICATED", legacy)
}

/// An `error` message for operation `id`, in the socket's protocol.
fn error_message(id: &str, message: &str, code: &str, legacy: bool) -> Message {
    let error = json!({ "message": message, "extensions": { "code": code } });
    // graphql-transport-ws carries a list of errors; the legacy protocol one error.
    let payload = if legacy { error } else { json!([error]) };
    Message::Text(
        json!({ "id": id, "type": "error", "payload": payload })
            .to_string()
            .into(),
    )
}

/// Why a socket acting as a user ends.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Suspended, signed out everywhere, or gone.
    Revoked,
    /// Its access token expired.
    Expired,
}

/// Every [`STANDING_CHECK`], once `connection_init` named a user, asks whether they may still
/// act and whether their token is still good; when not, says why on `revoked` and ends.
async fn watch_standing(
    app: crate::state::AppState,
    session: Arc<Session>,
    revoked: tokio::sync::oneshot::Sender<Ended>,
) {
    let mut tick = tokio::time::interval(STANDING_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let expired = session
            .user
            .get()
            // As the token's own check judges it: still good through its `exp` second.
            .is_some_and(|u| u.exp < chrono::Utc::now().timestamp());
        if expired {
            revoked.send(Ended::Expired).ok();
            return;
        }
        if !may_act(&app, &session).await {
            revoked.send(Ended::Revoked).ok();
            return;
        }
    }
}

/// Whether the socket's user may still act: not once suspended, signed out everywhere or gone.
/// A failed lookup keeps the socket (each operation checks again anyway); an anonymous socket
/// always may.
async fn may_act(app: &crate::state::AppState, session: &Session) -> bool {
    let Some(user) = session.user.get() else {
        return true;
    };
    !matches!(
        app.auth
            .active_users
            .standing(user, chrono::Utc::now())
            .await,
        Ok(missionlink_identity::Standing::Suspended(_)
            | missionlink_identity::Standing::SignedOut
            | missionlink_identity::Standing::Absent)
    )
}

/// The `Authorization` value of a `connection_init` payload (the key in any case), if any.
/// `null` counts as none; any other value that is not a string, as an invalid one.
fn authorization(payload: &serde_json::Value) -> Option<&str> {
    let (_, value) = payload
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))?;
    (!value.is_null()).then(|| value.as_str().unwrap_or_default())
}

fn caller_data(caller: Caller) -> Data {
    let mut data = Data::default();
    data.insert(caller);
    data
}
