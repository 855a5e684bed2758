//! An email delivery records its outcome: `SENT`, or `FAILED` when the recipient's address was
//! refused for good (it does not parse, or SES rejected it). Either way the recipient is done:
//! a failed address is never retried.

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
ALTER TABLE email_deliveries ADD COLUMN status TEXT NOT NULL DEFAULT 'SENT'
    CHECK (status IN ('SENT', 'FAILED'));
-- Why a FAILED delivery failed, as the transport said it; NULL when SENT.
ALTER TABLE email_deliveries ADD COLUMN error TEXT;
"#,
        )
        .await
    }
}
