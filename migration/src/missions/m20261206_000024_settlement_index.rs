//! One index fewer on `pledges` (issue 27, item 6). `pledges_mission_status (mission_id,
//! status, id)` was written on every pledge and rewritten on every settled one, but nothing
//! needs it: settlement walks a mission's pledges in id order from where its last page ended
//! (`pledges_mission (mission_id, id)` serves that), and the check that none is left held runs
//! once per mission. A pledge's insert and its settlement each maintain four indexes, not five.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP INDEX pledges_mission_status;").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "CREATE INDEX pledges_mission_status ON pledges (mission_id, status, id);",
        )
        .await
    }
}
