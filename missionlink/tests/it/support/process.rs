//! The `missionlink` binary as processes of their own on a test app's databases: a worker,
//! `audit`, and `serve` (which a test may kill).

use super::{TEST_IDENTITY_HASH_KEY, TEST_JWT_SECRET, TestApp, free_port, temporal_address};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;

impl TestApp {
    /// Starts `missionlink worker` as a process of its own on this app's databases and task
    /// queue, against the real Temporal, with `env` on top; killed when dropped.
    pub fn spawn_worker_process(&self, env: &[(&str, &str)]) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .arg("worker")
            .env_clear()
            .envs(self.binary_env())
            .env("TEMPORAL_ADDRESS", temporal_address())
            .env("TEMPORAL_TASK_QUEUE", &self.config.temporal.task_queue)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn missionlink worker")
    }

    /// Runs `missionlink audit` on this app's databases.
    pub async fn audit(&self) -> std::process::Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .arg("audit")
            .env_clear()
            .envs(self.binary_env())
            .output()
            .await
            .expect("run missionlink audit")
    }

    /// Fails the test unless `missionlink audit` finds every invariant intact.
    pub async fn assert_audit_clean(&self) {
        let out = self.audit().await;
        assert!(
            out.status.success(),
            "audit failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Environment for running the `missionlink` binary against this app's databases.
    pub fn binary_env(&self) -> HashMap<String, String> {
        HashMap::from([
            ("USERS_DATABASE_URL".into(), self.dbs.users_url.clone()),
            (
                "MISSIONS_DATABASE_URL".into(),
                self.dbs.missions_url.clone(),
            ),
            ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
            ("IDENTITY_HASH_KEY".into(), TEST_IDENTITY_HASH_KEY.into()),
            ("RUST_LOG".into(), "warn".into()),
            ("WORKER_METRICS_ADDR".into(), "127.0.0.1:0".into()),
            // As `test_config`: a success settles at once unless a test is about the window.
            ("OBJECTION_WINDOW_SECONDS".into(), "0".into()),
        ])
    }
}

/// A `missionlink serve` process of its own on `app`'s databases (no Temporal: workflow starts
/// wait in the outbox), killed when dropped.
pub struct ServeProcess {
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    process: tokio::process::Child,
}

impl ServeProcess {
    /// On a free port.
    pub async fn start(app: &TestApp) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        Self::start_at(app, addr).await
    }

    /// On `addr` (a restart: the same address again).
    pub async fn start_at(app: &TestApp, addr: SocketAddr) -> Self {
        let process = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .arg("serve")
            .env_clear()
            .envs(app.binary_env())
            .env("HTTP_ADDR", addr.to_string())
            .env("TEMPORAL_ADDRESS", "http://127.0.0.1:1")
            .kill_on_drop(true)
            .spawn()
            .expect("start missionlink serve");
        let http = reqwest::Client::new();
        let base = format!("http://{addr}");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .map_or(true, |r| !r.status().is_success())
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "serve never came up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Self {
            addr,
            base,
            http,
            process,
        }
    }

    /// Posts one operation as `token`, failing the test on errors; its `data`.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("json");
        assert!(body["errors"].is_null(), "{body}");
        body["data"].clone()
    }

    /// Kills the process (SIGKILL: no graceful shutdown) and waits for it to be gone.
    pub async fn kill(mut self) {
        self.process.kill().await.expect("kill missionlink serve");
    }
}

/// Waits up to 45 seconds until the worker's metrics at `addr` (`WORKER_METRICS_ADDR`) show
/// every line of `expected`; panics with the lines containing `topic` if they never do.
pub async fn wait_for_metrics(http: &reqwest::Client, addr: &str, expected: &[&str], topic: &str) {
    let url = format!("http://{addr}/metrics");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let text = match http.get(&url).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if expected.iter().all(|e| text.lines().any(|l| l == *e)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never counted {expected:?}:\n{}",
            text.lines()
                .filter(|l| l.contains(topic))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
