//! Proven addresses and password resets (issue 25).
//!
//! - `users.email_verified_at`: when the account's current address was proven by a code sent to
//!   it; `NULL` until then. Every existing account starts unproven (its address was never
//!   checked) and is sent a verification email: one `VERIFY_EMAIL` row each (operators, made
//!   from the command line, are left alone). With `EMAIL_VERIFICATION_REQUIRED` it proves the
//!   address before its next money action. Nothing else about an account changes.
//! - `account_codes`: the single-use codes an email carries, stored only as a SHA-256 hash.
//!   `email` is the address the code proves (a new address, for a change of address); `used_at`
//!   makes it single-use.
//! - `account_emails`: the outbox of account emails, written by the request that asks for one and
//!   sent by the worker, which makes the code when it sends (so no code is ever stored readable).
//!   A reset is asked for by address: `user_id` stays `NULL` and the worker looks the address up,
//!   so the request does the same work whether or not it names an account. When an account
//!   moves to a new address, the old one is told (`ADDRESS_CHANGED`, no code); the code to the
//!   new address is a `CHANGE_EMAIL`, told apart from a `VERIFY_EMAIL` of the account's own
//!   address. `attempts` counts the worker's claims, so an email that cannot go is given up
//!   (`FAILED`) after a bounded number of tries.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let ts = Dialect::of(backend)?.timestamp;
        // As sea-orm writes an instant on each backend.
        let now = match backend {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => "now()",
            _ => "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')",
        };
        run_sql(
            manager,
            &format!(
                r#"
ALTER TABLE users ADD COLUMN email_verified_at {ts};

CREATE TABLE account_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('VERIFY_EMAIL', 'RESET_PASSWORD')),
    code_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at {ts} NOT NULL,
    expires_at {ts} NOT NULL,
    used_at {ts}
);
CREATE INDEX account_codes_user ON account_codes (user_id, purpose);

CREATE TABLE account_emails (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL
        CHECK (kind IN ('VERIFY_EMAIL', 'CHANGE_EMAIL', 'RESET_PASSWORD', 'ADDRESS_CHANGED')),
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at {ts} NOT NULL,
    claimed_until {ts},
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    status TEXT NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED')),
    sent_at {ts},
    error TEXT,
    CHECK (kind = 'RESET_PASSWORD' OR user_id IS NOT NULL)
);
CREATE INDEX account_emails_pending ON account_emails (created_at) WHERE status = 'PENDING';

INSERT INTO account_emails (id, kind, user_id, email, created_at, status)
SELECT 'migrated-' || id, 'VERIFY_EMAIL', id, email, {now}, 'PENDING'
FROM users WHERE role <> 'OPERATOR';
"#
            ),
        )
        .await
    }
}
