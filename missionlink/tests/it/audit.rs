//! `missionlink audit` and the database's own guards on the ledger.

use crate::support::{TestApp, TestDatabases};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

async fn busy_app() -> TestApp {
    let app = TestApp::spawn().await;
    let users: Vec<_> =
        futures::future::join_all((0..10).map(|i| app.register_owned(format!("busy{i}")))).await;
    let app_ref = &app;
    let top_ups = users
        .iter()
        .flat_map(|u| (0..5).map(move |k| (u, k)))
        .map(|(u, k)| async move { app_ref.top_up(u, 1_000 * (k + 1), &format!("t{k}")).await });
    for r in futures::future::join_all(top_ups).await {
        r.data("topUp");
    }
    app
}

#[tokio::test]
async fn the_audit_passes_on_a_busy_ledger() {
    let app = busy_app().await;
    let out = app.audit().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "audit failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("audit clean"), "{stdout}");
}

#[tokio::test]
async fn the_audit_fails_and_names_the_account_when_a_balance_is_corrupted() {
    let app = busy_app().await;
    let victim = app.register("victim").await;
    app.top_up(&victim, 10_000, "real").await.data("topUp");
    // Someone edits a balance behind the ledger's back: money appears from nowhere.
    let account = format!("wallet:CASH:{}", victim.user_id);
    app.db
        .missions
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("UPDATE accounts SET balance = balance + 500 WHERE id = '{account}'"),
        ))
        .await
        .expect("corrupt");
    let out = app.audit().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let violations: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("VIOLATION"))
        .collect();
    assert!(violations.iter().any(|l| l.contains(&account)), "{stdout}");
    assert!(
        violations.iter().any(|l| l.contains("CASH")),
        "the currency no longer balances: {stdout}"
    );
}

#[tokio::test]
async fn the_database_refuses_a_negative_wallet_even_from_raw_sql() {
    let app = TestApp::spawn().await;
    let viewer = app.register("floor").await;
    let r = app
        .db
        .missions
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "UPDATE accounts SET balance = -1 WHERE id = 'wallet:CASH:{}'",
                viewer.user_id
            ),
        ))
        .await;
    assert!(r.is_err(), "a wallet went below zero");
}

#[tokio::test]
async fn transfers_cannot_be_edited_or_deleted() {
    let app = TestApp::spawn().await;
    let viewer = app.register("immutable").await;
    app.top_up(&viewer, 5_000, "k").await.data("topUp");
    for sql in [
        "UPDATE transfers SET amount = amount + 1",
        "DELETE FROM transfers",
    ] {
        let r = app
            .db
            .missions
            .execute_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
            .await;
        assert!(r.is_err(), "{sql} succeeded");
    }
}

#[tokio::test]
async fn transfer_ids_are_unique_so_a_retried_transfer_cannot_land_twice() {
    let app = TestApp::spawn().await;
    let viewer = app.register("unique").await;
    app.top_up(&viewer, 5_000, "k").await.data("topUp");
    let copy = "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at,
          debit_balance_after, credit_balance_after)
        SELECT id, debit_account_id, credit_account_id, currency, amount, kind, created_at,
          debit_balance_after, credit_balance_after FROM transfers LIMIT 1";
    let r = app
        .db
        .missions
        .execute_raw(Statement::from_string(DbBackend::Postgres, copy.to_owned()))
        .await;
    assert!(r.is_err(), "a duplicate transfer id was accepted");
}

#[tokio::test]
async fn points_can_never_move_into_a_cash_account() {
    let app = TestApp::spawn().await;
    let viewer = app.register("gambler").await;
    let sql = format!(
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at,
           debit_balance_after, credit_balance_after)
         VALUES ('sneaky', 'wallet:POINTS:{u}', 'wallet:CASH:{u}', 'CASH', 100, 'TOPUP', now(), 0, 100)",
        u = viewer.user_id
    );
    let r = app
        .db
        .missions
        .execute_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await;
    assert!(r.is_err(), "a points account took part in a cash transfer");
}

/// Postgres no longer checks the pledge path's foreign keys row by row (missions migration
/// 000023): the audit names any pledge, event or transfer naming something that is not there.
#[tokio::test]
async fn the_audit_names_rows_that_name_what_is_not_there() {
    let app = busy_app().await;
    for sql in [
        "INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at) \
         VALUES ('lost-pledge', 'no-such-mission', 'x', 1000, 'HELD', now())",
        "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at) \
         VALUES ('lost-streamer', 1, 'no-such-mission', 'PLEDGED', 'no-such-pledge', now())",
    ] {
        app.db
            .missions
            .execute_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
            .await
            .expect(sql);
    }
    let out = app.audit().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for orphan in [
        "pledge lost-pledge backs mission no-such-mission",
        "event 1 of streamer lost-streamer names mission no-such-mission",
        "names pledge no-such-pledge",
    ] {
        assert!(stdout.contains(orphan), "{orphan}: {stdout}");
    }
}

/// `missionlink audit` run where there is no database: it creates none, and exits 2 (not 1, a
/// violation's code) saying where it looked; on a database without MissionLink's tables, 2
/// too; on a migrated SQLite instance it says what it read and which checks it made, exits 0,
/// and logs nothing about isolation levels (SQLite has none to set).
#[tokio::test]
async fn the_audit_creates_no_database_and_tells_a_missing_one_from_a_violation() {
    let run = |dir: &std::path::Path, url: Option<&str>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"));
        command.arg("audit").env_clear().current_dir(dir);
        if let Some(url) = url {
            command.env("MISSIONS_DATABASE_URL", url);
        }
        command.output()
    };
    let elsewhere = tempfile::tempdir().expect("dir");
    let out = run(elsewhere.path(), None).await.expect("run audit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no missions database at sqlite://data/missions.db"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).expect("list").count(),
        0,
        "the audit created something"
    );

    let empty = TestDatabases::postgres_empty().await;
    let out = run(elsewhere.path(), Some(&empty.missions_url))
        .await
        .expect("run audit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a migrated MissionLink"), "{stderr}");

    let dbs = TestDatabases::sqlite();
    missionlink_api::db::Databases::connect(&dbs.users_url, &dbs.missions_url)
        .await
        .expect("connect")
        .migrate()
        .await
        .expect("migrate");
    let out = run(elsewhere.path(), Some(&dbs.missions_url))
        .await
        .expect("run audit");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("transfers") && stdout.contains("accounts"),
        "{stdout}"
    );
    assert!(
        stdout.contains("checks (18): transfer_shape, points_apart, orphan"),
        "{stdout}"
    );
    assert!(stdout.contains("audit clean"), "{stdout}");
    assert!(
        !format!("{stdout}{stderr}")
            .to_lowercase()
            .contains("isolation"),
        "{stdout}{stderr}"
    );
}
