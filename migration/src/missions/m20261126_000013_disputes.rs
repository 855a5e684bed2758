//! Operators and disputes (issue 16): the objection window and disputes (`VERIFYING`,
//! `DISPUTED`), missions cancelled by an operator (`CANCELLED`), backers' objections, and the
//! operators' append-only record of what they did.
//!
//! The mission statuses and the feed's event kinds are CHECK constraints. Postgres swaps them;
//! SQLite cannot alter a CHECK, so there `missions` and `mission_events` are rebuilt (copied,
//! dropped, created with the new definition, filled back) inside this migration's transaction,
//! with the foreign keys that point at them checked at its commit (`defer_foreign_keys`).

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every mission status, in the order of a mission's life.
const STATUSES: &str = "'PENDING', 'ACTIVE', 'VERIFYING', 'DISPUTED', 'SUCCEEDED', 'FAILED', \
                        'EXPIRED', 'REJECTED', 'CANCELLED'";
/// The statuses after which nothing changes, and settlement may run.
const FINAL: &str = "'SUCCEEDED', 'FAILED', 'EXPIRED', 'REJECTED', 'CANCELLED'";
/// Every kind of feed event.
const EVENT_KINDS: &str = "'CREATED', 'PLEDGED', 'ACCEPTED', 'REJECTED', 'SUCCEEDED', \
                           'FAILED', 'EXPIRED', 'SETTLED', 'MESSAGE_APPROVED', 'MESSAGE_HIDDEN', \
                           'VERIFYING', 'DISPUTED', 'CANCELLED'";

/// The mission rules that name statuses, as table constraints.
fn mission_checks() -> String {
    format!(
        "CHECK (status IN ({STATUSES})), \
         CHECK (status NOT IN ('ACTIVE', 'VERIFYING', 'DISPUTED', 'SUCCEEDED', 'FAILED') \
                OR (accepted_at IS NOT NULL AND deadline IS NOT NULL)), \
         CHECK (status <> 'VERIFYING' OR objection_until IS NOT NULL), \
         CHECK (status <> 'DISPUTED' OR disputed_at IS NOT NULL), \
         CHECK (settled_at IS NULL OR status IN ({FINAL}))"
    )
}

