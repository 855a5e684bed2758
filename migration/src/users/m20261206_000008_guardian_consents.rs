//! Minors' guardians (issue 26, item 2). `guardian_consents`: the consent a legal
//! representative gave for a verified minor's top-ups (Civil Act art. 5: a minor's legal act
//! needs it), one row per minor's account, replaced when consent is recorded again. The
//! guardian is verified through the same identity provider as the minor; of the guardian only
//! a keyed hash of the CI (HMAC-SHA256 under `IDENTITY_HASH_KEY`, as `person_verifications`
//! keeps) and the verified name are kept, never the CI or the birth date. A new table: no
//! existing user is touched.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn sql(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE guardian_consents (
    -- The minor: a verified account. An account deleted, or its person, takes the consent
    -- with it.
    user_id            TEXT PRIMARY KEY REFERENCES person_verifications (user_id) ON DELETE CASCADE,
    provider           TEXT NOT NULL CHECK (provider IN ('PORTONE')),
    -- 64 hex characters: HMAC-SHA256 of the guardian's CI, never the CI itself.
    guardian_ci_hash   TEXT NOT NULL CHECK (length(guardian_ci_hash) = 64),
    guardian_name      TEXT NOT NULL,
    consented_at       {ts} NOT NULL
);
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = Dialect::of(manager.get_database_backend())?.timestamp;
        run_sql(manager, &sql(ts)).await
    }
}
