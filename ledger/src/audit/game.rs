//! The game's checks: each daily claim granted exactly its points, once (issue 31).

use super::Violation;
use crate::LedgerError;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

#[derive(FromQueryResult)]
struct BadClaim {
    id: String,
}

/// Every daily claim (`daily_claims`) has its grant, `daily:<user>:<day>`, of exactly its
/// points, and every `DAILY_POINTS` transfer has its claim: a claim of the day is granted once.
pub(super) async fn daily_claims_granted_once<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = BadClaim::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT 'daily:' || c.user_id || ':' || c.day AS id FROM daily_claims c \
         LEFT JOIN transfers t ON t.id = 'daily:' || c.user_id || ':' || c.day \
           AND t.kind = 'DAILY_POINTS' AND t.amount = c.points \
         WHERE t.id IS NULL \
         UNION ALL \
         SELECT t.id AS id FROM transfers t \
         LEFT JOIN daily_claims c ON t.id = 'daily:' || c.user_id || ':' || c.day \
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
