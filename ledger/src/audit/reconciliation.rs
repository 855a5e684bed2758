//! The reconciliation checks (issue 26, item 4): every case moved exactly what its resolution
//! says, each top-up's provider-cancelled total is its cases' sum, and nobody is owed by a
//! receivable (its balance never above zero; the database's CHECK, checked again here).

use super::Violation;
use crate::LedgerError;
use crate::status::{AccountKind, CaseAction, CaseKind, CaseStatus};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

#[derive(FromQueryResult)]
struct BadCase {
    id: String,
    status: CaseStatus,
    amount: i64,
    debited: i64,
    owed: i64,
    returned: i64,
    moved_debit: i64,
    moved_owed: i64,
    moved_returned: i64,
}

#[derive(FromQueryResult)]
struct BadTopUp {
    id: String,
    recorded: i64,
    cases: i64,
}

#[derive(FromQueryResult)]
struct BadReceivable {
    id: String,
    balance: i64,
}

/// Each case moved what it records (`case:<id>:debit` = `debited`, `case:<id>:owed` = `owed`,
/// `case:<id>:returned` = `returned`): nothing while OPEN, nothing but on `DEBIT_WALLET`,
/// `RECORD_RECEIVABLE` and `RETURN_TO_BALANCE`, and all of the amount on each of those. Each
/// sum is a lookup by transfer id.
pub(super) async fn cases_moved_what_they_record<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let sum = |suffix: &str| {
        format!(
            "CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t \
               WHERE t.id = 'case:' || c.id || ':{suffix}'), 0) AS BIGINT)"
        )
    };
    let cases = BadCase::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT * FROM (
             SELECT c.id AS id, c.status AS status, c.amount AS amount, c.debited AS debited,
               c.owed AS owed, c.returned AS returned, c.resolution AS resolution,
               {debit} AS moved_debit, {owed} AS moved_owed, {returned} AS moved_returned
             FROM reconciliation_cases c
           ) x
           WHERE x.moved_debit <> x.debited OR x.moved_owed <> x.owed
              OR x.moved_returned <> x.returned
              OR (x.status = '{open}' AND x.debited + x.owed + x.returned <> 0)
              OR (x.resolution = '{to_earnings}' AND x.returned <> x.amount)
              OR (x.resolution <> '{to_earnings}' AND x.returned <> 0)
              OR (x.resolution IN ('{debit_wallet}', '{record}')
                  AND x.debited + x.owed <> x.amount)
              OR (x.resolution NOT IN ('{debit_wallet}', '{record}')
                  AND x.debited + x.owed <> 0)"#,
            debit = sum("debit"),
            owed = sum("owed"),
            returned = sum("returned"),
            to_earnings = CaseAction::ReturnToBalance,
            open = CaseStatus::Open,
            debit_wallet = CaseAction::DebitWallet,
            record = CaseAction::RecordReceivable,
        ),
    ))
    .all(db)
    .await?;
    let mut violations: Vec<Violation> = cases
        .into_iter()
        .map(|c| Violation {
            check: "reconciliation",
            detail: format!(
                "case {} ({}, {} won) records {} debited, {} owed and {} returned but moved {}, {} \
                 and {}",
                c.id,
                c.status,
                c.amount,
                c.debited,
                c.owed,
                c.returned,
                c.moved_debit,
                c.moved_owed,
                c.moved_returned
            ),
        })
        .collect();
    let top_ups = BadTopUp::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT u.id AS id, u.provider_cancelled_won AS recorded,
               CAST(COALESCE((SELECT SUM(c.amount) FROM reconciliation_cases c
                 WHERE c.top_up_id = u.id AND c.kind IN ('{whole}', '{part}')), 0) AS BIGINT)
                 AS cases
           FROM top_ups u
           WHERE u.provider_cancelled_won > u.amount
              OR u.provider_cancelled_won <> CAST(COALESCE((SELECT SUM(c.amount)
                   FROM reconciliation_cases c WHERE c.top_up_id = u.id
                   AND c.kind IN ('{whole}', '{part}')), 0) AS BIGINT)"#,
            whole = CaseKind::TopupCancelledAtProvider,
            part = CaseKind::PartialCancelAtProvider,
        ),
    ))
    .all(db)
    .await?;
    violations.extend(top_ups.into_iter().map(|u| Violation {
        check: "reconciliation",
        detail: format!(
            "top-up {} records {} won cancelled at the provider, its cases {}",
            u.id, u.recorded, u.cases
        ),
    }));
    Ok(violations)
}

/// No receivable is above zero: the platform never owes a user through one.
pub(super) async fn receivables_never_positive<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = BadReceivable::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            "SELECT id, balance FROM accounts WHERE kind = '{}' AND balance > 0",
            AccountKind::Receivable
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|a| Violation {
            check: "receivable",
            detail: format!("receivable {} is {} above zero", a.id, a.balance),
        })
        .collect())
}
