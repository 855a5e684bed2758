//! Settlement of a closed mission: every held pledge paid to the streamer (less the fee) or
//! refunded to its backer, a page per transaction, then `settledAt` and `notifiedAt`.

use super::read::find;
use super::tiered;
use crate::events::{self, NewEvent};
use crate::reconcile::receivable;
use crate::status::{EventKind, MissionStatus, PledgeStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError, changes};
use chrono::Utc;
use missionlink_entities::missions::{mission, pledge};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QuerySelect, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// Platform fee of one pledge: `floor(amount × bps ÷ 10,000)`.
pub fn fee_of(amount: Amount, fee_bps: u32) -> Result<i64, LedgerError> {
    let fee = i128::from(amount.get()) * i128::from(fee_bps) / 10_000;
    i64::try_from(fee).map_err(|_| LedgerError::InvalidAmount("fee overflows".into()))
}

/// What one settlement page did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledPage {
    pub pledges: u64,
    pub amount_won: i64,
    /// The page's last pledge: the next page starts after it.
    pub last_pledge_id: Option<String>,
}

/// A pledge a settlement page took: flipped out of HELD by the page's first statement.
#[derive(Debug, FromQueryResult)]
struct Taken {
    id: String,
    backer_id: String,
    amount: i64,
}

/// The movements that settle pledge `p` of `m`, `refund` won of it back to its backer and the
/// rest paid: the paid part less its fee to the streamer's earnings, the fee to the platform.
/// On SUCCEEDED the refund is nothing (or a tiered verdict's share, [`super::tiered`]);
/// otherwise all of it. Each id names the mission, the step and the pledge.
fn movements(
    m: &mission::Model,
    refund: i64,
    p: &Taken,
    fee_bps: u32,
) -> Result<Vec<Transfer>, LedgerError> {
    let escrow = AccountId::escrow(&m.id);
    let mut moves = Vec::with_capacity(3);
    if refund > 0 {
        moves.push(Transfer {
            id: format!("refund:{}:{}", m.id, p.id),
            debit: escrow.clone(),
            credit: AccountId::wallet(Currency::Cash, &p.backer_id),
            amount: Amount::new(refund)?,
            kind: TransferKind::Refund,
        });
    }
    if refund >= p.amount {
        return Ok(moves);
    }
    let paid = p.amount - refund;
    let fee = fee_of(Amount::new(paid)?, fee_bps)?;
    if paid > fee {
        moves.push(Transfer {
            id: format!("payout:{}:{}", m.id, p.id),
            debit: escrow.clone(),
            credit: AccountId::earnings(&m.streamer_id),
            amount: Amount::new(paid - fee)?,
            kind: TransferKind::Payout,
        });
    }
    if fee > 0 {
        moves.push(Transfer {
            id: format!("fee:{}:{}", m.id, p.id),
            debit: escrow,
            credit: AccountId::platform_fee(),
            amount: Amount::new(fee)?,
            kind: TransferKind::Fee,
        });
    }
    Ok(moves)
}

/// Settles up to `page_size` HELD pledges of a closed mission in one transaction: on SUCCEEDED
/// each pledge goes to the streamer's earnings less its fee (to the platform fee account);
/// otherwise back to its backer. Each movement's id names the mission, the step and the pledge,
/// and each pledge leaves HELD in the same transaction, so a retried or concurrent page can
/// neither pay twice nor skip one. Returns what this page settled; zero pledges means done.
///
/// The page's first statement takes its pledges and flips them out of HELD at once (Postgres
/// skips pledges another settler's page holds, so settlers running side by side take different
/// pages); the movements follow, and the accounts they credit are locked only from then to the
/// commit, so the next page's flip runs while this page's movements are written.
///
/// `after` (the previous page's last pledge) starts the scan past the pledges this caller
/// already settled, so page after page does not wade through their superseded index entries.
/// A pledge skipped because another settler held it is still caught: settling ends only when
/// [`mark_settled`] finds none HELD, and a retry starts from the beginning.
#[tracing::instrument(name = "db.settle_page", skip_all)]
pub async fn settle_page(
    db: &DatabaseConnection,
    mission_id: &str,
    after: Option<&str>,
    page_size: u64,
    fee_bps: u32,
) -> Result<SettledPage, LedgerError> {
    let txn = db.begin().await?;
    let m = find(&txn, mission_id).await?;
    if !m.status.is_final() {
        return Err(LedgerError::InvalidState(format!(
            "mission {mission_id} is {}; only a mission in a final status is settled",
            m.status
        )));
    }
    let paid = m.status == MissionStatus::Succeeded;
    let to_status = if paid {
        PledgeStatus::Paid
    } else {
        PledgeStatus::Refunded
    };
    // A goal's tiered verdict pays up to its level and refunds the rest pro rata.
    let split = if paid { tiered::Split::of(&m) } else { None };
    let mut held = take_page(&txn, mission_id, after, page_size, to_status).await?;
    held.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut page = SettledPage::default();
    // The page's movements, applied together: one multi-row insert and one balance update per
    // credited account, instead of a round trip per pledge.
    let mut transfers = Vec::with_capacity(held.len() * 2);
    let mut refunds = Vec::new();
    for p in &held {
        let refund = match &split {
            _ if !paid => p.amount,
            None => 0,
            Some(split) => split.refund_of(&p.id, p.amount)?,
        };
        let moves = movements(&m, refund, p, fee_bps)?;
        if refund > 0 {
            // The refund is a pledge's first movement.
            refunds.push((p, moves[0].id.clone(), refund));
        }
        transfers.extend(moves);
        page.pledges += 1;
        page.amount_won = page
            .amount_won
            .checked_add(p.amount)
            .ok_or_else(|| LedgerError::Corrupt("settled amount overflows".into()))?;
    }
    transfer::apply_new_batch(&txn, &transfers).await?;
    if !refunds.is_empty() {
        // Backers who owe pay it back first from their refunds (issue 26, item 4).
        let refunds: Vec<receivable::Credited<'_>> = refunds
            .iter()
            .map(|(p, id, amount)| receivable::Credited {
                user_id: &p.backer_id,
                amount: *amount,
                transfer_id: id,
            })
            .collect();
        receivable::repay(&txn, &refunds).await?;
    }
    page.last_pledge_id = held.last().map(|p| p.id.clone());
    txn.commit().await?;
    Ok(page)
}

