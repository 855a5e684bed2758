//! Which optional emails a user wants (issue 28, item 5): the notice that a mission they back
//! was accepted, and the notice that its success verdict is open to their objection. Both on
//! by default. Settlement emails and receipts are never optional and have no column.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "ALTER TABLE users ADD COLUMN notify_accepted BOOLEAN NOT NULL DEFAULT TRUE; \
             ALTER TABLE users ADD COLUMN notify_verifying BOOLEAN NOT NULL DEFAULT TRUE;",
        )
        .await
    }
}
