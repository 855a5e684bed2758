//! Dashboards and alerts against a real Prometheus scraping a running MissionLink: every PromQL
//! expression is valid, every panel returns data, and no expression names a metric the code
//! does not export.

use crate::support::{Mailbox, SES_SENDER, TestApp, free_port};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `expr` of every panel of every dashboard, with the panel's title.
fn dashboard_queries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in ["missionlink-business.json", "missionlink-system.json"] {
        let text =
            std::fs::read_to_string(root().join("dashboards").join(name)).expect("dashboard");
        let dashboard: Value = serde_json::from_str(&text).expect("dashboard JSON");
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                out.push((
                    format!("{name}: {}", panel["title"].as_str().unwrap_or_default()),
                    target["expr"].as_str().expect("expr").to_owned(),
                ));
            }
        }
    }
    out
}

/// The metric names an expression mentions (`missionlink_*`, `temporal_*`).
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.starts_with("missionlink_") || t.starts_with("temporal_"))
        .map(str::to_owned)
        .collect()
}

async fn query(http: &reqwest::Client, prometheus: &str, expr: &str) -> Value {
    http.get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_and_alert_query_is_valid_against_live_metrics() {
    let app = TestApp::with_temporal(&[]).await;
    let sdk_metrics: std::net::SocketAddr =
        format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let outbox = tempfile::tempdir().expect("dir");
    let mailer = missionlink_workflows::email::Mailer::file(outbox.path(), SES_SENDER);
    let worker = app
        .start_worker_exporting(outbox, Mailbox::Files, mailer, Some(sdk_metrics))
        .await;

    // Play a mission with a bet to the end, so every kind of metric has moved.
    let streamer = app.register_as("observed", "STREAMER").await;
    let fan = app.register("watcher").await;
    app.top_up(&fan, 50_000, "t").await.data("topUp");
    let id = app.new_mission(&fan, &streamer.user_id, 10_000).await;
    app.contribute(&fan, &id, 5_000, "c")
        .await
        .data("contribute");
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    app.gql(
        Some(&fan.access),
        "mutation($m: ID!) { placeBet(missionId: $m, outcome: SUCCESS, points: 100, idempotencyKey: \"b\") { id } }",
        json!({ "m": id }),
    )
    .await
    .data("placeBet");
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    app.wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // A real Prometheus, scraping the API and the SDK exporter every second.
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\nrule_files: [\"{}\"]\nscrape_configs:\n  - job_name: missionlink\n    static_configs: [{{ targets: [\"{}\"] }}]\n  - job_name: temporal-sdk\n    static_configs: [{{ targets: [\"{}\"] }}]\n",
            root().join("dashboards/alerts.yml").display(),
            app.addr,
            sdk_metrics
        ),
    )
    .expect("config");
    let port = free_port();
    let bin = PathBuf::from(
        std::env::var("TEST_PROMETHEUS_BIN")
            .expect("TEST_PROMETHEUS_BIN is not set: run the tests with scripts/test"),
    );
    let mut prometheus = tokio::process::Command::new(bin.join("prometheus"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        // Not listening yet is fine: Prometheus takes a moment to start.
        let up: Option<Value> = match http
            .get(format!("{base}/api/v1/query"))
            .query(&[("query", "sum(up)")])
            .send()
            .await
        {
            Ok(r) => r
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v.get("data").cloned()),
            Err(_) => None,
        };
        if up
            .as_ref()
            .and_then(|d| d["result"][0]["value"][1].as_str())
            == Some("2")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Prometheus never scraped both targets: {up:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A few more scrapes, so that every rate() has two samples.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let exported = {
        let ours = http
            .get(format!("http://{}/metrics", app.addr))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let sdk = http
            .get(format!("http://{sdk_metrics}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        ours + &sdk
    };
    let exports = |name: &str| {
        exported
            .lines()
            .any(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
    };

    let mut problems = Vec::new();
    for (panel, expr) in dashboard_queries() {
        for name in metric_names(&expr) {
            if !exports(&name) {
                problems.push(format!("{panel}: `{name}` is not exported"));
            }
        }
        let answer = query(&http, &base, &expr).await;
        if answer["status"] != "success" {
            problems.push(format!("{panel}: `{expr}` is invalid: {answer}"));
        } else if answer["data"]["result"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            problems.push(format!("{panel}: `{expr}` returned no data"));
        }
    }

    let rules: Value = http
        .get(format!("{base}/api/v1/rules"))
        .send()
        .await
        .expect("rules")
        .json()
        .await
        .expect("json");
    let rules: Vec<Value> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(rules.len(), 13, "every alert rule is loaded");
    for rule in &rules {
        let expr = rule["query"].as_str().expect("rule query");
        for name in metric_names(expr) {
            if !exports(&name) {
                problems.push(format!("alert {}: `{name}` is not exported", rule["name"]));
            }
        }
        let answer = query(&http, &base, expr).await;
        if answer["status"] != "success" || rule["health"] == "err" {
            problems.push(format!(
                "alert {}: `{expr}`: {answer} / {}",
                rule["name"], rule["lastError"]
            ));
        }
        assert_ne!(
            rule["state"], "firing",
            "alert {} fires on a healthy system",
            rule["name"]
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
    prometheus.start_kill().ok();
    worker.stop().await;
}
