//! The streamers' overlay tokens: the read-only credential in an OBS overlay's URL.

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
-- One overlay token per streamer. Rotating it replaces the hash in place, so the old token
-- matches nothing from the commit on.
CREATE TABLE overlay_tokens (
    user_id    TEXT PRIMARY KEY REFERENCES users (id),
    -- SHA-256 (hex) of the token; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    issued_at  {ts} NOT NULL
);
"#
            ),
        )
        .await
    }
}
