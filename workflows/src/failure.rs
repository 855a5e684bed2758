//! How activities fail: an error a later attempt may get past (the database or SES
//! unreachable, a concurrent writer) is retried by Temporal under the activity's retry policy;
//! an error no retry can fix (corrupt data, a transfer id reused for another movement, a state
//! the step cannot act on) fails the activity at once, non-retryable, with its kind as the
//! failure's type — so it shows in the workflow's history and fails the workflow instead of
//! being retried forever — and counts in `missionlink_activities_failed_for_good_total`, which
//! the `MissionLinkActivityFailedForGood` alert watches.

use missionlink_ledger::LedgerError;
use temporalio_sdk::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

/// An error a later attempt may get past.
pub fn retryable(e: impl std::fmt::Display) -> ActivityError {
    ActivityError::from(anyhow::anyhow!("{e}"))
}

/// An error no retry can fix, in `activity`: fails the activity at once and is counted.
pub fn non_retryable(activity: &str, kind: &str, e: impl std::fmt::Display) -> ActivityError {
    missionlink_telemetry::metrics().activity_failed_for_good(activity);
    tracing::error!(activity, kind, error = %e, "activity failed for good");
    ActivityError::application(
        ApplicationFailure::builder(anyhow::anyhow!("{e}"))
            .type_name(kind.to_owned())
            .non_retryable(true)
            .build(),
    )
}

/// A ledger error of `activity`, classified by [`LedgerError::is_retryable`].
pub fn ledger(activity: &str, e: LedgerError) -> ActivityError {
    if e.is_retryable() {
        retryable(e)
    } else {
        non_retryable(activity, kind(&e), e)
    }
}

/// The failure type of a ledger error, as the workflow history shows it.
fn kind(e: &LedgerError) -> &'static str {
    match e {
        LedgerError::InvalidAmount(_) => "InvalidAmount",
        LedgerError::InsufficientFunds { .. } => "InsufficientFunds",
        LedgerError::IdempotencyKeyReused => "IdempotencyKeyReused",
        LedgerError::InvalidIdempotencyKey(_) => "InvalidIdempotencyKey",
        LedgerError::UnknownAccount(_) => "UnknownAccount",
        LedgerError::TransferIdConflict(_) => "TransferIdConflict",
        LedgerError::InvalidInput(_) => "InvalidInput",
        LedgerError::NotFound(_) => "NotFound",
        LedgerError::Forbidden(_) => "Forbidden",
        LedgerError::InvalidState(_) => "InvalidState",
        LedgerError::Corrupt(_) => "Corrupt",
        LedgerError::Contended(_) => "Contended",
        LedgerError::Refused { .. } => "Refused",
        LedgerError::LimitExceeded { .. } => "LimitExceeded",
        LedgerError::Database(_) => "Database",
    }
}
