//! The paged parimutuel settlement both kinds of prediction share: a [`Book`] names where a
//! prediction's bets are (a mission's `bets`, or a streamer prediction's `prediction_bets`),
//! [`shares`] computes its [`Shares`] once in the database, [`pay_page`] pays a page of bets
//! per transaction from them, and [`all_paid`] says when none is left.

use super::payout::{Shares, ensure_settleable};
use crate::sql::{json_rows, param, row_count};
use crate::status::TransferKind;
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, FromQueryResult, Statement,
    TransactionTrait, Value,
};

/// Where one prediction's bets are, and how its points move.
#[derive(Clone, Debug)]
pub(crate) struct Book<O> {
    /// The bets' table: `bets` or `prediction_bets`.
    pub table: &'static str,
    /// The column naming the prediction in it: `mission_id` or `prediction_id`.
    pub key_column: &'static str,
    /// The prediction: a mission id or a streamer prediction's id.
    pub key: String,
    /// The prediction's points pool.
    pub pool: AccountId,
    /// What a payout's transfer id starts with (`<prefix>:<key>:<bet id>`).
    pub payout_prefix: &'static str,
    /// Reads a bet's `outcome` column, given as text.
    pub parse: fn(&str) -> Result<O, LedgerError>,
    /// The `outcome` column's value of an outcome.
    pub value: fn(O) -> Value,
}

impl<O> Book<O> {
    /// The id of the transfer that pays bet `bet_id` out.
    pub fn payout_transfer(&self, bet_id: &str) -> String {
        format!("{}:{}:{bet_id}", self.payout_prefix, self.key)
    }
}

/// What one page of a prediction's settlement did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PredictionPage {
    pub bets: u64,
    pub points_paid: i64,
    /// The page's last bet: the next page starts after it.
    pub last_bet_id: Option<String>,
}

#[derive(FromQueryResult)]
struct Figure {
    value: i64,
}

#[derive(FromQueryResult)]
struct Sides {
    pool: i64,
    winning: i64,
}

#[derive(FromQueryResult)]
struct Ranked {
    id: String,
    remainder: i64,
}

#[derive(FromQueryResult)]
struct UnpaidBet {
    id: String,
    bettor_id: String,
    outcome: String,
    points: i64,
}

/// The shares of the prediction when `winner` won: parimutuel over the whole pool, or everyone
/// refunded when there is no winner or nobody staked on it. The bets must be frozen (betting
/// closed), so that a retry computes the same figures.
pub(crate) async fn shares<O: Copy + PartialEq>(
    db: &DatabaseConnection,
    book: &Book<O>,
    winner: Option<O>,
) -> Result<Shares<O>, LedgerError> {
    let Some(winner) = winner else {
        return Ok(Shares::refund());
    };
    let backend = db.get_database_backend();
    let p = |i: usize| param(backend, i);
    let (table, key_column) = (book.table, book.key_column);
    let key = || Value::from(book.key.clone());
    let sides = Sides::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) AS pool, \
             CAST(COALESCE(SUM(CASE WHEN outcome = {} THEN points ELSE 0 END), 0) AS BIGINT) \
             AS winning FROM {table} WHERE {key_column} = {}",
            p(1),
            p(2)
        ),
        [(book.value)(winner), key()],
    ))
    .one(db)
    .await?;
    let (pool, winning) = sides.map_or((0, 0), |s| (s.pool, s.winning));
    if winning == 0 {
        return Ok(Shares::refund());
    }
    ensure_settleable(pool)?;
    let values =
        || -> Vec<Value> { vec![pool.into(), winning.into(), key(), (book.value)(winner)] };
    let floors = Figure::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT CAST(COALESCE(SUM((points * {}) / {}), 0) AS BIGINT) AS value \
             FROM {table} WHERE {key_column} = {} AND outcome = {}",
            p(1),
            p(2),
            p(3),
            p(4)
        ),
        values(),
    ))
    .one(db)
    .await?
    .map_or(0, |f| f.value);
    let left = pool - floors;
    assert!(
        (0..=winning).contains(&left),
        "flooring left {left} of a {pool}-point pool"
    );
    let mut shares = Shares {
        winner: Some(winner),
        pool,
        winning,
        last_bonus: None,
    };
    if left > 0 {
        let mut ranked_values = values();
        ranked_values.push((left - 1).into());
        let last = Ranked::find_by_statement(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT id, CAST((points * {}) % {} AS BIGINT) AS remainder \
                 FROM {table} WHERE {key_column} = {} AND outcome = {} \
                 ORDER BY remainder DESC, id{} ASC LIMIT 1 OFFSET {}",
                p(1),
                p(2),
                p(3),
                p(4),
                // Ids in byte order, as `Shares::payout` compares them.
                if backend == DatabaseBackend::Postgres {
                    " COLLATE \"C\""
                } else {
                    ""
                },
                p(5)
            ),
            ranked_values,
        ))
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt(format!("fewer than {left} winning bets")))?;
        shares.last_bonus = Some((last.remainder, last.id));
    }
    Ok(shares)
}

