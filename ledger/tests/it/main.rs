//! The ledger's own tests: its functions driven directly against real databases, without the
//! binary, the API or Temporal, each test on fresh databases of its own (PostgreSQL copies of a
//! migrated template, and SQLite files; `missionlink-testdb`). `scripts/test` provides the
//! PostgreSQL server (`TEST_POSTGRES_URL`) and names the run's databases (`TEST_DB_PREFIX`).

mod feed_core;
mod goal_core;
mod ledger_core;
mod payout_core;
mod statement_migration;
mod streamer_predictions;
mod support;
