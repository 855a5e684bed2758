//! The ledger audit as a Temporal workflow, so operators can run it from the Temporal UI or a
//! schedule and read each finding in the workflow's result, beside `missionlink audit`.

use missionlink_ledger::audit;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

/// Activities that read the missions database.
pub struct LedgerActivities {
    pub missions_db: DatabaseConnection,
}

#[activities]
impl LedgerActivities {
    /// Runs every money-invariant check; returns one line per violation (empty = clean).
    /// Read-only, so any number of retries is harmless.
    #[activity(name = "AuditLedger")]
    pub async fn audit_ledger(
        self: Arc<Self>,
        _ctx: ActivityContext,
        _input: (),
    ) -> Result<Vec<String>, ActivityError> {
        let violations = audit::run(&self.missions_db)
            .await
            .map_err(|e| ActivityError::from(anyhow::anyhow!(e)))?;
        Ok(violations.iter().map(ToString::to_string).collect())
    }
}

/// `LedgerAudit`: one activity, its findings as the result.
#[workflow]
#[derive(Default)]
pub struct LedgerAuditWorkflow;

#[workflow_methods]
impl LedgerAuditWorkflow {
    #[run(name = "LedgerAudit")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, _input: ()) -> WorkflowResult<Vec<String>> {
        let findings = ctx
            .execute_activity(
                LedgerActivities::audit_ledger,
                (),
                ActivityOptions::with_start_to_close_timeout(Duration::from_secs(600)).build(),
            )
            .await?;
        Ok(findings)
    }
}

/// Starts a `LedgerAudit` workflow with id `workflow_id` on `task_queue` and waits for its
/// findings (empty = clean). A running worker must poll that queue.
pub async fn run_through_temporal(
    client: &temporalio_client::Client,
    task_queue: &str,
    workflow_id: &str,
) -> anyhow::Result<Vec<String>> {
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
    let handle = client
        .start_workflow(
            LedgerAuditWorkflow::run,
            (),
            WorkflowStartOptions::new(task_queue, workflow_id).build(),
        )
        .await?;
    Ok(handle
        .get_result(WorkflowGetResultOptions::default())
        .await?)
}
