//! The prediction game's daily points and the streamer's switch (issue 31, items 1 and 3).
//!
//! - `daily_claims`: one row per user and Asia/Seoul day they claimed (`day`, `YYYY-MM-DD`; the
//!   primary key makes a second claim of the day impossible), the streak it continued (1 on a
//!   day after a day without a claim) and the points it granted.
//! - `transfers.kind` gains `DAILY_POINTS`: the grant, from the points' outside world to the
//!   user's points wallet, `daily:<user>:<day>`.
//! - `streamer_settings` gains `predictions_enabled` (true for every streamer so far: their
//!   accepted missions open a prediction, as they did) and `prediction_window_seconds` (30 to
//!   1,800; null: the platform's `PREDICTION_WINDOW_SECONDS`).
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
         'REPAYMENT', 'CASH_REFUND', 'CASH_REFUND_FEE', 'CASH_REFUND_RETURN', \
         'PLEDGE_WITHDRAWAL', 'DAILY_POINTS')"
    )
}

fn table(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE daily_claims (
    user_id    TEXT NOT NULL,
    day        TEXT NOT NULL,
    streak     INTEGER NOT NULL CHECK (streak >= 1),
    points     BIGINT NOT NULL CHECK (points > 0),
    created_at {ts} NOT NULL,
    PRIMARY KEY (user_id, day)
);
ALTER TABLE streamer_settings ADD COLUMN predictions_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE streamer_settings ADD COLUMN prediction_window_seconds INTEGER
    CHECK (prediction_window_seconds BETWEEN 30 AND 1800);
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        run_sql(manager, &table(Dialect::of(backend)?.timestamp)).await?;
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
