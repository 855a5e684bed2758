//! The prediction game: one parimutuel prediction per accepted mission, and its bets.

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
-- Opened when the streamer accepts; locked by the mission workflow's timer at lock_at (never
-- after the deadline); settled or refunded by the workflow after the verdict. Points only:
-- the pool account is POINTS, and the (account, currency) foreign keys keep cash out.
CREATE TABLE predictions (
    mission_id  TEXT PRIMARY KEY REFERENCES missions (id),
    status      TEXT NOT NULL CHECK (status IN ('OPEN', 'LOCKED', 'SETTLED', 'REFUNDED')),
    lock_at     {ts} NOT NULL,
    settled_at  {ts},
    created_at  {ts} NOT NULL,
    CHECK ((status IN ('SETTLED', 'REFUNDED')) = (settled_at IS NOT NULL))
);

-- One bet per user per prediction, on one side; adding to it raises `points` (the bettor's own
-- row, never a shared one). Each addition is one transfer from the bettor's POINTS wallet into
-- the journal-only pool. `payout` is set at settlement (0 for a losing bet).
CREATE TABLE bets (
    id          TEXT PRIMARY KEY,
    mission_id  TEXT NOT NULL REFERENCES predictions (mission_id),
    bettor_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('SUCCESS', 'FAILURE')),
    points      BIGINT NOT NULL CHECK (points > 0 AND points <= 250000),
    payout      BIGINT CHECK (payout >= 0),
    created_at  {ts} NOT NULL,
    UNIQUE (mission_id, bettor_id)
);
CREATE INDEX bets_mission ON bets (mission_id, id);
"#
            ),
        )
        .await
    }
}
