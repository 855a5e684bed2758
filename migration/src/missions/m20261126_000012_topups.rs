//! Top-ups through a payment provider (issue 15): each order and its life (`top_ups`), each
//! user's running total per Asia/Seoul day (`topup_days`, the daily limit's lock), the receipts
//! to send (`topup_receipts`, an outbox the worker delivers), and the provider's webhook
//! deliveries already handled (`payment_webhook_events`, the replay record). Transfers gain the
//! withdrawal kinds: the known-kinds rule of migration 000011 is replaced by one that lists them.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The kinds of movement the ledger makes, withdrawals' included: every `TransferKind`.
fn known_transfer_kind(row: &str) -> String {
    format!(
        "{row}kind IN ('SIGNUP_GRANT', 'TOPUP', 'PLEDGE', 'PAYOUT', 'FEE', 'REFUND', 'BET', \
         'BET_PAYOUT', 'BET_REFUND', 'BANK_PAYOUT', 'PAYOUT_FEE', 'BANK_TRANSFER', \
         'PAYOUT_RETURN', 'WITHDRAWAL', 'WITHDRAWAL_RETURN')"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let ts = Dialect::of(backend)?.timestamp;
        run_sql(
            manager,
            &format!(
                r#"
-- An order handed to the client by prepareTopUp and what became of it. The status changes only
-- by conditional updates, each in the transaction of its transfers:
-- PREPARED -> CONFIRMING (the day's limit reserved, the provider asked) -> CONFIRMED | FAILED,
-- CONFIRMED -> WITHDRAWING (the wallet debited, the provider asked to cancel) ->
-- WITHDRAWN | CONFIRMED (the provider refused the cancel).
CREATE TABLE top_ups (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    order_id         TEXT NOT NULL UNIQUE,
    amount           BIGINT NOT NULL CHECK (amount > 0),
    status           TEXT NOT NULL CHECK (status IN ('PREPARED', 'CONFIRMING', 'CONFIRMED',
                                                     'FAILED', 'WITHDRAWING', 'WITHDRAWN')),
    provider         TEXT NOT NULL,
    payment_key      TEXT UNIQUE,
    kst_day          TEXT,
    created_at       {ts} NOT NULL,
    confirming_at    {ts},
    confirmed_at     {ts},
    withdrawing_at   {ts},
    withdrawn_at     {ts},
    failure_code     TEXT,
    failure_message  TEXT,
    -- Past PREPARED a top-up names its payment and the day it counts against.
    CHECK (status = 'PREPARED' OR (payment_key IS NOT NULL AND kst_day IS NOT NULL)),
    CHECK ((status IN ('CONFIRMED', 'WITHDRAWING', 'WITHDRAWN')) = (confirmed_at IS NOT NULL)),
    CHECK ((status = 'WITHDRAWN') = (withdrawn_at IS NOT NULL))
);
CREATE INDEX top_ups_user ON top_ups (user_id, id);
-- What the worker's reconciliation reads: the few top-ups between two steps.
CREATE INDEX top_ups_unsettled ON top_ups (status, created_at)
    WHERE status IN ('CONFIRMING', 'WITHDRAWING');

-- Each user's top-ups per Asia/Seoul calendar day, reserved when a confirm begins. The limit
-- is a conditional update of this row (`total_won + amount <= limit`), which locks it: racing
-- confirms of one user queue here and can never pass the limit together.
CREATE TABLE topup_days (
    user_id    TEXT NOT NULL,
    day        TEXT NOT NULL,
    total_won  BIGINT NOT NULL CHECK (total_won >= 0),
    PRIMARY KEY (user_id, day)
);

-- The receipts of top-ups and withdrawals, written in the transaction of the event; the worker
-- sends each once and records it here.
CREATE TABLE topup_receipts (
    top_up_id      TEXT NOT NULL REFERENCES top_ups (id),
    event          TEXT NOT NULL CHECK (event IN ('CONFIRMED', 'WITHDRAWN')),
    created_at     {ts} NOT NULL,
    claimed_until  {ts},
    address        TEXT,
    subject        TEXT,
    status         TEXT CHECK (status IN ('SENT', 'FAILED')),
    error          TEXT,
    sent_at        {ts},
    PRIMARY KEY (top_up_id, event)
);
CREATE INDEX topup_receipts_unsent ON topup_receipts (created_at) WHERE sent_at IS NULL;

-- Webhook deliveries from the payment provider already handled: the same delivery again is
-- answered and ignored.
CREATE TABLE payment_webhook_events (
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    payment_key  TEXT,
    order_id     TEXT,
    received_at  {ts} NOT NULL
);
"#
            ),
        )
        .await?;
        let kinds = match backend {
            DatabaseBackend::Postgres => format!(
                "ALTER TABLE transfers DROP CONSTRAINT transfers_known_kind; \
                 ALTER TABLE transfers ADD CONSTRAINT transfers_known_kind CHECK ({});",
                known_transfer_kind("")
            ),
            _ => format!(
                "DROP TRIGGER transfers_known_kind; \
                 CREATE TRIGGER transfers_known_kind BEFORE INSERT ON transfers \
                   WHEN NOT ({}) \
                   BEGIN SELECT RAISE(ABORT, 'transfers_known_kind'); END;",
                known_transfer_kind("NEW.")
            ),
        };
        run_sql(manager, &kinds).await
    }
}
