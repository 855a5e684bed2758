//! Read models of a mission: the row, where its escrow went, its totals and its backers.

use crate::status::{MissionStatus, PledgeStatus, TransferKind};
use crate::{AccountId, LedgerError};
use missionlink_entities::missions::{mission, mission_total};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, FromQueryResult, Statement,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// Mission ids as workflows know them.
pub fn workflow_id(mission_id: &str) -> String {
    format!("mission-{mission_id}")
}

/// The mission, or `NotFound`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    mission::Entity::find_by_id(mission_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such mission".into()))
}

/// Where a settled mission's escrow went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult, Serialize, Deserialize)]
pub struct Outflows {
    pub paid_won: i64,
    pub fee_won: i64,
    pub refunded_won: i64,
    /// Pledges their backers withdrew while the mission was PENDING.
    pub withdrawn_won: i64,
}

/// Sums the transfers out of the mission's escrow, by kind.
pub async fn outflows<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<Outflows, LedgerError> {
    Ok(outflows_of(db, &[mission_id])
        .await?
        .remove(mission_id)
        .unwrap_or_default())
}

/// [`outflows`] of each of `mission_ids`, in one query (a mission with none is absent).
pub async fn outflows_of<C: ConnectionTrait>(
    db: &C,
    mission_ids: &[&str],
) -> Result<std::collections::HashMap<String, Outflows>, LedgerError> {
    if mission_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let backend = db.get_database_backend();
    let sum_of = |kind: TransferKind| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN kind = '{kind}' THEN amount ELSE 0 END), 0) AS BIGINT)"
        )
    };
    let escrows: Vec<AccountId> = mission_ids.iter().map(|id| AccountId::escrow(id)).collect();
    let params: Vec<String> = (1..=escrows.len())
        .map(|i| crate::sql::param(backend, i))
        .collect();
    let sql = format!(
        "SELECT debit_account_id AS escrow, {} AS paid_won, {} AS fee_won, {} AS refunded_won, \
         {} AS withdrawn_won FROM transfers WHERE debit_account_id IN ({}) \
         GROUP BY debit_account_id",
        sum_of(TransferKind::Payout),
        sum_of(TransferKind::Fee),
        sum_of(TransferKind::Refund),
        sum_of(TransferKind::PledgeWithdrawal),
        params.join(", ")
    );
    let by_escrow: std::collections::HashMap<String, &str> = escrows
        .iter()
        .zip(mission_ids)
        .map(|(escrow, id)| (escrow.as_str().to_owned(), *id))
        .collect();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            &sql,
            escrows.iter().map(|e| e.as_str().into()),
        ))
        .await?;
    let mut found = std::collections::HashMap::new();
    for row in rows {
        let escrow: String = row.try_get("", "escrow")?;
        if let Some(id) = by_escrow.get(&escrow) {
            found.insert((*id).to_owned(), Outflows::from_query_result(&row, "")?);
        }
    }
    Ok(found)
}

/// Where a mission's pledged won are now (`totalHeld`, `totalRefunded`): exact from its
/// escrow's journal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Still in its escrow: every pledge not yet withdrawn, paid or refunded.
    pub held_won: i64,
    /// Back with its backers: refunds and withdrawals.
    pub refunded_won: i64,
    /// Paid to the streamer, and the fee taken, so far.
    pub paid: Outflows,
}

impl Holdings {
    /// Where `pledged` won went, `out` having left the escrow.
    pub fn of(pledged: i64, out: Outflows) -> Self {
        Self {
            held_won: pledged - out.paid_won - out.fee_won - out.refunded_won - out.withdrawn_won,
            refunded_won: out.refunded_won + out.withdrawn_won,
            paid: out,
        }
    }
}

/// Mission `mission_id`'s [`Holdings`]: what was pledged (its kept total) less what left its
/// escrow, by kind. Two indexed reads: the totals row and the escrow's outgoing transfers
/// (only withdrawals until the mission settles), never its pledges.
pub async fn holdings<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<Holdings, LedgerError> {
    let pledged = totals(db, mission_id).await?.total_won;
    holdings_of(db, mission_id, pledged).await
}

/// [`holdings`] of a mission whose `totalPledged` the caller has read: its escrow's outflows
/// are read, in one query.
pub async fn holdings_of<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    pledged: i64,
) -> Result<Holdings, LedgerError> {
    Ok(Holdings::of(pledged, outflows(db, mission_id).await?))
}

/// What a mission pays if and when it succeeds (`fee`, `streamerNet`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Net {
    /// The platform's fee: what was taken, plus, while the mission may still succeed, what
    /// its held pledges would pay (each pledge's fee rounded down, as settlement takes it).
    pub fee_won: i64,
    /// What the streamer gets: what was paid to them, plus, while it may still succeed, its
    /// held pledges less their fee.
    pub streamer_net_won: i64,
}

