//! Changing a CHECK on SQLite, which cannot alter one: the table is rebuilt from its own stored
//! definition with the given texts replaced (copied out, dropped, created again, copied back,
//! its indexes and triggers recreated), inside the caller's migration transaction, with the
//! foreign keys that point at it checked at commit (`defer_foreign_keys`). Every column, index
//! and trigger the table has then, whatever migrations added them, comes back as it was.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

/// One SQLite table's new definition: each `(old, new, times)` text of its stored
/// `CREATE TABLE` replaced, `old` found exactly `times` times (a schema that differs from what
/// the migration expects stops it rather than being half changed).
pub(crate) struct Rebuild {
    pub(crate) table: &'static str,
    pub(crate) replace: &'static [(&'static str, &'static str, usize)],
}

/// The stored SQL of `table`'s schema objects of `kind` ('table', 'index', 'trigger').
async fn stored_sql(
    manager: &SchemaManager<'_>,
    kind: &str,
    table: &str,
) -> Result<Vec<String>, DbErr> {
    let rows = manager
        .get_connection()
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL \
             ORDER BY name",
            [kind.into(), table.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "sql"))
        .collect()
}

/// Rebuilds each table of `rebuilds` in turn (SQLite only). Run it from a migration whose
/// `use_transaction` is `Some(true)`.
pub(crate) async fn sqlite(manager: &SchemaManager<'_>, rebuilds: &[Rebuild]) -> Result<(), DbErr> {
    run_sql(manager, "PRAGMA defer_foreign_keys = ON;").await?;
    for r in rebuilds {
        let [mut create] = <[String; 1]>::try_from(stored_sql(manager, "table", r.table).await?)
            .map_err(|_| DbErr::Migration(format!("no table {}", r.table)))?;
        for (old, new, times) in r.replace {
            let found = create.matches(old).count();
            if found != *times {
                return Err(DbErr::Migration(format!(
                    "{}: expected {times} of {old} in its definition, found {found}",
                    r.table
                )));
            }
            create = create.replace(old, new);
        }
        let indexes = stored_sql(manager, "index", r.table).await?;
        let triggers = stored_sql(manager, "trigger", r.table).await?;
        let t = r.table;
        let mut sql = format!(
            "CREATE TABLE {t}_before_rebuild AS SELECT * FROM {t}; DROP TABLE {t}; {create}; \
             INSERT INTO {t} SELECT * FROM {t}_before_rebuild; DROP TABLE {t}_before_rebuild;"
        );
        for s in indexes.iter().chain(&triggers) {
            sql.push_str(s);
            sql.push(';');
        }
        run_sql(manager, &sql).await?;
    }
    Ok(())
}
