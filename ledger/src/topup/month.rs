//! Minors' monthly top-up limit (issue 26, item 2): `TOPUP_MINOR_MONTHLY_LIMIT_WON` per person
//! and Asia/Seoul calendar month, on top of the daily limit ([`super::day`]), for the top-ups
//! of a verified minor (under 19 on the day the order is made) whose guardian consented.
//!
//! The month's total is kept per limit key (identity's `person:…`, as the day's) in
//! `topup_months` (missions migration 000019), keyed by the month of the top-up's `kst_day`,
//! and works as the day's: [`reserve`] adds the amount with a conditional update
//! (`total_won + amount <= limit`) in the caller's transaction, which locks the row until it
//! ends, so racing top-ups of one person queue on it and never pass the limit together;
//! [`release`] gives an amount back when the provider refuses the payment. Every caller takes
//! the day's row first (`day::reserve`, then this), so two transactions never wait on each
//! other's rows. An order says it is a minor's in `top_ups.minor`, set when it is prepared, so
//! a refusal later (the webhook, the worker's reconciliation, which know no persons) gives back
//! to the same row; an order a minor prepared still counts against the month if its confirm
//! comes after their 19th birthday began (at most `TOPUP_ORDER_TTL_SECONDS` later): the
//! stricter reading, for the one order in flight.

use super::day::kst_day;
use crate::LedgerError;
use crate::sql::param;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, Statement};

/// The refusal's code.
pub const LIMIT_EXCEEDED: &str = "TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED";

/// The Asia/Seoul calendar month (`YYYY-MM`) of the day `day` (`YYYY-MM-DD`, as
/// `top_ups.kst_day` and `day::day_key` write it).
pub fn month_of_day(day: &str) -> Result<String, LedgerError> {
    match day.get(..7) {
        Some(month) if NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok() => Ok(month.to_owned()),
        _ => Err(LedgerError::Corrupt(format!(
            "top-up day {day:?} is not YYYY-MM-DD"
        ))),
    }
}

/// The Asia/Seoul calendar month (`YYYY-MM`) at `at`: `topup_months.month`.
pub fn kst_month(at: DateTime<Utc>) -> String {
    kst_day(at).format("%Y-%m").to_string()
}

/// The first Asia/Seoul midnight of the month after `at`'s: when `at`'s month's limit resets.
pub fn next_kst_month(at: DateTime<Utc>) -> DateTime<Utc> {
    let today = kst_day(at);
    let (year, month) = if today.month() == 12 {
        (today.year() + 1, 1)
    } else {
        (today.year(), today.month() + 1)
    };
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MAX);
    (first.and_hms_opt(0, 0, 0).expect("midnight exists") - Duration::hours(9)).and_utc()
}

/// How much of a minor's monthly limit a month has used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthUse {
    pub limit_won: i64,
    pub used_won: i64,
    pub remaining_won: i64,
    /// The first midnight of next month in Asia/Seoul.
    pub resets_at: DateTime<Utc>,
}

impl MonthUse {
    fn of(limit_won: i64, used_won: i64, at: DateTime<Utc>) -> Self {
        Self {
            limit_won,
            used_won,
            remaining_won: limit_won.saturating_sub(used_won).max(0),
            resets_at: next_kst_month(at),
        }
    }

    /// The refusal of a top-up of `amount_won` that this month cannot take.
    pub fn refusal(&self, amount_won: i64) -> LedgerError {
        LedgerError::LimitExceeded {
            code: LIMIT_EXCEEDED,
            message: format!(
                "a top-up of {amount_won} won would pass the monthly limit of {} won for \
                 minors (under 19, with a guardian's consent; Asia/Seoul month): {} won remain \
                 this month; the limit resets at {}",
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

async fn used_in<C: ConnectionTrait>(
    db: &C,
    limit_key: &str,
    month: &str,
) -> Result<i64, LedgerError> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT total_won FROM topup_months WHERE limit_key = {} AND month = {}",
                param(backend, 1),
                param(backend, 2)
            ),
            [limit_key.into(), month.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "total_won"))
        .transpose()?
        .unwrap_or(0))
}

/// What the limit key `limit_key` (a person) has topped up as a minor in the Asia/Seoul month
/// of `at` (reserved confirms included).
pub async fn usage<C: ConnectionTrait>(
    db: &C,
    limit_key: &str,
    limit_won: i64,
    at: DateTime<Utc>,
) -> Result<MonthUse, LedgerError> {
    let used = used_in(db, limit_key, &kst_month(at)).await?;
    Ok(MonthUse::of(limit_won, used, at))
}

