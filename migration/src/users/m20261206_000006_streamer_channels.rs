//! Verified streamers (issue 25, item 5): the STREAMER role is earned, not self-assigned.
//!
//! `streamer_applications`: a viewer's claim to a channel (`applyAsStreamer`) and an operator's
//! decision. Only `PENDING` changes, once, and at most one per user is `PENDING` (a partial
//! unique index, so two racing applications leave one).
//!
//! `streamer_channels`: the streamer's verified channel, one per streamer, and **one account per
//! channel**: `UNIQUE (platform, channel_id)` decides between two accounts racing for the same
//! channel, whatever the code checked before. Accounts that were streamers before this migration
//! stay streamers and are marked verified now (`MIGRATION`), with no channel known: they may
//! link one later. Nothing else changes and no user is touched.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PLATFORMS: &str = "('CHZZK', 'SOOP', 'TWITCH')";

fn sql(ts: &str, now: &str) -> String {
    format!(
        r#"
CREATE TABLE streamer_applications (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    platform     TEXT NOT NULL CHECK (platform IN {PLATFORMS}),
    channel_id   TEXT NOT NULL,
    channel_url  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REFUSED')),
    note         TEXT,
    decided_by   TEXT,
    created_at   {ts} NOT NULL,
    decided_at   {ts},
    -- A decision has its operator and instant; a pending application has neither.
    CHECK ((status = 'PENDING') = (decided_at IS NULL)),
    CHECK ((status = 'PENDING') = (decided_by IS NULL))
);
-- One pending application per user: of two racing applications, the second insert fails.
CREATE UNIQUE INDEX streamer_applications_one_pending
    ON streamer_applications (user_id) WHERE status = 'PENDING';
-- What operators list (by status, newest first) and a user's own.
CREATE INDEX streamer_applications_status ON streamer_applications (status, id);
CREATE INDEX streamer_applications_user ON streamer_applications (user_id, id);

CREATE TABLE streamer_channels (
    user_id       TEXT PRIMARY KEY REFERENCES users (id),
    platform      TEXT CHECK (platform IN {PLATFORMS}),
    channel_id    TEXT,
    name          TEXT,
    url           TEXT,
    verified_at   {ts} NOT NULL,
    verified_via  TEXT NOT NULL CHECK (verified_via IN ('OPERATOR', 'OAUTH', 'MIGRATION')),
    verified_by   TEXT,
    CHECK ((platform IS NULL) = (channel_id IS NULL)),
    -- Only an account verified by this migration has no channel.
    CHECK (verified_via = 'MIGRATION' OR channel_id IS NOT NULL),
    -- An operator's approval names the operator; nothing else does.
    CHECK ((verified_via = 'OPERATOR') = (verified_by IS NOT NULL)),
    -- One channel, one account (rows without a channel are all distinct: NULLs never collide).
    CONSTRAINT streamer_channels_one_account UNIQUE (platform, channel_id)
);

-- Existing streamers stay streamers, verified as of now.
INSERT INTO streamer_channels (user_id, verified_at, verified_via)
    SELECT id, {now}, 'MIGRATION' FROM users WHERE role = 'STREAMER';
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing: the existing streamers are marked in the migration that creates the table.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let ts = Dialect::of(backend)?.timestamp;
        // SQLite keeps instants as RFC 3339 text, as the application writes them.
        let now = match backend {
            DatabaseBackend::Postgres => "now()",
            _ => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        };
        run_sql(manager, &sql(ts, now)).await
    }
}
