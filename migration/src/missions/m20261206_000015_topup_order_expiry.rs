//! Top-up orders expire (issue 23): the worker deletes orders still `PREPARED`
//! `TOPUP_ORDER_TTL_SECONDS` after they were made, oldest first. This index is what it reads: only
//! the few orders waiting for their confirm, so the sweep never scans the top-ups that settled.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "CREATE INDEX top_ups_prepared ON top_ups (created_at) WHERE status = 'PREPARED';",
        )
        .await
    }
}
