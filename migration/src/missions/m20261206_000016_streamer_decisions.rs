//! Verified streamers (issue 25, item 5): an operator's decision on a viewer's application to
//! become a streamer is an operator action (`APPROVE_STREAMER`, `REFUSE_STREAMER`) about the
//! user, naming the application (`application_id`, an id of the users database, so no foreign
//! key). **One decision per application**: a unique index, so a retried or racing decision finds
//! the first one recorded instead of adding a second.
//!
//! Postgres swaps the CHECKs that name actions, as 000014 did; SQLite cannot alter a CHECK, so
//! there `operator_actions` is rebuilt again the same way (copied, dropped, created with the new
//! definition, filled back, its triggers and indexes made again) inside this migration's
//! transaction, the foreign keys that point at it checked at commit. Every action is kept.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The operator actions' rules that name action kinds, as table constraints.
const ACTION_CHECKS: &str = "\
    CHECK (action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION', 'SUSPEND_USER', 'UNSUSPEND_USER', \
                      'HOLD_PAYOUT', 'RELEASE_PAYOUT', 'CANCEL_PAYOUT', \
                      'APPROVE_STREAMER', 'REFUSE_STREAMER')), \
    CHECK ((action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION')) = (mission_id IS NOT NULL)), \
    CHECK ((action IN ('SUSPEND_USER', 'UNSUSPEND_USER', 'APPROVE_STREAMER', 'REFUSE_STREAMER')) \
           = (user_id IS NOT NULL)), \
    CHECK ((action IN ('HOLD_PAYOUT', 'RELEASE_PAYOUT', 'CANCEL_PAYOUT')) = (payout_id IS NOT NULL)), \
    CHECK ((action IN ('APPROVE_STREAMER', 'REFUSE_STREAMER')) = (application_id IS NOT NULL)), \
    CHECK ((action = 'RESOLVE_DISPUTE') = (outcome IS NOT NULL)), \
    CHECK (action = 'SUSPEND_USER' OR suspended_until IS NULL)";

/// One decision per application, whoever decides and however often they retry.
const ONE_DECISION: &str = "CREATE UNIQUE INDEX operator_actions_application \
    ON operator_actions (application_id) WHERE application_id IS NOT NULL;";

fn postgres() -> String {
    format!(
        r#"
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'operator_actions'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '%action%'
    LOOP
        EXECUTE format('ALTER TABLE operator_actions DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE operator_actions ADD COLUMN application_id TEXT;
ALTER TABLE operator_actions ADD {checks};
{ONE_DECISION}
"#,
        checks = ACTION_CHECKS.replace(", CHECK", ", ADD CHECK"),
    )
}

fn sqlite(ts: &str) -> String {
    let columns = "id, operator_id, action, mission_id, user_id, outcome, suspended_until, \
                   cause_id, note, created_at, payout_id";
    format!(
        r#"
PRAGMA defer_foreign_keys = ON;
CREATE TABLE operator_actions_before_streamers AS SELECT * FROM operator_actions;
DROP TABLE operator_actions;
CREATE TABLE operator_actions (
    id               TEXT PRIMARY KEY,
    operator_id      TEXT NOT NULL,
    action           TEXT NOT NULL,
    mission_id       TEXT REFERENCES missions (id),
    user_id          TEXT,
    outcome          TEXT CHECK (outcome IN ('SUCCESS', 'FAILURE')),
    suspended_until  {ts},
    cause_id         TEXT REFERENCES operator_actions (id),
    note             TEXT NOT NULL,
    created_at       {ts} NOT NULL,
    payout_id        TEXT REFERENCES payouts (id),
    application_id   TEXT,
    {ACTION_CHECKS}
);
INSERT INTO operator_actions ({columns})
    SELECT {columns} FROM operator_actions_before_streamers;
DROP TABLE operator_actions_before_streamers;
CREATE INDEX operator_actions_created ON operator_actions (created_at, id);
CREATE INDEX operator_actions_mission ON operator_actions (mission_id, created_at, id);
CREATE INDEX operator_actions_user ON operator_actions (user_id, created_at, id);
CREATE INDEX operator_actions_payout ON operator_actions (payout_id, created_at, id);
CREATE TRIGGER operator_actions_no_update BEFORE UPDATE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
CREATE TRIGGER operator_actions_no_delete BEFORE DELETE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
{ONE_DECISION}
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing: SQLite's rebuild must never stop half way.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = Dialect::of(manager.get_database_backend())?.timestamp;
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres(),
            _ => sqlite(ts),
        };
        run_sql(manager, &sql).await
    }
}
