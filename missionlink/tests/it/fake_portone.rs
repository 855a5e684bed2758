//! A local server that speaks PortOne's documented v1 REST API for identity certifications,
//! for `verifyIdentity`'s tests (PortOne itself is never called):
//!
//! - `POST /users/getToken` (JSON `{imp_key, imp_secret}`): `{code: 0, message: null,
//!   response: {access_token, now, expired_at}}`; wrong credentials are 401 `{code: -1,
//!   message: "Unauthorized", response: null}`;
//! - `GET /certifications/{imp_uid}` (`Authorization: Bearer <access_token>`, or the bare
//!   token): `{code: 0, message: null, response: {imp_uid, merchant_uid, pg_provider, name,
//!   gender, birth, birthday, foreigner, phone, carrier, certified, certified_at, unique_key,
//!   unique_in_site, origin}}`; an unknown `imp_uid` is 404 `{code: -1, message: "인증결과가
//!   존재하지 않습니다.", response: null}`; a bad token 401.
//!
//! The identity check in the client (the person completing PortOne's certification window) is
//! [`FakePortOne::certify`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const IMP_KEY: &str = "test-imp-key";
pub const IMP_SECRET: &str = "test-imp-secret-0123456789abcdef";

#[derive(Default)]
struct Books {
    certifications: HashMap<String, Value>,
    tokens: HashSet<String>,
    token_requests: u32,
}

#[derive(Clone)]
pub struct FakePortOne {
    pub addr: SocketAddr,
    books: Arc<Mutex<Books>>,
}

fn envelope(status: StatusCode, code: i64, message: Option<&str>, response: Value) -> Response {
    (
        status,
        Json(json!({ "code": code, "message": message, "response": response })),
    )
        .into_response()
}

async fn get_token(State(books): State<Arc<Mutex<Books>>>, Json(body): Json<Value>) -> Response {
    let mut books = books.lock().expect("books");
    books.token_requests += 1;
    if body["imp_key"] != IMP_KEY || body["imp_secret"] != IMP_SECRET {
        return envelope(
            StatusCode::UNAUTHORIZED,
            -1,
            Some("Unauthorized"),
            Value::Null,
        );
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    books.tokens.insert(token.clone());
    let now = chrono::Utc::now().timestamp();
    envelope(
        StatusCode::OK,
        0,
        None,
        json!({ "access_token": token, "now": now, "expired_at": now + 1800 }),
    )
}

async fn certification(
    State(books): State<Arc<Mutex<Books>>>,
    Path(imp_uid): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v))
        .unwrap_or_default();
    let books = books.lock().expect("books");
    if !books.tokens.contains(token) {
        return envelope(
            StatusCode::UNAUTHORIZED,
            -1,
            Some("Unauthorized"),
            Value::Null,
        );
    }
    match books.certifications.get(&imp_uid) {
        Some(c) => envelope(StatusCode::OK, 0, None, c.clone()),
        None => envelope(
            StatusCode::NOT_FOUND,
            -1,
            Some("인증결과가 존재하지 않습니다."),
            Value::Null,
        ),
    }
}

impl FakePortOne {
    pub async fn start() -> Self {
        let books = Arc::new(Mutex::new(Books::default()));
        let app = axum::Router::new()
            .route("/users/getToken", post(get_token))
            .route("/certifications/{imp_uid}", get(certification))
            .with_state(books.clone());
        let addr = crate::support::serve_on_loopback(app).await;
        Self { addr, books }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The person whose unique key is `ci`, named `name` and born on `birthday`
    /// (`YYYY-MM-DD`), goes through PortOne's certification window; `certified` is whether
    /// they completed it. Returns the `imp_uid` the window hands the client.
    pub fn certify(&self, ci: &str, name: &str, birthday: &str, certified: bool) -> String {
        let imp_uid = format!("imp_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let birth = chrono::NaiveDate::parse_from_str(birthday, "%Y-%m-%d")
            .expect("birthday")
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp();
        let now = chrono::Utc::now().timestamp();
        self.books.lock().expect("books").certifications.insert(
            imp_uid.clone(),
            json!({
                "imp_uid": imp_uid, "merchant_uid": format!("mid_{now}"), "pg_tid": null,
                "pg_provider": "danal", "name": name, "gender": "male", "birth": birth,
                "birthday": birthday, "foreigner": false, "phone": "01012345678",
                "carrier": "SKT", "certified": certified,
                "certified_at": if certified { now } else { 0 },
                "unique_key": if certified { json!(ci) } else { Value::Null },
                "unique_in_site": format!("di-{ci}"), "origin": "https://app.example/verify",
                "foreigner_v2": false,
            }),
        );
        imp_uid
    }

    /// Tokens asked for so far.
    pub fn token_requests(&self) -> u32 {
        self.books.lock().expect("books").token_requests
    }

    /// The configuration that points `verifyIdentity` here.
    pub fn config(&self) -> Vec<(&'static str, String)> {
        vec![
            ("IDENTITY_VERIFIER", "portone".into()),
            ("PORTONE_API_URL", self.url()),
            ("PORTONE_IMP_KEY", IMP_KEY.into()),
            ("PORTONE_IMP_SECRET", IMP_SECRET.into()),
        ]
    }
}
