//! Channel moderators (issue 13): who a streamer appointed, and the record of every moderation
//! action (accepting or rejecting a mission, approving or hiding a message), listed to the
//! streamer.

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
CREATE TABLE channel_moderators (
    streamer_id   TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    appointed_at  {ts} NOT NULL,
    PRIMARY KEY (streamer_id, user_id),
    CHECK (streamer_id <> user_id)
);
CREATE INDEX channel_moderators_user ON channel_moderators (user_id);
CREATE TABLE moderation_actions (
    id           TEXT PRIMARY KEY,
    streamer_id  TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('ACCEPT', 'REJECT', 'APPROVE_MESSAGE', 'HIDE_MESSAGE')),
    mission_id   TEXT NOT NULL REFERENCES missions (id),
    pledge_id    TEXT REFERENCES pledges (id),
    created_at   {ts} NOT NULL
);
CREATE INDEX moderation_actions_streamer ON moderation_actions (streamer_id, id);
"#
            ),
        )
        .await
    }
}
