//! Temporal, and the worker process that polls it: its task queue, its relay's patience, where
//! it serves metrics, how often it audits the ledger.

use crate::ConfigError;
use crate::http::socket_addr;
use crate::var::{Env, Var};
use missionlink_workflows::TemporalConfig;
use std::net::SocketAddr;
use std::time::Duration;

pub const TEMPORAL_ADDRESS: Var = Var::text(
    "TEMPORAL_ADDRESS",
    "http://127.0.0.1:7233",
    "Temporal frontend",
);

pub const TEMPORAL_NAMESPACE: Var =
    Var::text("TEMPORAL_NAMESPACE", "default", "Temporal namespace");

pub const TEMPORAL_TASK_QUEUE: Var =
    Var::text("TEMPORAL_TASK_QUEUE", "missions", "Temporal task queue");

pub const OUTBOX_RELAY_GRACE_SECONDS: Var = Var::int(
    "OUTBOX_RELAY_GRACE_SECONDS",
    3,
    1..=3_600,
    "how long a workflow start or `statusChanged` signal waits for the API's fast path \
     (right after its commit) before the worker's outbox relay, which looks every 2 s, \
     delivers it instead; 1 to 3600",
);

pub const AUDIT_INTERVAL_SECONDS: Var = Var::int(
    "AUDIT_INTERVAL_SECONDS",
    300,
    1..=86_400,
    "how often the worker audits the ledger into metrics",
);

pub const WORKER_METRICS_ADDR: Var = Var::text(
    "WORKER_METRICS_ADDR",
    "127.0.0.1:9464",
    "where `missionlink worker` serves `/metrics`",
);

pub const TEMPORAL_METRICS_ADDR: Var = Var::optional(
    "TEMPORAL_METRICS_ADDR",
    "off",
    "where the worker serves the Temporal SDK's metrics",
);

pub const WORKER_CACHED_WORKFLOWS: Var = Var::int(
    "WORKER_CACHED_WORKFLOWS",
    500,
    1..=100_000,
    "workflows the worker keeps in memory between their tasks (each about 70 KB); one \
     evicted replays its history at its next task",
);

pub const VARIABLES: &[Var] = &[
    TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE,
    TEMPORAL_TASK_QUEUE,
    OUTBOX_RELAY_GRACE_SECONDS,
    AUDIT_INTERVAL_SECONDS,
    WORKER_METRICS_ADDR,
    TEMPORAL_METRICS_ADDR,
    WORKER_CACHED_WORKFLOWS,
];

/// The worker process's own settings (the rest of what it needs comes from the other sections).
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// `AUDIT_INTERVAL_SECONDS`: how often the worker audits the ledger.
    pub audit_interval_seconds: u64,
    /// `WORKER_METRICS_ADDR`: where a standalone worker serves `/metrics`.
    pub metrics_addr: SocketAddr,
    /// `TEMPORAL_METRICS_ADDR`: where the worker serves the Temporal SDK's metrics, if anywhere.
    pub temporal_metrics_addr: Option<SocketAddr>,
    /// `WORKER_CACHED_WORKFLOWS`: workflows kept in memory between their tasks.
    pub cached_workflows: usize,
}

pub(crate) fn read(env: &Env) -> Result<TemporalConfig, ConfigError> {
    Ok(TemporalConfig {
        address: env.text(&TEMPORAL_ADDRESS),
        namespace: env.text(&TEMPORAL_NAMESPACE),
        task_queue: env.text(&TEMPORAL_TASK_QUEUE),
        outbox_relay_grace: Duration::from_secs(env.int(&OUTBOX_RELAY_GRACE_SECONDS)?),
    })
}

pub(crate) fn read_worker(env: &Env) -> Result<WorkerConfig, ConfigError> {
    Ok(WorkerConfig {
        audit_interval_seconds: env.int(&AUDIT_INTERVAL_SECONDS)?,
        metrics_addr: env.parse(&WORKER_METRICS_ADDR, socket_addr)?,
        temporal_metrics_addr: env.optional(&TEMPORAL_METRICS_ADDR, socket_addr)?,
        cached_workflows: env.int(&WORKER_CACHED_WORKFLOWS)?,
    })
}
