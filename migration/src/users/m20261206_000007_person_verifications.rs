//! Verified people (issue 26, item 1: 본인인증). `person_verifications`: the person an identity
//! provider vouched for behind an account, one row per account, and **one account per person**:
//! `UNIQUE (ci_hash)` decides between two accounts racing to verify the same person, whatever
//! the code checked before. The person's unique key (CI) is never stored, only its keyed hash
//! (HMAC-SHA256 under `IDENTITY_HASH_KEY`), with the verified name and birth date. A new table:
//! no existing user is touched.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn sql(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE person_verifications (
    -- An account deleted takes its person with it (no personal data outlives the account); the
    -- day totals the ledger keeps under the person's key stay, so a new account of the same
    -- person starts the day where the old one left it.
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL CHECK (provider IN ('PORTONE')),
    -- 64 hex characters: HMAC-SHA256 of the CI, never the CI itself.
    ci_hash      TEXT NOT NULL CHECK (length(ci_hash) = 64),
    name         TEXT NOT NULL,
    -- YYYY-MM-DD, as the provider said it.
    birth_date   TEXT NOT NULL CHECK (length(birth_date) = 10),
    verified_at  {ts} NOT NULL,
    -- One person, one verified account.
    CONSTRAINT person_verifications_one_account UNIQUE (ci_hash)
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
