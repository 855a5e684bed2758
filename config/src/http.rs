//! The HTTP surface: where the API listens and where users reach it, which clients and browser
//! origins it believes, and its limits per request and per websocket.

use crate::ConfigError;
use crate::var::{Env, Var};
use missionlink_api::cors::AllowedOrigins;
use missionlink_api::proxy::TrustedProxies;
use missionlink_api::settings::WebsocketLimits;
use std::net::SocketAddr;

pub const HTTP_ADDR: Var = Var::text("HTTP_ADDR", "127.0.0.1:8080", "where the API listens");

/// Required in production: see [`crate::Config::validate`].
pub const PUBLIC_URL: Var = Var::optional(
    "PUBLIC_URL",
    "dev: the address the API listens on (`scripts/run`: `http://HTTP_ADDR`); required in \
     production",
    "where users reach the API (`https://api.example.com`, a path prefix allowed; no user \
     info, query or fragment): the base of the links answers give (`rotateOverlayToken`'s \
     `url`), never the request's `Host` header. Invalid or missing in production stops \
     start-up naming this variable",
);

pub const TRUSTED_PROXIES: Var = Var::optional(
    "TRUSTED_PROXIES",
    "none",
    "comma-separated CIDRs of the load balancers in front of the API. When the TCP peer is \
     inside one, the client (for the per-address throttles) is the right-most \
     `X-Forwarded-For` address that is not itself trusted; otherwise the peer is the client \
     and `X-Forwarded-For` is ignored. An invalid entry stops start-up naming this variable",
);

pub const PERSISTED_QUERIES: Var = Var::int(
    "PERSISTED_QUERIES",
    1_000,
    1..=100_000,
    "how many automatic persisted queries (Apollo APQ: a client sends \
     `extensions.persistedQuery.sha256Hash` instead of the text once the server has seen it, \
     over `POST` or `GET`) the API remembers, the least recently used forgotten first; an \
     unknown hash answers `PersistedQueryNotFound` and the client sends the text again",
);

pub const GRAPHQL_DOCUMENT_CACHE: Var = Var::int(
    "GRAPHQL_DOCUMENT_CACHE",
    1_000,
    1..=100_000,
    "GraphQL documents kept parsed, and their validation verdicts (by text, operation and \
     the variables' values that validation reads), most recent first",
);

pub const GRAPHQL_MAX_COMPLEXITY: Var = Var::int(
    "GRAPHQL_MAX_COMPLEXITY",
    5_000,
    100..=1_000_000,
    "the most one GraphQL operation may cost (100 to 1,000,000): each field costs 1, and a \
     page of `first` (or `last`, 20 by default) items costs that many times its selection \
     plus 20 for the read, so `missions(first: 20) { nodes { title pledges(first: 10) { \
     nodes { amount backer { displayName } } } } }` costs about 1,700. Every reply reports \
     `extensions.cost { requested limit }`; a costlier operation is refused before anything \
     runs (`QUERY_TOO_COMPLEX`, its message and `extensions.cost` naming both numbers)",
);

pub const GRAPHQL_MAX_DEPTH: Var = Var::int(
    "GRAPHQL_MAX_DEPTH",
    10,
    2..=50,
    "the deepest one GraphQL operation may nest its fields (2 to 50; introspection apart, \
     which may nest 15); a deeper one is refused naming its depth and this limit",
);

pub const CORS_ALLOWED_ORIGINS: Var = Var::optional(
    "CORS_ALLOWED_ORIGINS",
    "none in production, every loopback origin otherwise",
    "comma-separated browser origins allowed to call the API from another site, each exactly \
     `scheme://host[:port]` (`*`, paths and user info are refused at start-up, naming this \
     variable), or `none`. Unset outside production, a web app on any loopback port \
     (`http://localhost:5173`, `http://127.0.0.1:3000`) may call the API; in production, \
     none until listed. An allowed origin's preflight is answered (methods `GET`, `POST`; \
     headers `Authorization`, `Content-Type`; cached 10 minutes) and its requests carry \
     `Access-Control-Allow-Origin`; credentials are never allowed (the API uses bearer \
     tokens, not cookies). Any other origin's preflight is answered 403 with a message \
     naming this variable (logged once per origin), so the browser refuses the page",
);

pub const MAX_MUTATIONS_PER_REQUEST: Var = Var::int(
    "MAX_MUTATIONS_PER_REQUEST",
    5,
    1..=100,
    "top-level mutation fields in one request (aliases and fragments counted), of which at \
     most one money mutation (`topUp`, `confirmTopUp`, `cancelTopUp`, `createMission`, \
     `contribute`, `withdrawPledge`, `withdrawMission`, `placeBet`, `betOnPrediction`, \
     `claimDailyPoints`, `requestPayout`, \
     `cancelPayout`); otherwise the whole request is `BAD_USER_INPUT` and nothing runs",
);

