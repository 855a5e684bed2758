//! Reconciliation with the payment provider and the bank (issue 26, item 4).
//!
//! - `reconciliation_cases`: every disagreement with a provider or bank, one row per provider's
//!   word (unique `(kind, subject)`), OPEN until an operator settles it (`resolution`,
//!   `resolved_by` the operator action, `debited` and `owed` what it moved).
//! - Accounts gain the kind `RECEIVABLE` (`receivable:CASH:<user>`): materialised, and the only
//!   kind whose balance may not go *above* zero. Its balance is minus what the user owes.
//! - `top_ups.provider_cancelled_won`: what the provider has cancelled of a top-up's payment
//!   outside `cancelTopUp`, as the cases record it (the lock that keeps two deliveries of one
//!   cancel from opening two cases).
//! - Transfers gain `PROVIDER_REVERSAL`, `OWED` and `REPAYMENT`.
//! - Operator actions gain `RESOLVE_RECONCILIATION` (naming `case_id`, one per case: a unique
//!   index) and `READ_USER_MONEY` (naming the user read).
//!
//! Postgres swaps the CHECKs; SQLite cannot alter a CHECK, so there `accounts` and
//! `operator_actions` are rebuilt as 000014 rebuilt `operator_actions` (copied, dropped, created
//! with the new definition, filled back, their triggers and indexes made again) inside this
//! migration's transaction, the foreign keys that point at them checked at commit. Every row is
//! kept; no money moves.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The accounts' rules that name kinds, as table constraints.
const ACCOUNT_CHECKS: &str = "\
    CONSTRAINT accounts_kind CHECK (kind IN ('WALLET', 'EARNINGS', 'WORLD', 'FEE', 'ESCROW', \
                                             'POOL', 'RECEIVABLE')), \
    CONSTRAINT accounts_non_negative CHECK (kind = 'WORLD' \
        OR (CASE WHEN kind = 'RECEIVABLE' THEN balance <= 0 ELSE balance >= 0 END)), \
    CONSTRAINT accounts_journal_only_zero CHECK (materialised OR balance = 0)";

/// An account row keeps a balance exactly when its kind does (as in 000005).
fn materialised_by_kind(row: &str) -> String {
    format!("{row}materialised = ({row}kind NOT IN ('WORLD', 'ESCROW', 'POOL'))")
}

/// The kinds of movement the ledger makes: every `TransferKind`.
fn known_transfer_kind(row: &str) -> String {
    format!(
        "{row}kind IN ('SIGNUP_GRANT', 'TOPUP', 'PLEDGE', 'PAYOUT', 'FEE', 'REFUND', 'BET', \
         'BET_PAYOUT', 'BET_REFUND', 'BANK_PAYOUT', 'PAYOUT_FEE', 'BANK_TRANSFER', \
         'PAYOUT_RETURN', 'WITHDRAWAL', 'WITHDRAWAL_RETURN', 'PROVIDER_REVERSAL', 'OWED', \
         'REPAYMENT')"
    )
}

/// The operator actions' rules that name action kinds, as table constraints.
const ACTION_CHECKS: &str = "\
    CHECK (action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION', 'SUSPEND_USER', 'UNSUSPEND_USER', \
                      'HOLD_PAYOUT', 'RELEASE_PAYOUT', 'CANCEL_PAYOUT', \
                      'APPROVE_STREAMER', 'REFUSE_STREAMER', \
                      'RESOLVE_RECONCILIATION', 'READ_USER_MONEY')), \
    CHECK ((action IN ('RESOLVE_DISPUTE', 'CANCEL_MISSION')) = (mission_id IS NOT NULL)), \
    CHECK ((action IN ('SUSPEND_USER', 'UNSUSPEND_USER', 'APPROVE_STREAMER', 'REFUSE_STREAMER', \
                       'READ_USER_MONEY')) = (user_id IS NOT NULL)), \
    CHECK ((action IN ('HOLD_PAYOUT', 'RELEASE_PAYOUT', 'CANCEL_PAYOUT')) = (payout_id IS NOT NULL)), \
    CHECK ((action IN ('APPROVE_STREAMER', 'REFUSE_STREAMER')) = (application_id IS NOT NULL)), \
    CHECK ((action = 'RESOLVE_RECONCILIATION') = (case_id IS NOT NULL)), \
    CHECK ((action = 'RESOLVE_DISPUTE') = (outcome IS NOT NULL)), \
    CHECK (action = 'SUSPEND_USER' OR suspended_until IS NULL)";

/// The indexes of `operator_actions`, and one resolution per case.
const ACTION_INDEXES: &str = "\
CREATE UNIQUE INDEX operator_actions_case ON operator_actions (case_id) WHERE case_id IS NOT NULL;";

