//! Applying double-entry transfers, each numbered in the journal's one order (`seq`) with the
//! balance each materialised account it touches had right after it.
//!
//! A transfer's `seq` is taken after its materialised accounts were locked and updated, so on
//! every account `seq` orders the movements as they were applied: each balance-after is the
//! previous one plus this movement, and the statement reads them as they are (issue 14).

use crate::sql::{json_rows, param, row_count};
use crate::status::{AccountKind, TransferKind};
use crate::{AccountId, Amount, LedgerError};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{account, transfer};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseBackend, EntityTrait, Statement, TryInsertResult,
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

/// The balances a transfer left its materialised accounts with.
#[derive(Clone, Copy, Debug, Default)]
struct After {
    debit: Option<i64>,
    credit: Option<i64>,
}

/// Applies `t` inside the caller's transaction `db`.
///
/// A transfer already in the journal under `t.id` changes nothing and returns
/// [`Applied::Already`] (or an error if it describes a different movement). Otherwise the
/// materialised balances are updated with conditional updates, which lock their rows, and then
/// the transfer is written with its `seq` and balances-after. On
/// [`LedgerError::InsufficientFunds`] the caller must roll back the transaction.
pub async fn apply<C: ConnectionTrait>(db: &C, t: &Transfer) -> Result<Applied, LedgerError> {
    check_currency(t)?;
    if exists(db, &t.id).await? {
        return ensure_same(db, t).await.map(|()| Applied::Already);
    }
    let mut after = After::default();
    if t.debit.kind().materialised() {
        // Invariant 3: the wallet may not go below zero. The `balance >= amount` condition
        // refuses the debit here; the accounts_non_negative CHECK constraint backs it up in
        // the database itself.
        // A receivable may go further below zero (more owed); every other account may not.
        let floored = t.debit.kind() != AccountKind::Receivable;
        after.debit = match debit(db, t.debit.as_str(), t.amount.get(), floored).await? {
            Some(balance) => Some(balance),
            // The same transfer, applied by a concurrent caller that committed while this one
            // waited for the account, is an answer too; anything else is a refusal.
            None if exists(db, &t.id).await? => {
                return ensure_same(db, t).await.map(|()| Applied::Already);
            }
            None if account_exists(db, t.debit.as_str()).await? => {
                return Err(LedgerError::InsufficientFunds {
                    account: t.debit.to_string(),
                });
            }
            None => return Err(LedgerError::UnknownAccount(t.debit.to_string())),
        };
    }
    if t.credit.kind().materialised() {
        after.credit = Some(credit(db, t.credit.as_str(), t.amount.get()).await?);
    }
    // Stamped once the accounts are locked, like `seq`: times follow the statement's order.
    let now = Utc::now();
    let seq = next_seqs(db, 1).await?.map(|s| s[0]);
    // Invariant 5: the primary key on transfers.id makes a retried step a no-op.
    let inserted = transfer::Entity::insert(row(t, now, seq, after))
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(TryInsertResult::Inserted(1)) => Ok(Applied::Now),
        Ok(_) => {
            // A concurrent caller applied the same id and committed while this one waited for
            // the account: give back what this call moved.
            undo(db, t, after).await?;
            ensure_same(db, t).await.map(|()| Applied::Already)
        }
        Err(e) if is_foreign_key_violation(&e) => Err(LedgerError::UnknownAccount(format!(
            "{} or {}",
            t.debit, t.credit
        ))),
        Err(e) => Err(e.into()),
    }
}

fn check_currency(t: &Transfer) -> Result<(), LedgerError> {
    if t.debit.currency() == t.credit.currency() {
        Ok(())
    } else {
        Err(LedgerError::Corrupt(format!(
            "transfer {} mixes {} and {}",
            t.id,
            t.debit.currency(),
            t.credit.currency()
        )))
    }
}

/// The journal row of `t`. `seq` is `None` where the database numbers it (Postgres' sequence).
fn row(t: &Transfer, now: DateTime<Utc>, seq: Option<i64>, after: After) -> transfer::ActiveModel {
    transfer::ActiveModel {
        id: Set(t.id.clone()),
        debit_account_id: Set(t.debit.as_str().to_owned()),
        credit_account_id: Set(t.credit.as_str().to_owned()),
        currency: Set(t.debit.currency().as_str().to_owned()),
        amount: Set(t.amount.get()),
        kind: Set(t.kind),
        created_at: Set(now),
        seq: seq.map_or(NotSet, Set),
        debit_balance_after: Set(after.debit),
        credit_balance_after: Set(after.credit),
    }
}

