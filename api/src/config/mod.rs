//! Configuration from the environment (CONTRACT.md), parsed and validated once at start-up.
//!
//! Every value is read through [`Config::from_lookup`], which takes the lookup function as an
//! argument so that tests build configurations without touching the process environment.

mod payouts;
mod topups;
mod variables;

pub use payouts::PayoutConfig;
pub use topups::{PrepareThrottle, TopUpConfig};

pub use variables::{VARIABLES, variables_help};

use crate::cors::AllowedOrigins;
use crate::proxy::TrustedProxies;
use missionlink_workflows::TemporalConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `dev` or `production`. Production refuses development defaults for secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Dev,
    Production,
}

/// How emails leave the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// One RFC 5322 `.eml` file per message in `EMAIL_OUTBOX_DIR`.
    File,
    /// Amazon SES v2, configured by the AWS SDK's own variables.
    Ses,
}

#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub transport: EmailTransport,
    pub outbox_dir: PathBuf,
    pub from: String,
    /// SES sending rate limit (your account's quota).
    pub max_per_second: u32,
    /// Backers' emails prepared per page (capped further by the rate, see `delivery`).
    pub page_size: u64,
    /// Longest wait for one SES request.
    pub send_timeout_seconds: u64,
}

/// Bounds on missions and pledges (used from the missions issue on).
#[derive(Clone, Debug)]
pub struct MissionRules {
    pub platform_fee_bps: u32,
    pub min_duration_seconds: i64,
    pub max_duration_seconds: i64,
    pub default_accept_seconds: i64,
    pub pledge_min_won: i64,
    pub pledge_max_won: i64,
    pub prediction_window_seconds: i64,
    pub settlement_page_size: u64,
    /// Most pledges committed together.
    pub pledge_batch_max: usize,
    /// Batches committing in parallel.
    pub pledge_batch_workers: usize,
    /// `PROPOSAL_COOLDOWN_SECONDS`: after a rejection, before proposing to that streamer again.
    pub proposal_cooldown_seconds: i64,
    /// `REJECTIONS_BAN`: rejections within 24 h that suspend a proposer for 24 h (0: never).
    pub rejections_ban: usize,
    /// `OBJECTION_WINDOW_SECONDS`: how long backers may object to a SUCCESS verdict (0: off).
    pub objection_window_seconds: i64,
    /// `OBJECTION_THRESHOLD_BPS`: the share of the pledged won whose backers' objections open
    /// a dispute.
    pub objection_threshold_bps: u32,
    /// `DISPUTE_SLA_SECONDS`: a dispute waiting longer counts as overdue (alert).
    pub dispute_sla_seconds: u64,
}

impl MissionRules {
    /// The bounds the ledger enforces on missions and pledges.
    pub fn ledger(&self) -> missionlink_ledger::mission::MissionRules {
        missionlink_ledger::mission::MissionRules {
            min_duration_seconds: self.min_duration_seconds,
            max_duration_seconds: self.max_duration_seconds,
            default_accept_seconds: self.default_accept_seconds,
            pledge_min_won: self.pledge_min_won,
            pledge_max_won: self.pledge_max_won,
            prediction_window_seconds: self.prediction_window_seconds,
            objection_window_seconds: self.objection_window_seconds,
            objection_threshold_bps: self.objection_threshold_bps,
            proposals: missionlink_ledger::channel::ProposalRules {
                cooldown_seconds: self.proposal_cooldown_seconds,
                rejections_ban: self.rejections_ban,
            },
        }
    }
}

pub use missionlink_identity::accounts::{LoginThrottle, RegisterThrottle};

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

