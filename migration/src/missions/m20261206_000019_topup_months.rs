//! Minors' monthly top-up limit (issue 26, item 2: `TOPUP_MINOR_MONTHLY_LIMIT_WON`).
//! `topup_months` is `topup_days` by Asia/Seoul calendar month (`YYYY-MM`), kept per limit key
//! (the person) for the top-ups of verified minors only: its row is the monthly limit's lock, a
//! conditional update (`total_won + amount <= limit`) in the transaction that begins a confirm,
//! so racing confirms of one person never pass it together. `top_ups.minor` says an order was
//! prepared by a verified minor: its confirm reserves the month of its `kst_day` as well as the
//! day, and a refused payment gives both back. Existing top-ups are adults' (`FALSE`); no money
//! moves.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            r#"
ALTER TABLE top_ups ADD COLUMN minor BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE topup_months (
    limit_key  TEXT NOT NULL,
    month      TEXT NOT NULL CHECK (length(month) = 7),
    total_won  BIGINT NOT NULL CHECK (total_won >= 0),
    PRIMARY KEY (limit_key, month)
);
"#,
        )
        .await
    }
}
