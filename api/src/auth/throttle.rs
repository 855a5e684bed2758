//! Failed-login throttling, shared by all API replicas through the users database.
//!
//! Fixed windows per bucket (`email:<address>`, `addr:<ip>`): once a bucket has reached its
//! limit of failures in the current window, every login on it is refused with `RATE_LIMITED`
//! until the window ends, even with the right password.

use chrono::Utc;
use missionlink_entities::users::login_throttle;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

/// Whether `bucket` has `max_failures` or more failures in the window that is still running.
pub async fn is_blocked<C: ConnectionTrait>(
    db: &C,
    bucket: &str,
    max_failures: i64,
    window_seconds: i64,
) -> Result<bool, sea_orm::DbErr> {
    let now = Utc::now().timestamp();
    let row = login_throttle::Entity::find()
        .filter(login_throttle::Column::Bucket.eq(bucket))
        .one(db)
        .await?;
    Ok(row.is_some_and(|r| {
        r.window_started_unix > now - window_seconds && i64::from(r.failures) >= max_failures
    }))
}

/// Counts one failure on `bucket`: a new window starts when the old one has ended.
pub async fn record_failure<C: ConnectionTrait>(
    db: &C,
    bucket: &str,
    window_seconds: i64,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now().timestamp();
    let backend = db.get_database_backend();
    // One atomic upsert, so concurrent failures from several replicas all count.
    let sql = r#"
INSERT INTO login_throttle (bucket, window_started_unix, failures) VALUES ($1, $2, 1)
ON CONFLICT (bucket) DO UPDATE SET
    failures = CASE WHEN login_throttle.window_started_unix <= $3
                    THEN 1 ELSE login_throttle.failures + 1 END,
    window_started_unix = CASE WHEN login_throttle.window_started_unix <= $3
                    THEN $2 ELSE login_throttle.window_started_unix END"#;
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        positional(backend, sql),
        [bucket.into(), now.into(), (now - window_seconds).into()],
    ))
    .await?;
    Ok(())
}

/// Postgres numbers parameters `$1`; SQLite spells the same `?1`.
fn positional(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    }
}
