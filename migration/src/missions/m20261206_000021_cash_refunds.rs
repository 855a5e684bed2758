//! Refunds (issue 26, item 3): a withdrawal (`cancelTopUp`) may take part of a top-up, once per
//! top-up: `top_ups.withdrawn_won` is what it takes (NULL on top-ups from before, whose
//! withdrawals were whole). No money moves.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "ALTER TABLE top_ups ADD COLUMN withdrawn_won BIGINT CHECK (withdrawn_won > 0);",
        )
        .await
    }
}
