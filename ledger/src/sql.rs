//! Helpers for the few queries written as SQL text.

/// The `i`-th bound parameter in `backend`'s SQL (`$1` on Postgres, `?` on SQLite), for the few
/// aggregate queries written as SQL.
pub(crate) fn param(backend: sea_orm::DatabaseBackend, i: usize) -> String {
    match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    }
}
