//! The streamers' event feeds (issue 13): `streamer_feeds` holds each streamer's last `seq`
//! (its row lock orders the commits that append), `mission_events` the events themselves,
//! kept for `EVENT_RETENTION_HOURS`.

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
CREATE TABLE streamer_feeds (
    streamer_id     TEXT PRIMARY KEY,
    last_seq        BIGINT NOT NULL CHECK (last_seq >= 0),
    pruned_through  BIGINT NOT NULL DEFAULT 0 CHECK (pruned_through >= 0 AND pruned_through <= last_seq)
);
CREATE TABLE mission_events (
    streamer_id  TEXT NOT NULL,
    seq          BIGINT NOT NULL CHECK (seq > 0),
    mission_id   TEXT NOT NULL REFERENCES missions (id),
    kind         TEXT NOT NULL CHECK (kind IN ('CREATED', 'PLEDGED', 'ACCEPTED', 'REJECTED',
                   'SUCCEEDED', 'FAILED', 'EXPIRED', 'SETTLED', 'MESSAGE_APPROVED', 'MESSAGE_HIDDEN')),
    pledge_id    TEXT REFERENCES pledges (id),
    created_at   {ts} NOT NULL,
    PRIMARY KEY (streamer_id, seq)
);
CREATE INDEX mission_events_created ON mission_events (created_at);
"#
            ),
        )
        .await
    }
}
