//! Refunds (issue 26, item 3).
//!
//! - A withdrawal (`cancelTopUp`) may take part of a top-up, once per top-up:
//!   `top_ups.withdrawn_won` is what it takes (NULL on top-ups from before, whose withdrawals
//!   were whole).
//! - A user's remaining cash is refunded to an account in their verified name through the
//!   payouts' machinery: `payouts.kind` is `EARNINGS` (every payout before) or `CASH_REFUND`.
//!   The refund account is the `payout_accounts` row keyed `refund:<user>`.
//! - Transfers gain `CASH_REFUND`, `CASH_REFUND_FEE` and `CASH_REFUND_RETURN`: the known-kinds
//!   rule of migration 000020 is replaced by one that lists them.
//!
//! - Payouts the bank sends back (issue 26, item 4): the sandbox bank's books gain
//!   `returned_at` and `return_reason`; `payouts_paid` pages the paid payouts the worker asks
//!   the bank about again; a case records what it `returned` to the streamer's earnings.
//! - A resolved case owes its user a notice: `reconciliation_cases.notice_*`, the case row as
//!   its own outbox.
//!
//! No money moves.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The kinds of movement the ledger makes: every `TransferKind`.
fn known_transfer_kind(row: &str) -> String {
    format!(
        "{row}kind IN ('SIGNUP_GRANT', 'TOPUP', 'PLEDGE', 'PAYOUT', 'FEE', 'REFUND', 'BET', \
         'BET_PAYOUT', 'BET_REFUND', 'BANK_PAYOUT', 'PAYOUT_FEE', 'BANK_TRANSFER', \
         'PAYOUT_RETURN', 'WITHDRAWAL', 'WITHDRAWAL_RETURN', 'PROVIDER_REVERSAL', 'OWED', \
         'REPAYMENT', 'CASH_REFUND', 'CASH_REFUND_FEE', 'CASH_REFUND_RETURN')"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = Dialect::of(manager.get_database_backend())?.timestamp;
        run_sql(
            manager,
            &format!(
                "ALTER TABLE top_ups ADD COLUMN withdrawn_won BIGINT CHECK (withdrawn_won > 0);
             ALTER TABLE payouts ADD COLUMN kind TEXT NOT NULL DEFAULT 'EARNINGS'
                 CHECK (kind IN ('EARNINGS', 'CASH_REFUND'));
             ALTER TABLE bank_sandbox_transfers ADD COLUMN returned_at {ts};
             ALTER TABLE bank_sandbox_transfers ADD COLUMN return_reason TEXT;
             CREATE INDEX payouts_paid ON payouts (status, finished_at, id);
             ALTER TABLE reconciliation_cases ADD COLUMN returned BIGINT NOT NULL DEFAULT 0
                 CHECK (returned >= 0);
             ALTER TABLE reconciliation_cases ADD COLUMN notice_claimed_until {ts};
             ALTER TABLE reconciliation_cases ADD COLUMN notice_sent_at {ts};
             ALTER TABLE reconciliation_cases ADD COLUMN notice_status TEXT
                 CHECK (notice_status IN ('SENT', 'FAILED'));
             ALTER TABLE reconciliation_cases ADD COLUMN notice_error TEXT;
             CREATE INDEX reconciliation_cases_notice ON reconciliation_cases (resolved_at, id)
                 WHERE notice_sent_at IS NULL AND status = 'RESOLVED'
                   AND resolution IN ('DEBIT_WALLET', 'RECORD_RECEIVABLE', 'REFUND_AT_PROVIDER',
                                      'RETURN_TO_BALANCE');"
            ),
        )
        .await?;
        let kinds = match manager.get_database_backend() {
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
