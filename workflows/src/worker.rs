//! The Temporal worker process: polls MissionLink's task queue and runs its workflows and
//! activities, plus the outbox relay, until asked to stop.

use crate::audit::{LedgerActivities, LedgerAuditWorkflow};
use crate::email::Mailer;
use crate::mission::{MissionActivities, MissionWorkflow, SettlementSettings};
use crate::outbox;
use crate::temporal::{TemporalConfig, connect};
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::sync::Arc;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// What the worker's activities need.
pub struct WorkerDeps {
    pub missions_db: DatabaseConnection,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub settlement: SettlementSettings,
}

/// Connects to Temporal and runs the worker and the outbox relay until `shutdown` resolves,
/// then drains in-flight tasks and returns.
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
        .register_workflow::<MissionWorkflow>()?
        .register_activities(LedgerActivities {
            missions_db: deps.missions_db.clone(),
        })
        .register_activities(MissionActivities {
            missions_db: deps.missions_db.clone(),
            users_db: deps.users_db,
            mailer: deps.mailer,
            settings: deps.settlement,
        })
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), options)?;
    let stop = worker.shutdown_handle();
    tracing::info!(task_queue = %config.task_queue, "Temporal worker started");
    let (relay_stop, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(outbox::run_relay(
        deps.missions_db,
        client,
        config.task_queue.clone(),
        async {
            relay_stopped.await.ok();
        },
    ));
    let run = worker.run();
    tokio::pin!(run);
    let result = tokio::select! {
        result = &mut run => result,
        () = shutdown => {
            tracing::info!("Temporal worker shutting down");
            stop();
            run.await
        }
    };
    relay_stop.send(()).ok();
    relay.await.ok();
    result?;
    Ok(())
}
