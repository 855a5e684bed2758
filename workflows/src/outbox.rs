//! Delivering the workflow outbox: starting a mission's workflow and telling it about status
//! changes. The API calls [`deliver`] right after its commit (the fast path); the worker's
//! relay calls [`relay_once`] every few seconds for whatever the fast path did not finish
//! (the API crashed, Temporal was briefly down). Both are idempotent.

use crate::mission::{MissionInput, MissionWorkflow, OperatorActionSignal};
use chrono::Utc;
use missionlink_entities::missions::workflow_outbox;
use missionlink_ledger::mission::workflow_id;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::time::Duration;
use temporalio_client::errors::{WorkflowInteractionError, WorkflowStartError};
use temporalio_client::{
    Client, WorkflowIdReusePolicy, WorkflowSignalOptions, WorkflowStartOptions,
};

/// How often the relay looks.
pub const RELAY_INTERVAL: Duration = Duration::from_secs(2);
/// Entries handled per relay pass.
pub const RELAY_BATCH: u64 = 200;

/// Starts the mission's workflow; an already started one counts as success. A closed
/// workflow is never started again (`RejectDuplicate`).
pub async fn start(client: &Client, task_queue: &str, mission_id: &str) -> anyhow::Result<()> {
    let options = WorkflowStartOptions::new(task_queue.to_owned(), workflow_id(mission_id))
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .build();
    let input = MissionInput {
        mission_id: mission_id.to_owned(),
    };
    match client
        .start_workflow(MissionWorkflow::run, input, options)
        .await
    {
        Ok(_) | Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Tells the workflow the mission's status changed. A workflow that already finished needs no
/// telling (it finished because it read a closed status), so "not found" counts as delivered.
pub async fn signal(client: &Client, mission_id: &str, status: &str) -> anyhow::Result<()> {
    let sent = client
        .get_workflow_handle::<MissionWorkflow>(workflow_id(mission_id))
        .signal(
            MissionWorkflow::status_changed,
            status.to_owned(),
            WorkflowSignalOptions::default(),
        )
        .await;
    match sent {
        Ok(()) | Err(WorkflowInteractionError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Tells the workflow an operator acted on the mission (`operatorAction`, carrying the
/// recorded action). Like [`signal`], "not found" counts as delivered.
pub async fn signal_operator_action(
    db: &DatabaseConnection,
    client: &Client,
    mission_id: &str,
    action_id: &str,
) -> anyhow::Result<()> {
    let action = missionlink_ledger::operator::find(db, action_id).await?;
    let payload = OperatorActionSignal {
        action_id: action.id,
        action: action.action.as_str().to_owned(),
        operator_id: action.operator_id,
        outcome: action.outcome.map(|o| o.as_str().to_owned()),
        note: action.note,
    };
    let sent = client
        .get_workflow_handle::<MissionWorkflow>(workflow_id(mission_id))
        .signal(
            MissionWorkflow::operator_action,
            payload,
            WorkflowSignalOptions::default(),
        )
        .await;
    match sent {
        Ok(()) | Err(WorkflowInteractionError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Delivers what the outbox holds for one mission: the start if not done, then the pending
/// signal if any. Clears each once delivered.
pub async fn deliver(
    db: &DatabaseConnection,
    client: &Client,
    task_queue: &str,
    mission_id: &str,
) -> anyhow::Result<()> {
    let Some(entry) = workflow_outbox::Entity::find_by_id(mission_id.to_owned())
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let result = deliver_entry(db, client, task_queue, &entry).await;
    if let Err(e) = &result {
        workflow_outbox::Entity::update_many()
            .col_expr(
                workflow_outbox::Column::Attempts,
                Expr::col(workflow_outbox::Column::Attempts).add(1),
            )
            .col_expr(
                workflow_outbox::Column::LastError,
                Expr::value(format!("{e:#}")),
            )
            .filter(workflow_outbox::Column::MissionId.eq(mission_id))
            .exec(db)
            .await?;
    }
    result
}

async fn deliver_entry(
    db: &DatabaseConnection,
    client: &Client,
    task_queue: &str,
    entry: &workflow_outbox::Model,
) -> anyhow::Result<()> {
    let id = &entry.mission_id;
    if entry.started_at.is_none() {
        start(client, task_queue, id).await?;
        workflow_outbox::Entity::update_many()
            .col_expr(workflow_outbox::Column::StartedAt, Expr::value(Utc::now()))
            .filter(workflow_outbox::Column::MissionId.eq(id))
            .filter(workflow_outbox::Column::StartedAt.is_null())
            .exec(db)
            .await?;
    }
    if let (Some(status), Some(requested_at)) = (&entry.pending_signal, entry.signal_requested_at) {
        match &entry.pending_action {
            Some(action_id) => signal_operator_action(db, client, id, action_id).await?,
            None => signal(client, id, status).await?,
        }
        // Cleared only if no newer change was requested meanwhile.
        workflow_outbox::Entity::update_many()
            .col_expr(
                workflow_outbox::Column::PendingSignal,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                workflow_outbox::Column::PendingAction,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                workflow_outbox::Column::SignalRequestedAt,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(workflow_outbox::Column::MissionId.eq(id))
            .filter(workflow_outbox::Column::SignalRequestedAt.eq(requested_at))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// One relay pass: delivers every entry the fast path left for longer than `grace`.
/// Returns how many entries it delivered.
pub async fn relay_once(
    db: &DatabaseConnection,
    client: &Client,
    task_queue: &str,
    grace: Duration,
) -> anyhow::Result<usize> {
    let cutoff = Utc::now() - chrono::Duration::from_std(grace)?;
    let due = workflow_outbox::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(workflow_outbox::Column::StartedAt.is_null())
                        .add(workflow_outbox::Column::CreatedAt.lt(cutoff)),
                )
                .add(workflow_outbox::Column::SignalRequestedAt.lt(cutoff)),
        )
        .order_by_asc(workflow_outbox::Column::CreatedAt)
        .limit(RELAY_BATCH)
        .all(db)
        .await?;
    let mut delivered = 0;
    for entry in &due {
        match deliver(db, client, task_queue, &entry.mission_id).await {
            Ok(()) => delivered += 1,
            Err(e) => {
                tracing::warn!(mission_id = %entry.mission_id, error = %format!("{e:#}"), "outbox relay")
            }
        }
    }
    if delivered > 0 {
        tracing::info!(delivered, "outbox relay delivered entries the API had not");
    }
    Ok(delivered)
}

/// The loop running [`relay_once`] every [`RELAY_INTERVAL`] (the payouts' relay is its own
/// loop: [`crate::payout::outbox::worker_loop`]).
pub fn worker_loop(
    db: DatabaseConnection,
    client: Client,
    task_queue: String,
    grace: Duration,
) -> crate::periodic::Loop {
    let relay = std::sync::Arc::new((db, client, task_queue));
    crate::periodic::Loop::new("outbox relay", RELAY_INTERVAL, move || {
        let relay = relay.clone();
        async move {
            let (db, client, task_queue) = &*relay;
            relay_once(db, client, task_queue, grace)
                .await
                .map_err(|e| e.context("outbox relay pass failed"))?;
            Ok(())
        }
    })
}
