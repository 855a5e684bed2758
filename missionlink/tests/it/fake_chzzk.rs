//! A local server that speaks CHZZK's Open API as `docs/chzzk-open-api.md` records it, for
//! `linkChannel`'s tests (CHZZK itself is never called):
//!
//! - `POST /auth/v1/token` (JSON `{grantType: "authorization_code", clientId, clientSecret,
//!   code, state}`): `{code: 200, message: null, content: {accessToken, refreshToken,
//!   tokenType: "Bearer", expiresIn: "86400"}}` for a code the consent step gave, once; a code
//!   it never gave or already exchanged is 403 `{code: 403, message: "FORBIDDEN"}`, a wrong
//!   client 401 `{code: 401, message: "INVALID_CLIENT"}`;
//! - `GET /open/v1/users/me` (`Authorization: Bearer <accessToken>`): `{code: 200, content:
//!   {channelId, channelName, nickname}}`, or 401 `INVALID_TOKEN`;
//! - `POST /auth/v1/token/revoke` (`{clientId, clientSecret, token, tokenTypeHint}`): 200, and
//!   the token stops working.
//!
//! The consent step (the user approving the application on CHZZK's account-interlock page,
//! which sends the browser back with a code) is [`FakeChzzk::consent`].

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "test-chzzk-client";
pub const CLIENT_SECRET: &str = "test-chzzk-secret-0123456789";

/// A CHZZK user: their channel.
#[derive(Clone, Debug)]
struct ChzzkUser {
    channel_id: String,
    channel_name: String,
}

#[derive(Default)]
struct Books {
    /// Codes the consent step gave and not yet exchanged.
    codes: HashMap<String, ChzzkUser>,
    /// Live access tokens.
    tokens: HashMap<String, ChzzkUser>,
    /// Tokens revoked.
    revoked: Vec<String>,
    /// `state` of every token request.
    states: Vec<String>,
}

#[derive(Clone)]
pub struct FakeChzzk {
    pub addr: SocketAddr,
    books: Arc<Mutex<Books>>,
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn refusal(status: StatusCode, message: &str) -> Response {
    answer(
        status,
        json!({ "code": status.as_u16(), "message": message }),
    )
}

async fn token(State(books): State<Arc<Mutex<Books>>>, Json(body): Json<Value>) -> Response {
    if body["clientId"] != CLIENT_ID || body["clientSecret"] != CLIENT_SECRET {
        return refusal(StatusCode::UNAUTHORIZED, "INVALID_CLIENT");
    }
    if body["grantType"] != "authorization_code" {
        return refusal(StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
    let mut books = books.lock().expect("books");
    books
        .states
        .push(body["state"].as_str().unwrap_or_default().to_owned());
    let Some(user) = books
        .codes
        .remove(body["code"].as_str().unwrap_or_default())
    else {
        return refusal(StatusCode::FORBIDDEN, "FORBIDDEN");
    };
    let access = format!("at-{}", uuid::Uuid::new_v4().simple());
    books.tokens.insert(access.clone(), user);
    answer(
        StatusCode::OK,
        json!({ "code": 200, "message": null, "content": {
            "accessToken": access, "refreshToken": format!("rt-{}", uuid::Uuid::new_v4().simple()),
            "tokenType": "Bearer", "expiresIn": "86400" } }),
    )
}

async fn me(State(books): State<Arc<Mutex<Books>>>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let books = books.lock().expect("books");
    match books.tokens.get(bearer) {
        Some(user) => answer(
            StatusCode::OK,
            json!({ "code": 200, "message": null, "content": {
                "channelId": user.channel_id, "channelName": user.channel_name,
                "nickname": user.channel_name } }),
        ),
        None => refusal(StatusCode::UNAUTHORIZED, "INVALID_TOKEN"),
    }
}

async fn revoke(State(books): State<Arc<Mutex<Books>>>, Json(body): Json<Value>) -> Response {
    if body["clientId"] != CLIENT_ID || body["clientSecret"] != CLIENT_SECRET {
        return refusal(StatusCode::UNAUTHORIZED, "INVALID_CLIENT");
    }
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    let mut books = books.lock().expect("books");
    books.tokens.remove(&token);
    books.revoked.push(token);
    answer(StatusCode::OK, json!({ "code": 200, "message": null }))
}

impl FakeChzzk {
    pub async fn start() -> Self {
        let books = Arc::new(Mutex::new(Books::default()));
        let app = axum::Router::new()
            .route("/auth/v1/token", post(token))
            .route("/auth/v1/token/revoke", post(revoke))
            .route("/open/v1/users/me", get(me))
            .with_state(books.clone());
        let addr = crate::support::serve_on_loopback(app).await;
        Self { addr, books }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The owner of `channel_id` consents on the account-interlock page: the code CHZZK sends
    /// their browser back with.
    pub fn consent(&self, channel_id: &str, channel_name: &str) -> String {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        self.books.lock().expect("books").codes.insert(
            code.clone(),
            ChzzkUser {
                channel_id: channel_id.to_owned(),
                channel_name: channel_name.to_owned(),
            },
        );
        code
    }

    /// Tokens revoked so far.
    pub fn revoked(&self) -> usize {
        self.books.lock().expect("books").revoked.len()
    }

    /// The `state` of every token request so far.
    pub fn states(&self) -> Vec<String> {
        self.books.lock().expect("books").states.clone()
    }

    /// The configuration that points `linkChannel` here.
    pub fn config(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CHANNEL_VERIFIER", "chzzk".into()),
            ("CHZZK_API_URL", self.url()),
            ("CHZZK_CLIENT_ID", CLIENT_ID.into()),
            ("CHZZK_CLIENT_SECRET", CLIENT_SECRET.into()),
        ]
    }
}
