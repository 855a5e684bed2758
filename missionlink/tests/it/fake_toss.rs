//! A local server that speaks Toss Payments' documented core payment API, for the Toss client's
//! tests (no payment provider can be reached from here, and Toss itself is never called):
//!
//! - `POST /v1/payments/confirm` (HTTP Basic with the secret key and `:`; `Idempotency-Key`;
//!   JSON `{paymentKey, orderId, amount}`) answers the Payment object with `status: "DONE"`,
//!   or an error object `{code, message}` with the status Toss documents:
//!   401 `UNAUTHORIZED_KEY`, 404 `NOT_FOUND_PAYMENT_SESSION` (no such payment from the
//!   widget), 400 `INVALID_REQUEST` (the amount or order is not the widget's),
//!   403 `REJECT_CARD_PAYMENT` (a card the test declined), 500
//!   `FAILED_INTERNAL_SYSTEM_PROCESSING` (an outage), 400 `ALREADY_PROCESSED_PAYMENT` (a
//!   second confirm under another idempotency key); the same idempotency key again answers the
//!   first answer;
//! - `GET /v1/payments/{paymentKey}`: the Payment object, or 404 `NOT_FOUND_PAYMENT`;
//! - `POST /v1/payments/{paymentKey}/cancel` (`cancelReason`, optional `cancelAmount`,
//!   `Idempotency-Key`): `CANCELED` (or `PARTIAL_CANCELED` while some is left; `balanceAmount`
//!   what is), 400 `ALREADY_CANCELED_PAYMENT`, 403 `NOT_CANCELABLE_AMOUNT` (more than is left),
//!   or 403 `NOT_CANCELABLE_PAYMENT` when the test says so.
//!
//! The widget step (the customer paying) is [`FakeToss::pay`]; a confirm that takes the payment
//! and then answers too late for the client is [`FakeToss::answer_confirms_after`]; a webhook
//! delivery is [`FakeToss::deliver_webhook`], signed as `api/src/payments/webhook.rs` expects.

use crate::support::{TestApp, TestDatabases};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET_KEY: &str = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R";
// As long as production requires (`TOSS_WEBHOOK_SECRET`: at least 32 characters).
pub const WEBHOOK_SECRET: &str = "whsec-test-0123456789abcdefghijklmnop";

#[derive(Clone, Debug)]
pub struct FakePayment {
    pub order_id: String,
    pub amount: i64,
    pub status: &'static str,
    pub approved_at: Option<String>,
    /// Confirms that took the payment (at most one ever should).
    pub taken: u32,
    pub cancels: u32,
    /// Won cancelled so far (`balanceAmount` is `amount` less this).
    pub cancelled: i64,
    /// A confirm of this payment is declined with REJECT_CARD_PAYMENT.
    pub decline: bool,
    /// A cancel of this payment is refused with NOT_CANCELABLE_PAYMENT.
    pub not_cancelable: bool,
    /// A confirm of this payment answers 500, an outage for it alone ([`FakeToss::stall`]).
    pub stalled: bool,
    /// The `totalAmount` this server reports for the payment, when the test makes it disagree
    /// with what was paid ([`FakeToss::misreport`]).
    pub reported_amount: Option<i64>,
}

impl FakePayment {
    /// Cancels `amount` won of it (all that is left when `None`).
    fn cancel(&mut self, amount: Option<i64>) {
        self.cancelled += amount.unwrap_or(self.amount - self.cancelled);
        self.status = if self.cancelled >= self.amount {
            "CANCELED"
        } else {
            "PARTIAL_CANCELED"
        };
        self.cancels += 1;
    }
}

#[derive(Default)]
struct Books {
    payments: HashMap<String, FakePayment>,
    /// Answers by idempotency key, as Toss replays them.
    answers: HashMap<String, (u16, Value)>,
    confirm_delay: Option<Duration>,
    cancel_delay: Option<Duration>,
    /// Confirms fail with 500 FAILED_INTERNAL_SYSTEM_PROCESSING, taking nothing.
    confirm_outage: bool,
    /// Every confirm request received.
    confirm_requests: u32,
    /// Every request received, any path: `METHOD /path`.
    requests: Vec<String>,
}

#[derive(Clone)]
pub struct FakeToss {
    pub addr: SocketAddr,
    books: Arc<Mutex<Books>>,
    http: reqwest::Client,
}

fn error(status: StatusCode, code: &str, message: &str) -> (u16, Value) {
    (status.as_u16(), json!({ "code": code, "message": message }))
}

fn payment_object(key: &str, p: &FakePayment) -> Value {
    json!({
        "mId": "tosspayments",
        "version": "2022-11-16",
        "paymentKey": key,
        "orderId": p.order_id,
        "orderName": "MissionLink",
        "currency": "KRW",
        "method": "카드",
        "status": p.status,
        "totalAmount": p.reported_amount.unwrap_or(p.amount),
        "balanceAmount": p.amount - p.cancelled,
        "requestedAt": "2026-11-26T09:00:00+09:00",
        "approvedAt": p.approved_at,
        "cancels": null,
        "failure": null,
    })
}

