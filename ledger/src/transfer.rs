//! Applying one double-entry transfer.

use crate::sql::{json_rows, row_count};
use crate::status::TransferKind;
use crate::{AccountId, Amount, LedgerError};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{account, transfer};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    Statement, TryInsertResult,
};

/// One movement of `amount` from `debit` to `credit`, both of the same currency.
#[derive(Clone, Debug)]
pub struct Transfer {
    /// Deterministic id of the step that makes this movement (BRIEF §4.5), e.g.
    /// `topup:<user>:<idempotency key>`. Applying the same id twice moves money once.
    pub id: String,
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: Amount,
    /// What the movement is, for people reading the journal.
    pub kind: TransferKind,
}

/// Whether [`apply`] moved money now or found the same transfer already applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Now,
    Already,
}

/// Applies `t` inside the caller's transaction `db`.
///
/// The transfer row is inserted first under its unique id; if a row with that id exists the
/// call changes nothing and returns [`Applied::Already`] (or an error if the existing row
/// describes a different movement). Materialised balances are then updated with conditional
/// updates; on [`LedgerError::InsufficientFunds`] the caller must roll back the transaction.
pub async fn apply<C: ConnectionTrait>(db: &C, t: &Transfer) -> Result<Applied, LedgerError> {
    let row = row(t, Utc::now())?;
    // Invariant 5: the primary key on transfers.id makes a retried step a no-op.
    let inserted = transfer::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(TryInsertResult::Inserted(1)) => {}
        Ok(_) => return ensure_same(db, t).await.map(|()| Applied::Already),
        Err(e) if is_foreign_key_violation(&e) => {
            return Err(LedgerError::UnknownAccount(format!(
                "{} or {}",
                t.debit, t.credit
            )));
        }
        Err(e) => return Err(e.into()),
    }
    if t.debit.kind().materialised() {
        // Invariant 3: the wallet may not go below zero. The `balance >= amount` condition
        // refuses the debit here; the accounts_non_negative CHECK constraint backs it up in
        // the database itself.
        let debited = account::Entity::update_many()
            .col_expr(
                account::Column::Balance,
                Expr::col(account::Column::Balance).sub(t.amount.get()),
            )
            .filter(account::Column::Id.eq(t.debit.as_str()))
            .filter(account::Column::Balance.gte(t.amount.get()))
            .exec(db)
            .await?;
        if debited.rows_affected != 1 {
            return Err(LedgerError::InsufficientFunds {
                account: t.debit.to_string(),
            });
        }
    }
    if t.credit.kind().materialised() {
        credit(db, t.credit.as_str(), t.amount.get()).await?;
    }
    Ok(Applied::Now)
}

/// The journal row of `t`, once its two accounts are known to share a currency.
fn row(t: &Transfer, now: DateTime<Utc>) -> Result<transfer::ActiveModel, LedgerError> {
    if t.debit.currency() != t.credit.currency() {
        return Err(LedgerError::Corrupt(format!(
            "transfer {} mixes {} and {}",
            t.id,
            t.debit.currency(),
            t.credit.currency()
        )));
    }
    Ok(transfer::ActiveModel {
        id: Set(t.id.clone()),
        debit_account_id: Set(t.debit.as_str().to_owned()),
        credit_account_id: Set(t.credit.as_str().to_owned()),
        currency: Set(t.debit.currency().as_str().to_owned()),
        amount: Set(t.amount.get()),
        kind: Set(t.kind),
        created_at: Set(now),
    })
}

/// Adds `amount` to a materialised account's balance.
async fn credit<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    amount: i64,
) -> Result<(), LedgerError> {
    let credited = account::Entity::update_many()
        .col_expr(
            account::Column::Balance,
            Expr::col(account::Column::Balance).add(amount),
        )
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    if credited.rows_affected != 1 {
        return Err(LedgerError::UnknownAccount(account_id.to_owned()));
    }
    Ok(())
}

/// A transfer id that already exists must describe the very same movement.
async fn ensure_same<C: ConnectionTrait>(db: &C, t: &Transfer) -> Result<(), LedgerError> {
    let existing = transfer::Entity::find_by_id(t.id.clone())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt(format!("transfer {} vanished", t.id)))?;
    let same = existing.debit_account_id == t.debit.as_str()
        && existing.credit_account_id == t.credit.as_str()
        && existing.amount == t.amount.get();
    if same {
        Ok(())
    } else {
        Err(LedgerError::TransferIdConflict(t.id.clone()))
    }
}

fn is_foreign_key_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// Most rows per multi-row insert (7 bound values each: well under every backend's limit).
const INSERT_CHUNK: usize = 1_000;

