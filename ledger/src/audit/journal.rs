//! The journal's checks: every transfer's shape, every balance against the transfers that make
//! it, the balances each transfer records after it, and each user's statement.

use super::Violation;
use crate::status::AccountKind;
use crate::{Currency, LedgerError};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use std::collections::BTreeMap;

/// An account that breaks a balance rule, or (`id` None) the total of one currency.
#[derive(FromQueryResult)]
struct BalanceRow {
    id: Option<String>,
    kind: Option<AccountKind>,
    currency: String,
    balance: Option<i64>,
    materialised: Option<bool>,
    journal: Option<i64>,
    effective: i64,
}

#[derive(FromQueryResult)]
struct BadTransfer {
    id: String,
}

/// Every transfer as two signed movements: its amount into the credit account and out of the
/// debit account. Summed per account, the journal balance.
pub(super) const MOVEMENTS: &str = "SELECT credit_account_id AS account_id, amount AS delta FROM transfers \
     UNION ALL SELECT debit_account_id AS account_id, -amount AS delta FROM transfers";

/// Each transfer: amount > 0 and both accounts in the transfer's currency. The schema enforces
/// both; the audit checks that the schema still does.
pub(super) async fn transfer_shapes<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let bad = BadTransfer::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        r#"SELECT t.id AS id FROM transfers t
           JOIN accounts d ON d.id = t.debit_account_id
           JOIN accounts c ON c.id = t.credit_account_id
           WHERE t.amount <= 0 OR d.currency <> t.currency OR c.currency <> t.currency"#,
    ))
    .all(db)
    .await?;
    Ok(bad
        .into_iter()
        .map(|t| Violation {
            check: "transfer_shape",
            detail: format!(
                "transfer {} has a non-positive amount or mixes currencies",
                t.id
            ),
        })
        .collect())
}

/// The transfer kinds that move points: the only ways points come (a signup grant, a daily
/// claim) and go round (bets, their payouts and refunds).
const POINTS_KINDS: &str = "'SIGNUP_GRANT', 'DAILY_POINTS', 'BET', 'BET_PAYOUT', 'BET_REFUND'";

/// Points and cash never meet: every points transfer is of a points kind, and no cash transfer
/// is. With [`transfer_shapes`] (no transfer mixes currencies), no points are bought with cash,
/// and none become cash.
pub(super) async fn points_apart<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let bad = BadTransfer::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            "SELECT id FROM transfers \
             WHERE (currency = 'POINTS') <> (kind IN ({POINTS_KINDS}))"
        ),
    ))
    .all(db)
    .await?;
    Ok(bad
        .into_iter()
        .map(|t| Violation {
            check: "points_apart",
            detail: format!(
                "transfer {} moves points by a cash movement's kind, or cash by a points kind",
                t.id
            ),
        })
        .collect())
}

/// Balances: each account's journal (credits - debits) beside its stored balance, compared in
/// the database, which returns only the accounts that break a rule and one total per currency —
/// the audit's memory does not grow with the number of accounts. Pushes the accounts' violations
/// onto `violations` and returns each currency's total, for [`double_entry`].
pub(super) async fn balances<C: ConnectionTrait>(
    db: &C,
    violations: &mut Vec<Violation>,
) -> Result<BTreeMap<Currency, i64>, LedgerError> {
    let backend = db.get_database_backend();
    let rows = BalanceRow::find_by_statement(Statement::from_string(
        backend,
        format!(
            r#"WITH j AS (
             SELECT account_id, SUM(delta) AS journal FROM ({MOVEMENTS}) d GROUP BY account_id
           ), a AS (
             SELECT a.id, a.kind, a.currency, a.balance, a.materialised,
                    CAST(COALESCE(j.journal, 0) AS BIGINT) AS journal,
                    CAST(CASE WHEN a.materialised THEN a.balance ELSE COALESCE(j.journal, 0) END
                         AS BIGINT) AS effective
             FROM accounts a LEFT JOIN j ON j.account_id = a.id
           )
           SELECT id, kind, currency, balance, materialised, journal, effective FROM a
           WHERE (materialised AND balance <> journal)
              OR (kind NOT IN ('{world}', '{receivable}') AND effective < 0)
           UNION ALL
           SELECT NULL, NULL, currency, NULL, NULL, NULL, CAST(SUM(effective) AS BIGINT)
           FROM a GROUP BY currency"#,
            world = AccountKind::World,
            receivable = AccountKind::Receivable,
        ),
    ))
    .all(db)
    .await?;

    let mut totals: BTreeMap<Currency, i64> = Currency::ALL.iter().map(|c| (*c, 0)).collect();
    for a in rows {
        let Some(id) = a.id else {
            totals.insert(Currency::parse(&a.currency)?, a.effective);
            continue;
        };
        let balance = a.balance.unwrap_or(0);
        let journal = a.journal.unwrap_or(0);
        if a.materialised == Some(true) && balance != journal {
            violations.push(Violation {
                check: "materialised_balance",
                detail: format!(
                    "account {id} stores balance {balance} but its transfers sum to {journal}"
                ),
            });
        }
        if !matches!(a.kind, Some(AccountKind::World | AccountKind::Receivable)) && a.effective < 0
        {
            violations.push(Violation {
                check: "non_negative",
                detail: format!("account {id} has negative balance {}", a.effective),
            });
        }
    }
    Ok(totals)
}

