//! What the API reads of the configuration, and nothing else: the composition root builds it
//! (`missionlink_config::Config::api`) and [`crate::state::AppState`] keeps it. The API never
//! sees the whole configuration (the worker's, the email transport's, the databases' URLs).

use crate::cors::AllowedOrigins;
use crate::proxy::TrustedProxies;
use missionlink_workflows::TemporalConfig;
use missionlink_workflows::payments::PaymentChoice;
use std::net::SocketAddr;

/// The API's settings. No `Debug`: it holds the webhook's and the tokens' keys.
#[derive(Clone)]
pub struct Settings {
    /// `HTTP_ADDR`: where the API listens (the links' base in dev when `public_url` is unset).
    pub http_addr: SocketAddr,
    /// `PUBLIC_URL`: where users reach this API, without a trailing slash; the base of the
    /// links answers give. Never the request's `Host`.
    pub public_url: Option<String>,
    /// Load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Browser origins allowed to call the API (none by default).
    pub cors_allowed_origins: AllowedOrigins,
    /// How many persisted queries (by hash) the API remembers.
    pub persisted_queries: usize,
    /// How many documents are kept parsed and validated (`GRAPHQL_DOCUMENT_CACHE`).
    pub document_cache: u64,
    /// `GRAPHQL_MAX_COMPLEXITY`: the most a query may cost (every reply reports its cost).
    pub max_complexity: usize,
    /// `GRAPHQL_MAX_DEPTH`: the deepest a query may nest outside introspection.
    pub max_depth: usize,
    /// Most top-level mutation fields in one request (of which at most one moves money).
    pub max_mutations_per_request: usize,
    pub websocket: WebsocketLimits,
    /// Accounts, tokens and who may act now.
    pub identity: missionlink_identity::Settings,
    /// Where workflows are started and signalled.
    pub temporal: TemporalConfig,
    pub missions: MissionSettings,
    /// Whether `topUp`, the sandbox payment provider that credits won without taking a payment,
    /// may run. Never in production, until a real payment provider exists.
    pub sandbox_payments: bool,
    pub payouts: PayoutSettings,
    pub topups: TopUpSettings,
    /// Streamers' webhooks: their limits, and whether production's target rules apply.
    pub webhooks: crate::webhooks::WebhookSettings,
    /// `OVERLAY_LINKS_PER_STREAMER`: overlay links one streamer may hold.
    pub overlay_links_per_streamer: u32,
}

/// Limits of `/graphql/ws`.
#[derive(Clone, Debug)]
pub struct WebsocketLimits {
    /// Operations one socket may have running at once.
    pub max_subscriptions_per_socket: usize,
    /// Sockets one client address may hold open at once (per API process).
    pub max_sockets_per_address: usize,
    /// How long a socket may stay open without a `connection_init`.
    pub init_timeout_seconds: u64,
}

/// Missions and pledges, as the resolvers check them.
#[derive(Clone, Debug)]
pub struct MissionSettings {
    /// The bounds the ledger enforces on missions and pledges.
    pub rules: missionlink_ledger::mission::MissionRules,
    /// Batches of pledges committing in parallel (`contribute`'s group commit).
    pub pledge_batch_workers: usize,
    /// Most pledges committed together.
    pub pledge_batch_max: usize,
    /// `PLATFORM_FEE_BPS`: the fee a successful mission pays, shown before pledging
    /// (`platform`, `Mission.fee`).
    pub platform_fee_bps: u32,
    /// `DAILY_POINTS`, `DAILY_POINTS_STREAK_MAX`: the game's daily claim.
    pub daily_points: missionlink_ledger::prediction::daily::DailyPoints,
    /// `PREDICTIONS_OPEN_PER_STREAMER`, `PREDICTION_RESOLVE_HOURS`: streamers' own predictions.
    pub predictions: missionlink_ledger::prediction::streamer::PredictionLimits,
}

/// Streamers' payout requests.
#[derive(Clone, Debug)]
pub struct PayoutSettings {
    /// Whether payouts can be requested: a bank provider is configured.
    pub enabled: bool,
    /// The bounds the ledger enforces on a request.
    pub rules: missionlink_ledger::payout::PayoutRules,
    /// The bounds of a refund of remaining cash (`requestCashRefund`).
    pub refund_rules: missionlink_ledger::payout::CashRefundRules,
}

/// Top-ups through a payment provider, and its webhook.
#[derive(Clone)]
pub struct TopUpSettings {
    /// The provider, `None` when top-ups through a provider are off.
    pub provider: Option<PaymentChoice>,
    /// The client's timeout of one provider call.
    pub timeout_seconds: u64,
    /// The key of the webhook's HMAC signature (with `toss`).
    pub webhook_secret: Option<String>,
    /// How far a delivery's transmission time may be from ours.
    pub webhook_tolerance_seconds: i64,
    /// At most one provider look-up per order per this long, whatever the deliveries say.
    pub webhook_lookup_interval_seconds: i64,
    /// Deliveries accepted from one client address per `webhook_window_seconds`.
    pub webhook_max_per_client: i64,
    pub webhook_window_seconds: i64,
    /// The daily limit, the withdrawal period, orders' lifetime.
    pub rules: missionlink_ledger::topup::TopUpRules,
    pub prepare_throttle: PrepareThrottle,
    /// Failed `prepareTopUp` / `confirmTopUp` calls per user and per client address.
    pub failure_throttle: crate::card_testing::FailureThrottle,
}

/// How many orders (`prepareTopUp`) one user may make per window, counted before any work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepareThrottle {
    pub max_per_user: i64,
    pub window_seconds: i64,
}
