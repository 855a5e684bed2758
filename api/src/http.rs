//! The HTTP server: GraphQL, GraphiQL, subscriptions, the streamers' overlays, the account
//! emails' pages (proving an address, resetting a password), health,
//! readiness and metrics.

use crate::graphql::{AppSchema, Caller, ClientAddr, PublicOrigin, ViaGet, build_schema};
use crate::state::AppState;
use async_graphql::{ErrorExtensions, Value};
use async_graphql_axum::GraphQLResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;

mod account;
mod graphiql;
mod mission_page;
mod overlay;
mod plain_page;
mod request;
mod ws;

use request::JsonGraphqlRequest;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
struct HttpState {
    app: AppState,
    schema: AppSchema,
    sockets: ws::OpenSockets,
    /// The base of the links answers give.
    origin: PublicOrigin,
}

/// The routes, for a server listening on `listening` (the links' base when `PUBLIC_URL` is
/// unset, in dev).
pub fn router(app: AppState, schema: AppSchema, listening: SocketAddr) -> Router {
    let origin = PublicOrigin(
        app.settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listening}")),
    );
    let cors = app.settings.cors_allowed_origins.layer();
    let app_origins = app.settings.cors_allowed_origins.clone();
    let router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphql/assets/{file}", get(graphiql::asset))
        .route("/overlay/{token}", get(overlay::page))
        .route("/missions/{id}", get(mission_page::page))
        .route(
            account::VERIFY_PATH,
            get(account::verify_page).post(account::verify_submit),
        )
        .route(
            account::RESET_PATH,
            get(account::reset_page).post(account::reset_submit),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/payments/webhook", axum::routing::post(payment_webhook))
        .layer(axum::middleware::from_fn(crate::metrics::count_responses))
        // Refuses larger bodies with 413 before any of it is parsed, whatever the extractor.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(HttpState {
            app,
            schema,
            sockets: ws::OpenSockets::default(),
            origin,
        });
    // The CORS layer answers allowed preflights before anything else looks at them.
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // Outermost: a preflight from an origin that is not allowed is answered 403, naming the
    // variable (the CORS layer would answer it 200 without its headers).
    let allowed = std::sync::Arc::new(app_origins);
    router.layer(axum::middleware::from_fn(move |request, next| {
        crate::cors::refuse_preflight(allowed.clone(), request, next)
    }))
}

/// A bound, not yet running server. Binding first lets tests use port 0 and learn the port.
pub struct Server {
    listener: TcpListener,
    router: Router,
    /// What the webhooks' sender needs: it runs while the server does.
    webhooks: (AppState, AppSchema),
}

impl Server {
    pub async fn bind(app: AppState, addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let listening = listener.local_addr()?;
        let schema = build_schema(app.clone());
        Ok(Self {
            listener,
            router: router(app.clone(), schema.clone(), listening),
            webhooks: (app, schema),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves (and sends the streamers' webhooks, `crate::webhooks`) until `shutdown` resolves,
    /// then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (app, schema) = self.webhooks;
        let webhooks = crate::webhooks::Deliverer::spawn(app, schema);
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        webhooks.abort();
        Ok(served?)
    }
}

async fn graphql(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonGraphqlRequest(request): JsonGraphqlRequest,
) -> Response {
    let response = execute(&s, peer, &headers, request).await;
    request::negotiate(&headers, GraphQLResponse::from(response).into_response())
}

/// `GET /graphql`: with a `query` (or a persisted query's `extensions`) in the query string, a
/// query operation, executed (a mutation or subscription is refused with 405); without, the
/// GraphiQL page for a browser (`graphiql.rs`).
async fn graphql_get(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let Some(params) = uri.query().filter(|q| request::names_an_operation(q)) else {
        return graphiql::page();
    };
    match async_graphql::http::parse_query_string(params) {
        Ok(request) => {
            let response = execute(&s, peer, &headers, request.data(ViaGet)).await;
            let write = response.errors.iter().any(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("code"))
                    .is_some_and(|c| *c == Value::from(crate::graphql::WRITE_OVER_GET))
            });
            let mut answer =
                request::negotiate(&headers, GraphQLResponse::from(response).into_response());
            if write {
                // GraphQL over HTTP: a mutation sent with GET is 405, naming the method to use.
                *answer.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                answer
                    .headers_mut()
                    .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            }
            answer
        }
        Err(e) => request::Refusal::from(e).into_response(),
    }
}

/// Runs one GraphQL request as the caller its headers name.
async fn execute(
    s: &HttpState,
    peer: SocketAddr,
    headers: &HeaderMap,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let caller = caller_from_headers(&s.app, headers);
    let client = s.app.settings.trusted_proxies.client(peer.ip(), headers);
    let request = request
        .data(caller)
        .data(ClientAddr(client))
        .data(s.origin.clone());
    let mut response = s.schema.execute(request).await;
    // Parse, validation and limit errors come from async-graphql without a code: they are
    // all the client's malformed input.
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            let coded = async_graphql::Error::new(error.message.clone())
                .extend_with(|_, e| e.set("code", Value::from("BAD_USER_INPUT")));
            error.extensions = coded.extensions;
        }
    }
    response
}

