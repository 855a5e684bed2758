//! What operators touch: health, readiness, metrics, GraphiQL, and the binary's subcommands.

use crate::support::{TestApp, TestDatabases, temporal_address};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn healthz_answers_and_graphiql_is_served() {
    let app = TestApp::spawn().await;
    let health = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let page = app
        .http
        .get(app.url("/graphql"))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("graphql/assets/graphiql.min.js") && html.contains("'/ws'"),
        "{html}"
    );
}

#[tokio::test]
async fn readyz_is_ready_only_when_temporal_answers() {
    let down = TestApp::spawn().await;
    let r = down
        .http
        .get(down.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(
        body["problems"][0]
            .as_str()
            .unwrap_or_default()
            .contains("emporal"),
        "{body}"
    );

    let up = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("TEMPORAL_ADDRESS", &temporal_address())],
    )
    .await;
    let r = up.http.get(up.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test]
async fn metrics_count_graphql_operations_by_field_and_code() {
    let app = TestApp::spawn().await;
    app.register("metered").await;
    app.gql(None, "{ me { id } }", json!({})).await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.lines()
            .any(|l| l.starts_with("missionlink_graphql_requests_total")
                && l.contains("operation=\"register\"")
                && l.contains("code=\"OK\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("missionlink_graphql_requests_total")
                && l.contains("operation=\"me\"")
                && l.contains("code=\"UNAUTHENTICATED\"")),
        "{text}"
    );
    assert!(
        text.contains("missionlink_graphql_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn migrate_applies_to_both_databases_and_is_idempotent() {
    let dbs = TestDatabases::postgres_empty().await;
    for _ in 0..2 {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .arg("migrate")
            .env_clear()
            .env("USERS_DATABASE_URL", &dbs.users_url)
            .env("MISSIONS_DATABASE_URL", &dbs.missions_url)
            .output()
            .await
            .expect("run migrate");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn production_refuses_to_start_without_a_jwt_secret() {
    let dbs = TestDatabases::sqlite();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
        .arg("serve")
        .env_clear()
        .env("APP_ENV", "production")
        .env("USERS_DATABASE_URL", &dbs.users_url)
        .env("MISSIONS_DATABASE_URL", &dbs.missions_url)
        .output()
        .await
        .expect("run serve");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
}

#[tokio::test]
async fn every_subcommand_documents_itself_and_the_environment() {
    for sub in ["migrate", "serve", "worker", "all", "audit"] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .args([sub, "--help"])
            .output()
            .await
            .expect("help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{sub} --help");
        assert!(
            text.contains("MISSIONS_DATABASE_URL") && text.contains("TEMPORAL_ADDRESS"),
            "{text}"
        );
    }
}

/// `missionlink worker` polls the task queue: a `LedgerAudit` workflow started through Temporal
/// runs on it and reports a clean ledger.
#[tokio::test]
async fn the_worker_runs_the_ledger_audit_workflow_from_temporal() {
    let app = TestApp::spawn().await;
    let viewer = app.register("audited").await;
    app.top_up(&viewer, 12_000, "k").await.data("topUp");
    let queue = app.config.temporal.task_queue.clone();
    let mut worker = app.spawn_worker_process(&[]);

    let config = missionlink_workflows::TemporalConfig {
        address: temporal_address(),
        namespace: "default".into(),
        task_queue: queue.clone(),
        outbox_relay_grace: std::time::Duration::from_secs(3),
    };
    let client = missionlink_workflows::temporal::connect(&config, "test")
        .await
        .expect("client");
    let findings = tokio::time::timeout(
        Duration::from_secs(60),
        missionlink_workflows::audit::run_through_temporal(
            &client,
            &queue,
            &format!("audit-{queue}"),
        ),
    )
    .await
    .expect("the workflow finished within a minute")
    .expect("workflow result");
    assert!(findings.is_empty(), "{findings:?}");
    worker.start_kill().ok();
    worker.wait().await.ok();
}
