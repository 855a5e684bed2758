//! The table of every environment variable MissionLink reads, with its default and meaning:
//! the `--help` text of every subcommand.

/// Every variable MissionLink reads, with its default (`None` = no default) and meaning; used
/// by `--help`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("HTTP_ADDR", "127.0.0.1:8080", "where the API listens"),
    (
        "PUBLIC_URL",
        "(dev: the address the API listens on; required in production)",
        "where users reach the API, such as https://api.example.com: the base of the links \
         answers give (rotateOverlayToken's url), never the request's Host header",
    ),
    (
        "USERS_DATABASE_URL",
        "sqlite://data/users.db?mode=rwc",
        "identity database",
    ),
    (
        "MISSIONS_DATABASE_URL",
        "sqlite://data/missions.db?mode=rwc",
        "missions and money database",
    ),
    (
        "TEMPORAL_ADDRESS",
        "http://127.0.0.1:7233",
        "Temporal frontend",
    ),
    ("TEMPORAL_NAMESPACE", "default", "Temporal namespace"),
    ("TEMPORAL_TASK_QUEUE", "missions", "Temporal task queue"),
    (
        "OUTBOX_RELAY_GRACE_SECONDS",
        "3",
        "how long a workflow start or signal waits for the API's fast path before the worker's \
         outbox relay delivers it",
    ),
    (
        "APP_ENV",
        "dev",
        "dev or production; production refuses dev defaults for secrets and refuses topUp \
         (the sandbox payment provider) with FORBIDDEN",
    ),
    (
        "JWT_SECRET",
        "(generated when APP_ENV=dev)",
        "access-token signing key, >= 32 bytes",
    ),
    ("EMAIL_TRANSPORT", "file", "file or ses"),
    (
        "EMAIL_OUTBOX_DIR",
        "data/outbox",
        "where file transport writes .eml files",
    ),
    (
        "EMAIL_FROM",
        "MissionLink <no-reply@missionlink.local>",
        "sender of every email",
    ),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "(unset = no export)",
        "OTLP traces and metrics",
    ),
    (
        "PLATFORM_FEE_BPS",
        "0",
        "fee on successful missions, basis points",
    ),
    (
        "SIGNUP_POINTS",
        "1000",
        "game points granted at registration",
    ),
    ("MISSION_MIN_DURATION_SECONDS", "60", "shortest mission"),
    ("MISSION_MAX_DURATION_SECONDS", "604800", "longest mission"),
    (
        "MISSION_DEFAULT_ACCEPT_SECONDS",
        "3600",
        "accept window when none is given",
    ),
    ("PLEDGE_MIN", "1000", "smallest pledge, won"),
    ("PLEDGE_MAX", "3000000", "largest pledge, won"),
    (
        "PREDICTION_WINDOW_SECONDS",
        "300",
        "betting window after acceptance",
    ),
    (
        "OBJECTION_WINDOW_SECONDS",
        "0",
        "after a SUCCESS verdict, how long backers may object before it settles (0: off, \
         settles at once); at most 2592000",
    ),
    (
        "OBJECTION_THRESHOLD_BPS",
        "3000",
        "objecting backers holding this share of the pledged won (basis points) open a \
         dispute for an operator",
    ),
    (
        "DISPUTE_SLA_SECONDS",
        "86400",
        "a dispute waiting longer for an operator counts in missionlink_disputes_overdue and \
         raises MissionLinkDisputeOverdue",
    ),
    (
        "EMAIL_MAX_PER_SECOND",
        "14",
        "SES messages per second (your SES quota); file transport is not limited",
    ),
    (
        "EMAIL_PAGE_SIZE",
        "500",
        "backers' emails prepared per page (SES: at most what the rate sends in 15 s)",
    ),
    (
        "EMAIL_SEND_TIMEOUT_SECONDS",
        "120",
        "longest wait for one SES request before a later attempt retries it",
    ),
    (
        "AUDIT_INTERVAL_SECONDS",
        "300",
        "how often the worker audits the ledger into metrics",
    ),
    (
        "WORKER_METRICS_ADDR",
        "127.0.0.1:9464",
        "where `missionlink worker` serves /metrics",
    ),
    (
        "TEMPORAL_METRICS_ADDR",
        "(unset = off)",
        "where the worker serves the Temporal SDK's own metrics",
    ),
    (
        "PLEDGE_BATCH_MAX",
        "256",
        "most pledges committed together (group commit)",
    ),
    (
        "PLEDGE_BATCH_WORKERS",
        "4",
        "pledge batches committing in parallel",
    ),
    (
        "SETTLEMENT_PAGE_SIZE",
        "500",
        "pledges settled per database transaction",
    ),
    (
        "LOGIN_MAX_FAILURES_PER_EMAIL",
        "5",
        "failed logins per email per window",
    ),
    (
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        "50",
        "failed logins per client address per window",
    ),
    (
        "LOGIN_THROTTLE_WINDOW_SECONDS",
        "900",
        "login throttle window",
    ),
    (
        "WS_MAX_SUBSCRIPTIONS_PER_SOCKET",
        "20",
        "operations one websocket may run at once; more get an `error` message",
    ),
    (
        "WS_MAX_SOCKETS_PER_ADDRESS",
        "20",
        "websockets one client address may hold open (per API process); more get HTTP 429",
    ),
    (
        "WS_INIT_TIMEOUT_SECONDS",
        "10",
        "a websocket without connection_init by then is closed with 4408",
    ),
    (
        "REGISTER_MAX_PER_ADDRESS",
        "10",
        "registrations per client address per window, counted before any work",
    ),
    (
        "REGISTER_WINDOW_SECONDS",
        "3600",
        "registration throttle window",
    ),
    (
        "USER_CACHE_SECONDS",
        "5",
        "how long a token's user row is believed without asking the users database again; \
         a deleted or suspended user stops acting within it",
    ),
    (
        "PROPOSAL_COOLDOWN_SECONDS",
        "300",
        "after a streamer rejects a viewer's mission, how long before that viewer may propose \
         to them again (PROPOSAL_COOLDOWN, with extensions.retryAt)",
    ),
    (
        "REJECTIONS_BAN",
        "5",
        "rejections within 24 hours that suspend a viewer from proposing anywhere for 24 hours \
         (PROPOSALS_SUSPENDED, with extensions.retryAt); expiries do not count; 0 = never",
    ),
    (
        "EVENT_RETENTION_HOURS",
        "24",
        "how long a streamer's event feed (missionEvents) keeps events, 1 to 2160; a client \
         resuming from an older seq gets EVENTS_EXPIRED and reloads the current state",
    ),
    (
        "TRUSTED_PROXIES",
        "(empty = none)",
        "comma-separated CIDRs of load balancers in front of the API: when the TCP peer is one, \
         the client is the right-most X-Forwarded-For address outside them",
    ),
    (
        "PERSISTED_QUERIES",
        "1000",
        "automatic persisted queries (Apollo APQ) remembered by hash, most recent first",
    ),
    (
        "CORS_ALLOWED_ORIGINS",
        "(empty = none)",
        "comma-separated browser origins (scheme://host[:port], exact; `*` is refused) allowed \
         to call the API from another site; never with credentials",
    ),
    (
        "MAX_MUTATIONS_PER_REQUEST",
        "5",
        "top-level mutation fields per request, of which at most one money mutation \
         (topUp, confirmTopUp, cancelTopUp, createMission, contribute, placeBet, requestPayout, cancelPayout); more is BAD_USER_INPUT with nothing run",
    ),
    (
        "PAYOUT_MIN",
        "10000",
        "smallest payout a streamer may request, won",
    ),
    (
        "PAYOUT_FEE_WON",
        "0",
        "flat fee per payout, won, taken from the amount (must be below PAYOUT_MIN)",
    ),
    (
        "PAYOUT_HOLD_SECONDS",
        "3600",
        "how long a payout request waits before it goes to the bank: the streamer may cancel it \
         meanwhile, and operators can hold (holdPayout) or cancel (cancelPayoutAsOperator) a payout from a \
         taken-over account before money leaves, and suspending its streamer cancels it \
         (0 to 604800)",
    ),
    (
        "PAYOUT_STUCK_SECONDS",
        "3600",
        "a payout at the bank (PROCESSING) longer than this counts in missionlink_payouts_stuck \
         and raises MissionLinkPayoutStuck",
    ),
    (
        "PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS",
        "10",
        "the payment webhook looks an order's payment up at the provider at most once per this \
         long, whatever its deliveries say; a delivery inside it is answered 429 and the provider \
         sends it again later (1 to 3600)",
    ),
    (
        "PAYMENT_WEBHOOK_MAX_PER_CLIENT",
        "600",
        "most webhook deliveries accepted from one client address per \
         PAYMENT_WEBHOOK_WINDOW_SECONDS, refilled evenly (counted by each API process, in \
         memory); more are answered 429 and read nowhere (1 to 1000000)",
    ),
    (
        "PAYMENT_WEBHOOK_WINDOW_SECONDS",
        "60",
        "the window of PAYMENT_WEBHOOK_MAX_PER_CLIENT, seconds (1 to 86400)",
    ),
    (
        "PAYOUT_HELD_SLA_SECONDS",
        "86400",
        "a payout held for an operator (holdPayout, or its streamer suspended) longer than this \
         counts in missionlink_payouts_held_overdue and raises MissionLinkPayoutHeldOverdue (1 to \
         2592000)",
    ),
    (
        "BANK_PROVIDER",
        "sandbox (dev), none (production)",
        "who pays payouts out: `sandbox` (pays no one; records transfers in \
         bank_sandbox_transfers; refused when APP_ENV=production) or `none` (payouts refused); \
         no real bank provider exists yet",
    ),
    (
        "BANK_SANDBOX_OUTCOME",
        "succeed",
        "what the sandbox bank does: succeed, fail (with a reason: money back in earnings) or \
         timeout (receives, never answers; payouts stay PROCESSING until it changes)",
    ),
    (
        "BANK_TIMEOUT_SECONDS",
        "60",
        "the client's timeout of one bank call (Toss Payments advises at least 60 s); 1 to 120",
    ),
    (
        "OPERATOR_NAME",
        "MissionLink",
        "the operator named in payout and top-up receipts",
    ),
    (
        "OPERATOR_CONTACT",
        "support@missionlink.local",
        "where payout and top-up receipts tell users to object",
    ),
    (
        "PAYMENT_PROVIDER",
        "sandbox (dev), none (production)",
        "who takes top-up payments: `sandbox` (takes no money, every confirm succeeds; refused \
         when APP_ENV=production), `toss` (Toss Payments' API: needs TOSS_SECRET_KEY and \
         TOSS_WEBHOOK_SECRET) or `none` (prepareTopUp and confirmTopUp refused)",
    ),
    (
        "TOSS_API_BASE",
        "https://api.tosspayments.com",
        "base URL of Toss Payments' API (tests point it at a local server); https when \
         APP_ENV=production (plain http only to a loopback address)",
    ),
    (
        "TOSS_SECRET_KEY",
        "(none)",
        "Toss Payments secret key (HTTP Basic user name); required with PAYMENT_PROVIDER=toss",
    ),
    (
        "TOSS_WEBHOOK_SECRET",
        "(none)",
        "key of the HMAC-SHA256 signature a signed POST /payments/webhook delivery must carry; \
         required with PAYMENT_PROVIDER=toss, at least 32 characters when APP_ENV=production",
    ),
    (
        "PAYMENT_TIMEOUT_SECONDS",
        "30",
        "the client's timeout of one payment-provider call; a confirm without an answer stays \
         CONFIRMING and answers PAYMENT_PENDING (1 to 120)",
    ),
    (
        "PAYMENT_WEBHOOK_TOLERANCE_SECONDS",
        "300",
        "how far a webhook delivery's transmission time may be from ours before it is refused",
    ),
    (
        "TOPUP_RECONCILE_AFTER_SECONDS",
        "60",
        "a top-up CONFIRMING or WITHDRAWING (the provider did not answer) for longer than this is \
         asked about again by the worker, under the same idempotency keys",
    ),
    (
        "TOPUP_DAILY_LIMIT_WON",
        "1000000",
        "most won one user may top up per Asia/Seoul calendar day (KCC guideline); topUp and \
         confirmTopUp both count",
    ),
    (
        "TOPUP_WITHDRAWAL_DAYS",
        "7",
        "days after payment within which an unspent top-up may be withdrawn (cancelTopUp; 0 to \
         365)",
    ),
    (
        "TOPUP_ORDER_TTL_SECONDS",
        "1800",
        "how long a prepareTopUp order waits for confirmTopUp (600 to 86400: Toss's own confirm \
         window is 10 minutes); past it confirm answers ORDER_EXPIRED and the worker deletes \
         the order, which reserved and charged nothing",
    ),
    (
        "TOPUP_PREPARE_MAX_PER_USER",
        "10",
        "prepareTopUp orders one user may make per window; the next is refused with \
         RATE_LIMITED and extensions.retryAt (1 to 10000)",
    ),
    (
        "TOPUP_PREPARE_WINDOW_SECONDS",
        "600",
        "the prepareTopUp throttle's window (1 to 86400)",
    ),
];

/// The `--help` text listing [`VARIABLES`].
pub fn variables_help() -> String {
    let mut out = String::from("Environment (a .env file may supply it):\n");
    for (name, default, meaning) in VARIABLES {
        out.push_str(&format!("  {name:<32} {meaning} [default: {default}]\n"));
    }
    out
}

#[cfg(test)]
mod readme {
    use super::VARIABLES;

    /// The README's configuration table names every variable `--help` lists (a row may name
    /// several: `PLEDGE_MIN` / `PLEDGE_MAX`).
    #[test]
    fn the_readme_table_names_every_variable() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
        let missing: Vec<&str> = VARIABLES
            .iter()
            .map(|(name, _, _)| *name)
            .filter(|name| !rows.iter().any(|row| row.contains(&format!("`{name}`"))))
            .collect();
        assert!(missing.is_empty(), "not in README's table: {missing:?}");
    }
}
