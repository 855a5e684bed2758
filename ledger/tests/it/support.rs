//! What every ledger test opens: both databases of a [`TestDatabases`], as the app opens them.

use missionlink_ledger::audit;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::mission::MissionRules;
use missionlink_testdb::TestDatabases;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::time::Duration;

/// Both database handles of a test.
pub struct Databases {
    pub users: DatabaseConnection,
    pub missions: DatabaseConnection,
}

/// Connects to both databases with the app's pool settings (`api/src/db.rs`: on SQLite, WAL,
/// a busy timeout and foreign keys, so that racing writers wait their turn) and migrates them
/// as the app's start-up does.
pub async fn open(dbs: &TestDatabases) -> Databases {
    let db = Databases {
        users: connect(&dbs.users_url).await,
        missions: connect(&dbs.missions_url).await,
    };
    missionlink_testdb::migrate(&db.users, &db.missions)
        .await
        .expect("migrate");
    db
}

async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(20)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options).await.expect("connect")
}

/// The default daily top-up limit (`TOPUP_DAILY_LIMIT_WON`), which the seeding top-ups stay under.
pub const DAILY_LIMIT_WON: i64 = 1_000_000;

/// The mission rules of the tests: the defaults, objections off.
pub fn rules() -> MissionRules {
    MissionRules {
        min_duration_seconds: 60,
        max_duration_seconds: 7 * 24 * 3600,
        default_accept_seconds: 3600,
        pledge_min_won: 1_000,
        pledge_max_won: 3_000_000,
        prediction_window_seconds: 3600,
        objection_window_seconds: 0,
        objection_threshold_bps: 3_000,
        objection_min_backers: 2,
        pledge_withdrawals_per_day: 5,
        goals: Default::default(),
        proposals: missionlink_ledger::channel::ProposalRules {
            cooldown_seconds: 300,
            rejections_ban: 5,
        },
    }
}

pub fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::parse(k).expect("key")
}

/// The audit finds nothing wrong.
pub async fn assert_audit_clean(db: &Databases) {
    let violations = audit::run(&db.missions).await.expect("audit");
    assert!(violations.is_empty(), "{violations:?}");
}
