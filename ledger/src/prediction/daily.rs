//! The daily points claim (issue 31, item 1): the game's points run dry without it, since the
//! signup grant was their only source. Once per Asia/Seoul day a user claims `DAILY_POINTS`, and
//! a streak of consecutive days adds a tenth of that per day before today, up to
//! `DAILY_POINTS_STREAK_MAX`. Points only: the grant comes from the points' outside world
//! (`world:POINTS`) into the user's points wallet, never from or to cash, and nothing buys it.
//!
//! One claim per user and day is the `daily_claims` primary key: two claims at once insert one
//! row, and the other is `ALREADY_CLAIMED` with the next midnight as `retryAt`. The grant's
//! transfer id, `daily:<user>:<day>`, makes it once per day in the journal too.

use crate::topup::day::{day_key, kst_day, next_kst_midnight};
use crate::{AccountId, Amount, Currency, LedgerError, Transfer, status::TransferKind, transfer};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{account, daily_claim};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

/// The refusal of a second claim on one day.
pub const ALREADY_CLAIMED: &str = "ALREADY_CLAIMED";

/// The configured claim: `DAILY_POINTS` and `DAILY_POINTS_STREAK_MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyPoints {
    /// Points a claim grants (0: no daily claim).
    pub points: i64,
    /// The most a streak adds.
    pub streak_max: i64,
}

impl Default for DailyPoints {
    /// The configured defaults: 100 points, a streak adding at most 100.
    fn default() -> Self {
        Self {
            points: 100,
            streak_max: 100,
        }
    }
}

impl DailyPoints {
    /// What a claim on a streak's `streak`th day grants: the points and the streak's bonus.
    pub fn grant(&self, streak: i32) -> i64 {
        self.points.saturating_add(self.bonus(streak))
    }

    /// What a streak adds on its `streak`th day: a tenth of the points (rounded down) for each
    /// day before, at most `streak_max`.
    pub fn bonus(&self, streak: i32) -> i64 {
        let days_before = i64::from(streak.max(1) - 1);
        (self.points / 10)
            .saturating_mul(days_before)
            .min(self.streak_max)
    }
}

/// A claim made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The Asia/Seoul day claimed, `YYYY-MM-DD`.
    pub day: String,
    /// Consecutive days claimed, this one included.
    pub streak: i32,
    /// `DAILY_POINTS`.
    pub points: i64,
    /// What the streak added.
    pub bonus: i64,
    /// When the next claim may be made: the next Asia/Seoul midnight.
    pub next_at: DateTime<Utc>,
}

/// Where a user stands with the claim at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Whether today's claim is made.
    pub claimed_today: bool,
    /// The streak as it stands: today's, or yesterday's while today's may still continue it
    /// (0 when neither day was claimed).
    pub streak: i32,
    /// When the next claim may be made: now when today's is not made, else the next midnight.
    pub next_at: DateTime<Utc>,
}

/// Claims today's points for `user_id` at `now`. `FORBIDDEN` when the claim is off
/// (`DAILY_POINTS=0`); `ALREADY_CLAIMED` (with `retryAt`) when today's is made; nothing is
/// written by a refusal.
#[tracing::instrument(name = "db.claim_daily_points", skip_all)]
pub async fn claim(
    db: &DatabaseConnection,
    user_id: &str,
    rules: DailyPoints,
    now: DateTime<Utc>,
) -> Result<Claimed, LedgerError> {
    if rules.points <= 0 {
        return Err(LedgerError::Forbidden(
            "the daily points claim is off on this server (DAILY_POINTS=0)".into(),
        ));
    }
    let today = kst_day(now);
    let day = day_key(today);
    let txn = db.begin().await?;
    // The user's points wallet first, by a write that changes nothing: their claims run one at
    // a time (a claim just after midnight sees the one just before it), and on SQLite this
    // transaction is the writer from its first statement, so it never reads an old snapshot
    // and then fails its write with "database is locked".
    let wallet = AccountId::wallet(Currency::Points, user_id);
    account::Entity::update_many()
        .col_expr(
            account::Column::Balance,
            Expr::col(account::Column::Balance),
        )
        .filter(account::Column::Id.eq(wallet.as_str()))
        .exec(&txn)
        .await?;
    let streak = match today.pred_opt() {
        Some(yesterday) => {
            daily_claim::Entity::find_by_id((user_id.to_owned(), day_key(yesterday)))
                .one(&txn)
                .await?
                .map_or(1, |c| c.streak.saturating_add(1))
        }
        None => 1,
    };
    let bonus = rules.bonus(streak);
    let granted = rules.grant(streak);
    let inserted = daily_claim::Entity::insert(daily_claim::ActiveModel {
        user_id: Set(user_id.to_owned()),
        day: Set(day.clone()),
        streak: Set(streak),
        points: Set(granted),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([daily_claim::Column::UserId, daily_claim::Column::Day])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let next_at = next_kst_midnight(now);
    if inserted != 1 {
        txn.rollback().await?;
        return Err(LedgerError::Refused {
            code: ALREADY_CLAIMED,
            message: format!(
                "today's points are claimed; the next claim opens at Asia/Seoul midnight ({})",
                next_at.to_rfc3339()
            ),
            retry_at: Some(next_at),
        });
    }
    transfer::apply(
        &txn,
        &Transfer {
            id: format!("daily:{user_id}:{day}"),
            debit: AccountId::world(Currency::Points),
            credit: wallet,
            amount: Amount::new(granted)?,
            kind: TransferKind::DailyPoints,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Claimed {
        day,
        streak,
        points: rules.points,
        bonus,
        next_at,
    })
}

/// Where `user_id` stands with the claim at `now`.
pub async fn standing<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Standing, LedgerError> {
    let today = kst_day(now);
    let of = |day: chrono::NaiveDate| {
        daily_claim::Entity::find_by_id((user_id.to_owned(), day_key(day))).one(db)
    };
    if let Some(c) = of(today).await? {
        return Ok(Standing {
            claimed_today: true,
            streak: c.streak,
            next_at: next_kst_midnight(now),
        });
    }
    let yesterday = match today.pred_opt() {
        Some(day) => of(day).await?,
        None => None,
    };
    Ok(Standing {
        claimed_today: false,
        streak: yesterday.map_or(0, |c| c.streak),
        next_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_adds_a_tenth_a_day_up_to_its_maximum() {
        let rules = DailyPoints {
            points: 100,
            streak_max: 50,
        };
        let bonuses: Vec<i64> = (1..=8).map(|n| rules.bonus(n)).collect();
        assert_eq!(bonuses, [0, 10, 20, 30, 40, 50, 50, 50]);
        assert_eq!(
            DailyPoints {
                points: 5,
                streak_max: 100
            }
            .bonus(9),
            0
        );
        assert_eq!(rules.bonus(i32::MAX), 50);
    }

    #[test]
    fn the_day_turns_at_asia_seoul_midnight() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        };
        assert_eq!(day_key(kst_day(at("2026-12-07T14:59:59Z"))), "2026-12-07");
        assert_eq!(day_key(kst_day(at("2026-12-07T15:00:00Z"))), "2026-12-08");
        assert_eq!(
            next_kst_midnight(at("2026-12-07T14:59:59Z")),
            at("2026-12-07T15:00:00Z")
        );
    }
}