fn respond((status, body): (u16, Value)) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SECRET_KEY}:"))
    );
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

fn unauthorized() -> Response {
    respond(error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED_KEY",
        "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
    ))
}

fn now_kst() -> String {
    let offset = chrono::FixedOffset::east_opt(9 * 3600).expect("offset");
    chrono::Utc::now()
        .with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

async fn confirm(
    State(books): State<Arc<Mutex<Books>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("confirm:{k}"));
    let (answer, delay) = {
        let mut b = books.lock().expect("books");
        b.confirm_requests += 1;
        let delay = b.confirm_delay;
        if b.confirm_outage {
            return respond(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
            ));
        }
        if let Some(replayed) = idempotency.as_ref().and_then(|k| b.answers.get(k)) {
            return respond(replayed.clone());
        }
        let key = body["paymentKey"].as_str().unwrap_or_default().to_owned();
        let answer = match b.payments.get_mut(&key) {
            None => error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND_PAYMENT_SESSION",
                "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
            ),
            Some(p)
                if body["orderId"].as_str() != Some(p.order_id.as_str())
                    || body["amount"].as_i64() != Some(p.amount) =>
            {
                error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    "잘못된 요청입니다.",
                )
            }
            Some(p) if p.status != "READY" => error(
                StatusCode::BAD_REQUEST,
                "ALREADY_PROCESSED_PAYMENT",
                "이미 처리된 결제 입니다.",
            ),
            Some(p) if p.stalled => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
            ),
            Some(p) if p.decline => {
                p.status = "ABORTED";
                error(
                    StatusCode::FORBIDDEN,
                    "REJECT_CARD_PAYMENT",
                    "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
                )
            }
            Some(p) => {
                p.status = "DONE";
                p.approved_at = Some(now_kst());
                p.taken += 1;
                (200, payment_object(&key, p))
            }
        };
        if let Some(k) = idempotency {
            b.answers.insert(k, answer.clone());
        }
        (answer, delay)
    };
    // The payment is taken; the answer may come too late for the client.
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    respond(answer)
}

async fn lookup(
    State(books): State<Arc<Mutex<Books>>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let b = books.lock().expect("books");
    respond(match b.payments.get(&key) {
        Some(p) => (200, payment_object(&key, p)),
        None => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "존재하지 않는 결제 정보 입니다.",
        ),
    })
}

async fn cancel(
    State(books): State<Arc<Mutex<Books>>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("cancel:{k}"));
    let (answer, delay) = {
        let mut b = books.lock().expect("books");
        if let Some(replayed) = idempotency.as_ref().and_then(|k| b.answers.get(k)) {
            return respond(replayed.clone());
        }
        let answer = match b.payments.get_mut(&key) {
            _ if body["cancelReason"].as_str().is_none_or(str::is_empty) => error(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "잘못된 요청입니다.",
            ),
            None => error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND_PAYMENT",
                "존재하지 않는 결제 정보 입니다.",
            ),
            Some(p) if p.status == "CANCELED" => error(
                StatusCode::BAD_REQUEST,
                "ALREADY_CANCELED_PAYMENT",
                "이미 취소된 결제 입니다.",
            ),
            Some(p) if p.not_cancelable || !matches!(p.status, "DONE" | "PARTIAL_CANCELED") => {
                error(
                    StatusCode::FORBIDDEN,
                    "NOT_CANCELABLE_PAYMENT",
                    "취소 할 수 없는 결제 입니다.",
                )
            }
            // `cancelAmount`: part of the payment; without it, all that is left.
            Some(p) => match body["cancelAmount"].as_i64() {
                Some(amount) if amount <= 0 || amount > p.amount - p.cancelled => error(
                    StatusCode::FORBIDDEN,
                    "NOT_CANCELABLE_AMOUNT",
                    "취소 할 수 없는 금액 입니다.",
                ),
                amount => {
                    p.cancel(amount);
                    (200, payment_object(&key, p))
                }
            },
        };
        if let Some(k) = idempotency {
            b.answers.insert(k, answer.clone());
        }
        (answer, b.cancel_delay)
    };
    // The payment is cancelled; the answer may come too late for the client.
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    respond(answer)
}

