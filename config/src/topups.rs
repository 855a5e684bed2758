//! Top-ups through a payment provider: `PAYMENT_*`, `TOSS_*`, `TOPUP_*`.

use crate::var::{Env, Var};
use crate::{ConfigError, err};
use missionlink_api::card_testing::FailureThrottle;
use missionlink_api::settings::PrepareThrottle;
use missionlink_ledger::money::MAX_BALANCE;
use missionlink_ledger::topup::{DEFAULT_MINOR_MONTHLY_LIMIT_WON, DEFAULT_ORDER_TTL_SECONDS};
use missionlink_ledger::wallet::TOP_UP_MIN_WON;
use missionlink_workflows::payments::PaymentChoice;
use missionlink_workflows::payments::toss::TossConfig;

/// Longest `PAYMENT_TIMEOUT_SECONDS`: a confirm holds its GraphQL request open this long.
pub const MAX_PAYMENT_TIMEOUT_SECONDS: i64 = 120;

/// Shortest `TOSS_WEBHOOK_SECRET` accepted when `APP_ENV=production`, in characters: a key of an
/// HMAC-SHA256 signature shorter than its 256-bit output is weaker than the signature (the same
/// rule as `JWT_SECRET`'s 32 bytes).
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 32;

/// Shortest `TOPUP_ORDER_TTL_SECONDS`: Toss Payments lets a payment authenticated in its widget
/// wait 10 minutes for the confirm; an order that expired sooner would refuse a confirm Toss
/// would still take.
pub const MIN_ORDER_TTL_SECONDS: i64 = 600;

/// The sandbox takes no money: refused in production, see [`crate::Config::validate`].
pub const PAYMENT_PROVIDER: Var = Var::by_env(
    "PAYMENT_PROVIDER",
    "sandbox",
    "none",
    "who takes top-up payments: `sandbox` (takes no money, every confirm succeeds; refused \
     at start-up when `APP_ENV=production`), `toss` (Toss Payments' API; needs \
     `TOSS_SECRET_KEY` and `TOSS_WEBHOOK_SECRET`) or `none` (`prepareTopUp`, `confirmTopUp` \
     are `FORBIDDEN`)",
);

/// https in production (or a loopback address): see [`crate::Config::validate`].
pub const TOSS_API_BASE: Var = Var::text(
    "TOSS_API_BASE",
    "https://api.tosspayments.com",
    "base URL of Toss Payments' API (the tests point it at a local server); `https` when \
     `APP_ENV=production` (the secret key is in every request), plain `http` only to a \
     loopback address",
);

pub const TOSS_SECRET_KEY: Var = Var::optional(
    "TOSS_SECRET_KEY",
    "none",
    "Toss Payments secret key (HTTP Basic user name, empty password); required with `toss`",
);

/// Long enough in production: see [`crate::Config::validate`].
pub const TOSS_WEBHOOK_SECRET: Var = Var::optional(
    "TOSS_WEBHOOK_SECRET",
    "none",
    "key of the HMAC-SHA256 signature a signed `POST /payments/webhook` delivery must carry \
     (an unsigned one is only a hint to look the payment up); required with `toss`, at least \
     32 characters when `APP_ENV=production` (e.g. `openssl rand -hex 32`)",
);

pub const PAYMENT_TIMEOUT_SECONDS: Var = Var::int(
    "PAYMENT_TIMEOUT_SECONDS",
    30,
    1..=MAX_PAYMENT_TIMEOUT_SECONDS,
    "the client's timeout of one payment-provider call (1 to 120); a confirm or cancel \
     without an answer answers `PAYMENT_PENDING` and stays where it is",
);

pub const PAYMENT_WEBHOOK_TOLERANCE_SECONDS: Var = Var::int(
    "PAYMENT_WEBHOOK_TOLERANCE_SECONDS",
    300,
    1..=86_400,
    "how far a webhook delivery's transmission time may be from ours",
);

pub const PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS: Var = Var::int(
    "PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS",
    10,
    1..=3_600,
    "the webhook looks an order's payment up at the provider at most once per this long, \
     whatever its deliveries say; a delivery inside it is answered 429 and the provider \
     sends it again later (1 to 3600)",
);