pub const WS_MAX_SUBSCRIPTIONS_PER_SOCKET: Var = Var::int(
    "WS_MAX_SUBSCRIPTIONS_PER_SOCKET",
    20,
    1..=10_000,
    "operations one websocket may run at once; the next `subscribe` gets an `error` message \
     (code `RATE_LIMITED`)",
);

pub const WS_MAX_SOCKETS_PER_ADDRESS: Var = Var::int(
    "WS_MAX_SOCKETS_PER_ADDRESS",
    20,
    1..=1_000_000,
    "websockets one client address may hold open per API process; the next upgrade gets HTTP \
     429",
);

pub const WS_INIT_TIMEOUT_SECONDS: Var = Var::int(
    "WS_INIT_TIMEOUT_SECONDS",
    10,
    1..=3_600,
    "a websocket without `connection_init` by then is closed with 4408",
);

pub const VARIABLES: &[Var] = &[
    HTTP_ADDR,
    PUBLIC_URL,
    TRUSTED_PROXIES,
    CORS_ALLOWED_ORIGINS,
    PERSISTED_QUERIES,
    GRAPHQL_DOCUMENT_CACHE,
    GRAPHQL_MAX_COMPLEXITY,
    GRAPHQL_MAX_DEPTH,
    MAX_MUTATIONS_PER_REQUEST,
    WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
    WS_MAX_SOCKETS_PER_ADDRESS,
    WS_INIT_TIMEOUT_SECONDS,
];

#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// `HTTP_ADDR`.
    pub addr: SocketAddr,
    /// `PUBLIC_URL`: where users reach this API (`https://api.example.com`, without a trailing
    /// slash), the base of the links answers give (the overlay's). Required in production; in
    /// dev, when unset, links name the address the API listens on. Never the request's `Host`.
    pub public_url: Option<String>,
    /// `TRUSTED_PROXIES`: load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// `CORS_ALLOWED_ORIGINS`: browser origins allowed to call the API (none by default).
    pub cors_allowed_origins: AllowedOrigins,
    /// `PERSISTED_QUERIES`: how many persisted queries (by hash) the API remembers.
    pub persisted_queries: usize,
    /// `GRAPHQL_DOCUMENT_CACHE`: how many documents the API keeps parsed and validated.
    pub document_cache: u64,
    /// `GRAPHQL_MAX_COMPLEXITY`: the most an operation may cost.
    pub max_complexity: usize,
    /// `GRAPHQL_MAX_DEPTH`: the deepest an operation may nest.
    pub max_depth: usize,
    /// `MAX_MUTATIONS_PER_REQUEST`: most top-level mutation fields in one request (of which at
    /// most one moves money).
    pub max_mutations_per_request: usize,
    /// `WS_*`.
    pub websocket: WebsocketLimits,
}

pub(crate) fn read(env: &Env) -> Result<HttpConfig, ConfigError> {
    Ok(HttpConfig {
        addr: env.parse(&HTTP_ADDR, socket_addr)?,
        public_url: env.optional(&PUBLIC_URL, |raw| public_url(raw.trim()))?,
        trusted_proxies: env.parse(&TRUSTED_PROXIES, |raw| TrustedProxies::parse(&raw))?,
        persisted_queries: env.int(&PERSISTED_QUERIES)?,
        document_cache: env.int(&GRAPHQL_DOCUMENT_CACHE)?,
        max_complexity: env.int(&GRAPHQL_MAX_COMPLEXITY)?,
        max_depth: env.int(&GRAPHQL_MAX_DEPTH)?,
        cors_allowed_origins: env
            .optional(&CORS_ALLOWED_ORIGINS, |raw| AllowedOrigins::parse(&raw))?
            .unwrap_or_else(|| match env.app_env {
                crate::AppEnv::Production => AllowedOrigins::default(),
                crate::AppEnv::Dev => AllowedOrigins::loopback(),
            }),
        max_mutations_per_request: env.int(&MAX_MUTATIONS_PER_REQUEST)?,
        websocket: WebsocketLimits {
            max_subscriptions_per_socket: env.int(&WS_MAX_SUBSCRIPTIONS_PER_SOCKET)?,
            max_sockets_per_address: env.int(&WS_MAX_SOCKETS_PER_ADDRESS)?,
            init_timeout_seconds: env.int(&WS_INIT_TIMEOUT_SECONDS)?,
        },
    })
}

/// A listening address, `host:port`.
pub(crate) fn socket_addr(raw: String) -> Result<SocketAddr, String> {
    raw.parse().map_err(|_| format!("{raw:?} is not host:port"))
}

/// `PUBLIC_URL`: an http(s) URL with a host and no user info, query or fragment (a path prefix
/// is kept), without its trailing slash.
fn public_url(raw: &str) -> Result<String, String> {
    let problem =
        || format!("{raw:?} is not where users reach this API, such as https://api.example.com");
    let url = url::Url::parse(raw).map_err(|_| problem())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(problem());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
