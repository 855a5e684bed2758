//! Opening and migrating the two databases.

use anyhow::Context;
use missionlink_ledger::account;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::time::Duration;

/// Both database handles. Nothing ever joins across them.
#[derive(Clone, Debug)]
pub struct Databases {
    pub users: DatabaseConnection,
    pub missions: DatabaseConnection,
}

impl Databases {
    pub async fn connect(users_url: &str, missions_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            users: connect(users_url).await.context("users database")?,
            missions: connect(missions_url).await.context("missions database")?,
        })
    }

    /// Applies both migrators, then opens the system's own ledger accounts. Idempotent.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        missionlink_migration::migrate_all(&self.users, &self.missions)
            .await
            .context("applying migrations")?;
        account::open(&self.missions, &account::system_accounts())
            .await
            .context("opening system accounts")?;
        Ok(())
    }
}

/// How long a pooled connection may sit idle before it is pinged on its next checkout.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// Opens a pool. For SQLite, creates the file's directory, and uses WAL with a busy timeout so
/// that concurrent writers wait their turn instead of failing.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(20)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // No ping on every checkout (a round trip per transaction): only a connection idle
        // long enough to have been dropped by the server or a proxy is pinged first.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))
}

/// Opens a database that must already exist, creating nothing (`missionlink audit`): `Ok(None)`
/// for a SQLite file that is not there (its directory neither). SQLite is opened `mode=rw`, never
/// `rwc`.
pub async fn connect_existing(url: &str) -> anyhow::Result<Option<DatabaseConnection>> {
    let url = match sqlite_path(url) {
        Some(path) if !std::path::Path::new(path).is_file() => return Ok(None),
        Some(path) => format!("sqlite://{path}?mode=rw"),
        None => url.to_owned(),
    };
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(2)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .map(Some)
        .with_context(|| format!("connecting to {}", redact(&url)))
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("sqlite://data/x.db?mode=rwc"),
            "sqlite://data/x.db?mode=rwc"
        );
    }

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_path("sqlite://data/users.db?mode=rwc"),
            Some("data/users.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }
}
