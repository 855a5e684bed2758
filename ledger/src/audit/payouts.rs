//! The payouts' check: each payout moved exactly what its status says.

use super::Violation;
use crate::LedgerError;
use crate::status::PayoutStatus;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

#[derive(FromQueryResult)]
struct BadPayout {
    id: String,
    status: PayoutStatus,
    amount: i64,
    fee: i64,
    hold: i64,
    taken: i64,
    bank: i64,
    paid: i64,
    returned: i64,
}

/// Every payout took exactly its amount from earnings into its hold; the hold holds all of it
/// while REQUESTED or PROCESSING and nothing after; a PAID payout left its hold by exactly its
/// bank leg (the net) and fee leg, a FAILED or CANCELLED one by exactly its return — never
/// both. Each sum is an index lookup (transfer ids, and the hold's debit and credit indexes),
/// so the check costs a few lookups per payout whatever the size of the journal.
pub(super) async fn payouts_exactly_once<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let sum = |ids: &str| {
        format!(
            "CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.id IN ({ids})), 0) AS BIGINT)"
        )
    };
    let rows = BadPayout::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT * FROM (
             SELECT p.id AS id, p.status AS status, p.amount AS amount, p.fee AS fee,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                   WHERE t.credit_account_id = 'payout:CASH:' || p.id), 0)
                 - COALESCE((SELECT SUM(t.amount) FROM transfers t
                   WHERE t.debit_account_id = 'payout:CASH:' || p.id), 0) AS BIGINT) AS hold,
               {taken} AS taken, {bank} AS bank, {paid} AS paid, {returned} AS returned
             FROM payouts p
           ) x
           WHERE NOT (x.taken = x.amount AND (
                   (x.status IN ('{requested}', '{processing}') AND x.hold = x.amount
                      AND x.paid = 0 AND x.returned = 0)
                OR (x.status = '{paid_status}' AND x.hold = 0 AND x.paid = x.amount
                      AND x.bank = x.amount - x.fee AND x.returned = 0)
                OR (x.status IN ('{failed}', '{cancelled}') AND x.hold = 0
                      AND x.returned = x.amount AND x.paid = 0)))"#,
            taken = sum("'payoutreq:' || p.id || ':net', 'payoutreq:' || p.id || ':fee'"),
            bank = sum("'payoutpaid:' || p.id || ':bank'"),
            paid = sum("'payoutpaid:' || p.id || ':bank', 'payoutpaid:' || p.id || ':fee'"),
            returned = sum("'payoutreturn:' || p.id"),
            requested = PayoutStatus::Requested,
            processing = PayoutStatus::Processing,
            paid_status = PayoutStatus::Paid,
            failed = PayoutStatus::Failed,
            cancelled = PayoutStatus::Cancelled,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|p| Violation {
            check: "payout",
            detail: format!(
                "payout {} is {} for {} won (fee {}) but took {}, holds {}, paid {} (bank {}), returned {}",
                p.id, p.status, p.amount, p.fee, p.taken, p.hold, p.paid, p.bank, p.returned
            ),
        })
        .collect())
}