/// Takes up to `limit` HELD pledges of the mission after `after`, in id order, and flips them
/// to `to`, in one statement; answers them. On Postgres pledges another transaction holds are
/// skipped, not waited for.
async fn take_page<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    after: Option<&str>,
    limit: u64,
    to: PledgeStatus,
) -> Result<Vec<Taken>, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i: usize| crate::sql::param(backend, i);
    let skip_locked = if backend == DatabaseBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    // HELD is written into the text (our own constant), so each parameter appears once, as
    // SQLite's positional parameters need.
    let sql = format!(
        "UPDATE pledges SET status = {to}, settled_at = {now} \
         WHERE status = '{held}' AND id IN (SELECT id FROM pledges \
           WHERE mission_id = {mission} AND status = '{held}' AND id > {after} \
           ORDER BY id LIMIT {limit}{skip_locked}) \
         RETURNING id, backer_id, amount",
        to = p(1),
        now = p(2),
        held = PledgeStatus::Held.as_str(),
        mission = p(3),
        after = p(4),
        limit = p(5),
    );
    let limit =
        i64::try_from(limit).map_err(|_| LedgerError::invalid("first", "page size too large"))?;
    Ok(Taken::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [
            to.as_str().into(),
            Utc::now().into(),
            mission_id.into(),
            after.unwrap_or("").into(),
            limit.into(),
        ],
    ))
    .all(db)
    .await?)
}

/// Marks the mission settled once no pledge is HELD. Returns the mission; `settled_at` stays
/// unset if a pledge is still held.
#[tracing::instrument(name = "db.mark_settled", skip_all)]
pub async fn mark_settled(
    db: &DatabaseConnection,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    let still_held = pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(mission_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Held))
        .limit(1)
        .all(db)
        .await?;
    if still_held.is_empty() {
        let txn = db.begin().await?;
        let marked = mission::Entity::update_many()
            .col_expr(mission::Column::SettledAt, Expr::value(Utc::now()))
            .filter(mission::Column::Id.eq(mission_id))
            .filter(mission::Column::SettledAt.is_null())
            .exec(&txn)
            .await?;
        let settled = marked.rows_affected == 1;
        if settled {
            events::append(
                &txn,
                &[NewEvent {
                    mission_id: Some(mission_id),
                    prediction_id: None,
                    streamer_id: None,
                    kind: EventKind::Settled,
                    pledge_id: None,
                    tier: None,
                    test_payload: None,
                }],
            )
            .await?;
        }
        changes::commit(txn, settled.then_some(mission_id)).await?;
    }
    find(db, mission_id).await
}

/// Marks the mission's emails as all sent.
pub async fn mark_notified(db: &DatabaseConnection, mission_id: &str) -> Result<(), LedgerError> {
    mission::Entity::update_many()
        .col_expr(mission::Column::NotifiedAt, Expr::value(Utc::now()))
        .filter(mission::Column::Id.eq(mission_id))
        .filter(mission::Column::NotifiedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_is_floored_per_pledge() {
        let a = |v| Amount::new(v).expect("amount");
        assert_eq!(fee_of(a(1_000), 250).expect("fee"), 25);
        assert_eq!(fee_of(a(1_039), 250).expect("fee"), 25);
        assert_eq!(fee_of(a(3_000_000), 0).expect("fee"), 0);
        assert_eq!(fee_of(a(1_000), 10_000).expect("fee"), 1_000);
    }
}