/// The mission's [`Net`] in `status` with `h` its holdings: while it may still succeed and holds
/// anything, a preview at `fee_bps` over its pledges not withdrawn (one read of them; a goal's
/// tiered verdict, `tier_reached`, counts only what it pays), each pledge's fee rounded down as
/// settlement takes it; once settled, exact from the escrow's journal.
pub async fn net<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    status: MissionStatus,
    tier_reached: Option<i32>,
    h: &Holdings,
    fee_bps: u32,
) -> Result<Net, LedgerError> {
    let may_succeed = matches!(
        status,
        MissionStatus::Funding
            | MissionStatus::Pending
            | MissionStatus::Active
            | MissionStatus::Verifying
            | MissionStatus::Disputed
            | MissionStatus::Succeeded
    );
    if !may_succeed || h.held_won == 0 {
        return Ok(Net {
            fee_won: h.paid.fee_won,
            streamer_net_won: h.paid.paid_won,
        });
    }
    // Over the pledges kept (held or already paid), not over what the escrow holds now: the
    // same sums whatever part of a settlement has run between this and the holdings' read.
    if tier_reached.is_some()
        && let Some((paid, fee)) =
            super::tiered::paid_and_fee(db, &find(db, mission_id).await?, fee_bps).await?
    {
        return Ok(Net {
            fee_won: fee,
            streamer_net_won: paid - fee,
        });
    }
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS paid, \
           CAST(COALESCE(SUM(amount * {fee_bps} / 10000), 0) AS BIGINT) AS fee \
         FROM pledges WHERE mission_id = {} AND status IN ('{held}', '{paid}')",
        crate::sql::param(backend, 1),
        held = PledgeStatus::Held.as_str(),
        paid = PledgeStatus::Paid.as_str(),
    );
    #[derive(FromQueryResult)]
    struct Kept {
        paid: i64,
        fee: i64,
    }
    let kept = Kept::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [mission_id.into()],
    ))
    .one(db)
    .await?
    .map_or((0, 0), |k| (k.paid, k.fee));
    Ok(Net {
        fee_won: kept.1,
        streamer_net_won: kept.0 - kept.1,
    })
}

/// `totalPledged` and `backerCount` of a mission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult)]
pub struct Totals {
    pub total_won: i64,
    pub backers: i64,
}

/// The mission's totals (every pledge, whatever its status: a settled mission still shows
/// what was pledged), as kept in `mission_totals` with its pledges.
pub async fn totals<C: ConnectionTrait>(db: &C, mission_id: &str) -> Result<Totals, LedgerError> {
    Ok(mission_total::Entity::find_by_id(mission_id.to_owned())
        .one(db)
        .await?
        .map(|t| Totals {
            total_won: t.total_won,
            backers: t.backers,
        })
        .unwrap_or_default())
}

/// The totals of several missions in one query, by mission id (a mission without pledges is
/// absent: its totals are zero).
pub async fn totals_of<C: ConnectionTrait>(
    db: &C,
    mission_ids: &[String],
) -> Result<std::collections::HashMap<String, Totals>, LedgerError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(mission_total::Entity::find()
        .filter(mission_total::Column::MissionId.is_in(mission_ids.iter().map(String::as_str)))
        .all(db)
        .await?
        .into_iter()
        .map(|t| {
            (
                t.mission_id,
                Totals {
                    total_won: t.total_won,
                    backers: t.backers,
                },
            )
        })
        .collect())
}

/// Adds pledges of `amount_won` in all, from `new_backers` backers pledging to the mission for
/// the first time, to its totals, inside the transaction that inserts them.
pub(crate) async fn add_to_totals<C: ConnectionTrait>(
    txn: &C,
    mission_id: &str,
    amount_won: i64,
    new_backers: i64,
) -> Result<(), LedgerError> {
    use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
    let row = mission_total::ActiveModel {
        mission_id: sea_orm::Set(mission_id.to_owned()),
        total_won: sea_orm::Set(amount_won),
        backers: sea_orm::Set(new_backers),
    };
    let grow = OnConflict::column(mission_total::Column::MissionId)
        .value(
            mission_total::Column::TotalWon,
            Expr::col((mission_total::Entity, mission_total::Column::TotalWon)).add(amount_won),
        )
        .value(
            mission_total::Column::Backers,
            Expr::col((mission_total::Entity, mission_total::Column::Backers)).add(new_backers),
        )
        .to_owned();
    mission_total::Entity::insert(row)
        .on_conflict(grow)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// One backer's pledges to a mission, summed (for their email).
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult, Serialize, Deserialize)]
pub struct BackerTotal {
    pub backer_id: String,
    pub total_won: i64,
}

/// Backers of the mission ordered by id, after `after` (exclusive), at most `limit`: what
/// each still had in it when it closed. Withdrawn pledges are left out (their won went back
/// at the time), and so is a backer who withdrew every pledge.
///
/// On Postgres the page is read in the index's order and stops after `limit` backers, whatever
/// the statistics say. A mission whose pledges arrived since the table was last analyzed looks
/// tiny to the planner (it estimated 248 rows for 100,000), which then summed every remaining
/// pledge of the mission with a hash for each page of 500 (about 120 ms a page, the whole
/// settlement's mail quadratic). Hashing, bitmaps, full scans and sorts are turned off for the
/// read's own transaction, which leaves the ordered index scan.
pub async fn backers_page(
    db: &DatabaseConnection,
    mission_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<BackerTotal>, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i: usize| crate::sql::param(backend, i);
    let sql = format!(
        "SELECT backer_id, CAST(SUM(amount) AS BIGINT) AS total_won FROM pledges \
         WHERE mission_id = {} AND backer_id > {} AND status <> '{withdrawn}' \
         GROUP BY backer_id ORDER BY backer_id LIMIT {}",
        p(1),
        p(2),
        p(3),
        withdrawn = PledgeStatus::Withdrawn.as_str(),
    );
    let limit =
        i64::try_from(limit).map_err(|_| LedgerError::invalid("first", "page size too large"))?;
    let read = BackerTotal::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [mission_id.into(), after.unwrap_or("").into(), limit.into()],
    ));
    if backend != DatabaseBackend::Postgres {
        return Ok(read.all(db).await?);
    }
    let txn = db.begin().await?;
    txn.execute_unprepared(
        "SET LOCAL enable_hashagg = off; SET LOCAL enable_bitmapscan = off; \
         SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off",
    )
    .await?;
    let page = read.all(&txn).await?;
    txn.commit().await?;
    Ok(page)
}
