//! The audit of the money invariants over the whole missions database (BRIEF §4.8).
//!
//! It recomputes every balance from the journal of transfers and compares. It only reads.

use crate::{AccountKind, Currency, LedgerError};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which rule: `double_entry`, `materialised_balance`, `non_negative`, `transfer_shape`.
    pub check: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.check, self.detail)
    }
}

#[derive(FromQueryResult)]
struct AccountRow {
    id: String,
    kind: String,
    currency: String,
    balance: i64,
    materialised: bool,
}

#[derive(FromQueryResult)]
struct JournalRow {
    account_id: String,
    journal: i64,
}

#[derive(FromQueryResult)]
struct BadTransfer {
    id: String,
}

/// Checks invariants 2 (double entry) and 3 (no negative wallet); returns every violation.
pub async fn run<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
    let backend = db.get_database_backend();
    let mut violations = Vec::new();

    // Each transfer: amount > 0 and both accounts in the transfer's currency. The schema
    // enforces both; the audit checks that the schema still does.
    let bad = BadTransfer::find_by_statement(Statement::from_string(
        backend,
        r#"SELECT t.id AS id FROM transfers t
           JOIN accounts d ON d.id = t.debit_account_id
           JOIN accounts c ON c.id = t.credit_account_id
           WHERE t.amount <= 0 OR d.currency <> t.currency OR c.currency <> t.currency"#,
    ))
    .all(db)
    .await?;
    violations.extend(bad.into_iter().map(|t| Violation {
        check: "transfer_shape",
        detail: format!(
            "transfer {} has a non-positive amount or mixes currencies",
            t.id
        ),
    }));

    let journal: HashMap<String, i64> = JournalRow::find_by_statement(Statement::from_string(
        backend,
        r#"SELECT account_id, CAST(SUM(delta) AS BIGINT) AS journal FROM (
             SELECT credit_account_id AS account_id, amount AS delta FROM transfers
             UNION ALL
             SELECT debit_account_id AS account_id, -amount AS delta FROM transfers
           ) j GROUP BY account_id"#,
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|r| (r.account_id, r.journal))
    .collect();

    let accounts = AccountRow::find_by_statement(Statement::from_string(
        backend,
        "SELECT id, kind, currency, balance, materialised FROM accounts ORDER BY id",
    ))
    .all(db)
    .await?;

    let mut totals: BTreeMap<Currency, i64> = Currency::ALL.iter().map(|c| (*c, 0)).collect();
    for a in &accounts {
        let from_journal = journal.get(&a.id).copied().unwrap_or(0);
        // The balance the system acts on: the column where materialised, else the journal.
        let effective = if a.materialised {
            a.balance
        } else {
            from_journal
        };
        if a.materialised && a.balance != from_journal {
            violations.push(Violation {
                check: "materialised_balance",
                detail: format!(
                    "account {} stores balance {} but its transfers sum to {}",
                    a.id, a.balance, from_journal
                ),
            });
        }
        if a.kind != AccountKind::World.as_str() && effective < 0 {
            violations.push(Violation {
                check: "non_negative",
                detail: format!("account {} has negative balance {}", a.id, effective),
            });
        }
        let currency = Currency::parse(&a.currency)?;
        let total = totals.entry(currency).or_insert(0);
        *total = total
            .checked_add(effective)
            .ok_or_else(|| LedgerError::Corrupt(format!("{currency} balances overflow i64")))?;
    }
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
    Ok(violations)
}