#[derive(Clone, Debug)]
pub struct Config {
    pub app_env: AppEnv,
    /// How often the worker audits the ledger.
    pub audit_interval_seconds: u64,
    /// Where a standalone worker serves `/metrics`.
    pub worker_metrics_addr: SocketAddr,
    /// Where the worker serves the Temporal SDK's metrics, if anywhere.
    pub temporal_metrics_addr: Option<SocketAddr>,
    pub http_addr: SocketAddr,
    pub users_database_url: String,
    pub missions_database_url: String,
    pub temporal: TemporalConfig,
    /// HS256 signing key of access tokens.
    pub jwt_secret: Vec<u8>,
    pub email: EmailConfig,
    pub signup_points: i64,
    pub missions: MissionRules,
    pub login_throttle: LoginThrottle,
    pub websocket: WebsocketLimits,
    pub register_throttle: RegisterThrottle,
    /// Most top-level mutation fields in one request (of which at most one moves money).
    pub max_mutations_per_request: usize,
    /// How long a user found in the users database is believed to exist without asking again.
    pub user_cache_seconds: u64,
    /// `EVENT_RETENTION_HOURS`: how long a streamer's feed keeps its events.
    pub event_retention_hours: u64,
    /// Load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// `PERSISTED_QUERIES`: how many persisted queries (by hash) the API remembers.
    pub persisted_queries: usize,
    /// `CORS_ALLOWED_ORIGINS`: browser origins allowed to call the API (none by default).
    pub cors_allowed_origins: AllowedOrigins,
    pub payouts: PayoutConfig,
    pub topups: TopUpConfig,
    /// `PUBLIC_URL`: where users reach this API (`https://api.example.com`, without a trailing
    /// slash), the base of the links answers give (the overlay's). Required in production; in
    /// dev, when unset, links name the address the API listens on. Never the request's `Host`.
    pub public_url: Option<String>,
}

/// Shortest accepted `JWT_SECRET`, in bytes (HS256 wants at least its 256-bit output size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

impl Config {
    /// Whether `topUp`, the sandbox payment provider that credits won without taking a payment,
    /// may run. Never in production, until a real payment provider exists.
    pub fn sandbox_payments(&self) -> bool {
        self.app_env == AppEnv::Dev
    }

    /// The identity section, for `missionlink-identity`.
    pub fn identity(&self) -> missionlink_identity::Settings {
        missionlink_identity::Settings {
            jwt_secret: self.jwt_secret.clone(),
            signup_points: self.signup_points,
            login_throttle: self.login_throttle.clone(),
            register_throttle: self.register_throttle.clone(),
            user_cache_seconds: self.user_cache_seconds,
        }
    }
}

