//! Card testing: bots try stolen card numbers through donation forms, one payment after another
//! (a public report counts 18,000 attempts from one address). Failed `prepareTopUp` and
//! `confirmTopUp` calls are limited per user (`TOPUP_FAILURES_MAX`) and declined payments per
//! client address (`TOPUP_FAILURES_MAX_PER_ADDRESS`, higher: many people share an address behind
//! a carrier's NAT or a PC방), per `TOPUP_FAILURE_WINDOW_SECONDS`, in the users database's
//! attempt counters shared by every API process: many accounts from one address are held back as
//! well as one account from many.
//!
//! As with failed logins, an attempt is counted *before* the work, in both buckets, so calls sent
//! at once cannot all pass. One that succeeds gives its attempts back, as does one that failed
//! through no fault of the caller (the provider did not answer, an error of ours); a refusal that
//! is not a declined payment (a mistyped order, a refused amount) gives back the address's
//! attempt, so nobody can use up an address's allowance without cards. Past either limit:
//! `RATE_LIMITED` with `retryAt` (that window's end), before anything is read or asked.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use missionlink_identity::throttle;
use std::future::Future;
use std::net::IpAddr;

/// Failed top-up calls per `TOPUP_FAILURE_WINDOW_SECONDS`: `TOPUP_FAILURES_MAX` per user,
/// `TOPUP_FAILURES_MAX_PER_ADDRESS` declined payments per client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureThrottle {
    pub max: i64,
    pub max_per_address: i64,
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
        (format!("topup-fail-user:{user_id}"), limit.max),
        (format!("topup-fail-addr:{client}"), limit.max_per_address),
    ];
    let mut counted = Vec::with_capacity(buckets.len());
    for (bucket, max) in &buckets {
        match throttle::acquire(users, bucket, *max, limit.window_seconds).await? {
            Some(attempt) => counted.push(attempt),
            None => {
                give_back(app, &counted).await?;
                return Err(ApiError::Refused {
                    code: "RATE_LIMITED",
                    message: format!(
                        "too many failed top-ups ({max} per {} seconds) from this {}: try \
                         again at retryAt",
                        limit.window_seconds,
                        if bucket.starts_with("topup-fail-user") {
                            "account"
                        } else {
                            "address"
                        },
                    ),
                    retry_at: throttle::window_ends(users, bucket, limit.window_seconds).await?,
                });
            }
        }
    }
    let done = work.await;
    // What stays counted: for the user, every refusal their input or card caused; for the
    // address, declined payments only.
    let keep = match &done {
        Ok(_) => [false, false],
        Err(e) if !counts_as_failure(e) => [false, false],
        Err(e) => [true, declined(e)],
    };
    let back: Vec<_> = counted
        .into_iter()
        .zip(keep)
        .filter_map(|(attempt, keep)| (!keep).then_some(attempt))
        .collect();
    if let Err(e) = give_back(app, &back).await {
        // The answer stands (a payment may have been taken): the attempt stays counted.
        tracing::warn!(error = ?e, "a top-up attempt could not be given back");
    }
    done
}

/// Whether a refusal stays counted against the user: everything the caller's input or card
/// caused, not the provider's silence (`PAYMENT_PENDING`, safe to repeat) nor an error of ours.
fn counts_as_failure(e: &ApiError) -> bool {
    !matches!(e, ApiError::Internal(_)) && e.code() != crate::topups::PAYMENT_PENDING
}

/// Whether a refusal is a payment the provider declined or described otherwise than the order:
/// what card testing looks like from an address.
fn declined(e: &ApiError) -> bool {
    matches!(e.code(), "PAYMENT_FAILED" | crate::topups::UNDER_REVIEW)
}

async fn give_back(app: &AppState, attempts: &[throttle::Attempt]) -> ApiResult<()> {
    for attempt in attempts {
        throttle::release(&app.db.users, attempt).await?;
    }
    Ok(())
}
