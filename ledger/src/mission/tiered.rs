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
//! The split is fixed with the verdict, in its transaction (behind the mission's gate: its
//! pledges are final), and stored on the mission: each settlement page applies the same split
//! whatever it and the pages before it took, without reading the other pledges. Each share is
//! computed in 128 bits; "earliest" is the pledges' id order (uuid v7: when they were made).

use super::goal::tiers;
use crate::LedgerError;
use crate::status::PledgeStatus;
use missionlink_entities::missions::{mission, mission_tier, pledge};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use std::collections::HashMap;

/// The won the streamer is paid at `level` of goal `m` with `tiers` (lowest first): the goal
/// at 0, the `n`th tier's amount at `n`. None for a level the goal does not have.
pub fn level_won(m: &mission::Model, tiers: &[mission_tier::Model], level: i32) -> Option<i64> {
    match usize::try_from(level).ok()? {
        0 => m.goal_won,
        n => tiers.get(n - 1).map(|t| t.amount_won),
    }
}

/// How a tiered verdict splits a goal's pledges, fixed with the verdict
/// (`missions.tier_held_won`, `tier_refund_won`, `tier_extra_through`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Split {
    /// `R`: the won refunded in all.
    refund_won: i64,
    /// `H`: what the mission held when it closed.
    held_won: i64,
    /// The last pledge (in id order) that gets one won of the rounding's remainder.
    last_extra: Option<String>,
}

impl Split {
    /// The split fixed on `m`'s verdict; None when everything is paid (or it has no verdict).
    pub(super) fn of(m: &mission::Model) -> Option<Self> {
        match (m.tier_held_won, m.tier_refund_won) {
            (Some(held_won), Some(refund_won)) if held_won > 0 && refund_won > 0 => Some(Self {
                refund_won,
                held_won,
                last_extra: m.tier_extra_through.clone(),
            }),
            _ => None,
        }
    }

    /// As stored on the mission: `tier_held_won`, `tier_refund_won`, `tier_extra_through`.
    pub(super) fn stored(self) -> (i64, i64, Option<String>) {
        (self.held_won, self.refund_won, self.last_extra)
    }

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

/// The mission's pledges with `statuses`, as (id, amount), in id order (compared as bytes, as
/// [`Split::refund_of`] compares them).
async fn pledges_of<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    statuses: &[PledgeStatus],
) -> Result<Vec<(String, i64)>, LedgerError> {
    let mut found: Vec<(String, i64)> = pledge::Entity::find()
        .select_only()
        .columns([pledge::Column::Id, pledge::Column::Amount])
        .filter(pledge::Column::MissionId.eq(mission_id))
        .filter(pledge::Column::Status.is_in(statuses.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    found.sort_unstable();
    Ok(found)
}

/// The split of goal `m` decided SUCCESS at `level` (inside the verdict's transaction, behind
/// the mission's gate: its pledges are final). None when the level's amount is all it holds.
pub(super) async fn fix<C: ConnectionTrait>(
    db: &C,
    m: &mission::Model,
    level: i32,
) -> Result<Option<Split>, LedgerError> {
    let tiers = tiers(db, &m.id).await?;
    let paid_won = level_won(m, &tiers, level).ok_or_else(|| {
        LedgerError::Corrupt(format!(
            "mission {} names level {level}, which it has not",
            m.id
        ))
    })?;
    let kept = pledges_of(db, &m.id, &[PledgeStatus::Held]).await?;
    let held_won: i64 = kept.iter().map(|(_, a)| a).sum();
    if held_won <= paid_won {
        return Ok(None);
    }
    let refund_won = held_won - paid_won;
    let whole = Split {
        refund_won,
        held_won,
        last_extra: None,
    };
    let mut shares = 0;
    for (id, amount) in &kept {
        shares += whole.refund_of(id, *amount)?;
    }
    // Fewer than the pledges: each share is below R × a ÷ H by less than one won.
    let remainder = usize::try_from(refund_won - shares)
        .map_err(|_| LedgerError::Corrupt("the shares exceed the refund".into()))?;
    Ok(Some(Split {
        last_extra: remainder.checked_sub(1).map(|i| kept[i].0.clone()),
        ..whole
    }))
}

/// What goal `m`'s pledges kept (held or paid) pay on success under its tiered verdict's split:
/// won to the streamer before the fee, and the fee (each pledge's paid part's fee rounded down,
/// as settlement takes it). None when it has no split.
pub(super) async fn paid_and_fee<C: ConnectionTrait>(
    db: &C,
    m: &mission::Model,
    fee_bps: u32,
) -> Result<Option<(i64, i64)>, LedgerError> {
    let Some(split) = Split::of(m) else {
        return Ok(None);
    };
    let (mut paid, mut fee) = (0, 0);
    for (id, amount) in pledges_of(db, &m.id, &[PledgeStatus::Held, PledgeStatus::Paid]).await? {
        let part = amount - split.refund_of(&id, amount)?;
        if part > 0 {
            paid += part;
            fee += super::fee_of(crate::Amount::new(part)?, fee_bps)?;
        }
    }
    Ok(Some((paid, fee)))
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
