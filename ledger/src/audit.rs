//! The audit of the money invariants over the whole missions database (BRIEF §4.8).
//!
//! It recomputes every balance from the journal of transfers and compares. It only reads.

use crate::{AccountKind, Currency, LedgerError};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, FromQueryResult, IsolationLevel, Statement,
    TransactionTrait,
};
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

#[derive(FromQueryResult)]
struct MissionHeld {
    id: String,
    held: i64,
}

#[derive(FromQueryResult)]
struct PredictionRow {
    mission_id: String,
    status: String,
    staked: i64,
    paid: i64,
    bad_bets: i64,
}

#[derive(FromQueryResult)]
struct BadPledge {
    id: String,
    mission_id: String,
    status: String,
    amount: i64,
    held: i64,
    paid: i64,
    refunded: i64,
}

/// Checks invariants 2 (double entry) and 3 (no negative wallet); returns every violation.
///
/// Every query reads the same snapshot (a read-only REPEATABLE READ transaction on Postgres,
/// a read transaction on SQLite's WAL), so a transfer committing while the audit runs can never
/// look like money appearing or vanishing.
pub async fn run(db: &DatabaseConnection) -> Result<Vec<Violation>, LedgerError> {
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let violations = run_in(&txn).await?;
    txn.rollback().await?;
    Ok(violations)
}

async fn run_in<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
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
    violations.extend(escrow_matches_held_pledges(db, &journal).await?);
    violations.extend(pledges_settled_exactly_once(db).await?);
    violations.extend(prediction_pools(db, &journal).await?);

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

/// Invariant 6: a mission's escrow holds exactly its HELD pledges — so after settlement, when
/// none is held, exactly zero.
async fn escrow_matches_held_pledges<C: ConnectionTrait>(
    db: &C,
    journal: &HashMap<String, i64>,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = MissionHeld::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        r#"SELECT m.id AS id, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS held
           FROM missions m LEFT JOIN pledges p ON p.mission_id = m.id AND p.status = 'HELD'
           GROUP BY m.id"#,
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            let escrow = crate::AccountId::escrow(&m.id);
            let balance = journal.get(escrow.as_str()).copied().unwrap_or(0);
            (balance != m.held).then(|| Violation {
                check: "escrow",
                detail: format!(
                    "mission {} escrow holds {balance} won but its held pledges sum to {}",
                    m.id, m.held
                ),
            })
        })
        .collect())
}

/// Invariant 6: every pledge was held by its own transfer, and left escrow exactly once, as its
/// status says: PAID to the streamer and fee account, or REFUNDED to its backer, never both;
/// and no pledge of a settled mission is still HELD.
async fn pledges_settled_exactly_once<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = BadPledge::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        r#"SELECT * FROM (
             SELECT p.id AS id, p.mission_id AS mission_id, p.status AS status, p.amount AS amount,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id = 'pledge:' || p.mission_id || ':' || p.id), 0) AS BIGINT) AS held,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id IN ('payout:' || p.mission_id || ':' || p.id,
                                'fee:' || p.mission_id || ':' || p.id)), 0) AS BIGINT) AS paid,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id = 'refund:' || p.mission_id || ':' || p.id), 0) AS BIGINT) AS refunded,
               m.settled_at AS settled_at
             FROM pledges p JOIN missions m ON m.id = p.mission_id
           ) x
           WHERE NOT (x.held = x.amount AND (
                   (x.status = 'HELD' AND x.paid = 0 AND x.refunded = 0 AND x.settled_at IS NULL)
                OR (x.status = 'PAID' AND x.paid = x.amount AND x.refunded = 0)
                OR (x.status = 'REFUNDED' AND x.refunded = x.amount AND x.paid = 0)))"#,
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|p| Violation {
            check: "pledge_settlement",
            detail: format!(
                "pledge {} of mission {} is {} for {} won but was held {}, paid {}, refunded {}",
                p.id, p.mission_id, p.status, p.amount, p.held, p.paid, p.refunded
            ),
        })
        .collect())
}

/// Invariant 7: a prediction's pool holds exactly its stakes until settlement and exactly zero
/// after it; every bet's recorded payout was transferred, and the payouts sum to the pool.
async fn prediction_pools<C: ConnectionTrait>(
    db: &C,
    journal: &HashMap<String, i64>,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = PredictionRow::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        r#"SELECT p.mission_id AS mission_id, p.status AS status,
             CAST(COALESCE((SELECT SUM(b.points) FROM bets b WHERE b.mission_id = p.mission_id), 0) AS BIGINT) AS staked,
             CAST(COALESCE((SELECT SUM(b.payout) FROM bets b WHERE b.mission_id = p.mission_id), 0) AS BIGINT) AS paid,
             CAST((SELECT COUNT(*) FROM bets b WHERE b.mission_id = p.mission_id AND (
                 (p.status IN ('SETTLED', 'REFUNDED') AND b.payout IS NULL)
                 OR COALESCE(b.payout, 0) <> COALESCE((SELECT SUM(t.amount) FROM transfers t
                      WHERE t.id = 'betpayout:' || b.mission_id || ':' || b.id), 0)
             )) AS BIGINT) AS bad_bets
           FROM predictions p"#,
    ))
    .all(db)
    .await?;
    let mut violations = Vec::new();
    for p in rows {
        let pool = crate::AccountId::pool(&p.mission_id);
        let balance = journal.get(pool.as_str()).copied().unwrap_or(0);
        let settled = p.status == "SETTLED" || p.status == "REFUNDED";
        let expected = if settled { 0 } else { p.staked - p.paid };
        if balance != expected {
            violations.push(Violation {
                check: "prediction_pool",
                detail: format!(
                    "prediction of mission {} is {} and its pool holds {balance} points, expected {expected}",
                    p.mission_id, p.status
                ),
            });
        }
        if settled && p.paid != p.staked {
            violations.push(Violation {
                check: "prediction_pool",
                detail: format!(
                    "prediction of mission {} paid out {} of a {}-point pool",
                    p.mission_id, p.paid, p.staked
                ),
            });
        }
        if p.bad_bets > 0 {
            violations.push(Violation {
                check: "prediction_pool",
                detail: format!(
                    "prediction of mission {}: {} bet(s) whose payout does not match its transfer",
                    p.mission_id, p.bad_bets
                ),
            });
        }
    }
    Ok(violations)
}