/// `PUBLIC_URL`: an http(s) URL with a host and no user info, query or fragment (a path prefix
/// is kept), without its trailing slash.
fn public_url(raw: &str) -> Result<String, ConfigError> {
    let problem = || {
        err(
            "PUBLIC_URL",
            format!("{raw:?} is not where users reach this API, such as https://api.example.com"),
        )
    };
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

/// A configuration error, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// `EMAIL_FROM`, if it is one address (with an optional display name).
fn sender(from: String) -> Result<String, ConfigError> {
    if missionlink_workflows::email::valid_sender(&from) {
        Ok(from)
    } else {
        Err(err(
            "EMAIL_FROM",
            format!("{from:?} is not one address such as `MissionLink <no-reply@example.com>`"),
        ))
    }
}

fn err(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (a variable's value, or `None` when unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str, default: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let int = |name: &'static str, default: i64, min: i64, max: i64| {
            let raw = get(name, &default.to_string());
            let value: i64 = raw
                .trim()
                .parse()
                .map_err(|_| err(name, format!("{raw:?} is not an integer")))?;
            if (min..=max).contains(&value) {
                Ok(value)
            } else {
                Err(err(name, format!("{value} is outside {min}..={max}")))
            }
        };

        let app_env = match get("APP_ENV", "dev").as_str() {
            "dev" => AppEnv::Dev,
            "production" => AppEnv::Production,
            other => {
                return Err(err(
                    "APP_ENV",
                    format!("{other:?} is not dev or production"),
                ));
            }
        };
        let http_addr = get("HTTP_ADDR", "127.0.0.1:8080");
        let http_addr = http_addr
            .parse()
            .map_err(|_| err("HTTP_ADDR", format!("{http_addr:?} is not host:port")))?;

        let jwt_secret = match lookup("JWT_SECRET").filter(|s| !s.is_empty()) {
            Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => secret.into_bytes(),
            Some(_) => {
                return Err(err(
                    "JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
                ));
            }
            None if app_env == AppEnv::Dev => {
                tracing::warn!(
                    "JWT_SECRET is unset: using a random development secret; tokens will not \
                     survive a restart or work across processes"
                );
                let mut secret = vec![0u8; 32];
                rand::fill(&mut secret[..]);
                secret
            }
            None => return Err(err("JWT_SECRET", "required when APP_ENV=production")),
        };

        let transport = match get("EMAIL_TRANSPORT", "file").as_str() {
            "file" => EmailTransport::File,
            "ses" => EmailTransport::Ses,
            other => {
                return Err(err(
                    "EMAIL_TRANSPORT",
                    format!("{other:?} is not file or ses"),
                ));
            }
        };

        let missions = MissionRules {
            platform_fee_bps: u32::try_from(int("PLATFORM_FEE_BPS", 0, 0, 10_000)?)
                .map_err(|_| err("PLATFORM_FEE_BPS", "out of range"))?,
            min_duration_seconds: int("MISSION_MIN_DURATION_SECONDS", 60, 1, 31_536_000)?,
            max_duration_seconds: int("MISSION_MAX_DURATION_SECONDS", 604_800, 1, 31_536_000)?,
            default_accept_seconds: int("MISSION_DEFAULT_ACCEPT_SECONDS", 3_600, 1, 31_536_000)?,
            pledge_min_won: int("PLEDGE_MIN", 1_000, 1, i64::from(i32::MAX))?,
            pledge_max_won: int("PLEDGE_MAX", 3_000_000, 1, i64::from(i32::MAX))?,
            prediction_window_seconds: int("PREDICTION_WINDOW_SECONDS", 300, 1, 31_536_000)?,
            settlement_page_size: u64::try_from(int("SETTLEMENT_PAGE_SIZE", 500, 1, 10_000)?)
                .map_err(|_| err("SETTLEMENT_PAGE_SIZE", "out of range"))?,
            pledge_batch_max: usize::try_from(int("PLEDGE_BATCH_MAX", 256, 1, 10_000)?)
                .map_err(|_| err("PLEDGE_BATCH_MAX", "out of range"))?,
            pledge_batch_workers: usize::try_from(int("PLEDGE_BATCH_WORKERS", 4, 1, 64)?)
                .map_err(|_| err("PLEDGE_BATCH_WORKERS", "out of range"))?,
            proposal_cooldown_seconds: int("PROPOSAL_COOLDOWN_SECONDS", 300, 0, 604_800)?,
            rejections_ban: usize::try_from(int("REJECTIONS_BAN", 5, 0, 1_000)?)
                .map_err(|_| err("REJECTIONS_BAN", "out of range"))?,
            objection_window_seconds: int("OBJECTION_WINDOW_SECONDS", 0, 0, 2_592_000)?,
            objection_threshold_bps: u32::try_from(int(
                "OBJECTION_THRESHOLD_BPS",
                3_000,
                1,
                10_000,
            )?)
            .map_err(|_| err("OBJECTION_THRESHOLD_BPS", "out of range"))?,
            dispute_sla_seconds: u64::try_from(int("DISPUTE_SLA_SECONDS", 86_400, 1, 2_592_000)?)
                .map_err(|_| err("DISPUTE_SLA_SECONDS", "out of range"))?,
        };
        if missions.min_duration_seconds > missions.max_duration_seconds {
            return Err(err(
                "MISSION_MIN_DURATION_SECONDS",
                "must not exceed MISSION_MAX_DURATION_SECONDS",
            ));
        }
        if missions.pledge_min_won > missions.pledge_max_won {
            return Err(err("PLEDGE_MIN", "must not exceed PLEDGE_MAX"));
        }

        let payouts = payouts::read(app_env, &get, &int)?;
        let topups = topups::read(app_env, &get, &int)?;
        let public_url = match (
            lookup("PUBLIC_URL").filter(|v| !v.trim().is_empty()),
            app_env,
        ) {
            (Some(raw), _) => Some(public_url(raw.trim())?),
            (None, AppEnv::Dev) => None,
            (None, AppEnv::Production) => {
                return Err(err(
                    "PUBLIC_URL",
                    "required when APP_ENV=production: where users reach this API (the base of \
                     the overlay links rotateOverlayToken gives), such as https://api.example.com",
                ));
            }
        };

        let addr = |name: &'static str, raw: String| -> Result<SocketAddr, ConfigError> {
            raw.parse()
                .map_err(|_| err(name, format!("{raw:?} is not host:port")))
        };
        let worker_metrics_addr = addr(
            "WORKER_METRICS_ADDR",
            get("WORKER_METRICS_ADDR", "127.0.0.1:9464"),
        )?;
        let temporal_metrics_addr =
            match lookup("TEMPORAL_METRICS_ADDR").filter(|v| !v.trim().is_empty()) {
                Some(raw) => Some(addr("TEMPORAL_METRICS_ADDR", raw)?),
                None => None,
            };
        Ok(Self {
            app_env,
            audit_interval_seconds: u64::try_from(int("AUDIT_INTERVAL_SECONDS", 300, 1, 86_400)?)
                .map_err(|_| err("AUDIT_INTERVAL_SECONDS", "out of range"))?,
            worker_metrics_addr,
            temporal_metrics_addr,
            http_addr,
            users_database_url: get("USERS_DATABASE_URL", "sqlite://data/users.db?mode=rwc"),
            missions_database_url: get(
                "MISSIONS_DATABASE_URL",
                "sqlite://data/missions.db?mode=rwc",
            ),
            temporal: TemporalConfig {
                address: get("TEMPORAL_ADDRESS", "http://127.0.0.1:7233"),
                namespace: get("TEMPORAL_NAMESPACE", "default"),
                task_queue: get("TEMPORAL_TASK_QUEUE", "missions"),
                outbox_relay_grace: std::time::Duration::from_secs(
                    u64::try_from(int("OUTBOX_RELAY_GRACE_SECONDS", 3, 1, 3_600)?)
                        .map_err(|_| err("OUTBOX_RELAY_GRACE_SECONDS", "out of range"))?,
                ),
            },
            jwt_secret,
            email: EmailConfig {
                transport,
                outbox_dir: PathBuf::from(get("EMAIL_OUTBOX_DIR", "data/outbox")),
                from: sender(get(
                    "EMAIL_FROM",
                    "MissionLink <no-reply@missionlink.local>",
                ))?,
                max_per_second: u32::try_from(int("EMAIL_MAX_PER_SECOND", 14, 1, 100_000)?)
                    .map_err(|_| err("EMAIL_MAX_PER_SECOND", "out of range"))?,
                page_size: u64::try_from(int("EMAIL_PAGE_SIZE", 500, 1, 10_000)?)
                    .map_err(|_| err("EMAIL_PAGE_SIZE", "out of range"))?,
                send_timeout_seconds: u64::try_from(int(
                    "EMAIL_SEND_TIMEOUT_SECONDS",
                    120,
                    1,
                    3_600,
                )?)
                .map_err(|_| err("EMAIL_SEND_TIMEOUT_SECONDS", "out of range"))?,
            },
            signup_points: int("SIGNUP_POINTS", 1_000, 0, 1_000_000_000)?,
            missions,
            login_throttle: LoginThrottle {
                max_failures_per_email: int("LOGIN_MAX_FAILURES_PER_EMAIL", 5, 1, 1_000_000)?,
                max_failures_per_address: int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50, 1, 1_000_000)?,
                window_seconds: int("LOGIN_THROTTLE_WINDOW_SECONDS", 900, 1, 86_400)?,
            },
            websocket: WebsocketLimits {
                max_subscriptions_per_socket: usize::try_from(int(
                    "WS_MAX_SUBSCRIPTIONS_PER_SOCKET",
                    20,
                    1,
                    10_000,
                )?)
                .map_err(|_| err("WS_MAX_SUBSCRIPTIONS_PER_SOCKET", "out of range"))?,
                max_sockets_per_address: usize::try_from(int(
                    "WS_MAX_SOCKETS_PER_ADDRESS",
                    20,
                    1,
                    1_000_000,
                )?)
                .map_err(|_| err("WS_MAX_SOCKETS_PER_ADDRESS", "out of range"))?,
                init_timeout_seconds: u64::try_from(int("WS_INIT_TIMEOUT_SECONDS", 10, 1, 3_600)?)
                    .map_err(|_| err("WS_INIT_TIMEOUT_SECONDS", "out of range"))?,
            },
            user_cache_seconds: u64::try_from(int("USER_CACHE_SECONDS", 5, 0, 300)?)
                .map_err(|_| err("USER_CACHE_SECONDS", "out of range"))?,
            event_retention_hours: u64::try_from(int("EVENT_RETENTION_HOURS", 24, 1, 24 * 90)?)
                .map_err(|_| err("EVENT_RETENTION_HOURS", "out of range"))?,
            trusted_proxies: TrustedProxies::parse(&get("TRUSTED_PROXIES", ""))
                .map_err(|problem| err("TRUSTED_PROXIES", problem))?,
            persisted_queries: usize::try_from(int("PERSISTED_QUERIES", 1_000, 1, 100_000)?)
                .map_err(|_| err("PERSISTED_QUERIES", "out of range"))?,
            cors_allowed_origins: AllowedOrigins::parse(&get("CORS_ALLOWED_ORIGINS", ""))
                .map_err(|problem| err("CORS_ALLOWED_ORIGINS", problem))?,
            max_mutations_per_request: usize::try_from(int(
                "MAX_MUTATIONS_PER_REQUEST",
                5,
                1,
                100,
            )?)
            .map_err(|_| err("MAX_MUTATIONS_PER_REQUEST", "out of range"))?,
            register_throttle: RegisterThrottle {
                max_per_address: int("REGISTER_MAX_PER_ADDRESS", 10, 1, 1_000_000_000)?,
                window_seconds: int("REGISTER_WINDOW_SECONDS", 3_600, 1, 86_400)?,
            },
            payouts,
            topups,
            public_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::PaymentChoice;
    use missionlink_workflows::bank::{BankChoice, SandboxOutcome};
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = config(&[]).unwrap();
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.users_database_url, "sqlite://data/users.db?mode=rwc");
        assert_eq!(
            c.missions_database_url,
            "sqlite://data/missions.db?mode=rwc"
        );
        assert_eq!(c.temporal.task_queue, "missions");
        assert_eq!(c.signup_points, 1_000);
        assert_eq!(c.missions.pledge_max_won, 3_000_000);
        assert_eq!(c.email.transport, EmailTransport::File);
        assert_eq!(c.jwt_secret.len(), 32);
    }

    #[test]
    fn production_refuses_to_start_without_a_jwt_secret() {
        let e = config(&[("APP_ENV", "production")]).unwrap_err();
        assert_eq!(e.variable, "JWT_SECRET");
        let ok = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &"s".repeat(32)),
            ("PUBLIC_URL", "https://api.example.com"),
        ]);
        assert!(ok.is_ok());
    }

    #[test]
    fn a_bad_trusted_proxy_is_named() {
        let e = config(&[("CORS_ALLOWED_ORIGINS", "*")]).unwrap_err();
        assert_eq!(e.variable, "CORS_ALLOWED_ORIGINS");
        let e = config(&[("TRUSTED_PROXIES", "10.0.0.0/16, alb")]).unwrap_err();
        assert_eq!(e.variable, "TRUSTED_PROXIES");
        assert!(e.problem.contains("alb"), "{e}");
        assert!(config(&[("TRUSTED_PROXIES", "10.0.0.0/16,fd00::/8")]).is_ok());
    }

    #[test]
    fn payouts_default_to_the_sandbox_in_dev_and_refuse_it_in_production() {
        let c = config(&[]).unwrap();
        assert_eq!(c.payouts.min_won, 10_000);
        assert_eq!(c.payouts.fee_won, 0);
        assert_eq!(c.payouts.hold_seconds, 3_600);
        assert_eq!(c.payouts.bank, BankChoice::Sandbox(SandboxOutcome::Succeed));
        let secret = "s".repeat(32);
        let prod = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("PUBLIC_URL", "https://api.example.com"),
        ])
        .unwrap();
        assert_eq!(prod.payouts.bank, BankChoice::None);
        let e = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("BANK_PROVIDER", "sandbox"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "BANK_PROVIDER");
        assert!(
            e.problem.contains("no real bank provider exists yet"),
            "{e}"
        );
        assert_eq!(
            config(&[("BANK_SANDBOX_OUTCOME", "maybe")])
                .unwrap_err()
                .variable,
            "BANK_SANDBOX_OUTCOME"
        );
        assert_eq!(
            config(&[("PAYOUT_FEE_WON", "10000")]).unwrap_err().variable,
            "PAYOUT_FEE_WON"
        );
    }

    #[test]
    fn top_ups_default_to_the_sandbox_in_dev_and_refuse_it_in_production() {
        let c = config(&[]).unwrap();
        assert_eq!(c.topups.provider, Some(PaymentChoice::Sandbox));
        assert_eq!(c.topups.rules.daily_limit_won, 1_000_000);
        assert_eq!(c.topups.rules.withdrawal_days, 7);
        let secret = "s".repeat(32);
        let prod = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("PUBLIC_URL", "https://api.example.com"),
        ])
        .unwrap();
        assert_eq!(prod.topups.provider, None);
        let e = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("PAYMENT_PROVIDER", "sandbox"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "PAYMENT_PROVIDER");
        let e = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("PAYMENT_PROVIDER", "toss"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "TOSS_SECRET_KEY");
        let toss = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "live_sk_x"),
            ("TOSS_WEBHOOK_SECRET", &"w".repeat(32)),
            ("PUBLIC_URL", "https://api.example.com"),
        ])
        .unwrap();
        assert_eq!(toss.topups.provider.map(|p| p.name()), Some("toss"));
        assert_eq!(
            config(&[("TOPUP_DAILY_LIMIT_WON", "0")])
                .unwrap_err()
                .variable,
            "TOPUP_DAILY_LIMIT_WON"
        );
    }

    #[test]
    fn production_needs_a_public_url_and_links_never_follow_the_request() {
        let secret = "s".repeat(32);
        let prod = [("APP_ENV", "production"), ("JWT_SECRET", secret.as_str())];
        assert_eq!(config(&prod).unwrap_err().variable, "PUBLIC_URL");
        let with = |url: &'static str| {
            let mut vars = prod.to_vec();
            vars.push(("PUBLIC_URL", url));
            config(&vars)
        };
        assert_eq!(
            with("https://live.example.com/")
                .unwrap()
                .public_url
                .as_deref(),
            Some("https://live.example.com")
        );
        assert_eq!(
            with("https://example.com/missionlink/")
                .unwrap()
                .public_url
                .as_deref(),
            Some("https://example.com/missionlink")
        );
        for bad in [
            "live.example.com",
            "ftp://live.example.com",
            "https://user@live.example.com",
            "https://live.example.com/?a=b",
            "https://live.example.com/#x",
        ] {
            assert_eq!(with(bad).unwrap_err().variable, "PUBLIC_URL", "{bad}");
        }
        // Dev: optional; unset, links name the address the API listens on.
        assert_eq!(config(&[]).unwrap().public_url, None);
        assert_eq!(
            config(&[("PUBLIC_URL", "http://127.0.0.1:8080")])
                .unwrap()
                .public_url
                .as_deref(),
            Some("http://127.0.0.1:8080")
        );
    }

    #[test]
    fn short_secrets_and_bad_numbers_are_named() {
        assert_eq!(
            config(&[("JWT_SECRET", "short")]).unwrap_err().variable,
            "JWT_SECRET"
        );
        assert_eq!(
            config(&[("PLATFORM_FEE_BPS", "10001")])
                .unwrap_err()
                .variable,
            "PLATFORM_FEE_BPS"
        );
        assert_eq!(
            config(&[("PLEDGE_MIN", "ten")]).unwrap_err().variable,
            "PLEDGE_MIN"
        );
    }
}