fn cases(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE reconciliation_cases (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('TOPUP_CANCELLED_AT_PROVIDER',
                     'PARTIAL_CANCEL_AT_PROVIDER', 'AMOUNT_MISMATCH', 'OVER_LIMIT',
                     'PAYOUT_RETURNED_BY_BANK')),
    subject      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('OPEN', 'RESOLVED')),
    user_id      TEXT NOT NULL,
    top_up_id    TEXT,
    payment_key  TEXT,
    payout_id    TEXT REFERENCES payouts (id),
    amount       BIGINT NOT NULL CHECK (amount > 0),
    detail       TEXT NOT NULL,
    opened_at    {ts} NOT NULL,
    resolution   TEXT CHECK (resolution IN ('DEBIT_WALLET', 'RECORD_RECEIVABLE',
                     'REFUND_AT_PROVIDER', 'RETURN_TO_BALANCE', 'NO_ACTION')),
    resolved_by  TEXT REFERENCES operator_actions (id),
    resolved_at  {ts},
    debited      BIGINT NOT NULL DEFAULT 0 CHECK (debited >= 0),
    owed         BIGINT NOT NULL DEFAULT 0 CHECK (owed >= 0),
    CHECK ((status = 'RESOLVED') = (resolution IS NOT NULL)),
    CHECK ((resolution IS NULL) = (resolved_by IS NULL)),
    CHECK ((resolution IS NULL) = (resolved_at IS NULL)),
    CHECK (debited + owed <= amount),
    UNIQUE (kind, subject)
);
ALTER TABLE top_ups ADD COLUMN provider_cancelled_won BIGINT NOT NULL DEFAULT 0
    CHECK (provider_cancelled_won >= 0);
CREATE INDEX reconciliation_cases_status ON reconciliation_cases (status, opened_at, id);
CREATE INDEX reconciliation_cases_user ON reconciliation_cases (user_id, opened_at, id);
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
             WHERE conrelid = 'accounts'::regclass AND contype = 'c'
               AND (pg_get_constraintdef(oid) LIKE '%kind%'
                    OR pg_get_constraintdef(oid) LIKE '%balance%')
    LOOP
        EXECUTE format('ALTER TABLE accounts DROP CONSTRAINT %I', c.conname);
    END LOOP;
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'operator_actions'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '%action%'
    LOOP
        EXECUTE format('ALTER TABLE operator_actions DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE accounts ADD {accounts},
    ADD CONSTRAINT accounts_materialised_by_kind CHECK ({materialised});
ALTER TABLE transfers DROP CONSTRAINT transfers_known_kind;
ALTER TABLE transfers ADD CONSTRAINT transfers_known_kind CHECK ({known});
{cases}
ALTER TABLE operator_actions ADD COLUMN case_id TEXT REFERENCES reconciliation_cases (id);
ALTER TABLE operator_actions ADD {actions};
{ACTION_INDEXES}
"#,
        accounts = ACCOUNT_CHECKS.replace(", CONSTRAINT", ", ADD CONSTRAINT"),
        materialised = materialised_by_kind(""),
        known = known_transfer_kind(""),
        cases = cases(ts),
        actions = ACTION_CHECKS.replace(", CHECK", ", ADD CHECK"),
    )
}

fn sqlite(ts: &str) -> String {
    let account_columns = "id, kind, owner_id, currency, balance, materialised, created_at";
    let action_columns = "id, operator_id, action, mission_id, user_id, outcome, \
                          suspended_until, cause_id, note, created_at, payout_id, application_id";
    let materialised = materialised_by_kind("NEW.");
    format!(
        r#"
PRAGMA defer_foreign_keys = ON;
CREATE TABLE accounts_before_receivables AS SELECT * FROM accounts;
DROP TABLE accounts;
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    owner_id     TEXT,
    currency     TEXT NOT NULL CHECK (currency IN ('CASH', 'POINTS')),
    balance      BIGINT NOT NULL DEFAULT 0,
    materialised BOOLEAN NOT NULL,
    created_at   {ts} NOT NULL,
    {ACCOUNT_CHECKS},
    CONSTRAINT accounts_id_currency UNIQUE (id, currency)
);
INSERT INTO accounts ({account_columns})
    SELECT {account_columns} FROM accounts_before_receivables;
DROP TABLE accounts_before_receivables;
CREATE INDEX accounts_owner ON accounts (owner_id);
CREATE TRIGGER accounts_materialised_by_kind_insert BEFORE INSERT ON accounts
    WHEN NOT ({materialised})
    BEGIN SELECT RAISE(ABORT, 'accounts_materialised_by_kind'); END;
CREATE TRIGGER accounts_materialised_by_kind_update
    BEFORE UPDATE OF kind, materialised ON accounts
    WHEN NOT ({materialised})
    BEGIN SELECT RAISE(ABORT, 'accounts_materialised_by_kind'); END;
DROP TRIGGER transfers_known_kind;
CREATE TRIGGER transfers_known_kind BEFORE INSERT ON transfers
    WHEN NOT ({known})
    BEGIN SELECT RAISE(ABORT, 'transfers_known_kind'); END;
{cases}
CREATE TABLE operator_actions_before_reconciliation AS SELECT * FROM operator_actions;
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
    case_id          TEXT REFERENCES reconciliation_cases (id),
    {ACTION_CHECKS}
);
INSERT INTO operator_actions ({action_columns})
    SELECT {action_columns} FROM operator_actions_before_reconciliation;
DROP TABLE operator_actions_before_reconciliation;
CREATE INDEX operator_actions_created ON operator_actions (created_at, id);
CREATE INDEX operator_actions_mission ON operator_actions (mission_id, created_at, id);
CREATE INDEX operator_actions_user ON operator_actions (user_id, created_at, id);
CREATE INDEX operator_actions_payout ON operator_actions (payout_id, created_at, id);
CREATE TRIGGER operator_actions_no_update BEFORE UPDATE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
CREATE TRIGGER operator_actions_no_delete BEFORE DELETE ON operator_actions
BEGIN SELECT RAISE(ABORT, 'operator actions are append-only'); END;
CREATE UNIQUE INDEX operator_actions_application
    ON operator_actions (application_id) WHERE application_id IS NOT NULL;
{ACTION_INDEXES}
"#,
        known = known_transfer_kind("NEW."),
        cases = cases(ts),
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing: SQLite's rebuilds must never stop half way.
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
