//! The daily top-up limit, per person and Asia/Seoul calendar day (KCC guideline for paid
//! donation items, 2018: 1,000,000 won a day).
//!
//! A day's total is kept per *limit key*, a plain string identity gives the caller: `person:…`
//! for a verified person (every account of one person shares it, so a second account does not
//! double the limit), the user's id otherwise. `topup_days.user_id` holds that key (missions
//! migration 000018); the ledger never learns who the person is.
//!
//! Korea Standard Time is UTC+9 all year (no daylight saving since 1988), so a fixed offset is
//! exact and needs no time-zone database (`chrono-tz` is not a dependency).
//!
//! The limit's lock is the user's `topup_days` row: [`reserve`] adds the amount with a
//! conditional update (`total_won + amount <= limit`) in the caller's transaction, which locks
//! the row until it ends. Racing top-ups of one user queue on it, and each sees the total the
//! previous one committed: together they never pass the limit.

use crate::LedgerError;
use crate::sql::param;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, Statement};

/// The refusal's code.
pub const LIMIT_EXCEEDED: &str = "TOPUP_LIMIT_EXCEEDED";

fn kst_offset() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset")
}

/// The Asia/Seoul calendar date at `at`.
pub fn kst_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&kst_offset()).date_naive()
}

/// The next Asia/Seoul midnight after `at`: when `at`'s day's limit resets.
pub fn next_kst_midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    let next = kst_day(at)
        .succ_opt()
        .unwrap_or(NaiveDate::MAX)
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    (next - Duration::hours(9)).and_utc()
}

/// The day as stored in `topup_days.day` and `top_ups.kst_day`.
pub fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// How much of a user's limit a day has used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayUse {
    pub limit_won: i64,
    pub used_won: i64,
    pub remaining_won: i64,
    /// The next Asia/Seoul midnight.
    pub resets_at: DateTime<Utc>,
}

impl DayUse {
    fn of(limit_won: i64, used_won: i64, at: DateTime<Utc>) -> Self {
        Self {
            limit_won,
            used_won,
            remaining_won: limit_won.saturating_sub(used_won).max(0),
            resets_at: next_kst_midnight(at),
        }
    }

    /// The refusal of a top-up of `amount_won` that this day cannot take.
    pub fn refusal(&self, amount_won: i64) -> LedgerError {
        LedgerError::LimitExceeded {
            code: LIMIT_EXCEEDED,
            message: format!(
                "a top-up of {amount_won} won would pass your daily limit of {} won (Asia/Seoul \
                 day): {} won remain today; the limit resets at {}",
                self.limit_won,
                self.remaining_won,
                self.resets_at.to_rfc3339()
            ),
            limit_won: self.limit_won,
            remaining_won: self.remaining_won,
            resets_at: self.resets_at,
        }
    }
}

async fn used_on<C: ConnectionTrait>(db: &C, user_id: &str, day: &str) -> Result<i64, LedgerError> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT total_won FROM topup_days WHERE user_id = {} AND day = {}",
                param(backend, 1),
                param(backend, 2)
            ),
            [user_id.into(), day.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "total_won"))
        .transpose()?
        .unwrap_or(0))
}

/// What the limit key `user_id` (a person or a user) has topped up on the Asia/Seoul day of
/// `at` (reserved confirms included).
pub async fn usage<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    limit_won: i64,
    at: DateTime<Utc>,
) -> Result<DayUse, LedgerError> {
    let used = used_on(db, user_id, &day_key(kst_day(at))).await?;
    Ok(DayUse::of(limit_won, used, at))
}

/// Adds `amount_won` to the total of the limit key `user_id` (a person or a user) on the
/// Asia/Seoul day of `at`, inside the caller's
/// transaction, if the total stays within `limit_won`; else [`LedgerError::LimitExceeded`]
/// (the caller rolls back). Returns the day it counted against.
pub async fn reserve<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    amount_won: i64,
    limit_won: i64,
    at: DateTime<Utc>,
) -> Result<String, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i| param(backend, i);
    let day = day_key(kst_day(at));
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO topup_days (user_id, day, total_won) VALUES ({}, {}, 0) \
             ON CONFLICT (user_id, day) DO NOTHING",
            p(1),
            p(2)
        ),
        [user_id.into(), day.clone().into()],
    ))
    .await?;
    // The limit: a conditional update, which locks the row to this transaction's end. A racing
    // top-up waits here, then re-evaluates the condition on the committed total.
    let added = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE topup_days SET total_won = total_won + {a} \
                 WHERE user_id = {u} AND day = {d} AND total_won + {a2} <= {limit} \
                 RETURNING total_won",
                a = p(1),
                u = p(2),
                d = p(3),
                a2 = p(4),
                limit = p(5)
            ),
            [
                amount_won.into(),
                user_id.into(),
                day.clone().into(),
                amount_won.into(),
                limit_won.into(),
            ],
        ))
        .await?;
    if added.is_some() {
        return Ok(day);
    }
    let used = used_on(db, user_id, &day).await?;
    Err(DayUse::of(limit_won, used, at).refusal(amount_won))
}

/// Gives back a reservation of `amount_won` on `day` (a payment the provider refused), inside
/// the caller's transaction.
pub async fn release<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    day: &str,
    amount_won: i64,
) -> Result<(), LedgerError> {
    let backend = db.get_database_backend();
    let p = |i| param(backend, i);
    let released = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE topup_days SET total_won = total_won - {} \
                 WHERE user_id = {} AND day = {} AND total_won >= {}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            [
                amount_won.into(),
                user_id.into(),
                day.into(),
                amount_won.into(),
            ],
        ))
        .await?;
    if released.rows_affected() == 1 {
        Ok(())
    } else {
        Err(LedgerError::Corrupt(format!(
            "top-up day {day} of {user_id} holds less than the {amount_won} won it reserved"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_korean_day_turns_at_15_utc() {
        assert_eq!(day_key(kst_day(at("2026-11-26T14:59:59Z"))), "2026-11-26");
        assert_eq!(day_key(kst_day(at("2026-11-26T15:00:00Z"))), "2026-11-27");
        assert_eq!(
            next_kst_midnight(at("2026-11-26T14:59:59Z")),
            at("2026-11-26T15:00:00Z")
        );
        assert_eq!(
            next_kst_midnight(at("2026-11-26T15:00:00Z")),
            at("2026-11-27T15:00:00Z")
        );
    }

    #[test]
    fn remaining_never_goes_below_zero() {
        let u = DayUse::of(1_000_000, 1_200_000, at("2026-11-26T00:00:00Z"));
        assert_eq!(u.remaining_won, 0);
    }
}
