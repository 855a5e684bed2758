//! Payment customers (issue 26): the `customerKey` a payment provider's widget gets for a user is
//! a random key kept here, one per user, not the user's public id (Toss asks for a sufficiently
//! random value per buyer). Made on the user's first order.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = Dialect::of(manager.get_database_backend())?.timestamp;
        run_sql(
            manager,
            &format!(
                "CREATE TABLE payment_customers (
                    user_id TEXT PRIMARY KEY,
                    customer_key TEXT NOT NULL UNIQUE,
                    created_at {ts} NOT NULL
                );"
            ),
        )
        .await
    }
}
