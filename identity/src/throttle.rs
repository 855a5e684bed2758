//! Fixed-window attempt counters, shared by all API replicas through the users database (table
//! `login_throttle`): failed logins per email from one client address
//! (`email-addr:<address>|<ip>`), per client address (`addr:<ip>`) and per email from every
//! address (`email:<address>`, a much higher ceiling), registrations per client address (`register:<ip>`), top-up orders per user
//! (`topup-prepare:<user id>`).
//!
//! An attempt is counted *before* the work it guards, by one atomic upsert that also refuses it
//! once the window's limit is reached. Checking first and recording after the work would let
//! attempts sent at once all pass the check before any of them is recorded. A login that turns
//! out to succeed gives its attempt back ([`release`]), so only failures stay counted.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// One attempt counted on a bucket, in the window it was counted in.
#[derive(Clone, Debug)]
pub struct Attempt {
    bucket: String,
    window_started_unix: i64,
}

/// Counts one attempt on `bucket` and returns it if it may go ahead: `None` once `max` attempts
/// were already counted in the window that is still running (the refused attempt is then not
/// counted). A new window starts when the old one has ended.
pub async fn acquire<C: ConnectionTrait>(
    db: &C,
    bucket: &str,
    max: i64,
    window_seconds: i64,
) -> Result<Option<Attempt>, sea_orm::DbErr> {
    let now = Utc::now().timestamp();
    let backend = db.get_database_backend();
    // One statement: the row lock (Postgres) or the write lock (SQLite) orders concurrent
    // attempts, and each sees the count the previous one left. When the `WHERE` refuses, nothing
    // is updated and nothing is returned.
    let sql = r#"
INSERT INTO login_throttle (bucket, window_started_unix, failures) VALUES ($1, $2, 1)
ON CONFLICT (bucket) DO UPDATE SET
    failures = CASE WHEN login_throttle.window_started_unix <= $3
                    THEN 1 ELSE login_throttle.failures + 1 END,
    window_started_unix = CASE WHEN login_throttle.window_started_unix <= $3
                    THEN $2 ELSE login_throttle.window_started_unix END
WHERE login_throttle.window_started_unix <= $3 OR login_throttle.failures < $4
RETURNING window_started_unix"#;
    let counted = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            positional(backend, sql),
            [
                bucket.into(),
                now.into(),
                (now - window_seconds).into(),
                max.into(),
            ],
        ))
        .await?;
    counted
        .map(|row| {
            Ok(Attempt {
                bucket: bucket.to_owned(),
                window_started_unix: row.try_get("", "window_started_unix")?,
            })
        })
        .transpose()
}

/// Gives back one attempt counted by [`acquire`] on `bucket` (a login that succeeded, or one
/// refused by another bucket before any work).
/// Only within the window it was counted in: had a new window started meanwhile, giving it
/// back there would cancel an attempt of the new window.
pub async fn release<C: ConnectionTrait>(db: &C, attempt: &Attempt) -> Result<(), sea_orm::DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        positional(
            backend,
            "UPDATE login_throttle SET failures = failures - 1 \
             WHERE bucket = $1 AND window_started_unix = $2 AND failures > 0",
        ),
        [
            attempt.bucket.as_str().into(),
            attempt.window_started_unix.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// When the window that refused an attempt on `bucket` ends (`window_seconds` after it began):
/// the `retryAt` of the refusal. `None` if the bucket has no window (it was never counted).
pub async fn window_ends<C: ConnectionTrait>(
    db: &C,
    bucket: &str,
    window_seconds: i64,
) -> Result<Option<chrono::DateTime<Utc>>, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            positional(
                backend,
                "SELECT window_started_unix FROM login_throttle WHERE bucket = $1",
            ),
            [bucket.into()],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let started: i64 = row.try_get("", "window_started_unix")?;
    Ok(chrono::DateTime::<Utc>::from_timestamp(
        started.saturating_add(window_seconds),
        0,
    ))
}

/// Postgres numbers parameters `$1`; SQLite spells the same `?1`.
fn positional(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    }
}
