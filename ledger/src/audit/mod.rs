//! The audit of the money invariants over the whole missions database (BRIEF §4.8).
//!
//! It recomputes every balance from the journal of transfers and compares. It only reads.
//!
//! By concern: `journal.rs` (the transfers and the balances they add up to, the statements),
//! `missions.rs` (escrows, pledges, the missions' kept totals), `payouts.rs`, `top_ups.rs`,
//! `reconciliation.rs` (cases and receivables), `orphans.rs` (rows naming rows that are not
//! there), `game.rs` (every prediction's pool, the daily points claims).

mod game;
mod journal;
mod missions;
mod orphans;
mod payouts;
mod reconciliation;
mod top_ups;

use crate::LedgerError;
use sea_orm::{AccessMode, ConnectionTrait, DatabaseConnection, IsolationLevel, TransactionTrait};
use std::fmt;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which rule: `double_entry`, `materialised_balance`, `non_negative`, `transfer_shape`,
    /// `points_apart`, `daily_points`,
    /// `balance_after`, `statement`, `escrow`, `pledge_settlement`, `mission_totals`,
    /// `prediction_pool`, `payout`, `top_up`, `reconciliation`, `receivable`, `orphan`.
    pub check: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.check, self.detail)
    }
}

/// Checks invariants 2 (double entry) and 3 (no negative wallet); returns every violation.
///
/// Every query reads the same snapshot (a read-only REPEATABLE READ transaction on Postgres,
/// a read transaction on SQLite's WAL), so a transfer committing while the audit runs can never
/// look like money appearing or vanishing.
pub async fn run(db: &DatabaseConnection) -> Result<Vec<Violation>, LedgerError> {
    // One snapshot for every check. SQLite's transactions are serializable already (and it
    // has no isolation levels to set: asking would only log a warning).
    let txn = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    };
    let violations = run_in(&txn).await?;
    txn.rollback().await?;
    Ok(violations)
}

/// Every check [`run`] makes, by the name its violations carry.
pub const CHECKS: &[&str] = &[
    "transfer_shape",
    "points_apart",
    "orphan",
    "non_negative",
    "materialised_balance",
    "balance_after",
    "statement",
    "escrow",
    "pledge_settlement",
    "tiered_split",
    "mission_totals",
    "prediction_pool",
    "daily_points",
    "payout",
    "top_up",
    "reconciliation",
    "receivable",
    "double_entry",
];

/// How many rows of each kind the audit reads: what a clean result vouches for.
pub async fn counts(db: &DatabaseConnection) -> Result<Vec<(&'static str, i64)>, LedgerError> {
    const TABLES: [(&str, &str); 11] = [
        ("accounts", "accounts"),
        ("transfers", "transfers"),
        ("missions", "missions"),
        ("pledges", "pledges"),
        ("bets", "bets"),
        ("streamer predictions' stakes", "prediction_bets"),
        ("daily claims", "daily_claims"),
        ("payouts", "payouts"),
        ("top-ups", "top_ups"),
        ("reconciliation cases", "reconciliation_cases"),
        ("feed events", "mission_events"),
    ];
    let mut out = Vec::with_capacity(TABLES.len());
    for (name, table) in TABLES {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await?
            .ok_or_else(|| LedgerError::Corrupt(format!("no count of {table}")))?;
        out.push((name, row.try_get::<i64>("", "n")?));
    }
    Ok(out)
}

async fn run_in<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
    let mut violations = journal::transfer_shapes(db).await?;
    violations.extend(journal::points_apart(db).await?);
    violations.extend(orphans::nothing_names_what_is_not_there(db).await?);
    let totals = journal::balances(db, &mut violations).await?;
    violations.extend(journal::balances_after_chain(db).await?);
    violations.extend(journal::statements_sum_to_balances(db).await?);
    violations.extend(missions::escrow_matches_held_pledges(db).await?);
    violations.extend(missions::pledges_settled_exactly_once(db).await?);
    violations.extend(missions::tiered_splits_paid_as_fixed(db).await?);
    violations.extend(missions::totals_match_pledges(db).await?);
    violations.extend(game::prediction_pools(db).await?);
    violations.extend(game::daily_claims_granted_once(db).await?);
    violations.extend(payouts::payouts_exactly_once(db).await?);
    violations.extend(top_ups::top_ups_exactly_once(db).await?);
    violations.extend(reconciliation::cases_moved_what_they_record(db).await?);
    violations.extend(reconciliation::receivables_never_positive(db).await?);
    violations.extend(journal::double_entry(totals));
    Ok(violations)
}