fn caller_from_headers(app: &AppState, headers: &HeaderMap) -> Caller {
    match headers.get(header::AUTHORIZATION) {
        None => Caller::Anonymous,
        Some(value) => caller_from_authorization(app, value.to_str().unwrap_or_default()),
    }
}

/// The caller an `Authorization` value (`Bearer <accessToken>`) names, over HTTP or websocket.
fn caller_from_authorization(app: &AppState, value: &str) -> Caller {
    match value.strip_prefix("Bearer ").map(str::trim) {
        Some(token) => match app.auth.keys.verify_access(token) {
            Ok(claims) => Caller::User(claims),
            Err(e) => Caller::Invalid(crate::error::ApiError::from(e).client_message()),
        },
        None => Caller::Invalid("Authorization header must be 'Bearer <accessToken>'".into()),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 only when both databases and Temporal answer; otherwise 503 naming what is down, by
/// name only: the errors themselves (addresses, library messages) are logged, never served.
async fn readyz(State(s): State<HttpState>) -> Response {
    let (users, missions, temporal) = tokio::join!(
        s.app.db.users.ping(),
        s.app.db.missions.ping(),
        s.app.temporal.ping()
    );
    let mut problems = Vec::new();
    if let Err(e) = users {
        tracing::warn!(error = %e, "not ready: users database");
        problems.push("users database");
    }
    if let Err(e) = missions {
        tracing::warn!(error = %e, "not ready: missions database");
        problems.push("missions database");
    }
    if let Err(e) = temporal {
        tracing::warn!(error = format!("{e:#}"), "not ready: temporal");
        problems.push("temporal");
    }
    if problems.is_empty() {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable", "problems": problems })),
        )
            .into_response()
    }
}

/// `POST /payments/webhook`: the payment provider's deliveries (`topups::webhook`). 200 once
/// handled (or a replay, or naming nothing of ours), 401 when the signature or time is wrong,
/// 400 when unreadable, 429 (`Retry-After`) past the per-client or per-order throttle, 503 when
/// it could not be finished now (the provider retries).
async fn payment_webhook(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    use crate::topups::WebhookAnswer;
    let client = s.app.settings.trusted_proxies.client(peer.ip(), &headers);
    match crate::topups::webhook(&s.app, client, &headers, &body).await {
        WebhookAnswer::Handled => (StatusCode::OK, "ok").into_response(),
        WebhookAnswer::TooMany {
            retry_after_seconds,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_seconds.to_string())],
            "too many deliveries: send it again later",
        )
            .into_response(),
        WebhookAnswer::Unauthorized(why) => (StatusCode::UNAUTHORIZED, why).into_response(),
        WebhookAnswer::BadRequest(why) => (StatusCode::BAD_REQUEST, why).into_response(),
        WebhookAnswer::RetryLater => {
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}

async fn metrics(State(s): State<HttpState>) -> impl IntoResponse {
    let m = missionlink_telemetry::metrics();
    m.refresh(&s.app.db.users, &s.app.db.missions).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m.render(),
    )
}
