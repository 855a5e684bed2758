//! The missions' checks: escrows against held pledges, each pledge settled exactly once, and the
//! missions' kept totals.

use super::Violation;
use super::journal::MOVEMENTS;
use crate::LedgerError;
use crate::status::{AccountKind, MissionStatus, PledgeStatus, TransferKind};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

#[derive(FromQueryResult)]
struct MissionHeld {
    id: String,
    held: i64,
    escrow: i64,
}

#[derive(FromQueryResult)]
struct TotalsRow {
    mission_id: String,
    counted_won: i64,
    counted_backers: i64,
    kept_won: i64,
    kept_backers: i64,
}

#[derive(FromQueryResult)]
struct BadPledge {
    id: String,
    mission_id: String,
    status: PledgeStatus,
    amount: i64,
    held: i64,
    paid: i64,
    refunded: i64,
    withdrawn: i64,
}

/// The journal balance of every account of `kind` (escrows, pools), by owner (the mission): one
/// pass over the journal for all of them, not a sum per mission.
pub(super) fn owners_balances(kind: AccountKind) -> String {
    format!(
        "SELECT a.owner_id AS mission_id, SUM(j.delta) AS balance \
         FROM accounts a JOIN ({MOVEMENTS}) j ON j.account_id = a.id \
         WHERE a.kind = '{kind}' GROUP BY a.owner_id"
    )
}

/// Invariant 6: a mission's escrow holds exactly its HELD pledges — so after settlement, when
/// none is held, exactly zero.
pub(super) async fn escrow_matches_held_pledges<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = MissionHeld::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"WITH escrow AS ({escrows}), held AS (
             SELECT mission_id, SUM(amount) AS held FROM pledges
             WHERE status = '{held}' GROUP BY mission_id
           )
           SELECT m.id AS id, CAST(COALESCE(h.held, 0) AS BIGINT) AS held,
                  CAST(COALESCE(e.balance, 0) AS BIGINT) AS escrow
           FROM missions m
           LEFT JOIN held h ON h.mission_id = m.id
           LEFT JOIN escrow e ON e.mission_id = m.id
           WHERE COALESCE(h.held, 0) <> COALESCE(e.balance, 0)"#,
            escrows = owners_balances(AccountKind::Escrow),
            held = PledgeStatus::Held
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| Violation {
            check: "escrow",
            detail: format!(
                "mission {} escrow holds {} won but its held pledges sum to {}",
                m.id, m.escrow, m.held
            ),
        })
        .collect())
}

/// Invariant 6: every pledge was held by its own transfer, and left escrow exactly once, as its
/// status says: PAID to the streamer and fee account, REFUNDED to its backer, or WITHDRAWN by
/// its backer (`withdraw:`), never two of them (but for a goal's tiered verdict, which pays a
/// PAID pledge in part and refunds the rest, the two adding up to it); and no pledge of a
/// settled mission is still HELD.
pub(super) async fn pledges_settled_exactly_once<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = BadPledge::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT * FROM (
             SELECT p.id AS id, p.mission_id AS mission_id, p.status AS status, p.amount AS amount,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id = 'pledge:' || p.mission_id || ':' || p.id), 0) AS BIGINT) AS held,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id IN ('payout:' || p.mission_id || ':' || p.id,
                                'fee:' || p.mission_id || ':' || p.id)), 0) AS BIGINT) AS paid,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id = 'refund:' || p.mission_id || ':' || p.id), 0) AS BIGINT) AS refunded,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id = 'withdraw:' || p.mission_id || ':' || p.id), 0) AS BIGINT)
                 AS withdrawn,
               m.settled_at AS settled_at, m.tier_reached AS tier_reached
             FROM pledges p JOIN missions m ON m.id = p.mission_id
           ) x
           WHERE NOT (x.held = x.amount AND (
                   (x.status = '{held}' AND x.paid = 0 AND x.refunded = 0 AND x.withdrawn = 0
                    AND x.settled_at IS NULL)
                OR (x.status = '{paid}' AND x.paid + x.refunded = x.amount AND x.withdrawn = 0
                    AND (x.refunded = 0 OR x.tier_reached IS NOT NULL))
                OR (x.status = '{refunded}' AND x.refunded = x.amount AND x.paid = 0
                    AND x.withdrawn = 0)
                OR (x.status = '{withdrawn}' AND x.withdrawn = x.amount AND x.paid = 0
                    AND x.refunded = 0)))"#,
            held = PledgeStatus::Held,
            paid = PledgeStatus::Paid,
            refunded = PledgeStatus::Refunded,
            withdrawn = PledgeStatus::Withdrawn,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|p| Violation {
            check: "pledge_settlement",
            detail: format!(
                "pledge {} of mission {} is {} for {} won but was held {}, paid {}, refunded {}, \
                 withdrawn {}",
                p.id, p.mission_id, p.status, p.amount, p.held, p.paid, p.refunded, p.withdrawn
            ),
        })
        .collect())
}

