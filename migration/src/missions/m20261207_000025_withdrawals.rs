//! Backers who change their mind (issue 28, item 3).
//!
//! - A pledge withdrawn while its mission is PENDING is `WITHDRAWN`: its won went back to the
//!   backer at once, by a `PLEDGE_WITHDRAWAL` transfer (`withdraw:<mission>:<pledge>`), and its
//!   `settled_at` says when.
//! - A mission its creator withdrew while PENDING (or whose last held pledge was withdrawn) is
//!   `WITHDRAWN`, a final status: settlement refunds whatever is still held.
//! - The feed gains `PLEDGE_WITHDRAWN` and `WITHDRAWN`.
//!
//! The statuses and kinds are CHECK constraints. Postgres swaps them; SQLite rebuilds the three
//! tables from their own stored definitions with the lists lengthened (`crate::rebuild`). No
//! money moves.

use crate::rebuild::{self, Rebuild};
use crate::{drop_checks_like, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every mission status, in the order of a mission's life.
const STATUSES: &str = "'PENDING', 'ACTIVE', 'VERIFYING', 'DISPUTED', 'SUCCEEDED', 'FAILED', \
                        'EXPIRED', 'REJECTED', 'CANCELLED', 'WITHDRAWN'";
/// The statuses after which nothing changes, and settlement may run.
const FINAL: &str = "'SUCCEEDED', 'FAILED', 'EXPIRED', 'REJECTED', 'CANCELLED', 'WITHDRAWN'";
/// Every pledge status.
const PLEDGE_STATUSES: &str = "'HELD', 'PAID', 'REFUNDED', 'WITHDRAWN'";
/// Every kind of feed event.
const EVENT_KINDS: &str = "'CREATED', 'PLEDGED', 'ACCEPTED', 'REJECTED', 'SUCCEEDED', \
                           'FAILED', 'EXPIRED', 'SETTLED', 'MESSAGE_APPROVED', 'MESSAGE_HIDDEN', \
                           'VERIFYING', 'DISPUTED', 'CANCELLED', 'PLEDGE_WITHDRAWN', 'WITHDRAWN'";

/// The kinds of movement the ledger makes: every `TransferKind`.
fn known_transfer_kind(row: &str) -> String {
    format!(
        "{row}kind IN ('SIGNUP_GRANT', 'TOPUP', 'PLEDGE', 'PAYOUT', 'FEE', 'REFUND', 'BET', \
         'BET_PAYOUT', 'BET_REFUND', 'BANK_PAYOUT', 'PAYOUT_FEE', 'BANK_TRANSFER', \
         'PAYOUT_RETURN', 'WITHDRAWAL', 'WITHDRAWAL_RETURN', 'PROVIDER_REVERSAL', 'OWED', \
         'REPAYMENT', 'CASH_REFUND', 'CASH_REFUND_FEE', 'CASH_REFUND_RETURN', \
         'PLEDGE_WITHDRAWAL')"
    )
}

fn postgres() -> String {
    format!(
        r#"{drop_mission_checks}{drop_pledge_checks}
ALTER TABLE missions ADD CONSTRAINT missions_status CHECK (status IN ({STATUSES})),
    ADD CONSTRAINT missions_settled_final CHECK (settled_at IS NULL OR status IN ({FINAL}));
ALTER TABLE pledges ADD CONSTRAINT pledges_status CHECK (status IN ({PLEDGE_STATUSES}));
ALTER TABLE mission_events DROP CONSTRAINT mission_events_kind;
ALTER TABLE mission_events ADD CONSTRAINT mission_events_kind CHECK (kind IN ({EVENT_KINDS}));
ALTER TABLE transfers DROP CONSTRAINT transfers_known_kind;
ALTER TABLE transfers ADD CONSTRAINT transfers_known_kind CHECK ({kinds});
"#,
        drop_mission_checks = drop_checks_like("missions", "%CANCELLED%"),
        drop_pledge_checks = drop_checks_like("pledges", "%REFUNDED%"),
        kinds = known_transfer_kind("")
    )
}

const REBUILDS: &[Rebuild] = &[
    Rebuild {
        table: "missions",
        // The status list and the final list both end so.
        replace: &[(
            "'REJECTED', 'CANCELLED'",
            "'REJECTED', 'CANCELLED', 'WITHDRAWN'",
            2,
        )],
    },
    Rebuild {
        table: "pledges",
        replace: &[(
            "('HELD', 'PAID', 'REFUNDED')",
            "('HELD', 'PAID', 'REFUNDED', 'WITHDRAWN')",
            1,
        )],
    },
    Rebuild {
        table: "mission_events",
        replace: &[(
            "'DISPUTED', 'CANCELLED')",
            "'DISPUTED', 'CANCELLED', 'PLEDGE_WITHDRAWN', 'WITHDRAWN')",
            1,
        )],
    },
];

async fn sqlite(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    rebuild::sqlite(manager, REBUILDS).await?;
    run_sql(
        manager,
        &format!(
            "DROP TRIGGER transfers_known_kind; \
             CREATE TRIGGER transfers_known_kind BEFORE INSERT ON transfers \
               WHEN NOT ({}) \
               BEGIN SELECT RAISE(ABORT, 'transfers_known_kind'); END;",
            known_transfer_kind("NEW.")
        ),
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on both backends: SQLite's rebuild must never stop half way, and its
    /// deferred foreign keys are checked when this transaction commits.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => run_sql(manager, &postgres()).await,
            _ => sqlite(manager).await,
        }
    }
}
