//! A mission's totals kept as pledges arrive (issue 27): `totalPledged` and `backerCount` were
//! a `SUM` and a `COUNT(DISTINCT)` over the mission's pledges on every read, so a subscriber
//! following a hot mission (the overlay) scanned tens of thousands of rows per event.
//! `mission_totals` has one row per mission with a pledge, written in the transaction that
//! inserts its pledges (`total_won` grows by each pledge, `backers` by each backer's first), and
//! filled here from the pledges so far. No money moves; the audit checks it against the pledges.

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
CREATE TABLE mission_totals (
    mission_id TEXT PRIMARY KEY,
    total_won  BIGINT NOT NULL CHECK (total_won >= 0),
    backers    BIGINT NOT NULL CHECK (backers >= 0)
);
INSERT INTO mission_totals (mission_id, total_won, backers)
SELECT mission_id, SUM(amount), COUNT(DISTINCT backer_id) FROM pledges GROUP BY mission_id;
"#,
        )
        .await
    }
}
