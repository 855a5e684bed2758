//! The game's checks: each daily claim granted exactly its points, once (issue 31).

use super::Violation;
use crate::LedgerError;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

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
