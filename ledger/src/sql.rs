//! Helpers for the few queries written as SQL text.

/// The `i`-th bound parameter in `backend`'s SQL (`$1` on Postgres, `?` on SQLite), for the few
/// aggregate queries written as SQL.
pub(crate) fn param(backend: sea_orm::DatabaseBackend, i: usize) -> String {
    match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    }
}

/// Binds rows as one JSON array parameter, read back with `jsonb_to_recordset` (Postgres): one
/// statement text whatever the number of rows, so the prepared statement is reused.
pub(crate) fn json_rows(rows: impl IntoIterator<Item = serde_json::Value>) -> sea_orm::Value {
    serde_json::Value::Array(rows.into_iter().collect())
        .to_string()
        .into()
}

/// The number of rows of a JSON parameter, bound as `LIMIT $n` on the rows it expands to. The
/// limit changes nothing but the planner's estimate: it otherwise assumes a function returns
/// 100 rows and joins them by scanning the whole table (accounts, idempotency keys, bets)
/// instead of looking each up in its index.
pub(crate) fn row_count(n: usize) -> sea_orm::Value {
    i64::try_from(n)
        .expect("fewer than 2^63 rows in one statement")
        .into()
}

/// Serialises the transactions that call this with the same `namespace` and `key` until they
/// commit. On Postgres: a transaction-scoped advisory lock on `<namespace>:<key>`. On SQLite:
/// `sqlite_write` (binding `key` once), a write that changes nothing, takes the database's
/// write lock now, so what the transaction reads next is what it writes after, with no other
/// writer in between.
pub(crate) async fn serialise<C: sea_orm::ConnectionTrait>(
    txn: &C,
    namespace: &str,
    key: &str,
    sqlite_write: &str,
) -> Result<(), crate::LedgerError> {
    let backend = txn.get_database_backend();
    let statement = match backend {
        sea_orm::DatabaseBackend::Postgres => sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text",
            [format!("{namespace}:{key}").into()],
        ),
        _ => sea_orm::Statement::from_sql_and_values(backend, sqlite_write, [key.into()]),
    };
    txn.execute_raw(statement).await?;
    Ok(())
}