#[derive(FromQueryResult)]
struct TieredRow {
    id: String,
    held: Option<i64>,
    refund: Option<i64>,
    refunded: i64,
    paid: i64,
}

/// A goal settled under a tiered verdict went out of escrow as its split, fixed with the
/// verdict, says: exactly `tier_refund_won` back to its backers and the rest of what it held
/// (`tier_held_won`) to the streamer and the fee; nothing back when it fixed no split.
pub(super) async fn tiered_splits_paid_as_fixed<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = TieredRow::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT m.id AS id, m.tier_held_won AS held, m.tier_refund_won AS refund,
             CAST(COALESCE(SUM(CASE WHEN t.kind = '{refund}' THEN t.amount ELSE 0 END), 0)
               AS BIGINT) AS refunded,
             CAST(COALESCE(SUM(CASE WHEN t.kind IN ('{payout}', '{fee}') THEN t.amount ELSE 0 END),
               0) AS BIGINT) AS paid
           FROM missions m
           JOIN accounts a ON a.owner_id = m.id AND a.kind = '{escrow}'
           LEFT JOIN transfers t ON t.debit_account_id = a.id
           WHERE m.tier_reached IS NOT NULL AND m.status = '{succeeded}'
             AND m.settled_at IS NOT NULL
           GROUP BY m.id, m.tier_held_won, m.tier_refund_won"#,
            refund = TransferKind::Refund,
            payout = TransferKind::Payout,
            fee = TransferKind::Fee,
            escrow = AccountKind::Escrow,
            succeeded = MissionStatus::Succeeded,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| match (r.held, r.refund) {
            (Some(held), Some(refund)) => r.refunded != refund || r.paid != held - refund,
            _ => r.refunded != 0,
        })
        .map(|r| Violation {
            check: "tiered_split",
            detail: format!(
                "mission {} fixed a split of {:?} held, {:?} back, but refunded {} and paid {}",
                r.id, r.held, r.refund, r.refunded, r.paid
            ),
        })
        .collect())
}

/// A mission's kept totals (`mission_totals`, what `totalPledged` and `backerCount` show) are
/// its pledges' sum and distinct backers, and no mission without pledges has any.
pub(super) async fn totals_match_pledges<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = TotalsRow::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        r#"SELECT mission_id, CAST(SUM(cw) AS BIGINT) AS counted_won,
             CAST(SUM(cb) AS BIGINT) AS counted_backers, CAST(SUM(kw) AS BIGINT) AS kept_won,
             CAST(SUM(kb) AS BIGINT) AS kept_backers
           FROM (
             SELECT mission_id, SUM(amount) AS cw,
               COUNT(DISTINCT CASE WHEN status <> 'WITHDRAWN' THEN backer_id END) AS cb,
               0 AS kw, 0 AS kb
             FROM pledges GROUP BY mission_id
             UNION ALL
             SELECT mission_id, 0, 0, total_won, backers FROM mission_totals
           ) x
           GROUP BY mission_id
           HAVING SUM(cw) <> SUM(kw) OR SUM(cb) <> SUM(kb)"#,
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|t| Violation {
            check: "mission_totals",
            detail: format!(
                "mission {} shows {} won from {} backers but its pledges are {} won from {}",
                t.mission_id, t.kept_won, t.kept_backers, t.counted_won, t.counted_backers
            ),
        })
        .collect())
}
