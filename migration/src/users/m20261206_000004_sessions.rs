//! Sign-out everywhere (issue 25): `users.session_epoch`, a counter every access token carries
//! as it was when the token was issued, and `users.sessions_valid_after`, when it last moved.
//! Signing out everywhere (`logoutEverywhere`, a password change) adds one to the epoch and
//! revokes every refresh token in the same transaction: from its commit, a token carrying an
//! older epoch no longer acts. A counter rather than a comparison of instants, so clocks that
//! differ between API processes change nothing. Both backends add the columns in place; every
//! existing user starts at epoch 0, which every token issued before this migration carries.

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
                "ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0 \
                     CHECK (session_epoch >= 0), \
                 ADD COLUMN sessions_valid_after TIMESTAMPTZ;"
            }
            _ => {
                "ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0 \
                     CHECK (session_epoch >= 0); \
                 ALTER TABLE users ADD COLUMN sessions_valid_after TEXT;"
            }
        };
        run_sql(manager, sql).await
    }
}
