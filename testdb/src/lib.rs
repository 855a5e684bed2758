//! Fresh databases for tests, shared by the test binaries (`missionlink/tests/it`,
//! `ledger/tests/it`): a users and a missions database of a test's own, on PostgreSQL (copies of
//! two template databases this process migrates once) or as SQLite files.
//!
//! `TEST_POSTGRES_URL` names the server (default `postgres://postgres@127.0.0.1:5432`) and
//! `TEST_DB_PREFIX` how this run's databases are named (default `ml_test`); `scripts/test` sets
//! both, and drops its run's databases when the run ends.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr};

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Brings both databases to the schema the app runs on, as its start-up does
/// (`Databases::migrate`): every migration, then the system's own ledger accounts. Idempotent.
pub async fn migrate(
    users: &DatabaseConnection,
    missions: &DatabaseConnection,
) -> Result<(), DbErr> {
    use missionlink_ledger::account;
    missionlink_migration::migrate_all(users, missions).await?;
    account::open(missions, &account::system_accounts())
        .await
        .map_err(|e| DbErr::Custom(format!("opening system accounts: {e}")))
}

/// A users and a missions database of this test's own, removed when dropped.
pub struct TestDatabases {
    pub users_url: String,
    pub missions_url: String,
    postgres_names: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

/// How this run's test databases are named: `TEST_DB_PREFIX` (scripts/test sets one per run, and
/// drops that run's databases when it ends), else `ml_test`.
fn db_prefix() -> String {
    let prefix = std::env::var("TEST_DB_PREFIX").unwrap_or_else(|_| "ml_test".to_owned());
    assert!(
        !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "TEST_DB_PREFIX must be lowercase letters, digits and _: {prefix:?}"
    );
    prefix
}

/// The two template databases of this test process, migrated once: each test's databases are
/// copies (`CREATE DATABASE ... TEMPLATE`), which is much faster than migrating two databases
/// per test. Named under [`db_prefix`] like the rest, so scripts/test's clean-up removes them.
async fn templates() -> &'static [String; 2] {
    static TEMPLATES: tokio::sync::OnceCell<[String; 2]> = tokio::sync::OnceCell::const_new();
    TEMPLATES
        .get_or_init(|| async {
            // Built on a runtime of its own: the first test's runtime ends with that test, and
            // the pools opened here must not outlive theirs.
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(migrated_templates())
            })
            .join()
            .expect("template thread")
        })
        .await
}

async fn migrated_templates() -> [String; 2] {
    let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
        .await
        .expect("connect to the test Postgres");
    let stem = format!("{}_tpl_{}", db_prefix(), uuid::Uuid::new_v4().simple());
    let names = [format!("{stem}_users"), format!("{stem}_missions")];
    for name in &names {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create template database");
    }
    let url = |name: &str| format!("{}/{name}", postgres_admin_url());
    let users = Database::connect(url(&names[0]))
        .await
        .expect("connect to the users template");
    let missions = Database::connect(url(&names[1]))
        .await
        .expect("connect to the missions template");
    migrate(&users, &missions)
        .await
        .expect("migrate the templates");
    users.close().await.ok();
    missions.close().await.ok();
    admin.close().await.ok();
    names
}

/// Serialises copies of the templates: a template being copied must have no other session.
static COPYING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl TestDatabases {
    /// Two fresh Postgres databases, migrated (copies of this process's templates).
    pub async fn postgres() -> Self {
        Self::create(Some(templates().await)).await
    }

    /// Two fresh, empty Postgres databases, for tests of migrating itself.
    pub async fn postgres_empty() -> Self {
        Self::create(None).await
    }

    async fn create(templates: Option<&[String; 2]>) -> Self {
        let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
            .await
            .expect("connect to the test Postgres");
        let stem = format!("{}_{}", db_prefix(), uuid::Uuid::new_v4().simple());
        let names = vec![format!("{stem}_users"), format!("{stem}_missions")];
        {
            let _one_at_a_time = COPYING.lock().await;
            for (i, name) in names.iter().enumerate() {
                let template = templates
                    .map(|t| format!(" TEMPLATE \"{}\"", t[i]))
                    .unwrap_or_default();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\"{template}"))
                    .await
                    .expect("create test database");
            }
        }
        admin.close().await.ok();
        Self {
            users_url: format!("{}/{}", postgres_admin_url(), names[0]),
            missions_url: format!("{}/{}", postgres_admin_url(), names[1]),
            postgres_names: names,
            _dir: None,
        }
    }

    /// The same databases, without ownership: dropping the copy removes nothing.
    pub fn shared(&self) -> Self {
        Self {
            users_url: self.users_url.clone(),
            missions_url: self.missions_url.clone(),
            postgres_names: Vec::new(),
            _dir: None,
        }
    }

    /// Two fresh SQLite files in a temporary directory, as `missionlink` uses by default.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = |name: &str| format!("sqlite://{}/{name}.db?mode=rwc", dir.path().display());
        Self {
            users_url: url("users"),
            missions_url: url("missions"),
            postgres_names: Vec::new(),
            _dir: Some(dir),
        }
    }
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        if self.postgres_names.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.postgres_names);
        // Drop runs inside the test's runtime; a separate thread with its own runtime may block.
        let dropper = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let admin = Database::connect(format!("{}/postgres", postgres_admin_url())).await?;
                for name in names {
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await?;
                }
                admin.close().await
            })
            .map_err(std::io::Error::other)
        });
        if let Ok(Err(e)) = dropper.join() {
            eprintln!("could not drop test databases: {e}");
        }
    }
}
