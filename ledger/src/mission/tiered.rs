//! A goal's tiered verdict (issue 28, item 2): `decideMission(..., tierReached)` says which
//! level the streamer delivered (0 the goal itself, `n` its `n`th tier). The streamer is paid
//! up to that level's amount, and the rest of what the mission holds goes back to its backers
//! pro rata, exact to the won:
//!
//! - `H` is what the mission held when it closed (its pledges, less those withdrawn), `P` the
//!   level's amount (at most `H`), `R = H - P` the refund.
//! - Each pledge of `a` won gets back `floor(R × a ÷ H)`.
//! - The won that rounding leaves over (`R` less those shares: fewer than the pledges) go one
//!   each to the earliest pledges, in the order they were made.
//! - The rest of each pledge (`a` less its refund) is paid as any pledge of a succeeded
//!   mission: its fee (rounded down) to the platform, the remainder to the streamer.
//!
//! Every input is fixed once the mission closed, so each settlement page computes the same
//! split whatever it and the pages before it took.

use super::goal::tiers;
use crate::LedgerError;
use crate::status::PledgeStatus;
use missionlink_entities::missions::{mission, mission_tier};
use sea_orm::{ConnectionTrait, FromQueryResult};
use std::collections::HashMap;

/// The won the streamer is paid at `level` of goal `m` with `tiers` (lowest first): the goal
/// at 0, the `n`th tier's amount at `n`. None for a level the goal does not have.
pub fn level_won(m: &mission::Model, tiers: &[mission_tier::Model], level: i32) -> Option<i64> {
    match usize::try_from(level).ok()? {
        0 => m.goal_won,
        n => tiers.get(n - 1).map(|t| t.amount_won),
    }
}

/// How a tiered verdict splits a goal's pledges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Split {
    /// `R`: the won refunded in all.
    refund_won: i64,
    /// `H`: what the mission held when it closed.
    held_won: i64,
    /// The last pledge (in pledge order) that gets one won of the rounding's remainder.
    last_extra: Option<String>,
}

impl Split {
    /// What pledge `pledge_id` of `amount` won gets back.
    pub(super) fn refund_of(&self, pledge_id: &str, amount: i64) -> Result<i64, LedgerError> {
        let share = i128::from(self.refund_won) * i128::from(amount) / i128::from(self.held_won);
        let extra = self
            .last_extra
            .as_deref()
            .is_some_and(|last| pledge_id <= last);
        i64::try_from(share + i128::from(extra))
            .map_err(|_| LedgerError::Corrupt("a tiered refund overflows".into()))
    }
}

/// The split of SUCCEEDED mission `m`'s pledges, if its verdict named a level below what it
/// holds; None when everything is paid.
pub(super) async fn split<C: ConnectionTrait>(
    db: &C,
    m: &mission::Model,
) -> Result<Option<Split>, LedgerError> {
    let Some(level) = m.tier_reached else {
        return Ok(None);
    };
    let tiers = tiers(db, &m.id).await?;
    let paid_won = level_won(m, &tiers, level).ok_or_else(|| {
        LedgerError::Corrupt(format!(
            "mission {} names level {level}, which it has not",
            m.id
        ))
    })?;
    let backend = db.get_database_backend();
    let p = |i| crate::sql::param(backend, i);
    let kept = format!(
        "FROM pledges WHERE mission_id = {} AND status <> '{}'",
        p(1),
        PledgeStatus::Withdrawn.as_str()
    );
    let held_won = crate::sql::scalar_i64(
        db,
        &format!("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS value {kept}"),
        vec![m.id.as_str().into()],
    )
    .await?;
    if held_won <= paid_won {
        return Ok(None);
    }
    let refund_won = held_won - paid_won;
    // The shares rounded down, summed where the pledges are (one pass over them).
    let shares = crate::sql::scalar_i64(
        db,
        &format!(
            "SELECT CAST(COALESCE(SUM(amount * {refund_won} / {held_won}), 0) AS BIGINT) \
             AS value {kept}"
        ),
        vec![m.id.as_str().into()],
    )
    .await?;
    let remainder = refund_won - shares;
    let last_extra = if remainder > 0 {
        let rows = db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                format!("SELECT id {kept} ORDER BY id LIMIT 1 OFFSET {}", p(2)),
                [m.id.as_str().into(), (remainder - 1).into()],
            ))
            .await?
            .ok_or_else(|| {
                LedgerError::Corrupt(format!(
                    "mission {}: a remainder of {remainder} won outnumbers its pledges",
                    m.id
                ))
            })?;
        Some(rows.try_get::<String>("", "id")?)
    } else {
        None
    };
    Ok(Some(Split {
        refund_won,
        held_won,
        last_extra,
    }))
}