pub const PAYMENT_WEBHOOK_MAX_PER_CLIENT: Var = Var::int(
    "PAYMENT_WEBHOOK_MAX_PER_CLIENT",
    600,
    1..=1_000_000,
    "most webhook deliveries accepted from one client address per \
     `PAYMENT_WEBHOOK_WINDOW_SECONDS`, refilled evenly and counted in memory by each API \
     process; more are answered 429 and read nowhere (1 to 1000000)",
);

pub const PAYMENT_WEBHOOK_WINDOW_SECONDS: Var = Var::int(
    "PAYMENT_WEBHOOK_WINDOW_SECONDS",
    60,
    1..=86_400,
    "the window of `PAYMENT_WEBHOOK_MAX_PER_CLIENT` (1 to 86400)",
);

pub const TOPUP_RECONCILE_AFTER_SECONDS: Var = Var::int(
    "TOPUP_RECONCILE_AFTER_SECONDS",
    60,
    1..=86_400,
    "a top-up left `CONFIRMING` or `WITHDRAWING` (the provider did not answer) longer than \
     this is asked about again by the worker, under the same idempotency keys",
);

pub const TOPUP_DAILY_LIMIT_WON: Var = Var::int(
    "TOPUP_DAILY_LIMIT_WON",
    1_000_000,
    1..=MAX_BALANCE,
    "most won one person may top up per Asia/Seoul calendar day (KCC guideline), across \
     their accounts (a verified person's; an unverified user's own); `topUp` and \
     `confirmTopUp` both count",
);

/// At least the smallest top-up, and it must be able to bind: see [`crate::Config::validate`].
pub const TOPUP_MINOR_MONTHLY_LIMIT_WON: Var = Var::int(
    "TOPUP_MINOR_MONTHLY_LIMIT_WON",
    DEFAULT_MINOR_MONTHLY_LIMIT_WON,
    TOP_UP_MIN_WON..=MAX_BALANCE,
    "most won a verified minor (under 19, with a guardian's consent: \
     `recordGuardianConsent`) may top up per Asia/Seoul calendar month, on top of the daily \
     limit (1000 up to 31 × `TOPUP_DAILY_LIMIT_WON`, which it could never reach beyond); \
     past it `TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED`. The default is the 70,000-won monthly \
     purchase limit Korean online games have kept for minors (the adults' monthly limit was \
     lifted in 2019), the figure Korean parents know for paid digital items",
);

pub const TOPUP_WITHDRAWAL_DAYS: Var = Var::int(
    "TOPUP_WITHDRAWAL_DAYS",
    7,
    0..=365,
    "days after payment within which an unspent top-up may be withdrawn (`cancelTopUp`; 0 to \
     365)",
);

pub const TOPUP_ORDER_TTL_SECONDS: Var = Var::int(
    "TOPUP_ORDER_TTL_SECONDS",
    DEFAULT_ORDER_TTL_SECONDS,
    MIN_ORDER_TTL_SECONDS..=86_400,
    "how long a `prepareTopUp` order waits for `confirmTopUp` (600 to 86400; Toss's own \
     confirm window is 10 minutes after the widget, the rest is the customer's time in it); \
     past it confirm answers `ORDER_EXPIRED` and the worker deletes the order, which \
     reserved and charged nothing",
);

pub const TOPUP_PREPARE_MAX_PER_USER: Var = Var::int(
    "TOPUP_PREPARE_MAX_PER_USER",
    10,
    1..=10_000,
    "`prepareTopUp` orders one user may make per window (1 to 10000), counted before the \
     order is written; the next is `RATE_LIMITED` with `extensions.retryAt` (the window's \
     end), nothing written",
);

pub const TOPUP_PREPARE_WINDOW_SECONDS: Var = Var::int(
    "TOPUP_PREPARE_WINDOW_SECONDS",
    600,
    1..=86_400,
    "the `prepareTopUp` throttle's window (1 to 86400)",
);

pub const TOPUP_FAILURES_MAX: Var = Var::int(
    "TOPUP_FAILURES_MAX",
    5,
    1..=10_000,
    "failed `prepareTopUp` / `confirmTopUp` calls (a declined card, a refused amount, order \
     or key) one user may make per window (1 to 10000), counted before the work and given \
     back on success or when the provider did not answer; the next is `RATE_LIMITED` with \
     `extensions.retryAt`, before the provider is asked (card testing)",
);

