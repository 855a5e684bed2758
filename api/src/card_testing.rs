//! Card testing: bots try stolen card numbers through donation forms, one payment after another
//! (a public report counts 18,000 attempts from one address). Failed `prepareTopUp` and
//! `confirmTopUp` calls are limited per user and per client address (`TOPUP_FAILURES_MAX` per
//! `TOPUP_FAILURE_WINDOW_SECONDS`, the users database's attempt counters shared by every API
//! process), so many accounts from one address are held back as well as one account from many.
//!
//! As with failed logins, an attempt is counted *before* the work, in both buckets, so calls sent
//! at once cannot all pass; one that succeeds gives its attempts back, as does one that failed
//! through no fault of the caller (the provider did not answer, an error of ours). Past either
//! limit: `RATE_LIMITED` with `retryAt` (that window's end), before anything is read or asked.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use missionlink_identity::throttle;
use std::future::Future;
use std::net::IpAddr;

/// `TOPUP_FAILURES_MAX` failed top-up calls per `TOPUP_FAILURE_WINDOW_SECONDS`, per user and
/// per client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureThrottle {
    pub max: i64,
    pub window_seconds: i64,
}

/// Runs `work` (a `prepareTopUp` or `confirmTopUp` of `user_id` from `client`) under the
/// failure limits.
pub async fn guarded<T>(
    app: &AppState,
    user_id: &str,
    client: IpAddr,
    work: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    let limit = app.settings.topups.failure_throttle;
    let users = &app.db.users;
    let buckets = [
        format!("topup-fail-user:{user_id}"),
        format!("topup-fail-addr:{client}"),
    ];
    let mut counted = Vec::with_capacity(buckets.len());
    for bucket in &buckets {
        match throttle::acquire(users, bucket, limit.max, limit.window_seconds).await? {
            Some(attempt) => counted.push(attempt),
            None => {
                give_back(app, &counted).await?;
                return Err(ApiError::Refused {
                    code: "RATE_LIMITED",
                    message: format!(
                        "too many failed top-ups ({} per {} seconds) from this account or \
                         address: try again at retryAt",
                        limit.max, limit.window_seconds
                    ),
                    retry_at: throttle::window_ends(users, bucket, limit.window_seconds).await?,
                });
            }
        }
    }
    let done = work.await;
    let counts = match &done {
        Ok(_) => false,
        Err(e) => counts_as_failure(e),
    };
    if !counts {
        give_back(app, &counted).await?;
    }
    done
}

/// Whether a refusal stays counted: everything the caller's input or card caused, not the
/// provider's silence (`PAYMENT_PENDING`, safe to repeat) nor an error of ours.
fn counts_as_failure(e: &ApiError) -> bool {
    !matches!(e, ApiError::Internal(_)) && e.code() != crate::topups::PAYMENT_PENDING
}

async fn give_back(app: &AppState, attempts: &[throttle::Attempt]) -> ApiResult<()> {
    for attempt in attempts {
        throttle::release(&app.db.users, attempt).await?;
    }
    Ok(())
}
