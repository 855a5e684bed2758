//! Streamer payouts' settings: `PAYOUT_*`, `BANK_*`, `OPERATOR_*`.

use super::{AppEnv, ConfigError, err};
use missionlink_workflows::bank::{BankChoice, SandboxOutcome};

/// Streamer payouts (`PAYOUT_*`, `BANK_*`, `OPERATOR_*`).
#[derive(Clone, Debug)]
pub struct PayoutConfig {
    /// `PAYOUT_MIN`: smallest payout, won.
    pub min_won: i64,
    /// `PAYOUT_FEE_WON`: flat fee per payout, won.
    pub fee_won: i64,
    /// `PAYOUT_HOLD_SECONDS`: how long a request waits, cancellable, before the bank.
    pub hold_seconds: i64,
    /// `PAYOUT_STUCK_SECONDS`: at the bank longer than this counts as stuck (alert).
    pub stuck_seconds: u64,
    /// `PAYOUT_HELD_SLA_SECONDS`: held for an operator longer than this counts as overdue
    /// (alert).
    pub held_sla_seconds: u64,
    /// `BANK_PROVIDER` (and `BANK_SANDBOX_OUTCOME` for the sandbox).
    pub bank: BankChoice,
    /// `BANK_TIMEOUT_SECONDS`: the client's timeout of one bank call.
    pub bank_timeout_seconds: u64,
    /// `OPERATOR_NAME`, `OPERATOR_CONTACT`: who receipts name, and where to object.
    pub operator_name: String,
    pub operator_contact: String,
}

impl PayoutConfig {
    /// The bounds the ledger enforces on a request.
    pub fn rules(&self) -> missionlink_ledger::payout::PayoutRules {
        missionlink_ledger::payout::PayoutRules {
            min_won: self.min_won,
            fee_won: self.fee_won,
            hold_seconds: self.hold_seconds,
        }
    }

    /// What the worker's payout activities need.
    pub fn worker(&self) -> missionlink_workflows::worker::PayoutSettings {
        missionlink_workflows::worker::PayoutSettings {
            bank: self.bank,
            bank_timeout: std::time::Duration::from_secs(self.bank_timeout_seconds),
            stuck_after: std::time::Duration::from_secs(self.stuck_seconds),
            held_sla: std::time::Duration::from_secs(self.held_sla_seconds),
            operator: missionlink_workflows::payout::Operator {
                name: self.operator_name.clone(),
                contact: self.operator_contact.clone(),
            },
        }
    }

    /// Whether payouts can be requested: a bank provider is configured.
    pub fn enabled(&self) -> bool {
        self.bank != BankChoice::None
    }
}

/// Longest `BANK_TIMEOUT_SECONDS`: the bank step's activity allows 180 s per attempt.
pub const MAX_BANK_TIMEOUT_SECONDS: i64 = 120;

/// The payout settings. The sandbox bank pays no one: it is the default in dev, and refused in
/// production, where the default is `none` (payouts refused) until a real provider exists.
pub(super) fn read(
    app_env: AppEnv,
    get: &dyn Fn(&str, &str) -> String,
    int: &dyn Fn(&'static str, i64, i64, i64) -> Result<i64, ConfigError>,
) -> Result<PayoutConfig, ConfigError> {
    let default_provider = match app_env {
        AppEnv::Dev => "sandbox",
        AppEnv::Production => "none",
    };
    let bank = match get("BANK_PROVIDER", default_provider).as_str() {
        "sandbox" if app_env == AppEnv::Production => {
            return Err(err(
                "BANK_PROVIDER",
                "sandbox pays no one and is refused when APP_ENV=production; no real bank \
                 provider exists yet (set BANK_PROVIDER=none to run without payouts)",
            ));
        }
        "sandbox" => BankChoice::Sandbox(match get("BANK_SANDBOX_OUTCOME", "succeed").as_str() {
            "succeed" => SandboxOutcome::Succeed,
            "fail" => SandboxOutcome::Fail,
            "timeout" => SandboxOutcome::Timeout,
            other => {
                return Err(err(
                    "BANK_SANDBOX_OUTCOME",
                    format!("{other:?} is not succeed, fail or timeout"),
                ));
            }
        }),
        "none" => BankChoice::None,
        other => {
            return Err(err(
                "BANK_PROVIDER",
                format!("{other:?} is not sandbox or none (no real bank provider exists yet)"),
            ));
        }
    };
    let max_won = missionlink_ledger::money::MAX_BALANCE;
    let config = PayoutConfig {
        min_won: int("PAYOUT_MIN", 10_000, 1, max_won)?,
        fee_won: int("PAYOUT_FEE_WON", 0, 0, max_won)?,
        hold_seconds: int("PAYOUT_HOLD_SECONDS", 3_600, 0, 604_800)?,
        stuck_seconds: u64::try_from(int("PAYOUT_STUCK_SECONDS", 3_600, 1, 604_800)?)
            .map_err(|_| err("PAYOUT_STUCK_SECONDS", "out of range"))?,
        held_sla_seconds: u64::try_from(int("PAYOUT_HELD_SLA_SECONDS", 86_400, 1, 2_592_000)?)
            .map_err(|_| err("PAYOUT_HELD_SLA_SECONDS", "out of range"))?,
        bank,
        bank_timeout_seconds: u64::try_from(int(
            "BANK_TIMEOUT_SECONDS",
            60,
            1,
            MAX_BANK_TIMEOUT_SECONDS,
        )?)
        .map_err(|_| err("BANK_TIMEOUT_SECONDS", "out of range"))?,
        operator_name: get("OPERATOR_NAME", "MissionLink"),
        operator_contact: get("OPERATOR_CONTACT", "support@missionlink.local"),
    };
    if config.fee_won >= config.min_won {
        return Err(err(
            "PAYOUT_FEE_WON",
            "must be less than PAYOUT_MIN, or no payout could pay anything",
        ));
    }
    Ok(config)
}
