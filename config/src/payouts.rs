//! Streamer payouts: `PAYOUT_*`, `BANK_*`, `OPERATOR_*`.

use crate::var::{Env, Var};
use crate::{ConfigError, err};
use missionlink_ledger::money::MAX_BALANCE;
use missionlink_workflows::bank::{BankChoice, SandboxOutcome};

/// Longest `BANK_TIMEOUT_SECONDS`: the bank step's activity allows 180 s per attempt.
pub const MAX_BANK_TIMEOUT_SECONDS: i64 = 120;

pub const PAYOUT_MIN: Var = Var::int(
    "PAYOUT_MIN",
    10_000,
    1..=MAX_BALANCE,
    "smallest payout a streamer may request, won",
);

/// Below `PAYOUT_MIN`: see [`crate::Config::validate`].
pub const PAYOUT_FEE_WON: Var = Var::int(
    "PAYOUT_FEE_WON",
    0,
    0..=MAX_BALANCE,
    "flat fee per payout, won, taken from the amount (to the platform's fee account); must \
     be below `PAYOUT_MIN`",
);

pub const PAYOUT_HOLD_SECONDS: Var = Var::int(
    "PAYOUT_HOLD_SECONDS",
    3_600,
    0..=604_800,
    "how long a payout waits before it goes to the bank (0 to 604800). A bank transfer \
     cannot be taken back: the hour lets the streamer cancel a mistaken request, and \
     operators hold (`holdPayout`) or cancel one made from a taken-over account, before \
     money leaves; suspending a streamer cancels their waiting payouts (`scripts/run` sets \
     10)",
);

pub const PAYOUT_STUCK_SECONDS: Var = Var::int(
    "PAYOUT_STUCK_SECONDS",
    3_600,
    1..=604_800,
    "a payout at the bank (`PROCESSING`) for longer than this counts in \
     `missionlink_payouts_stuck` and raises `MissionLinkPayoutStuck`",
);

pub const PAYOUT_HELD_SLA_SECONDS: Var = Var::int(
    "PAYOUT_HELD_SLA_SECONDS",
    86_400,
    1..=2_592_000,
    "a payout held for an operator (`holdPayout`, or its streamer suspended) longer than \
     this counts in `missionlink_payouts_held_overdue` and raises \
     `MissionLinkPayoutHeldOverdue`; 1 to 2592000",
);

pub const PAYOUT_RETURN_WATCH_DAYS: Var = Var::int(
    "PAYOUT_RETURN_WATCH_DAYS",
    14,
    1..=90,
    "how many days after it is paid the worker asks the bank again about a payout, in case \
     it sent it back (a reconciliation case `PAYOUT_RETURNED_BY_BANK`); 1 to 90",
);

pub const PAYOUT_RETURN_CHECK_SECONDS: Var = Var::int(
    "PAYOUT_RETURN_CHECK_SECONDS",
    3_600,
    1..=86_400,
    "how often the worker asks the bank about the payouts paid within \
     `PAYOUT_RETURN_WATCH_DAYS`; 1 to 86400",
);

pub const CASH_REFUND_MIN_WON: Var = Var::int(
    "CASH_REFUND_MIN_WON",
    1_000,
    1..=MAX_BALANCE,
    "smallest refund of remaining cash (`requestCashRefund`), won",
);

pub const CASH_REFUND_FEE_BPS: Var = Var::int(
    "CASH_REFUND_FEE_BPS",
    1_000,
    0..=10_000,
    "the fee of a refund of remaining cash, basis points of the amount (floored to the won); \
     0 to 10000",
);

pub const CASH_REFUND_FEE_WAIVER_USED_BPS: Var = Var::int(
    "CASH_REFUND_FEE_WAIVER_USED_BPS",
    8_000,
    0..=10_000,
    "a cash refund is free once the user has used this share (basis points) of what they \
     were charged (top-ups less withdrawals); 0 to 10000",
);

/// The sandbox pays no one: refused in production, see [`crate::Config::validate`].
pub const BANK_PROVIDER: Var = Var::by_env(
    "BANK_PROVIDER",
    "sandbox",
    "none",
    "who pays payouts out: `sandbox` (pays no one, see [Payouts](#payouts); refused at \
     start-up when `APP_ENV=production`) or `none` (`requestPayout` is `FORBIDDEN`). No real \
     bank provider exists yet",
);

pub const BANK_SANDBOX_OUTCOME: Var = Var::text(
    "BANK_SANDBOX_OUTCOME",
    "succeed",
    "what the sandbox bank does: `succeed`, `fail` (with a reason; the money goes back to \
     earnings) or `timeout` (receives the transfer, never answers; the payout stays \
     `PROCESSING` until a worker runs with another outcome)",
);

pub const BANK_TIMEOUT_SECONDS: Var = Var::int(
    "BANK_TIMEOUT_SECONDS",
    60,
    1..=MAX_BANK_TIMEOUT_SECONDS,
    "the client's timeout of one bank call (Toss Payments advises at least 60 s for its \
     payouts API); 1 to 120",
);

