//! One overlay link per device, and the overlay's settings (issue 29, items 3 and 4).
//!
//! - `overlay_links` replaces `overlay_tokens`: a streamer may have several links, each with a
//!   label ("studio PC", "laptop"), its token's SHA-256, when it was made and its token issued,
//!   and when a page with it was last seen (`lastSeenAt`, `connected`). The token each streamer
//!   had becomes their link `default-<user id>` (labelled `OBS`), the one `rotateOverlayToken`
//!   replaces, so every overlay open today keeps working.
//! - `overlay_settings`: how the streamer's overlay shows things (alert threshold and length,
//!   messages, scale, corner, cards), read by every open page and applied live.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn sql(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE overlay_links (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    label        TEXT NOT NULL,
    -- SHA-256 (hex) of the token; the token itself is never stored.
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   {ts} NOT NULL,
    issued_at    {ts} NOT NULL,
    last_seen_at {ts}
);
CREATE INDEX overlay_links_user ON overlay_links (user_id, created_at);
INSERT INTO overlay_links (id, user_id, label, token_hash, created_at, issued_at)
    SELECT 'default-' || user_id, user_id, 'OBS', token_hash, issued_at, issued_at
    FROM overlay_tokens;
DROP TABLE overlay_tokens;
CREATE TABLE overlay_settings (
    user_id        TEXT PRIMARY KEY REFERENCES users (id),
    min_alert_won  BIGINT NOT NULL CHECK (min_alert_won >= 0),
    alert_seconds  INTEGER NOT NULL CHECK (alert_seconds BETWEEN 3 AND 60),
    show_messages  BOOLEAN NOT NULL,
    scale_percent  INTEGER NOT NULL CHECK (scale_percent BETWEEN 100 AND 250),
    position       TEXT NOT NULL CHECK (position IN ('TOP_LEFT', 'TOP_RIGHT', 'BOTTOM_LEFT',
                                                     'BOTTOM_RIGHT')),
    max_cards      INTEGER NOT NULL CHECK (max_cards BETWEEN 1 AND 10),
    updated_at     {ts} NOT NULL
);
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = Dialect::of(manager.get_database_backend())?.timestamp;
        run_sql(manager, &sql(ts)).await
    }
}
