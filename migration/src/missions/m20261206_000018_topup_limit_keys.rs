//! The daily top-up limit counts per person (issue 26, item 1). `topup_days.user_id` now holds a
//! *limit key*: `person:<hash prefix>` for a user whose identity is verified (every account of
//! one person shares it), the user's id otherwise; existing rows are user ids and stay valid.
//! `top_ups.limit_key` records which key a confirm reserved against, so a refusal later (by the
//! worker's reconciliation, which knows no persons) gives it back to the same row. `NULL`, on
//! top-ups from before this migration, means the top-up's `user_id`. No money moves.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "ALTER TABLE top_ups ADD COLUMN limit_key TEXT;").await
    }
}
