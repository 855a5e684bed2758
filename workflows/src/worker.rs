//! The Temporal worker process: polls MissionLink's task queue and runs its workflows and
//! activities until asked to stop.

use crate::audit::{LedgerActivities, LedgerAuditWorkflow};
use crate::temporal::{TemporalConfig, connect};
use sea_orm::DatabaseConnection;
use std::future::Future;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// What the worker's activities need.
pub struct WorkerDeps {
    pub missions_db: DatabaseConnection,
}

/// Connects to Temporal and runs the worker until `shutdown` resolves, then drains in-flight
/// tasks and returns.
pub async fn run(
    config: &TemporalConfig,
    deps: WorkerDeps,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let identity = format!("missionlink-worker@{}", std::process::id());
    let client = connect(config, &identity).await?;
    let options = WorkerOptions::new(config.task_queue.clone())
        .register_workflow::<LedgerAuditWorkflow>()?
        .register_activities(LedgerActivities {
            missions_db: deps.missions_db,
        })
        .build();
    let mut worker = Worker::new(&runtime, client, options)?;
    let stop = worker.shutdown_handle();
    tracing::info!(task_queue = %config.task_queue, "Temporal worker started");
    let run = worker.run();
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => result?,
        () = shutdown => {
            tracing::info!("Temporal worker shutting down");
            stop();
            run.await?;
        }
    }
    Ok(())
}
