//! What every ledger test opens: both databases of a [`TestDatabases`], as the app opens them.

use missionlink_ledger::audit;
use missionlink_ledger::batch::PledgeRequest;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::mission::MissionRules;
use missionlink_ledger::mission::{self, NewMission};
use missionlink_ledger::wallet;
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

/// A user with `won` in their cash wallet and their signup points.
pub async fn user(db: &Databases, name: &str, won: i64) -> String {
    let id = format!("{name}-{}", uuid::Uuid::new_v4().simple());
    wallet::open_user(&db.missions, &id, 10_000)
        .await
        .expect("open");
    if won > 0 {
        wallet::top_up(&db.missions, &id, won, &key("seed"), DAILY_LIMIT_WON)
            .await
            .expect("top up");
    }
    id
}

/// A PENDING mission of `streamer` created by `creator` with a first pledge of `won`.
pub async fn new_mission(db: &Databases, creator: &str, streamer: &str, won: i64) -> String {
    mission::create(
        &db.missions,
        &rules(),
        &NewMission {
            creator_id: creator.to_owned(),
            streamer_id: streamer.to_owned(),
            title: "Speedrun".into(),
            description: None,
            amount_won: won,
            duration_seconds: 3600,
            accept_within_seconds: None,
            message: None,
        },
        &key(&format!("create-{}", uuid::Uuid::new_v4())),
    )
    .await
    .expect("create")
    .into_inner()
    .id
}

pub fn pledge(mission_id: &str, backer: &str, won: i64, k: &str) -> PledgeRequest {
    PledgeRequest {
        mission_id: mission_id.to_owned(),
        backer_id: backer.to_owned(),
        amount_won: won,
        key: key(k),
        note: Default::default(),
    }
}