/// Pays up to `page_size` unpaid bets after `after`, in one transaction: the transfer
/// [`Book::payout_transfer`] from the pool to the bettor's POINTS wallet (when the payout is
/// above zero) and the bet's `payout`, together, so a retried page can neither pay twice nor
/// skip a bet. Zero bets means every bet after `after` is paid.
pub(crate) async fn pay_page<O: Copy + PartialEq>(
    db: &DatabaseConnection,
    book: &Book<O>,
    shares: &Shares<O>,
    after: Option<&str>,
    page_size: u64,
) -> Result<PredictionPage, LedgerError> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        // SQLite: the write lock first (a write that changes nothing), so the page read next is
        // what this transaction pays, and a payer racing it waits instead of failing.
        txn.execute_raw(Statement::from_string(
            backend,
            format!("UPDATE {} SET payout = payout WHERE 1 = 0", book.table),
        ))
        .await?;
    }
    let p = |i: usize| param(backend, i);
    let mut values: Vec<Value> = vec![book.key.clone().into()];
    let mut sql = format!(
        "SELECT id, bettor_id, CAST(outcome AS TEXT) AS outcome, points FROM {} \
         WHERE {} = {} AND payout IS NULL",
        book.table,
        book.key_column,
        p(1)
    );
    if let Some(after) = after {
        values.push(after.into());
        sql.push_str(&format!(" AND id > {}", p(2)));
    }
    values.push(i64::try_from(page_size).unwrap_or(i64::MAX).into());
    sql.push_str(&format!(" ORDER BY id LIMIT {}", p(values.len())));
    if backend == DatabaseBackend::Postgres {
        // A retry racing a slow first attempt takes other bets instead of waiting.
        sql.push_str(" FOR UPDATE SKIP LOCKED");
    }
    let bets = UnpaidBet::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(&txn)
        .await?;
    let kind = if shares.winner.is_none() {
        TransferKind::BetRefund
    } else {
        TransferKind::BetPayout
    };
    let mut page = PredictionPage {
        last_bet_id: bets.last().map(|b| b.id.clone()),
        ..PredictionPage::default()
    };
    let mut transfers = Vec::with_capacity(bets.len());
    let mut payouts = Vec::with_capacity(bets.len());
    for b in &bets {
        let payout = shares.payout((book.parse)(&b.outcome)?, b.points, &b.id);
        if payout > 0 {
            transfers.push(Transfer {
                id: book.payout_transfer(&b.id),
                debit: book.pool.clone(),
                credit: AccountId::wallet(Currency::Points, &b.bettor_id),
                amount: Amount::new(payout)?,
                kind,
            });
        }
        payouts.push((b.id.as_str(), payout));
        page.bets += 1;
        page.points_paid = page
            .points_paid
            .checked_add(payout)
            .ok_or_else(|| LedgerError::Corrupt("bet payouts overflow".into()))?;
    }
    if bets.is_empty() {
        return Ok(page);
    }
    transfer::apply_new_batch(&txn, &transfers).await?;
    let set = record_payouts(&txn, book.table, &payouts).await?;
    if set != page.bets {
        return Err(LedgerError::Contended(format!(
            "settling prediction {}: {} of {} bets were paid concurrently",
            book.key,
            page.bets - set,
            page.bets
        )));
    }
    txn.commit().await?;
    Ok(page)
}

/// Sets each bet's `payout` if it has none yet; returns how many were set. On Postgres one
/// statement with the page as one JSON parameter; elsewhere one update per bet.
async fn record_payouts<C: ConnectionTrait>(
    txn: &C,
    table: &str,
    payouts: &[(&str, i64)],
) -> Result<u64, LedgerError> {
    let backend = txn.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        let rows = json_rows(
            payouts
                .iter()
                .map(|(id, payout)| serde_json::json!({ "id": id, "payout": payout })),
        );
        // `LIMIT $2` tells the planner how many rows the JSON holds (see `sql::row_count`).
        let set = txn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE {table} AS b SET payout = d.payout \
                     FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(id text, payout bigint) \
                           LIMIT $2) AS d \
                     WHERE b.id = d.id AND b.payout IS NULL"
                ),
                [rows, row_count(payouts.len())],
            ))
            .await?;
        return Ok(set.rows_affected());
    }
    let mut set = 0;
    for (id, payout) in payouts {
        set += txn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("UPDATE {table} SET payout = ? WHERE id = ? AND payout IS NULL"),
                [(*payout).into(), (*id).into()],
            ))
            .await?
            .rows_affected();
    }
    Ok(set)
}

/// Whether every bet of the prediction has its payout.
pub(crate) async fn all_paid<C: ConnectionTrait, O>(
    db: &C,
    book: &Book<O>,
) -> Result<bool, LedgerError> {
    let backend = db.get_database_backend();
    let unpaid = Figure::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS value FROM \
             (SELECT 1 FROM {} WHERE {} = {} AND payout IS NULL LIMIT 1) x",
            book.table,
            book.key_column,
            param(backend, 1)
        ),
        [book.key.clone().into()],
    ))
    .one(db)
    .await?
    .map_or(0, |f| f.value);
    Ok(unpaid == 0)
}
