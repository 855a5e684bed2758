//! The streamer's channel (issue 13): their settings (requests on or off, minimum first
//! pledge, longest mission, manual message approval, banned words, blocked users), and pledge
//! messages with their moderation status and the backer's anonymity.

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
CREATE TABLE streamer_settings (
    streamer_id           TEXT PRIMARY KEY,
    accepting_requests    BOOLEAN NOT NULL,
    min_first_pledge      BIGINT CHECK (min_first_pledge > 0),
    max_duration_seconds  BIGINT CHECK (max_duration_seconds > 0),
    manual_approval       BOOLEAN NOT NULL,
    -- JSON arrays: the banned words as the streamer wrote them, the blocked users' ids.
    banned_words          TEXT NOT NULL,
    blocked_users         TEXT NOT NULL,
    updated_at            {ts} NOT NULL
);
ALTER TABLE pledges ADD COLUMN message TEXT;
ALTER TABLE pledges ADD COLUMN message_status TEXT
    CHECK (message_status IN ('APPROVED', 'PENDING', 'HIDDEN'));
ALTER TABLE pledges ADD COLUMN anonymous BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX missions_creator_closed ON missions (creator_id, status, closed_at);
"#
            ),
        )
        .await
    }
}