/// The tables this issue adds, on either backend.
fn new_tables(ts: &str) -> String {
    format!(
        r#"
-- A backer's objection to a SUCCESS verdict while the mission is VERIFYING: one per backer,
-- weighed by what they had pledged to it when they objected.
CREATE TABLE objections (
    mission_id   TEXT NOT NULL REFERENCES missions (id),
    backer_id    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    pledged_won  BIGINT NOT NULL CHECK (pledged_won > 0),
    created_at   {ts} NOT NULL,
    PRIMARY KEY (mission_id, backer_id)
);

-- What operators did, who, when and why. Append-only: triggers refuse UPDATE and DELETE.
-- A mission cancelled because its streamer was suspended names that suspension (cause_id).
CREATE TABLE operator_actions (
    id               TEXT PRIMARY KEY,
    operator_id      TEXT NOT NULL,
    action           TEXT NOT NULL CHECK (action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION',
                       'SUSPEND_USER', 'UNSUSPEND_USER')),
    mission_id       TEXT REFERENCES missions (id),
    user_id          TEXT,
    outcome          TEXT CHECK (outcome IN ('SUCCESS', 'FAILURE')),
    suspended_until  {ts},
    cause_id         TEXT REFERENCES operator_actions (id),
    note             TEXT NOT NULL,
    created_at       {ts} NOT NULL,
    CHECK ((action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION')) = (mission_id IS NOT NULL)),
    CHECK ((action IN ('SUSPEND_USER', 'UNSUSPEND_USER')) = (user_id IS NOT NULL)),
    CHECK ((action = 'RESOLVE_DISPUTE') = (outcome IS NOT NULL)),
    CHECK (action = 'SUSPEND_USER' OR suspended_until IS NULL)
);
CREATE INDEX operator_actions_created ON operator_actions (created_at, id);
CREATE INDEX operator_actions_mission ON operator_actions (mission_id, created_at, id);
CREATE INDEX operator_actions_user ON operator_actions (user_id, created_at, id);

-- The operator action the mission's workflow has yet to hear of (the `operatorAction` signal),
-- written with the action, delivered and cleared like `pending_signal`.
ALTER TABLE workflow_outbox ADD COLUMN pending_action TEXT REFERENCES operator_actions (id);
"#
    )
}

/// Postgres: swap the CHECKs that name statuses or kinds, add the columns and tables.
fn postgres(ts: &str) -> String {
    format!(
        r#"
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'missions'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '%status%'
    LOOP
        EXECUTE format('ALTER TABLE missions DROP CONSTRAINT %I', c.conname);
    END LOOP;
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'mission_events'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '%kind%'
    LOOP
        EXECUTE format('ALTER TABLE mission_events DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE missions ADD COLUMN objection_until {ts};
ALTER TABLE missions ADD COLUMN disputed_at {ts};
ALTER TABLE missions ADD {checks};
ALTER TABLE mission_events ADD CONSTRAINT mission_events_kind CHECK (kind IN ({EVENT_KINDS}));
{tables}
CREATE FUNCTION operator_actions_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RAISE EXCEPTION 'operator actions are append-only';
END $f$;
CREATE TRIGGER operator_actions_append_only BEFORE UPDATE OR DELETE ON operator_actions
    FOR EACH ROW EXECUTE FUNCTION operator_actions_are_append_only();
"#,
        checks = mission_checks().replace(", CHECK", ", ADD CHECK"),
        tables = new_tables(ts),
    )
}

/// SQLite: rebuild `missions` and `mission_events` with the new CHECKs (every column and index
/// as before), then add the tables.
fn sqlite(ts: &str) -> String {
    let mission_columns = "id, streamer_id, creator_id, title, description, status, \
                           duration_seconds, accept_by, accepted_at, deadline, closed_at, \
                           reject_reason, settled_at, notified_at, created_at";
    format!(
        r#"
PRAGMA defer_foreign_keys = ON;
CREATE TABLE missions_before_disputes AS SELECT * FROM missions;
DROP TABLE missions;
CREATE TABLE missions (
    id               TEXT PRIMARY KEY,
    streamer_id      TEXT NOT NULL,
    creator_id       TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT,
    status           TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL CHECK (duration_seconds > 0),
    accept_by        {ts} NOT NULL,
    accepted_at      {ts},
    deadline         {ts},
    closed_at        {ts},
    reject_reason    TEXT,
    settled_at       {ts},
    notified_at      {ts},
    created_at       {ts} NOT NULL,
    objection_until  {ts},
    disputed_at      {ts},
    CHECK (streamer_id <> creator_id),
    {checks}
);
INSERT INTO missions ({mission_columns})
    SELECT {mission_columns} FROM missions_before_disputes;
DROP TABLE missions_before_disputes;
CREATE INDEX missions_streamer ON missions (streamer_id, id);
CREATE INDEX missions_status ON missions (status, id);
CREATE INDEX missions_creator ON missions (creator_id, id);
CREATE INDEX missions_creator_closed ON missions (creator_id, status, closed_at);

CREATE TABLE mission_events_before_disputes AS SELECT * FROM mission_events;
DROP TABLE mission_events;
CREATE TABLE mission_events (
    streamer_id  TEXT NOT NULL,
    seq          BIGINT NOT NULL CHECK (seq > 0),
    mission_id   TEXT NOT NULL REFERENCES missions (id),
    kind         TEXT NOT NULL CHECK (kind IN ({EVENT_KINDS})),
    pledge_id    TEXT REFERENCES pledges (id),
    created_at   {ts} NOT NULL,
    PRIMARY KEY (streamer_id, seq)
);
INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at)
    SELECT streamer_id, seq, mission_id, kind, pledge_id, created_at
    FROM mission_events_before_disputes;
DROP TABLE mission_events_before_disputes;
CREATE INDEX mission_events_created ON mission_events (created_at);
{tables}
CREATE TRIGGER operator_actions_no_update BEFORE UPDATE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
CREATE TRIGGER operator_actions_no_delete BEFORE DELETE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
"#,
        checks = mission_checks(),
        tables = new_tables(ts),
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on both backends: SQLite's rebuild must never stop half way, and its
    /// deferred foreign keys are checked when this transaction commits.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = Dialect::of(manager.get_database_backend())?.timestamp;
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres(ts),
            _ => sqlite(ts),
        };
        run_sql(manager, &sql).await
    }
}