pub const TOPUP_FAILURES_MAX_PER_ADDRESS: Var = Var::int(
    "TOPUP_FAILURES_MAX_PER_ADDRESS",
    20,
    1..=100_000,
    "declined payments (`PAYMENT_FAILED`, `PAYMENT_UNDER_REVIEW`) from one client address \
     per window, whatever the account (1 to 100000); then every top-up call from it is \
     `RATE_LIMITED`. Other refusals do not count against an address, so nobody can use up a \
     shared address's allowance without cards",
);

pub const TOPUP_FAILURE_WINDOW_SECONDS: Var = Var::int(
    "TOPUP_FAILURE_WINDOW_SECONDS",
    3_600,
    1..=86_400,
    "the failed top-up throttle's window (1 to 86400)",
);

pub const VARIABLES: &[Var] = &[
    PAYMENT_PROVIDER,
    TOSS_API_BASE,
    TOSS_SECRET_KEY,
    TOSS_WEBHOOK_SECRET,
    PAYMENT_TIMEOUT_SECONDS,
    PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
    PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS,
    PAYMENT_WEBHOOK_MAX_PER_CLIENT,
    PAYMENT_WEBHOOK_WINDOW_SECONDS,
    TOPUP_RECONCILE_AFTER_SECONDS,
    TOPUP_DAILY_LIMIT_WON,
    TOPUP_MINOR_MONTHLY_LIMIT_WON,
    TOPUP_WITHDRAWAL_DAYS,
    TOPUP_ORDER_TTL_SECONDS,
    TOPUP_PREPARE_MAX_PER_USER,
    TOPUP_PREPARE_WINDOW_SECONDS,
    TOPUP_FAILURES_MAX,
    TOPUP_FAILURES_MAX_PER_ADDRESS,
    TOPUP_FAILURE_WINDOW_SECONDS,
];

/// Top-ups through a payment provider (`PAYMENT_*`, `TOSS_*`, `TOPUP_*`). Its `Debug` never
/// shows the webhook secret.
#[derive(Clone)]
pub struct TopUpConfig {
    /// `PAYMENT_PROVIDER`: `None` when top-ups through a provider are off (production without
    /// a real provider).
    pub provider: Option<PaymentChoice>,
    /// `PAYMENT_TIMEOUT_SECONDS`: the client's timeout of one provider call.
    pub timeout_seconds: u64,
    /// `TOSS_WEBHOOK_SECRET`: the key of the webhook's HMAC signature (required with `toss`).
    pub webhook_secret: Option<String>,
    /// `PAYMENT_WEBHOOK_TOLERANCE_SECONDS`: how far a delivery's transmission time may be from
    /// ours.
    pub webhook_tolerance_seconds: i64,
    /// `PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS`: at most one provider look-up per order per
    /// this long, whatever the deliveries say.
    pub webhook_lookup_interval_seconds: i64,
    /// `PAYMENT_WEBHOOK_MAX_PER_CLIENT` deliveries per `PAYMENT_WEBHOOK_WINDOW_SECONDS` from one
    /// client address.
    pub webhook_max_per_client: i64,
    pub webhook_window_seconds: i64,
    /// `TOPUP_DAILY_LIMIT_WON`, `TOPUP_MINOR_MONTHLY_LIMIT_WON`, `TOPUP_WITHDRAWAL_DAYS`,
    /// `TOPUP_ORDER_TTL_SECONDS`.
    pub rules: missionlink_ledger::topup::TopUpRules,
    /// `TOPUP_RECONCILE_AFTER_SECONDS`.
    pub reconcile_after_seconds: u64,
    /// `TOPUP_PREPARE_MAX_PER_USER` orders per `TOPUP_PREPARE_WINDOW_SECONDS`.
    pub prepare_throttle: PrepareThrottle,
    /// `TOPUP_FAILURES_MAX` failed calls per `TOPUP_FAILURE_WINDOW_SECONDS`.
    pub failure_throttle: FailureThrottle,
}

impl std::fmt::Debug for TopUpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopUpConfig")
            .field("provider", &self.provider)
            .field("timeout_seconds", &self.timeout_seconds)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("webhook_tolerance_seconds", &self.webhook_tolerance_seconds)
            .field(
                "webhook_lookup_interval_seconds",
                &self.webhook_lookup_interval_seconds,
            )
            .field("webhook_max_per_client", &self.webhook_max_per_client)
            .field("webhook_window_seconds", &self.webhook_window_seconds)
            .field("rules", &self.rules)
            .field("reconcile_after_seconds", &self.reconcile_after_seconds)
            .field("prepare_throttle", &self.prepare_throttle)
            .field("failure_throttle", &self.failure_throttle)
            .finish()
    }
}