/// Adds `amount_won` to the month of `day` (`YYYY-MM-DD`, the top-up's Asia/Seoul day, taken at
/// `at`) for `limit_key`, inside the caller's transaction, if the total stays within
/// `limit_won`; else [`LedgerError::LimitExceeded`] with [`LIMIT_EXCEEDED`] (the caller rolls
/// back).
pub async fn reserve<C: ConnectionTrait>(
    db: &C,
    limit_key: &str,
    day: &str,
    amount_won: i64,
    limit_won: i64,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let backend = db.get_database_backend();
    let p = |i| param(backend, i);
    let month = month_of_day(day)?;
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO topup_months (limit_key, month, total_won) VALUES ({}, {}, 0) \
             ON CONFLICT (limit_key, month) DO NOTHING",
            p(1),
            p(2)
        ),
        [limit_key.into(), month.clone().into()],
    ))
    .await?;
    // The limit: a conditional update, which locks the row to this transaction's end. A racing
    // top-up waits here, then re-evaluates the condition on the committed total.
    let added = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE topup_months SET total_won = total_won + {a} \
                 WHERE limit_key = {k} AND month = {m} AND total_won + {a2} <= {limit} \
                 RETURNING total_won",
                a = p(1),
                k = p(2),
                m = p(3),
                a2 = p(4),
                limit = p(5)
            ),
            [
                amount_won.into(),
                limit_key.into(),
                month.clone().into(),
                amount_won.into(),
                limit_won.into(),
            ],
        ))
        .await?;
    if added.is_some() {
        return Ok(());
    }
    let used = used_in(db, limit_key, &month).await?;
    Err(MonthUse::of(limit_won, used, at).refusal(amount_won))
}

/// Gives back a reservation of `amount_won` in the month of `day` (a payment the provider
/// refused), inside the caller's transaction.
pub async fn release<C: ConnectionTrait>(
    db: &C,
    limit_key: &str,
    day: &str,
    amount_won: i64,
) -> Result<(), LedgerError> {
    let backend = db.get_database_backend();
    let p = |i| param(backend, i);
    let month = month_of_day(day)?;
    let released = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE topup_months SET total_won = total_won - {} \
                 WHERE limit_key = {} AND month = {} AND total_won >= {}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            [
                amount_won.into(),
                limit_key.into(),
                month.clone().into(),
                amount_won.into(),
            ],
        ))
        .await?;
    if released.rows_affected() == 1 {
        Ok(())
    } else {
        Err(LedgerError::Corrupt(format!(
            "top-up month {month} of {limit_key} holds less than the {amount_won} won it reserved"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topup::day::day_key;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_korean_month_turns_at_15_utc_on_its_last_day() {
        // 30 November 2026, 23:59:59 in Seoul, then midnight of 1 December.
        assert_eq!(kst_month(at("2026-11-30T14:59:59Z")), "2026-11");
        assert_eq!(kst_month(at("2026-11-30T15:00:00Z")), "2026-12");
        // Early on the 1st in UTC is already later that day in Seoul.
        assert_eq!(kst_month(at("2026-11-01T00:00:00Z")), "2026-11");
        assert_eq!(kst_month(at("2026-10-31T15:00:00Z")), "2026-11");
        assert_eq!(
            next_kst_month(at("2026-11-30T14:59:59Z")),
            at("2026-11-30T15:00:00Z")
        );
        assert_eq!(
            next_kst_month(at("2026-11-30T15:00:00Z")),
            at("2026-12-31T15:00:00Z")
        );
        assert_eq!(
            next_kst_month(at("2026-11-01T03:00:00Z")),
            at("2026-11-30T15:00:00Z")
        );
    }

    #[test]
    fn the_year_and_february_turn_on_the_seoul_calendar() {
        // New Year in Seoul is 15:00 UTC on 31 December.
        assert_eq!(kst_month(at("2026-12-31T14:59:59Z")), "2026-12");
        assert_eq!(kst_month(at("2026-12-31T15:00:00Z")), "2027-01");
        assert_eq!(
            next_kst_month(at("2026-12-15T00:00:00Z")),
            at("2026-12-31T15:00:00Z")
        );
        // February: 28 days, 29 in a leap year.
        assert_eq!(
            next_kst_month(at("2027-02-10T00:00:00Z")),
            at("2027-02-28T15:00:00Z")
        );
        assert_eq!(
            next_kst_month(at("2028-02-10T00:00:00Z")),
            at("2028-02-29T15:00:00Z")
        );
        assert_eq!(kst_month(at("2028-02-29T14:59:59Z")), "2028-02");
        assert_eq!(kst_month(at("2028-02-29T15:00:00Z")), "2028-03");
    }

    #[test]
    fn a_top_ups_month_is_the_month_of_its_seoul_day() {
        let t = at("2026-11-30T15:30:00Z");
        let day = day_key(kst_day(t));
        assert_eq!(day, "2026-12-01");
        assert_eq!(month_of_day(&day).expect("month"), kst_month(t));
        assert!(matches!(
            month_of_day("2026-1"),
            Err(LedgerError::Corrupt(_))
        ));
        assert!(matches!(
            month_of_day("yesterday!"),
            Err(LedgerError::Corrupt(_))
        ));
    }

    #[test]
    fn remaining_never_goes_below_zero() {
        let u = MonthUse::of(70_000, 90_000, at("2026-11-26T00:00:00Z"));
        assert_eq!(u.remaining_won, 0);
        assert_eq!(u.resets_at, at("2026-11-30T15:00:00Z"));
    }
}
