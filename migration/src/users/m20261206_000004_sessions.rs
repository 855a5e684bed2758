//! Sign-out everywhere (issue 25): `users.sessions_valid_after`. An access token issued before
//! this instant no longer acts for its user, and every refresh token of the user was revoked
//! when it was set (`logoutEverywhere`; later, a password reset or change). NULL: never set.
//! Both backends add the column in place; no row changes.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "ALTER TABLE users ADD COLUMN sessions_valid_after TIMESTAMPTZ;"
            }
            _ => "ALTER TABLE users ADD COLUMN sessions_valid_after TEXT;",
        };
        run_sql(manager, sql).await
    }
}
