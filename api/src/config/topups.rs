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
    /// `TOPUP_DAILY_LIMIT_WON`, `TOPUP_WITHDRAWAL_DAYS`.
    pub rules: missionlink_ledger::topup::TopUpRules,
    /// `TOPUP_RECONCILE_AFTER_SECONDS`.
    pub reconcile_after_seconds: u64,
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
            .field("rules", &self.rules)
            .field("reconcile_after_seconds", &self.reconcile_after_seconds)
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
            match url::Url::parse(&api_base) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
                _ => {
                    return Err(err(
                        "TOSS_API_BASE",
                        format!("{api_base:?} is not an http(s) URL"),
                    ));
                }
            }
            let toss = TossConfig {
                api_base,
                secret_key: secret("TOSS_SECRET_KEY")?,
            };
            (
                Some(PaymentChoice::Toss(toss)),
                Some(secret("TOSS_WEBHOOK_SECRET")?),
            )
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
        },
    })
}