/// The next `n` numbers of the journal's order, taken now (after the caller locked the
/// accounts its transfers touch), ascending. `None` on Postgres, whose column default takes
/// them from the `transfer_seq` sequence as each row is inserted. On SQLite, whose one writer
/// at a time is this transaction (it wrote a balance already), the numbers after the largest; a
/// caller that had written nothing yet would at worst fail with `SQLITE_BUSY` on its insert
/// (its read snapshot went stale), never number two transfers alike (the unique index).
async fn next_seqs<C: ConnectionTrait>(db: &C, n: usize) -> Result<Option<Vec<i64>>, LedgerError> {
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        return Ok(None);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COALESCE(MAX(seq), 0) AS last FROM transfers",
        ))
        .await?
        .ok_or_else(|| LedgerError::Corrupt("MAX(seq) returned no row".into()))?;
    let last: i64 = row.try_get("", "last")?;
    Ok(Some(
        (1..=i64::try_from(n).expect("fits"))
            .map(|i| last + i)
            .collect(),
    ))
}

async fn exists<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, LedgerError> {
    Ok(transfer::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .is_some())
}

async fn account_exists<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, LedgerError> {
    Ok(account::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .is_some())
}

/// Takes `amount` from a materialised account if it holds that much (when `floored`; a
/// receivable is not: what it owes only grows); its balance after, or `None` if it does not
/// hold that much (or does not exist).
async fn debit<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    amount: i64,
    floored: bool,
) -> Result<Option<i64>, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i| param(backend, i);
    // Invariant 3: `balance >= amount` refuses the debit here (the receivable's own rule,
    // balance <= 0, is the database's CHECK).
    let (sql, values): (String, Vec<sea_orm::Value>) = if floored {
        (
            format!(
                "UPDATE accounts SET balance = balance - {a} WHERE id = {id} AND balance >= {a2} \
                 RETURNING balance",
                a = p(1),
                id = p(2),
                a2 = p(3)
            ),
            vec![amount.into(), account_id.into(), amount.into()],
        )
    } else {
        (
            format!(
                "UPDATE accounts SET balance = balance - {} WHERE id = {} RETURNING balance",
                p(1),
                p(2)
            ),
            vec![amount.into(), account_id.into()],
        )
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "balance")).transpose()?)
}

/// Adds `amount` to a materialised account; its balance after.
async fn credit<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    amount: i64,
) -> Result<i64, LedgerError> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE accounts SET balance = balance + {} WHERE id = {} RETURNING balance",
                param(backend, 1),
                param(backend, 2)
            ),
            [amount.into(), account_id.into()],
        ))
        .await?
        .ok_or_else(|| LedgerError::UnknownAccount(account_id.to_owned()))?;
    Ok(row.try_get("", "balance")?)
}

