//! Top-ups' settings: `PAYMENT_*`, `TOSS_*`, `TOPUP_*`.

use super::{AppEnv, ConfigError, err};
use crate::payments::PaymentChoice;
use crate::payments::toss::TossConfig;

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
    /// `TOPUP_DAILY_LIMIT_WON`, `TOPUP_WITHDRAWAL_DAYS`.
    pub rules: missionlink_ledger::topup::TopUpRules,
    /// `TOPUP_RECONCILE_AFTER_SECONDS`.
    pub reconcile_after_seconds: u64,
    /// `TOPUP_PREPARE_MAX_PER_USER` orders per `TOPUP_PREPARE_WINDOW_SECONDS`.
    pub prepare_throttle: PrepareThrottle,
}

/// How many orders (`prepareTopUp`) one user may make per window, counted before any work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepareThrottle {
    pub max_per_user: i64,
    pub window_seconds: i64,
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
}

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

/// The top-up settings. The sandbox payment provider takes no money: it is the default in dev
/// and refused in production, where the default is `none` (no top-ups through a provider) until
/// `PAYMENT_PROVIDER=toss` is configured with its keys.
pub(super) fn read(
    app_env: AppEnv,
    get: &dyn Fn(&str, &str) -> String,
    int: &dyn Fn(&'static str, i64, i64, i64) -> Result<i64, ConfigError>,
) -> Result<TopUpConfig, ConfigError> {
    let default_provider = match app_env {
        AppEnv::Dev => "sandbox",
        AppEnv::Production => "none",
    };
    let secret = |name: &'static str| {
        let value = get(name, "");
        if value.is_empty() {
            Err(err(name, "required when PAYMENT_PROVIDER=toss"))
        } else {
            Ok(value)
        }
    };
    let (provider, webhook_secret) = match get("PAYMENT_PROVIDER", default_provider).as_str() {
        "sandbox" if app_env == AppEnv::Production => {
            return Err(err(
                "PAYMENT_PROVIDER",
                "sandbox takes no money and is refused when APP_ENV=production: set \
                 PAYMENT_PROVIDER=toss with TOSS_SECRET_KEY and TOSS_WEBHOOK_SECRET (or none)",
            ));
        }
        "sandbox" => (Some(PaymentChoice::Sandbox), None),
        "toss" => {
            let api_base = get("TOSS_API_BASE", "https://api.tosspayments.com");
            provider_base(app_env, "TOSS_API_BASE", &api_base)?;
            let toss = TossConfig {
                api_base,
                secret_key: secret("TOSS_SECRET_KEY")?,
            };
            let webhook_secret = secret("TOSS_WEBHOOK_SECRET")?;
            if app_env == AppEnv::Production
                && webhook_secret.chars().count() < MIN_WEBHOOK_SECRET_CHARS
            {
                return Err(err(
                    "TOSS_WEBHOOK_SECRET",
                    format!(
                        "must be at least {MIN_WEBHOOK_SECRET_CHARS} characters when \
                         APP_ENV=production (a random key, such as `openssl rand -hex 32`)"
                    ),
                ));
            }
            (Some(PaymentChoice::Toss(toss)), Some(webhook_secret))
        }
        "none" => (None, None),
        other => {
            return Err(err(
                "PAYMENT_PROVIDER",
                format!("{other:?} is not sandbox, toss or none"),
            ));
        }
    };
    Ok(TopUpConfig {
        provider,
        timeout_seconds: u64::try_from(int(
            "PAYMENT_TIMEOUT_SECONDS",
            30,
            1,
            MAX_PAYMENT_TIMEOUT_SECONDS,
        )?)
        .map_err(|_| err("PAYMENT_TIMEOUT_SECONDS", "out of range"))?,
        webhook_secret,
        webhook_tolerance_seconds: int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300, 1, 86_400)?,
        webhook_lookup_interval_seconds: int(
            "PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS",
            10,
            1,
            3_600,
        )?,
        webhook_max_per_client: int("PAYMENT_WEBHOOK_MAX_PER_CLIENT", 600, 1, 1_000_000)?,
        webhook_window_seconds: int("PAYMENT_WEBHOOK_WINDOW_SECONDS", 60, 1, 86_400)?,
        reconcile_after_seconds: u64::try_from(int(
            "TOPUP_RECONCILE_AFTER_SECONDS",
            60,
            1,
            86_400,
        )?)
        .map_err(|_| err("TOPUP_RECONCILE_AFTER_SECONDS", "out of range"))?,
        rules: missionlink_ledger::topup::TopUpRules {
            daily_limit_won: int(
                "TOPUP_DAILY_LIMIT_WON",
                1_000_000,
                1,
                missionlink_ledger::money::MAX_BALANCE,
            )?,
            withdrawal_days: int("TOPUP_WITHDRAWAL_DAYS", 7, 0, 365)?,
            order_ttl_seconds: int(
                "TOPUP_ORDER_TTL_SECONDS",
                missionlink_ledger::topup::DEFAULT_ORDER_TTL_SECONDS,
                MIN_ORDER_TTL_SECONDS,
                86_400,
            )?,
        },
        prepare_throttle: PrepareThrottle {
            max_per_user: int("TOPUP_PREPARE_MAX_PER_USER", 10, 1, 10_000)?,
            window_seconds: int("TOPUP_PREPARE_WINDOW_SECONDS", 600, 1, 86_400)?,
        },
    })
}

/// A payment provider's base URL: http(s) with a host; when `APP_ENV=production` https (our
/// secret key travels in every request's `Authorization`), plain http only to a loopback
/// address (a local egress proxy, a test server), where the key never crosses a network.
fn provider_base(app_env: AppEnv, variable: &'static str, raw: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| err(variable, format!("{raw:?} is not an http(s) URL")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if app_env == AppEnv::Production && url.scheme() == "http" && !loopback {
        return Err(err(
            variable,
            format!("{raw:?} is not https: required when APP_ENV=production"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::MIN_WEBHOOK_SECRET_CHARS;
    use crate::config::{Config, ConfigError};
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    /// Production with Toss, plus `extra` (which wins).
    fn toss_in_production(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let secret = "s".repeat(32);
        let webhook = "w".repeat(MIN_WEBHOOK_SECRET_CHARS);
        let mut vars = vec![
            ("APP_ENV", "production"),
            ("JWT_SECRET", secret.as_str()),
            ("PUBLIC_URL", "https://api.example.com"),
            ("PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "live_sk_x"),
            ("TOSS_WEBHOOK_SECRET", webhook.as_str()),
        ];
        vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        vars.extend_from_slice(extra);
        config(&vars)
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