impl TopUpConfig {
    /// What the worker's receipts and reconciliation need.
    pub fn worker(&self) -> missionlink_workflows::worker::TopUpSettings {
        missionlink_workflows::worker::TopUpSettings {
            rules: self.rules,
            provider: self.provider.clone(),
            timeout: std::time::Duration::from_secs(self.timeout_seconds),
            reconcile_after: std::time::Duration::from_secs(self.reconcile_after_seconds),
        }
    }

    /// What the API's top-up resolvers and the payment webhook need.
    pub fn api(&self) -> missionlink_api::settings::TopUpSettings {
        missionlink_api::settings::TopUpSettings {
            provider: self.provider.clone(),
            timeout_seconds: self.timeout_seconds,
            webhook_secret: self.webhook_secret.clone(),
            webhook_tolerance_seconds: self.webhook_tolerance_seconds,
            webhook_lookup_interval_seconds: self.webhook_lookup_interval_seconds,
            webhook_max_per_client: self.webhook_max_per_client,
            webhook_window_seconds: self.webhook_window_seconds,
            rules: self.rules,
            prepare_throttle: self.prepare_throttle,
            failure_throttle: self.failure_throttle,
        }
    }
}

/// The top-up settings. The sandbox payment provider takes no money: it is the default in dev;
/// in production the default is `none` (no top-ups through a provider) until
/// `PAYMENT_PROVIDER=toss` is configured with its keys.
pub(crate) fn read(env: &Env) -> Result<TopUpConfig, ConfigError> {
    let secret = |var: &Var| {
        env.set(var)
            .ok_or_else(|| err(var.name, "required when PAYMENT_PROVIDER=toss"))
    };
    let (provider, webhook_secret) = match env.text(&PAYMENT_PROVIDER).as_str() {
        "sandbox" => (Some(PaymentChoice::Sandbox), None),
        "toss" => {
            let toss = TossConfig {
                api_base: env.parse(&TOSS_API_BASE, crate::var::http_url)?,
                secret_key: secret(&TOSS_SECRET_KEY)?,
            };
            (
                Some(PaymentChoice::Toss(toss)),
                Some(secret(&TOSS_WEBHOOK_SECRET)?),
            )
        }
        "none" => (None, None),
        other => {
            return Err(err(
                PAYMENT_PROVIDER.name,
                format!("{other:?} is not sandbox, toss or none"),
            ));
        }
    };
    Ok(TopUpConfig {
        provider,
        timeout_seconds: env.int(&PAYMENT_TIMEOUT_SECONDS)?,
        webhook_secret,
        webhook_tolerance_seconds: env.int(&PAYMENT_WEBHOOK_TOLERANCE_SECONDS)?,
        webhook_lookup_interval_seconds: env.int(&PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS)?,
        webhook_max_per_client: env.int(&PAYMENT_WEBHOOK_MAX_PER_CLIENT)?,
        webhook_window_seconds: env.int(&PAYMENT_WEBHOOK_WINDOW_SECONDS)?,
        reconcile_after_seconds: env.int(&TOPUP_RECONCILE_AFTER_SECONDS)?,
        rules: missionlink_ledger::topup::TopUpRules {
            daily_limit_won: env.int(&TOPUP_DAILY_LIMIT_WON)?,
            minor_monthly_limit_won: env.int(&TOPUP_MINOR_MONTHLY_LIMIT_WON)?,
            withdrawal_days: env.int(&TOPUP_WITHDRAWAL_DAYS)?,
            order_ttl_seconds: env.int(&TOPUP_ORDER_TTL_SECONDS)?,
        },
        prepare_throttle: PrepareThrottle {
            max_per_user: env.int(&TOPUP_PREPARE_MAX_PER_USER)?,
            window_seconds: env.int(&TOPUP_PREPARE_WINDOW_SECONDS)?,
        },
        failure_throttle: FailureThrottle {
            max: env.int(&TOPUP_FAILURES_MAX)?,
            max_per_address: env.int(&TOPUP_FAILURES_MAX_PER_ADDRESS)?,
            window_seconds: env.int(&TOPUP_FAILURE_WINDOW_SECONDS)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::MIN_WEBHOOK_SECRET_CHARS;
    use crate::tests::{config, production};
    use crate::{Config, ConfigError};

    /// Production with Toss, plus `extra` (which wins).
    fn toss_in_production(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let webhook = "w".repeat(MIN_WEBHOOK_SECRET_CHARS);
        let mut vars = vec![
            ("PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "live_sk_x"),
            ("TOSS_WEBHOOK_SECRET", webhook.as_str()),
        ];
        vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        vars.extend_from_slice(extra);
        production(&vars)
    }

    #[test]
    fn production_sends_the_secret_key_only_over_https() {
        assert!(toss_in_production(&[]).is_ok());
        let e =
            toss_in_production(&[("TOSS_API_BASE", "http://api.tosspayments.com")]).unwrap_err();
        assert_eq!(e.variable, "TOSS_API_BASE");
        assert!(e.problem.contains("https"), "{e}");
        // A loopback address (a local egress proxy, a test server) never crosses a network.
        for local in [
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
            "http://localhost:9000",
        ] {
            assert!(
                toss_in_production(&[("TOSS_API_BASE", local)]).is_ok(),
                "{local}"
            );
        }
        assert_eq!(
            toss_in_production(&[("TOSS_API_BASE", "api.tosspayments.com")])
                .unwrap_err()
                .variable,
            "TOSS_API_BASE"
        );
        // Dev may use http anywhere (a fake provider on another machine).
        assert!(
            config(&[
                ("PAYMENT_PROVIDER", "toss"),
                ("TOSS_API_BASE", "http://toss.test:9000"),
                ("TOSS_SECRET_KEY", "test_sk_x"),
                ("TOSS_WEBHOOK_SECRET", "short"),
            ])
            .is_ok()
        );
    }

    #[test]
    fn production_refuses_a_webhook_secret_too_short_to_be_one() {
        let short = "w".repeat(MIN_WEBHOOK_SECRET_CHARS - 1);
        let e = toss_in_production(&[("TOSS_WEBHOOK_SECRET", short.as_str())]).unwrap_err();
        assert_eq!(e.variable, "TOSS_WEBHOOK_SECRET");
        assert!(e.problem.contains("32"), "{e}");
    }

    #[test]
    fn minors_have_a_monthly_limit_that_can_bind() {
        let c = config(&[]).unwrap();
        assert_eq!(c.topups.rules.minor_monthly_limit_won, 70_000);
        let c = config(&[("TOPUP_MINOR_MONTHLY_LIMIT_WON", "50000")]).unwrap();
        assert_eq!(c.topups.rules.minor_monthly_limit_won, 50_000);
        // Below the smallest top-up, no minor could top up at all.
        for bad in ["0", "-1", "999"] {
            assert_eq!(
                config(&[("TOPUP_MINOR_MONTHLY_LIMIT_WON", bad)])
                    .unwrap_err()
                    .variable,
                "TOPUP_MINOR_MONTHLY_LIMIT_WON",
                "{bad}"
            );
        }
        // More than 31 days at the daily limit could never bind: a typo, refused.
        assert!(
            config(&[
                ("TOPUP_DAILY_LIMIT_WON", "10000"),
                ("TOPUP_MINOR_MONTHLY_LIMIT_WON", "310000"),
            ])
            .is_ok()
        );
        let e = config(&[
            ("TOPUP_DAILY_LIMIT_WON", "10000"),
            ("TOPUP_MINOR_MONTHLY_LIMIT_WON", "310001"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "TOPUP_MINOR_MONTHLY_LIMIT_WON");
        assert!(e.problem.contains("TOPUP_DAILY_LIMIT_WON"), "{e}");
    }

    #[test]
    fn unconfirmed_orders_expire_and_orders_are_throttled_per_user() {
        let c = config(&[]).unwrap();
        assert_eq!(c.topups.rules.order_ttl_seconds, 1_800);
        assert_eq!(c.topups.prepare_throttle.max_per_user, 10);
        assert_eq!(c.topups.prepare_throttle.window_seconds, 600);
        // Shorter than Toss's own 10-minute confirm window would refuse confirms Toss takes.
        for (name, bad) in [
            ("TOPUP_ORDER_TTL_SECONDS", "599"),
            ("TOPUP_ORDER_TTL_SECONDS", "86401"),
            ("TOPUP_PREPARE_MAX_PER_USER", "0"),
            ("TOPUP_PREPARE_WINDOW_SECONDS", "0"),
        ] {
            assert_eq!(config(&[(name, bad)]).unwrap_err().variable, name, "{bad}");
        }
    }
}