impl FakeToss {
    pub async fn start() -> Self {
        let books = Arc::new(Mutex::new(Books::default()));
        let log = books.clone();
        let app = axum::Router::new()
            .route("/v1/payments/confirm", post(confirm))
            .route("/v1/payments/{key}", get(lookup))
            .route("/v1/payments/{key}/cancel", post(cancel))
            .with_state(books.clone())
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    log.lock().expect("books").requests.push(format!(
                        "{} {}",
                        req.method(),
                        req.uri().path()
                    ));
                    next.run(req)
                },
            ));
        let addr = crate::support::serve_on_loopback(app).await;
        Self {
            addr,
            books,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The app's configuration for this server (`PAYMENT_PROVIDER=toss`).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PAYMENT_PROVIDER", "toss".into()),
            ("TOSS_API_BASE", self.url()),
            ("TOSS_SECRET_KEY", SECRET_KEY.into()),
            ("TOSS_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ]
    }

    /// An app on `dbs` configured for this server, with `extra` on top.
    pub async fn app(&self, dbs: TestDatabases, extra: &[(&str, &str)]) -> TestApp {
        let env = self.env();
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        TestApp::spawn_with(dbs, &all).await
    }

    /// The customer pays `amount` for `order_id` in the widget: the payment waits for confirm.
    pub fn pay(&self, order_id: &str, amount: i64) -> String {
        let key = format!("tgen_{}", uuid::Uuid::new_v4().simple());
        self.books.lock().expect("books").payments.insert(
            key.clone(),
            FakePayment {
                order_id: order_id.to_owned(),
                amount,
                status: "READY",
                approved_at: None,
                taken: 0,
                cancels: 0,
                cancelled: 0,
                decline: false,
                not_cancelable: false,
                stalled: false,
                reported_amount: None,
            },
        );
        key
    }

    /// Confirms of this payment answer 500 from now on (the provider keeps answering nothing).
    pub fn stall(&self, key: &str) {
        if let Some(p) = self.books.lock().expect("books").payments.get_mut(key) {
            p.stalled = true;
        }
    }

    pub fn decline(&self, key: &str) {
        if let Some(p) = self.books.lock().expect("books").payments.get_mut(key) {
            p.decline = true;
        }
    }

    /// From now on every answer about `key` reports `amount` as its `totalAmount` (a provider
    /// whose word disagrees with the order).
    pub fn misreport(&self, key: &str, amount: i64) {
        if let Some(p) = self.books.lock().expect("books").payments.get_mut(key) {
            p.reported_amount = Some(amount);
        }
    }

    /// Cancels `amount` won of payment `key` (all that is left when `None`) at the provider
    /// itself, as its console or the card issuer does: nobody asks MissionLink.
    pub fn cancel_at_provider(&self, key: &str, amount: Option<i64>) {
        if let Some(p) = self.books.lock().expect("books").payments.get_mut(key) {
            p.cancel(amount);
        }
    }

    pub fn refuse_cancel(&self, key: &str) {
        if let Some(p) = self.books.lock().expect("books").payments.get_mut(key) {
            p.not_cancelable = true;
        }
    }

    /// Confirms take the payment, then answer only after `delay` (`None`: at once).
    pub fn answer_confirms_after(&self, delay: Option<Duration>) {
        self.books.lock().expect("books").confirm_delay = delay;
    }

    /// Confirms answer 500 (an outage at the provider) while `on`.
    pub fn confirm_outage(&self, on: bool) {
        self.books.lock().expect("books").confirm_outage = on;
    }

    /// Cancels take effect, then answer only after `delay` (`None`: at once).
    pub fn answer_cancels_after(&self, delay: Option<Duration>) {
        self.books.lock().expect("books").cancel_delay = delay;
    }

    pub fn payment(&self, key: &str) -> FakePayment {
        self.books.lock().expect("books").payments[key].clone()
    }

    /// The payment key the widget gave for `order_id`.
    pub fn payment_key_of(&self, order_id: &str) -> Option<String> {
        self.books
            .lock()
            .expect("books")
            .payments
            .iter()
            .find(|(_, p)| p.order_id == order_id)
            .map(|(k, _)| k.clone())
    }

    /// Every request this server received, any path (`GET /v1/` too), as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.books.lock().expect("books").requests.clone()
    }

    pub fn confirm_requests(&self) -> u32 {
        self.books.lock().expect("books").confirm_requests
    }

    /// How many payments were taken in all.
    pub fn taken(&self) -> u32 {
        self.books
            .lock()
            .expect("books")
            .payments
            .values()
            .map(|p| p.taken)
            .sum()
    }

    /// Delivers a `PAYMENT_STATUS_CHANGED` webhook for `key` to `app_url` as delivery
    /// `event_id`, signed with `secret`; the HTTP status it got.
    pub async fn deliver_webhook(
        &self,
        app_url: &str,
        key: &str,
        event_id: &str,
        secret: &str,
    ) -> u16 {
        let p = self.payment(key);
        let body = json!({
            "eventType": "PAYMENT_STATUS_CHANGED",
            "createdAt": "2026-11-26T09:00:00.000",
            "data": payment_object(key, &p),
        })
        .to_string();
        let time = chrono::Utc::now().to_rfc3339();
        let signature =
            missionlink_api::payments::webhook::sign(secret.as_bytes(), body.as_bytes(), &time);
        self.http
            .post(format!("{app_url}/payments/webhook"))
            .header("content-type", "application/json")
            .header("tosspayments-webhook-transmission-id", event_id)
            .header("tosspayments-webhook-transmission-time", time)
            .header("tosspayments-webhook-signature", signature)
            .body(body)
            .send()
            .await
            .expect("POST /payments/webhook")
            .status()
            .as_u16()
    }
}
