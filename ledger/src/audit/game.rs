//! The game's checks: every prediction's pool (a mission's and a streamer's own) and each
//! daily claim granted exactly its points, once (issue 31).

use super::Violation;
use super::missions::owners_balances;
use crate::LedgerError;
use crate::status::{AccountKind, PredictionStatus};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

#[derive(FromQueryResult)]
struct PredictionRow {
    id: String,
    status: PredictionStatus,
    pool: i64,
    staked: i64,
    paid: i64,
    bad_bets: i64,
}

/// Where one kind of prediction keeps its rows: its table and id column, its bets' table and
/// the column naming it there, what its payouts' transfer ids start with, and its name in a
/// violation.
struct Kind {
    table: &'static str,
    id: &'static str,
    bets: &'static str,
    key: &'static str,
    payout_prefix: &'static str,
    name: &'static str,
}

const KINDS: [Kind; 2] = [
    Kind {
        table: "predictions",
        id: "mission_id",
        bets: "bets",
        key: "mission_id",
        payout_prefix: "betpayout",
        name: "prediction of mission",
    },
    Kind {
        table: "streamer_predictions",
        id: "id",
        bets: "prediction_bets",
        key: "prediction_id",
        payout_prefix: crate::prediction::streamer::PAYOUT_PREFIX,
        name: "streamer prediction",
    },
];

/// Invariant 7: a prediction's pool holds exactly its stakes until settlement and exactly zero
/// after it; every bet's recorded payout was transferred, and the payouts sum to the pool.
/// Both kinds: a mission's own prediction and a streamer's.
pub(super) async fn prediction_pools<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let mut violations = Vec::new();
    for kind in &KINDS {
        let Kind {
            table,
            id,
            bets,
            key,
            payout_prefix,
            name,
        } = kind;
        let rows = PredictionRow::find_by_statement(Statement::from_string(
            db.get_database_backend(),
            format!(
                r#"WITH pool AS ({pools})
               SELECT p.{id} AS id, p.status AS status,
                 CAST(COALESCE(pool.balance, 0) AS BIGINT) AS pool,
                 CAST(COALESCE((SELECT SUM(b.points) FROM {bets} b WHERE b.{key} = p.{id}), 0) AS BIGINT) AS staked,
                 CAST(COALESCE((SELECT SUM(b.payout) FROM {bets} b WHERE b.{key} = p.{id}), 0) AS BIGINT) AS paid,
                 CAST((SELECT COUNT(*) FROM {bets} b WHERE b.{key} = p.{id} AND (
                     (p.status IN ('{settled}', '{refunded}') AND b.payout IS NULL)
                     OR COALESCE(b.payout, 0) <> COALESCE((SELECT SUM(t.amount) FROM transfers t
                          WHERE t.id = '{payout_prefix}:' || b.{key} || ':' || b.id), 0)
                 )) AS BIGINT) AS bad_bets
               FROM {table} p LEFT JOIN pool ON pool.mission_id = p.{id}"#,
                pools = owners_balances(AccountKind::Pool),
                settled = PredictionStatus::Settled,
                refunded = PredictionStatus::Refunded,
            ),
        ))
        .all(db)
        .await?;
        for p in rows {
            let mut violation = |detail: String| {
                violations.push(Violation {
                    check: "prediction_pool",
                    detail: format!("{name} {}: {detail}", p.id),
                })
            };
            let settled = matches!(
                p.status,
                PredictionStatus::Settled | PredictionStatus::Refunded
            );
            let expected = if settled { 0 } else { p.staked - p.paid };
            if p.pool != expected {
                violation(format!(
                    "{} and its pool holds {} points, expected {expected}",
                    p.status, p.pool
                ));
            }
            if settled && p.paid != p.staked {
                violation(format!("paid out {} of a {}-point pool", p.paid, p.staked));
            }
            if p.bad_bets > 0 {
                violation(format!(
                    "{} bet(s) whose payout does not match its transfer",
                    p.bad_bets
                ));
            }
        }
    }
    Ok(violations)
}

#[derive(FromQueryResult)]
struct BadClaim {
    id: String,
}

/// Every daily claim (`daily_claims`) has its grant, `daily:<user>:<day>`, of exactly its
/// points from `world:POINTS` into the user's points wallet, and every `DAILY_POINTS` transfer
/// has its claim: a claim of the day is granted once. Each side is found by its key (the claim
/// from the grant's id: `daily:`, the user, `:`, a 10-character day), so the check reads each
/// row once.
pub(super) async fn daily_claims_granted_once<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = BadClaim::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT 'daily:' || c.user_id || ':' || c.day AS id FROM daily_claims c \
         LEFT JOIN transfers t ON t.id = 'daily:' || c.user_id || ':' || c.day \
           AND t.kind = 'DAILY_POINTS' AND t.amount = c.points \
           AND t.debit_account_id = 'world:POINTS' \
           AND t.credit_account_id = 'wallet:POINTS:' || c.user_id \
         WHERE t.id IS NULL \
         UNION ALL \
         SELECT t.id AS id FROM transfers t \
         LEFT JOIN daily_claims c ON c.user_id = substr(t.id, 7, length(t.id) - 17) \
           AND c.day = substr(t.id, length(t.id) - 9, 10) \
         WHERE t.kind = 'DAILY_POINTS' AND c.user_id IS NULL"
            .to_owned(),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Violation {
            check: "daily_points",
            detail: format!(
                "{}: a daily claim without its grant of exactly its points, or a grant without \
                 its claim",
                r.id
            ),
        })
        .collect())
}
