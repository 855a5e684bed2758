//! What every ledger test opens: both databases of a [`TestDatabases`], as the app opens them.

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
