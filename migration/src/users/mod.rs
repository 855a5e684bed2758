//! Migrator of the users (identity) database.

use sea_orm_migration::prelude::*;

mod m20261125_000001_identity;
mod m20261126_000002_overlay_tokens;
mod m20261126_000003_operators;
mod m20261206_000004_sessions;
mod m20261206_000005_account_emails;
mod m20261206_000006_streamer_channels;
mod m20261206_000007_person_verifications;
mod m20261206_000008_guardian_consents;
mod m20261207_000009_notification_preferences;
mod m20261207_000010_overlay_links;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_identity::Migration),
            Box::new(m20261126_000002_overlay_tokens::Migration),
            Box::new(m20261126_000003_operators::Migration),
            Box::new(m20261206_000004_sessions::Migration),
            Box::new(m20261206_000005_account_emails::Migration),
            Box::new(m20261206_000006_streamer_channels::Migration),
            Box::new(m20261206_000007_person_verifications::Migration),
            Box::new(m20261206_000008_guardian_consents::Migration),
            Box::new(m20261207_000009_notification_preferences::Migration),
            Box::new(m20261207_000010_overlay_links::Migration),
        ]
    }
}