/// Applies transfers that must all be new, inside the caller's transaction: one insert per
/// chunk and one balance update for the credited accounts (one per account on SQLite). Any id
/// that already exists fails the whole call with `TransferIdConflict`, so this is for
/// steps whose idempotency is decided elsewhere in the same transaction — settlement pages,
/// where each pledge leaves HELD together with its transfers. Debited accounts must be
/// journal-only (escrow, pools): their balance is not materialised, so there is nothing to
/// check or update on that side.
pub async fn apply_new_batch<C: ConnectionTrait>(
    db: &C,
    transfers: &[Transfer],
) -> Result<(), LedgerError> {
    use std::collections::BTreeMap;
    let now = Utc::now();
    let mut credits: BTreeMap<&str, i64> = BTreeMap::new();
    let mut rows = Vec::with_capacity(transfers.len());
    for t in transfers {
        rows.push(row(t, now)?);
        if t.debit.kind().materialised() {
            return Err(LedgerError::Corrupt(format!(
                "transfer {}: batched transfers debit journal-only accounts only",
                t.id
            )));
        }
        if t.credit.kind().materialised() {
            let sum = credits.entry(t.credit.as_str()).or_insert(0);
            *sum = sum
                .checked_add(t.amount.get())
                .ok_or_else(|| LedgerError::InvalidAmount("batch credit overflows".into()))?;
        }
    }
    for (chunk, models) in transfers
        .chunks(INSERT_CHUNK)
        .zip(rows.chunks(INSERT_CHUNK))
    {
        // Invariant 5: a duplicate id is a unique violation here, never a second movement.
        insert_new(db, chunk, models, now)
            .await
            .map_err(|e| match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    LedgerError::TransferIdConflict(match chunk {
                        [one] => one.id.clone(),
                        [first, .., last] => format!("one of {} … {}", first.id, last.id),
                        [] => String::new(),
                    })
                }
                _ => e.into(),
            })?;
    }
    credit_all(db, &credits).await
}

/// Inserts a chunk of new transfers: on Postgres as one JSON parameter read with
/// `jsonb_to_recordset` (one short statement whatever the number of rows), elsewhere as a
/// multi-row insert.
async fn insert_new<C: ConnectionTrait>(
    db: &C,
    chunk: &[Transfer],
    models: &[transfer::ActiveModel],
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return transfer::Entity::insert_many(models.iter().cloned())
            .exec_without_returning(db)
            .await
            .map(|_| ());
    }
    let rows = json_rows(chunk.iter().map(|t| {
        serde_json::json!({
            "id": t.id, "debit": t.debit.as_str(), "credit": t.credit.as_str(),
            "currency": t.debit.currency().as_str(), "amount": t.amount.get(),
            "kind": t.kind.as_str(),
        })
    }));
    db.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at) \
         SELECT d.id, d.debit, d.credit, d.currency, d.amount, d.kind, $2 \
         FROM jsonb_to_recordset($1::jsonb) AS d(id text, debit text, credit text, currency text, \
           amount bigint, kind text)",
        [rows, now.into()],
    ))
    .await
    .map(|_| ())
}

/// Adds each amount to its materialised account. On Postgres the rows are locked in id order
/// (one order for every caller, so two settlements crediting the same wallets never wait on
/// each other in a cycle) and updated by one statement, whatever their number; elsewhere one
/// update per account.
async fn credit_all<C: ConnectionTrait>(
    db: &C,
    credits: &std::collections::BTreeMap<&str, i64>,
) -> Result<(), LedgerError> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        for (account_id, amount) in credits {
            credit(db, account_id, *amount).await?;
        }
        return Ok(());
    }
    if credits.is_empty() {
        return Ok(());
    }
    let rows = json_rows(
        credits
            .iter()
            .map(|(id, amount)| serde_json::json!({ "id": id, "amount": amount })),
    );
    // `LIMIT $2` only tells the planner how many rows the JSON holds (see `sql::row_count`).
    let each =
        "(SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(id text, amount bigint) LIMIT $2)";
    let values = || -> Vec<sea_orm::Value> { vec![rows.clone(), row_count(credits.len())] };
    db.query_all_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        format!(
            "SELECT a.id FROM accounts a JOIN {each} d ON d.id = a.id ORDER BY a.id FOR UPDATE OF a"
        ),
        values(),
    ))
    .await?;
    let credited = db
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            format!(
                "UPDATE accounts AS a SET balance = a.balance + d.amount FROM {each} AS d \
                 WHERE a.id = d.id"
            ),
            values(),
        ))
        .await?;
    if credited.rows_affected() != u64::try_from(credits.len()).expect("fits") {
        return Err(LedgerError::UnknownAccount(format!(
            "one of the {} accounts credited from {}",
            credits.len(),
            credits.keys().next().copied().unwrap_or_default()
        )));
    }
    Ok(())
}
