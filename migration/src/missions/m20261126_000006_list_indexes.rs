//! Indexes for the lists a signed-in user reads of their own (`me { pledges missions bets }`):
//! each is a keyset range of one user's rows in id order, not a scan.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "CREATE INDEX pledges_backer ON pledges (backer_id, id); \
             CREATE INDEX missions_creator ON missions (creator_id, id); \
             CREATE INDEX bets_bettor ON bets (bettor_id, id);",
        )
        .await
    }
}