pub const OPERATOR_NAME: Var = Var::text(
    "OPERATOR_NAME",
    "MissionLink",
    "the operator payout and top-up receipts name",
);

pub const OPERATOR_CONTACT: Var = Var::text(
    "OPERATOR_CONTACT",
    "support@missionlink.local",
    "where payout and top-up receipts tell users to object, and where the notice of a change \
     of address tells its reader to write if they did not make it",
);

pub const VARIABLES: &[Var] = &[
    PAYOUT_MIN,
    PAYOUT_FEE_WON,
    PAYOUT_HOLD_SECONDS,
    PAYOUT_STUCK_SECONDS,
    PAYOUT_HELD_SLA_SECONDS,
    BANK_PROVIDER,
    BANK_SANDBOX_OUTCOME,
    BANK_TIMEOUT_SECONDS,
    OPERATOR_NAME,
    OPERATOR_CONTACT,
    CASH_REFUND_MIN_WON,
    CASH_REFUND_FEE_BPS,
    CASH_REFUND_FEE_WAIVER_USED_BPS,
    PAYOUT_RETURN_WATCH_DAYS,
    PAYOUT_RETURN_CHECK_SECONDS,
];

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
    /// `CASH_REFUND_MIN_WON`, `CASH_REFUND_FEE_BPS`, `CASH_REFUND_FEE_WAIVER_USED_BPS`.
    pub refund_min_won: i64,
    pub refund_fee_bps: u32,
    pub refund_waiver_used_bps: u32,
    /// `PAYOUT_RETURN_WATCH_DAYS`, `PAYOUT_RETURN_CHECK_SECONDS`.
    pub return_watch_days: u64,
    pub return_check_seconds: u64,
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

    /// The bounds the ledger enforces on a cash refund (the payouts' hold included).
    pub fn refund_rules(&self) -> missionlink_ledger::payout::CashRefundRules {
        missionlink_ledger::payout::CashRefundRules {
            min_won: self.refund_min_won,
            fee_bps: self.refund_fee_bps,
            waiver_used_bps: self.refund_waiver_used_bps,
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
            return_window: std::time::Duration::from_secs(self.return_watch_days * 86_400),
            return_interval: std::time::Duration::from_secs(self.return_check_seconds),
            operator: missionlink_workflows::payout::Operator {
                name: self.operator_name.clone(),
                contact: self.operator_contact.clone(),
            },
        }
    }

    /// What the API's payout resolvers need.
    pub fn api(&self) -> missionlink_api::settings::PayoutSettings {
        missionlink_api::settings::PayoutSettings {
            enabled: self.enabled(),
            rules: self.rules(),
            refund_rules: self.refund_rules(),
        }
    }

    /// Whether payouts can be requested: a bank provider is configured.
    pub fn enabled(&self) -> bool {
        self.bank != BankChoice::None
    }
}

/// The payout settings. The sandbox bank pays no one: it is the default in dev, and the
/// default in production is `none` (payouts refused) until a real provider exists.
pub(crate) fn read(env: &Env) -> Result<PayoutConfig, ConfigError> {
    let bank = match env.text(&BANK_PROVIDER).as_str() {
        "sandbox" => BankChoice::Sandbox(match env.text(&BANK_SANDBOX_OUTCOME).as_str() {
            "succeed" => SandboxOutcome::Succeed,
            "fail" => SandboxOutcome::Fail,
            "timeout" => SandboxOutcome::Timeout,
            other => {
                return Err(err(
                    BANK_SANDBOX_OUTCOME.name,
                    format!("{other:?} is not succeed, fail or timeout"),
                ));
            }
        }),
        "none" => BankChoice::None,
        other => {
            return Err(err(
                BANK_PROVIDER.name,
                format!("{other:?} is not sandbox or none (no real bank provider exists yet)"),
            ));
        }
    };
    Ok(PayoutConfig {
        min_won: env.int(&PAYOUT_MIN)?,
        fee_won: env.int(&PAYOUT_FEE_WON)?,
        hold_seconds: env.int(&PAYOUT_HOLD_SECONDS)?,
        stuck_seconds: env.int(&PAYOUT_STUCK_SECONDS)?,
        held_sla_seconds: env.int(&PAYOUT_HELD_SLA_SECONDS)?,
        bank,
        bank_timeout_seconds: env.int(&BANK_TIMEOUT_SECONDS)?,
        operator_name: env.text(&OPERATOR_NAME),
        operator_contact: env.text(&OPERATOR_CONTACT),
        refund_min_won: env.int(&CASH_REFUND_MIN_WON)?,
        refund_fee_bps: env.int(&CASH_REFUND_FEE_BPS)?,
        refund_waiver_used_bps: env.int(&CASH_REFUND_FEE_WAIVER_USED_BPS)?,
        return_watch_days: env.int(&PAYOUT_RETURN_WATCH_DAYS)?,
        return_check_seconds: env.int(&PAYOUT_RETURN_CHECK_SECONDS)?,
    })
}
