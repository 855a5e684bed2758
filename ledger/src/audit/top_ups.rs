//! The top-ups' check: each top-up moved exactly what its status says.

use super::Violation;
use crate::LedgerError;
use crate::status::TopUpStatus;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

#[derive(FromQueryResult)]
struct BadTopUp {
    id: String,
    status: TopUpStatus,
    amount: i64,
    withdrawal: i64,
    credited: i64,
    withdrawn: i64,
    returned: i64,
}

/// Every top-up moved exactly what its status says (issue 15): nothing before the provider took
/// the payment (PREPARED, CONFIRMING, FAILED); its amount in once it is CONFIRMED, with either
/// no withdrawal or a withdrawal given back whole (the provider refused to cancel); its amount
/// in and its withdrawal (all or part of it) out once WITHDRAWING or WITHDRAWN. Each sum is a lookup by transfer id.
pub(super) async fn top_ups_exactly_once<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let sum = |id: &str| {
        format!(
            "CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.id = {id}), 0) AS BIGINT)"
        )
    };
    let rows = BadTopUp::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT * FROM (
             SELECT u.id AS id, u.status AS status, u.amount AS amount,
               COALESCE(u.withdrawn_won, u.amount) AS withdrawal,
               {credited} AS credited, {withdrawn} AS withdrawn, {returned} AS returned
             FROM top_ups u
           ) x
           WHERE NOT (
                (x.status IN ('{prepared}', '{confirming}', '{failed}')
                   AND x.credited = 0 AND x.withdrawn = 0 AND x.returned = 0)
             OR (x.status = '{confirmed}' AND x.credited = x.amount
                   AND x.withdrawn = x.returned AND x.withdrawn IN (0, x.withdrawal))
             OR (x.status IN ('{withdrawing}', '{withdrawn_status}') AND x.credited = x.amount
                   AND x.withdrawn = x.withdrawal AND x.returned = 0))
             OR x.withdrawal NOT BETWEEN 1 AND x.amount"#,
            credited = sum("'topup:order:' || u.order_id"),
            withdrawn = sum("'withdrawal:' || u.id"),
            returned = sum("'withdrawal-return:' || u.id"),
            prepared = TopUpStatus::Prepared,
            confirming = TopUpStatus::Confirming,
            failed = TopUpStatus::Failed,
            confirmed = TopUpStatus::Confirmed,
            withdrawing = TopUpStatus::Withdrawing,
            withdrawn_status = TopUpStatus::Withdrawn,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|u| Violation {
            check: "top_up",
            detail: format!(
                "top-up {} is {} for {} won (its withdrawal {}) but credited {}, withdrew {}, \
                 returned {}",
                u.id, u.status, u.amount, u.withdrawal, u.credited, u.withdrawn, u.returned
            ),
        })
        .collect())
}
