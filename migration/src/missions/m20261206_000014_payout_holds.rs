//! Payouts an operator holds, and the payment webhook's bounds (issue 23).
//!
//! A payout waiting out its hold can be held by an
//! operator (`HOLD_PAYOUT`), or by the workflow when its streamer is suspended, and then waits
//! for an operator to release it (`RELEASE_PAYOUT`) or cancel it (`CANCEL_PAYOUT`, the money back
//! to earnings) instead of leaving for the bank.
//!
//! `payouts.held_at` (NULL: not held) and `payouts.held_by` (the operator action that holds it:
//! a `HOLD_PAYOUT`, or the `SUSPEND_USER` that made the workflow hold it) are new columns. The
//! operator actions gain `payout_id` and the three payout kinds. Postgres swaps the CHECKs that
//! name actions; SQLite cannot alter a CHECK, so there `operator_actions` is rebuilt (copied,
//! dropped, created with the new definition, filled back, its triggers and indexes made again)
//! inside this migration's transaction, the foreign keys that point at it checked at commit.
//!
//! The webhook looks a payment up at the provider at most once per order per
//! `PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS` (`payment_webhook_lookups`, one row per order of
//! ours); a provider's word that disagrees with our order (another amount, another order) is
//! kept for an operator in `payment_discrepancies`.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The operator actions' rules that name action kinds, as table constraints.
const ACTION_CHECKS: &str = "\
    CHECK (action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION', 'SUSPEND_USER', 'UNSUSPEND_USER', \
                      'HOLD_PAYOUT', 'RELEASE_PAYOUT', 'CANCEL_PAYOUT')), \
    CHECK ((action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION')) = (mission_id IS NOT NULL)), \
    CHECK ((action IN ('SUSPEND_USER', 'UNSUSPEND_USER')) = (user_id IS NOT NULL)), \
    CHECK ((action IN ('HOLD_PAYOUT', 'RELEASE_PAYOUT', 'CANCEL_PAYOUT')) = (payout_id IS NOT NULL)), \
    CHECK ((action = 'RESOLVE_DISPUTE') = (outcome IS NOT NULL)), \
    CHECK (action = 'SUSPEND_USER' OR suspended_until IS NULL)";

/// A held payout stays REQUESTED until an operator releases it (clearing both columns) or it is
/// cancelled: the database refuses any other step, so no process that ignores the hold (a
/// worker of an older release) can send it to the bank. `held_at` and `held_by` go together.
const HELD_RULE: &str = "(held_at IS NULL OR status IN ('REQUESTED', 'CANCELLED')) \
                         AND ((held_at IS NULL) = (held_by IS NULL))";

/// The payouts' new columns and the index the alert and the sweep read; the webhook's tables.
fn payout_columns(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE payment_webhook_lookups (
    order_id         TEXT PRIMARY KEY,
    looked_up_unix   BIGINT NOT NULL
);
CREATE TABLE payment_discrepancies (
    id                 TEXT PRIMARY KEY,
    top_up_id          TEXT NOT NULL,
    order_id           TEXT NOT NULL,
    payment_key        TEXT NOT NULL,
    provider_order_id  TEXT NOT NULL,
    provider_status    TEXT NOT NULL,
    provider_amount    BIGINT NOT NULL,
    found_at           {ts} NOT NULL
);
CREATE INDEX payment_discrepancies_found ON payment_discrepancies (found_at, id);
ALTER TABLE payouts ADD COLUMN held_at {ts};
ALTER TABLE payouts ADD COLUMN held_by TEXT REFERENCES operator_actions (id);
CREATE INDEX payouts_held ON payouts (held_at) WHERE held_at IS NOT NULL;
CREATE INDEX operator_actions_payout ON operator_actions (payout_id, created_at, id);
"#
    )
}

fn postgres(ts: &str) -> String {
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
ALTER TABLE operator_actions ADD COLUMN payout_id TEXT REFERENCES payouts (id);
ALTER TABLE operator_actions ADD {checks};
{payouts}
ALTER TABLE payouts ADD CONSTRAINT payouts_held_stay CHECK ({HELD_RULE});
"#,
        checks = ACTION_CHECKS.replace(", CHECK", ", ADD CHECK"),
        payouts = payout_columns(ts),
    )
}

fn sqlite(ts: &str) -> String {
    let columns = "id, operator_id, action, mission_id, user_id, outcome, suspended_until, \
                   cause_id, note, created_at";
    format!(
        r#"
PRAGMA defer_foreign_keys = ON;
CREATE TABLE operator_actions_before_holds AS SELECT * FROM operator_actions;
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
    {checks}
);
INSERT INTO operator_actions ({columns})
    SELECT {columns} FROM operator_actions_before_holds;
DROP TABLE operator_actions_before_holds;
CREATE INDEX operator_actions_created ON operator_actions (created_at, id);
CREATE INDEX operator_actions_mission ON operator_actions (mission_id, created_at, id);
CREATE INDEX operator_actions_user ON operator_actions (user_id, created_at, id);
CREATE TRIGGER operator_actions_no_update BEFORE UPDATE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
CREATE TRIGGER operator_actions_no_delete BEFORE DELETE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
{payouts}
CREATE TRIGGER payouts_held_stay_insert BEFORE INSERT ON payouts WHEN NOT ({new_rule})
BEGIN SELECT RAISE(ABORT, 'a held payout cannot leave REQUESTED but to CANCELLED'); END;
CREATE TRIGGER payouts_held_stay_update BEFORE UPDATE ON payouts WHEN NOT ({new_rule})
BEGIN SELECT RAISE(ABORT, 'a held payout cannot leave REQUESTED but to CANCELLED'); END;
"#,
        checks = ACTION_CHECKS,
        payouts = payout_columns(ts),
        new_rule = HELD_RULE
            .replace("held_at", "NEW.held_at")
            .replace("held_by", "NEW.held_by")
            .replace("status", "NEW.status"),
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
            DatabaseBackend::Postgres => postgres(ts),
            _ => sqlite(ts),
        };
        run_sql(manager, &sql).await
    }
}