/// Invariant 2: over all accounts (the outside world included) each currency's balances sum to
/// zero.
pub(super) fn double_entry(totals: BTreeMap<Currency, i64>) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (currency, total) in totals {
        if total != 0 {
            violations.push(Violation {
                check: "double_entry",
                detail: format!(
                    "{currency} balances over all accounts (the outside world included) sum to {total}, not 0"
                ),
            });
        }
    }
    violations
}

/// Most rows the statement checks report (one per broken entry or account): enough to see
/// the pattern, not a flood when a whole history is wrong.
const STATEMENT_REPORT_LIMIT: usize = 100;

/// Every transfer as the postings of its two accounts, each with its side, kind, `seq`, signed
/// amount and recorded balance-after.
const POSTINGS: &str = "SELECT id, seq, kind, debit_account_id AS account_id, 'D' AS side, \
       -amount AS delta, debit_balance_after AS after FROM transfers \
     UNION ALL SELECT id, seq, kind, credit_account_id AS account_id, 'C' AS side, \
       amount AS delta, credit_balance_after AS after FROM transfers";

#[derive(FromQueryResult)]
struct BrokenEntry {
    id: String,
    account_id: String,
    after: Option<i64>,
    expected: Option<i64>,
}

/// The statement's balances (issue 14): on every materialised account, each transfer's
/// recorded balance-after is the one before it (by `seq`) plus its amount, starting from zero,
/// and the last one is the stored balance; a journal-only side records none.
pub(super) async fn balances_after_chain<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = BrokenEntry::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"WITH c AS (
             SELECT p.id, p.account_id, p.after, a.materialised, a.balance,
               CAST(SUM(p.delta) OVER (PARTITION BY p.account_id ORDER BY p.seq
                    ROWS UNBOUNDED PRECEDING) AS BIGINT) AS running,
               ROW_NUMBER() OVER (PARTITION BY p.account_id ORDER BY p.seq DESC) AS from_last
             FROM ({POSTINGS}) p JOIN accounts a ON a.id = p.account_id
           )
           SELECT id, account_id, after,
             CASE WHEN materialised THEN running END AS expected
           FROM c
           WHERE (materialised AND (after IS NULL OR after <> running
                   OR (from_last = 1 AND after <> balance)))
              OR (NOT materialised AND after IS NOT NULL)
           LIMIT {STATEMENT_REPORT_LIMIT}"#
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|e| Violation {
            check: "balance_after",
            detail: format!(
                "transfer {} records balance {:?} after it on {}; the journal says {:?}",
                e.id, e.after, e.account_id, e.expected
            ),
        })
        .collect())
}

#[derive(FromQueryResult)]
struct UnevenStatement {
    id: String,
    balance: i64,
    stated: i64,
}

/// Each user's statement (issue 14) sums to their balances: every movement of a wallet or
/// earnings account is one the statement shows (`statement::SOURCES`).
pub(super) async fn statements_sum_to_balances<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = UnevenStatement::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT a.id AS id, a.balance AS balance,
               CAST(SUM(CASE WHEN {shown} THEN p.delta ELSE 0 END) AS BIGINT) AS stated
           FROM accounts a JOIN ({POSTINGS}) p ON p.account_id = a.id
           WHERE a.kind IN ('{wallet}', '{earnings}', '{receivable}')
           GROUP BY a.id, a.balance
           HAVING SUM(CASE WHEN {shown} THEN p.delta ELSE 0 END) <> a.balance
           LIMIT {STATEMENT_REPORT_LIMIT}"#,
            shown = crate::statement::shown_condition(),
            wallet = AccountKind::Wallet,
            earnings = AccountKind::Earnings,
            receivable = AccountKind::Receivable,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|a| Violation {
            check: "statement",
            detail: format!(
                "the statement of {} sums to {} but the balance is {}",
                a.id, a.stated, a.balance
            ),
        })
        .collect())
}
