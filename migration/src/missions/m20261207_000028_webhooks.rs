//! Streamers' webhooks (issue 29, item 1).
//!
//! - `webhooks`: a streamer's endpoint (at most `WEBHOOKS_PER_STREAMER`), the feed event kinds it
//!   takes (`events`, a JSON array), its signing secret (kept as is: signing needs it), and its
//!   durable cursor `delivered_seq`: every event of the streamer's feed up to it was delivered or
//!   skipped. While deliveries fail, `failing_since` and `retry_at` say since when and when next;
//!   a webhook still failing after `WEBHOOK_GIVE_UP_SECONDS` is `DISABLED` (`disabled_at`,
//!   `disabled_reason`) and its streamer emailed (`notice_sent_at`). `lease_owner` and
//!   `lease_until` keep one API process delivering a webhook at a time.
//! - `webhook_deliveries`: one row per event sent to a webhook (unique `(webhook_id, seq)`),
//!   with its attempts, the last response code and latency, or the last error.
//!
//! Test events (issue 29, item 2): `mission_events.test_payload`, set only on a streamer's test
//! event (`sendTestEvent`), holds the made-up mission and pledge it shows (JSON); its
//! `mission_id` names no mission. So on SQLite `mission_events` is rebuilt without its foreign
//! keys, as Postgres dropped them in 000023; the audit's `orphan` check skips test events.
//!
//! No money moves.

use crate::rebuild::{self, Rebuild};
use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn tables(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    streamer_id       TEXT NOT NULL,
    url               TEXT NOT NULL,
    description       TEXT NOT NULL,
    events            TEXT NOT NULL,
    secret            TEXT NOT NULL,
    secret_issued_at  {ts} NOT NULL,
    created_at        {ts} NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('ACTIVE', 'DISABLED')),
    delivered_seq     BIGINT NOT NULL CHECK (delivered_seq >= 0),
    failing_since     {ts},
    retry_at          {ts},
    disabled_at       {ts},
    disabled_reason   TEXT,
    notice_sent_at    {ts},
    lease_owner       TEXT,
    lease_until       {ts},
    CHECK ((status = 'DISABLED') = (disabled_at IS NOT NULL)),
    CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL)),
    CHECK (notice_sent_at IS NULL OR disabled_at IS NOT NULL)
);
CREATE INDEX webhooks_streamer ON webhooks (streamer_id, created_at);
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id),
    seq              BIGINT NOT NULL CHECK (seq > 0),
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('DELIVERED', 'RETRYING', 'FAILED')),
    attempts         INTEGER NOT NULL CHECK (attempts >= 1),
    response_code    INTEGER,
    latency_ms       INTEGER,
    error            TEXT,
    first_attempt_at {ts} NOT NULL,
    last_attempt_at  {ts} NOT NULL,
    UNIQUE (webhook_id, seq)
);
ALTER TABLE mission_events ADD COLUMN test_payload TEXT;
"#
    )
}

/// SQLite: `mission_events` without its foreign keys (a test event names no mission).
const REBUILDS: &[Rebuild] = &[Rebuild {
    table: "mission_events",
    replace: &[
        ("TEXT NOT NULL REFERENCES missions (id)", "TEXT NOT NULL", 1),
        ("TEXT REFERENCES pledges (id)", "TEXT", 1),
    ],
}];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing: SQLite's rebuild must never stop half way.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let ts = Dialect::of(backend)?.timestamp;
        run_sql(manager, &tables(ts)).await?;
        match backend {
            DatabaseBackend::Postgres => Ok(()),
            _ => rebuild::sqlite(manager, REBUILDS).await,
        }
    }
}