/// Gives back the balance changes of a transfer that turned out to be applied already.
async fn undo<C: ConnectionTrait>(db: &C, t: &Transfer, after: After) -> Result<(), LedgerError> {
    if after.debit.is_some() {
        credit(db, t.debit.as_str(), t.amount.get()).await?;
    }
    if after.credit.is_some() {
        credit(db, t.credit.as_str(), -t.amount.get()).await?;
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

/// Most rows per multi-row insert (10 bound values each: well under every backend's limit).
const INSERT_CHUNK: usize = 1_000;

/// Applies transfers that must all be new, inside the caller's transaction: one balance update
/// for the credited accounts (one per account on SQLite), then one insert per chunk, numbered
/// in the order given. Any id that already exists fails the whole call with
/// `TransferIdConflict`, so this is for steps whose idempotency is decided elsewhere in the
/// same transaction — settlement pages, where each pledge leaves HELD together with its
/// transfers. Debited accounts must be journal-only (escrow, pools): their balance is not
/// materialised, so there is nothing to check or update on that side.
pub async fn apply_new_batch<C: ConnectionTrait>(
    db: &C,
    transfers: &[Transfer],
) -> Result<(), LedgerError> {
    use std::collections::BTreeMap;
    let mut credits: BTreeMap<&str, i64> = BTreeMap::new();
    for t in transfers {
        check_currency(t)?;
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
    // Each account's balance after the whole batch, then walked back: a transfer's
    // balance-after is the final one less the credits that come after it in the batch.
    let mut balances = credit_all(db, &credits).await?;
    let now = Utc::now();
    let mut afters = vec![After::default(); transfers.len()];
    for (t, after) in transfers.iter().zip(afters.iter_mut()).rev() {
        if let Some(balance) = balances.get_mut(t.credit.as_str()) {
            after.credit = Some(*balance);
            *balance -= t.amount.get();
        }
    }
    let seqs = match next_seqs(db, transfers.len()).await? {
        Some(seqs) => seqs,
        None => postgres_seqs(db, transfers.len()).await?,
    };
    for ((chunk, afters), seqs) in transfers
        .chunks(INSERT_CHUNK)
        .zip(afters.chunks(INSERT_CHUNK))
        .zip(seqs.chunks(INSERT_CHUNK))
    {
        // Invariant 5: a duplicate id is a unique violation here, never a second movement.
        insert_new(db, chunk, afters, seqs, now)
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
    Ok(())
}

/// `n` numbers from Postgres' `transfer_seq`, ascending, taken now: after `credit_all` locked
/// the batch's accounts.
async fn postgres_seqs<C: ConnectionTrait>(db: &C, n: usize) -> Result<Vec<i64>, LedgerError> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT nextval('transfer_seq') AS seq FROM generate_series(1, $1)",
            [row_count(n)],
        ))
        .await?;
    let mut seqs = rows
        .iter()
        .map(|r| r.try_get::<i64>("", "seq"))
        .collect::<Result<Vec<_>, _>>()?;
    seqs.sort_unstable();
    Ok(seqs)
}

/// Inserts a chunk of new transfers: on Postgres as one JSON parameter read with
/// `jsonb_to_recordset` (one short statement whatever the number of rows), elsewhere as a
/// multi-row insert.
async fn insert_new<C: ConnectionTrait>(
    db: &C,
    chunk: &[Transfer],
    afters: &[After],
    seqs: &[i64],
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        let rows = chunk
            .iter()
            .zip(afters)
            .zip(seqs)
            .map(|((t, after), seq)| row(t, now, Some(*seq), *after));
        return transfer::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .map(|_| ());
    }
    let rows = json_rows(chunk.iter().zip(afters).zip(seqs).map(|((t, after), seq)| {
        serde_json::json!({
            "id": t.id, "debit": t.debit.as_str(), "credit": t.credit.as_str(),
            "currency": t.debit.currency().as_str(), "amount": t.amount.get(),
            "kind": t.kind.as_str(), "seq": seq, "credit_after": after.credit,
        })
    }));
    db.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, \
           created_at, seq, credit_balance_after) \
         SELECT d.id, d.debit, d.credit, d.currency, d.amount, d.kind, $2, d.seq, d.credit_after \
         FROM jsonb_to_recordset($1::jsonb) AS d(id text, debit text, credit text, currency text, \
           amount bigint, kind text, seq bigint, credit_after bigint)",
        [rows, now.into()],
    ))
    .await
    .map(|_| ())
}

/// Adds each amount to its materialised account; each account's balance after. On Postgres the
/// rows are locked in id order (one order for every caller, so two settlements crediting the
/// same wallets never wait on each other in a cycle) and updated by one statement, whatever
/// their number; elsewhere one update per account.
async fn credit_all<C: ConnectionTrait>(
    db: &C,
    credits: &std::collections::BTreeMap<&str, i64>,
) -> Result<std::collections::HashMap<String, i64>, LedgerError> {
    let mut balances = std::collections::HashMap::with_capacity(credits.len());
    if db.get_database_backend() != DatabaseBackend::Postgres {
        for (account_id, amount) in credits {
            balances.insert(
                (*account_id).to_owned(),
                credit(db, account_id, *amount).await?,
            );
        }
        return Ok(balances);
    }
    if credits.is_empty() {
        return Ok(balances);
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
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            format!(
                "UPDATE accounts AS a SET balance = a.balance + d.amount FROM {each} AS d \
                 WHERE a.id = d.id RETURNING a.id, a.balance"
            ),
            values(),
        ))
        .await?;
    for r in &credited {
        balances.insert(r.try_get("", "id")?, r.try_get("", "balance")?);
    }
    if balances.len() != credits.len() {
        return Err(LedgerError::UnknownAccount(format!(
            "one of the {} accounts credited from {}",
            credits.len(),
            credits.keys().next().copied().unwrap_or_default()
        )));
    }
    Ok(balances)
}
