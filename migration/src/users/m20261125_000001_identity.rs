//! Users, refresh-token families and login throttling.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = Dialect::of(manager.get_database_backend())?.timestamp;
        run_sql(
            manager,
            &format!(
                r#"
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    -- Stored lower-cased; one account per address.
    email         TEXT NOT NULL UNIQUE,
    -- As typed by the user, shown to others.
    handle        TEXT NOT NULL,
    -- Lower-cased handle: "Alice" and "alice" are the same handle.
    handle_key    TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('VIEWER', 'STREAMER')),
    locale        TEXT NOT NULL CHECK (locale IN ('ko', 'en')),
    -- argon2id PHC string; never the password.
    password_hash TEXT NOT NULL,
    created_at    {ts} NOT NULL
);

-- One row per refresh token ever issued. A family is one login's chain of rotations.
CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    -- SHA-256 of the token; the token itself is never stored.
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  {ts} NOT NULL,
    expires_at  {ts} NOT NULL,
    -- Set when this token was exchanged for its successor. Presenting it again is reuse.
    rotated_at  {ts},
    -- Set on every token of a family once reuse is detected.
    revoked_at  {ts}
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Fixed-window counters of failed logins, shared by every API replica.
CREATE TABLE login_throttle (
    bucket            TEXT PRIMARY KEY,
    -- Unix seconds, so that window arithmetic is plain integer comparison on both backends.
    window_started_unix BIGINT NOT NULL,
    failures          INTEGER NOT NULL CHECK (failures >= 0)
);
"#
            ),
        )
        .await
    }
}
