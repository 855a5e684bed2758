//! Missions, their pledges, the outbox that starts their workflows, and email deliveries.

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
CREATE TABLE missions (
    id               TEXT PRIMARY KEY,
    streamer_id      TEXT NOT NULL,
    creator_id       TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT,
    -- PENDING -> ACTIVE -> SUCCEEDED | FAILED | EXPIRED; PENDING -> REJECTED | EXPIRED.
    -- Each transition is one conditional UPDATE on the current status, so of two racing
    -- transitions exactly one wins. Pledges are accepted only while PENDING or ACTIVE.
    status           TEXT NOT NULL
                     CHECK (status IN ('PENDING', 'ACTIVE', 'SUCCEEDED', 'FAILED', 'EXPIRED', 'REJECTED')),
    duration_seconds BIGINT NOT NULL CHECK (duration_seconds > 0),
    accept_by        {ts} NOT NULL,
    accepted_at      {ts},
    deadline         {ts},
    closed_at        {ts},
    reject_reason    TEXT,
    settled_at       {ts},
    notified_at      {ts},
    created_at       {ts} NOT NULL,
    CHECK (streamer_id <> creator_id),
    CHECK (status NOT IN ('ACTIVE', 'SUCCEEDED', 'FAILED')
           OR (accepted_at IS NOT NULL AND deadline IS NOT NULL)),
    CHECK (settled_at IS NULL OR status IN ('SUCCEEDED', 'FAILED', 'EXPIRED', 'REJECTED'))
);
CREATE INDEX missions_streamer ON missions (streamer_id, id);
CREATE INDEX missions_status ON missions (status, id);

-- Append-only while the mission is open: a pledge is one row plus one transfer from the
-- backer's wallet into the mission's journal-only escrow, so pledges to one mission never
-- update a shared row (BRIEF §5). Settlement flips HELD to PAID or REFUNDED exactly once,
-- together with the transfer whose id names this pledge.
CREATE TABLE pledges (
    id          TEXT PRIMARY KEY,
    mission_id  TEXT NOT NULL REFERENCES missions (id),
    backer_id   TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    status      TEXT NOT NULL CHECK (status IN ('HELD', 'PAID', 'REFUNDED')),
    created_at  {ts} NOT NULL,
    settled_at  {ts},
    CHECK ((status = 'HELD') = (settled_at IS NULL))
);
CREATE INDEX pledges_mission ON pledges (mission_id, id);
CREATE INDEX pledges_mission_status ON pledges (mission_id, status, id);
CREATE INDEX pledges_mission_backer ON pledges (mission_id, backer_id);

-- BRIEF §6: what the mission's workflow still has to hear, written in the same transaction as
-- the change it is about. 'Start' is written with the mission; 'signal' with every streamer
-- transition. The API delivers both right after commit and clears them; the worker's relay
-- delivers whatever is still pending after a few seconds. The workflow id 'mission-<id>' makes
-- a repeated start harmless, and the signal only asks the workflow to re-read the mission.
CREATE TABLE workflow_outbox (
    mission_id          TEXT PRIMARY KEY REFERENCES missions (id),
    created_at          {ts} NOT NULL,
    started_at          {ts},
    pending_signal      TEXT,
    signal_requested_at {ts},
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT
);
CREATE INDEX workflow_outbox_unstarted ON workflow_outbox (started_at, created_at);
CREATE INDEX workflow_outbox_signals ON workflow_outbox (signal_requested_at);

-- One row per (mission, recipient) once their email went out, so a retried activity skips them.
CREATE TABLE email_deliveries (
    mission_id   TEXT NOT NULL REFERENCES missions (id),
    recipient_id TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('BACKER', 'STREAMER')),
    address      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    sent_at      {ts} NOT NULL,
    PRIMARY KEY (mission_id, recipient_id, role)
);
"#
            ),
        )
        .await
    }
}
