//! What a streamer shows with their verdict, and the backers' notices (issue 28, item 5).
//!
//! - `missions.evidence_url` (an https link: a clip, the VOD at the moment) and
//!   `missions.verdict_note`, both optional, set by `decideMission`, shown on the mission and
//!   in the backers' emails.
//! - `email_deliveries.role` gains `ACCEPTED` and `VERIFYING`: the notices that a mission was
//!   accepted and that its success verdict is open to objections, recorded once per backer like
//!   the result emails. Postgres swaps the CHECK; SQLite rebuilds the table
//!   (`crate::rebuild`).
//!
//! No money moves.

use crate::rebuild::{self, Rebuild};
use crate::{drop_checks_like, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Who a mission's email went to, and which email it was.
const ROLES: &str = "'BACKER', 'STREAMER', 'ACCEPTED', 'VERIFYING'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on both backends: SQLite's rebuild must never stop half way.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "ALTER TABLE missions ADD COLUMN evidence_url TEXT; \
             ALTER TABLE missions ADD COLUMN verdict_note TEXT;",
        )
        .await?;
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                run_sql(
                    manager,
                    &format!(
                        "{}\nALTER TABLE email_deliveries ADD CONSTRAINT email_deliveries_role \
                         CHECK (role IN ({ROLES}));",
                        drop_checks_like("email_deliveries", "%STREAMER%")
                    ),
                )
                .await
            }
            _ => {
                rebuild::sqlite(
                    manager,
                    &[Rebuild {
                        table: "email_deliveries",
                        replace: &[(
                            "role IN ('BACKER', 'STREAMER')",
                            "role IN ('BACKER', 'STREAMER', 'ACCEPTED', 'VERIFYING')",
                            1,
                        )],
                    }],
                )
                .await
            }
        }
    }
}
