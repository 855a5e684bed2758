//! Starting each payout's workflow exactly once after its request commits. The API calls
//! [`deliver`] right after the commit (the fast path); the worker's relay calls [`relay_once`]
//! for payouts whose `workflow_started_at` is still empty after the grace (the API died,
//! Temporal was down). Starting is idempotent by workflow id (`payout-<id>`, `RejectDuplicate`).

use super::payload::PayoutInput;
use super::workflow::PayoutWorkflow;
use chrono::Utc;
use missionlink_ledger::payout;
use sea_orm::DatabaseConnection;
use std::time::Duration;
use temporalio_client::errors::{WorkflowInteractionError, WorkflowStartError};
use temporalio_client::{
    Client, WorkflowIdReusePolicy, WorkflowSignalOptions, WorkflowStartOptions,
};

/// Payouts started per relay pass.
pub const RELAY_BATCH: u64 = 200;

/// Starts the payout's workflow; an already started (or finished) one counts as success.
pub async fn start(client: &Client, task_queue: &str, payout_id: &str) -> anyhow::Result<()> {
    let options = WorkflowStartOptions::new(task_queue.to_owned(), payout::workflow_id(payout_id))
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .build();
    let input = PayoutInput {
        payout_id: payout_id.to_owned(),
    };
    match client
        .start_workflow(PayoutWorkflow::run, input, options)
        .await
    {
        Ok(_) | Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Starts the workflow and records that it is started.
pub async fn deliver(
    db: &DatabaseConnection,
    client: &Client,
    task_queue: &str,
    payout_id: &str,
) -> anyhow::Result<()> {
    start(client, task_queue, payout_id).await?;
    payout::mark_workflow_started(db, payout_id).await?;
    Ok(())
}

/// Tells the workflow its payout was cancelled (already committed). Best effort: a workflow
/// that missed it reads CANCELLED when its hold ends; a finished one needs no telling.
pub async fn signal_cancelled(client: &Client, payout_id: &str) -> anyhow::Result<()> {
    let sent = client
        .get_workflow_handle::<PayoutWorkflow>(payout::workflow_id(payout_id))
        .signal(
            PayoutWorkflow::cancelled,
            (),
            WorkflowSignalOptions::default(),
        )
        .await;
    match sent {
        Ok(()) | Err(WorkflowInteractionError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Tells the workflow an operator held, released or cancelled its payout (already committed).
/// Best effort: a held workflow reads its row again within `HELD_RECHECK` anyway, and one
/// waiting out the hold reads it when the hold ends.
pub async fn signal_reviewed(client: &Client, payout_id: &str) -> anyhow::Result<()> {
    let sent = client
        .get_workflow_handle::<PayoutWorkflow>(payout::workflow_id(payout_id))
        .signal(
            PayoutWorkflow::reviewed,
            (),
            WorkflowSignalOptions::default(),
        )
        .await;
    match sent {
        Ok(()) | Err(WorkflowInteractionError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// One relay pass: starts the workflow of every payout the fast path left for longer than
/// `grace`. Returns how many it started.
pub async fn relay_once(
    db: &DatabaseConnection,
    client: &Client,
    task_queue: &str,
    grace: Duration,
) -> anyhow::Result<usize> {
    let cutoff = Utc::now() - chrono::Duration::from_std(grace)?;
    let due = payout::unstarted(db, cutoff, RELAY_BATCH).await?;
    let mut delivered = 0;
    for id in &due {
        match deliver(db, client, task_queue, id).await {
            Ok(()) => delivered += 1,
            Err(e) => {
                tracing::warn!(payout_id = %id, error = %format!("{e:#}"), "payout relay")
            }
        }
    }
    if delivered > 0 {
        tracing::info!(delivered, "payout relay started workflows the API had not");
    }
    Ok(delivered)
}

/// The loop running [`relay_once`] every [`crate::outbox::RELAY_INTERVAL`], as the missions'
/// relay does.
pub fn worker_loop(
    db: DatabaseConnection,
    client: Client,
    task_queue: String,
    grace: Duration,
) -> crate::periodic::Loop {
    let relay = std::sync::Arc::new((db, client, task_queue));
    crate::periodic::Loop::new("payout relay", crate::outbox::RELAY_INTERVAL, move || {
        let relay = relay.clone();
        async move {
            let (db, client, task_queue) = &*relay;
            relay_once(db, client, task_queue, grace)
                .await
                .map_err(|e| e.context("payout relay pass failed"))?;
            Ok(())
        }
    })
}
