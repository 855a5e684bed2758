//! The retry policy every workflow's activities share, and the options of a short activity.

use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_sdk::ActivityOptions;

/// Retries of an activity whose error a later attempt may get past: from 1 s, doubling, at
/// most a minute apart, without limit — a database, SES or bank outage only delays a mission or
/// a payout (a payout that never gets the bank's answer stays PROCESSING, and
/// `MissionLinkPayoutStuck` fires). Errors no retry can fix are raised non-retryable by the
/// activities themselves and end the activity at once.
pub(crate) fn retries() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_secs(1))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(60))
        .build()
}

/// A short activity (a read, a status change, one email): 30 s per attempt, [`retries`].
pub(crate) fn quick() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(retries())
        .build()
}
