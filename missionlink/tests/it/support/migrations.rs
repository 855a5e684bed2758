//! What the migration tests share: a users database at an earlier version, the same few users
//! in it, and rows read back as text to compare before and after.

use sea_orm::{ConnectionTrait, DatabaseConnection};

/// When the seeded rows were made, as both backends read it.
pub const SEEDED_AT: &str = "'2026-11-01 10:00:00+00:00'";

/// Every user's columns a migration must keep.
pub const USERS: &str =
    "SELECT id, email, handle, role, locale, password_hash FROM users ORDER BY id";

/// The users database at `url`, migrated up to migration number `version`.
pub async fn users_at(url: &str, version: u32) -> DatabaseConnection {
    use missionlink_migration::Migrate as _;
    let db = missionlink_api::db::connect(url).await.expect("connect");
    missionlink_migration::users::Migrator::up(&db, Some(version))
        .await
        .unwrap_or_else(|e| panic!("migrate to {version}: {e}"));
    db
}

/// The missions database at `url`, migrated up to migration number `version`.
pub async fn missions_at(url: &str, version: u32) -> DatabaseConnection {
    use missionlink_migration::Migrate as _;
    let db = missionlink_api::db::connect(url).await.expect("connect");
    missionlink_migration::missions::Migrator::up(&db, Some(version))
        .await
        .unwrap_or_else(|e| panic!("migrate to {version}: {e}"));
    db
}

/// A viewer `u1` (Alice, ko) and a streamer `u2` (bob, en), and with `operator` an operator `u3`.
pub async fn seed_users(db: &DatabaseConnection, operator: bool) {
    let now = SEEDED_AT;
    let mut values = vec![
        format!("('u1', 'a@example.com', 'Alice', 'alice', 'Alice', 'VIEWER', 'ko', 'h1', {now})"),
        format!("('u2', 'b@example.com', 'bob', 'bob', 'Bob', 'STREAMER', 'en', 'h2', {now})"),
    ];
    if operator {
        values.push(format!(
            "('u3', 'c@example.com', 'ops', 'ops', 'Ops', 'OPERATOR', 'en', 'h3', {now})"
        ));
    }
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, \
         password_hash, created_at) VALUES {}",
        values.join(", ")
    ))
    .await
    .expect("seed the users");
}

/// The rows `sql` reads, each as its JSON text (every column by name, so a comparison of two
/// reads compares their values on both backends).
pub async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    use sea_orm::FromQueryResult as _;
    sea_orm::JsonValue::find_by_statement(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .all(db)
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .iter()
    .map(ToString::to_string)
    .collect()
}
