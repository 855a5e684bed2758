//! Operators and suspension (issue 16): `users.role` may also be `OPERATOR`, and a user may be
//! suspended — `suspended_at` set, until `suspended_until` (NULL: until an operator lifts it).
//! A user is suspended at instant `t` iff
//! `suspended_at IS NOT NULL AND (suspended_until IS NULL OR suspended_until > t)`.
//!
//! Postgres changes the table in place. SQLite cannot alter a CHECK, so there the table is
//! rebuilt with every column and constraint it had, inside this migration's transaction, with
//! foreign-key checks deferred to the commit: `refresh_tokens` and `overlay_tokens` reference
//! `users (id)`, and every row they reference is back before the commit checks them.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The roles a user row may hold.
const ROLE_CHECK: &str = "CHECK (role IN ('VIEWER', 'STREAMER', 'OPERATOR'))";

/// An end without a start means nothing: `suspended_until` only with `suspended_at`.
const SUSPENSION_CHECK: &str = "CHECK (suspended_until IS NULL OR suspended_at IS NOT NULL)";

/// Every column of `users` before this migration, in order.
const OLD_COLUMNS: &str =
    "id, email, handle, handle_key, display_name, role, locale, password_hash, created_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite runs migrations without a transaction unless asked; the rebuild must be all or
    /// nothing, and `defer_foreign_keys` lasts only as long as a transaction.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => format!(
                r#"
-- The role CHECK was written inline, so Postgres named it; drop whatever CHECK constrains
-- exactly the role column, whatever its name, then add the new one under a fixed name.
DO $$
DECLARE c record;
BEGIN
    FOR c IN
        SELECT con.conname
        FROM pg_constraint con
        JOIN pg_attribute att
          ON att.attrelid = con.conrelid AND att.attname = 'role'
        WHERE con.conrelid = 'users'::regclass
          AND con.contype = 'c'
          AND con.conkey = ARRAY[att.attnum]
    LOOP
        EXECUTE format('ALTER TABLE users DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE users
    ADD CONSTRAINT users_role_check {ROLE_CHECK},
    ADD COLUMN suspended_at    TIMESTAMPTZ,
    ADD COLUMN suspended_until TIMESTAMPTZ,
    ADD CONSTRAINT users_suspension_window {SUSPENSION_CHECK};
"#
            ),
            DatabaseBackend::Sqlite => format!(
                r#"
PRAGMA defer_foreign_keys = ON;
CREATE TABLE users_old AS SELECT * FROM users;
DROP TABLE users;
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    -- Stored lower-cased; one account per address.
    email         TEXT NOT NULL UNIQUE,
    -- As typed by the user, shown to others.
    handle        TEXT NOT NULL,
    -- Lower-cased handle: "Alice" and "alice" are the same handle.
    handle_key    TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CONSTRAINT users_role_check {ROLE_CHECK},
    locale        TEXT NOT NULL CHECK (locale IN ('ko', 'en')),
    -- argon2id PHC string; never the password.
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    -- When the current suspension began; NULL: never suspended, or lifted.
    suspended_at    TEXT,
    -- When it ends; NULL while suspended_at is set: until an operator lifts it.
    suspended_until TEXT,
    CONSTRAINT users_suspension_window {SUSPENSION_CHECK}
);
INSERT INTO users ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM users_old;
DROP TABLE users_old;
"#
            ),
            other => {
                return Err(DbErr::Migration(format!(
                    "MissionLink supports Postgres and SQLite, not {other:?}"
                )));
            }
        };
        run_sql(manager, &sql).await
    }
}