/// What mission `mission_id`'s pledges kept (held or paid, not withdrawn or refunded) pay on
/// success: won to the streamer before the fee, and the fee (each pledge's paid part's fee
/// rounded down, as settlement takes it). With `split` (a tiered verdict) each pledge pays its
/// part as [`Split::refund_of`] leaves it; without, all of it.
pub(super) async fn paid_and_fee<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    split: Option<&Split>,
    fee_bps: u32,
) -> Result<(i64, i64), LedgerError> {
    #[derive(FromQueryResult)]
    struct Paid {
        paid: i64,
        fee: i64,
    }
    let backend = db.get_database_backend();
    let p = |i| crate::sql::param(backend, i);
    // R and H are our integers; the remainder's last pledge is bound ('' when none: no id).
    let (part, mut values): (String, Vec<sea_orm::Value>) = match split {
        Some(s) => (
            format!(
                "amount - amount * {} / {} - CASE WHEN id <= {} THEN 1 ELSE 0 END",
                s.refund_won,
                s.held_won,
                p(1)
            ),
            vec![s.last_extra.clone().unwrap_or_default().into()],
        ),
        None => ("amount".to_owned(), Vec::new()),
    };
    let id = p(values.len() + 1);
    values.push(mission_id.into());
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(q), 0) AS BIGINT) AS paid, \
           CAST(COALESCE(SUM(q * {fee_bps} / 10000), 0) AS BIGINT) AS fee \
         FROM (SELECT {part} AS q FROM pledges \
           WHERE mission_id = {id} AND status IN ('{held}', '{paid}')) x",
        held = PledgeStatus::Held.as_str(),
        paid = PledgeStatus::Paid.as_str(),
    );
    let found = Paid::find_by_statement(sea_orm::Statement::from_sql_and_values(
        backend, &sql, values,
    ))
    .one(db)
    .await?;
    Ok(found.map_or((0, 0), |f| (f.paid, f.fee)))
}

/// What a tiered verdict refunded each backer of mission `mission_id` with an id in
/// `(after, last]` (their emails' page), summed over their pledges; backers refunded nothing
/// are left out.
pub async fn refunds_between<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    after: &str,
    last: &str,
) -> Result<HashMap<String, i64>, LedgerError> {
    #[derive(FromQueryResult)]
    struct Refunded {
        backer_id: String,
        refunded: i64,
    }
    let backend = db.get_database_backend();
    let p = |i| crate::sql::param(backend, i);
    let sql = format!(
        "SELECT p.backer_id AS backer_id, CAST(SUM(t.amount) AS BIGINT) AS refunded \
         FROM pledges p JOIN transfers t ON t.id = 'refund:' || p.mission_id || ':' || p.id \
         WHERE p.mission_id = {} AND p.backer_id > {} AND p.backer_id <= {} \
         GROUP BY p.backer_id",
        p(1),
        p(2),
        p(3)
    );
    let rows = Refunded::find_by_statement(sea_orm::Statement::from_sql_and_values(
        backend,
        &sql,
        [mission_id.into(), after.into(), last.into()],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.backer_id, r.refunded))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three pledges of 1,000 won, 1,000 paid: 2,000 refunded as 666.67 each, rounded down
    /// (1,998), and the two won left over to the two earliest pledges.
    #[test]
    fn the_remainder_goes_to_the_earliest_pledges() {
        let split = Split {
            refund_won: 2_000,
            held_won: 3_000,
            last_extra: Some("b".into()),
        };
        let refunds: Vec<i64> = ["a", "b", "c"]
            .iter()
            .map(|id| split.refund_of(id, 1_000).expect("refund"))
            .collect();
        assert_eq!(refunds, vec![667, 667, 666]);
        assert_eq!(refunds.iter().sum::<i64>(), 2_000);
    }
}
