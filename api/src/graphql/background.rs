//! What a resolver does after its commit, in the background: the one way to do it. The work
//! runs after the response, in the request's trace (a workflow it starts or signals joins that
//! trace through the Temporal header); a failure is logged at warn with what covers it (the
//! worker's relay, or the workflow's own re-read), never reported to the caller, whose change
//! is committed.

use crate::state::AppState;
use std::future::Future;

/// Runs `work` on the change named `id` after the commit; `covered` says, in the warning a
/// failure logs, what makes up for it.
pub(crate) fn after_commit<F, Fut>(app: &AppState, id: &str, covered: &'static str, work: F)
where
    F: FnOnce(AppState, String) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    use opentelemetry::trace::FutureExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let (app, id) = (app.clone(), id.to_owned());
    let trace = tracing::Span::current().context();
    let run = async move {
        if let Err(e) = work(app, id.clone()).await {
            tracing::warn!(%id, error = %format!("{e:#}"), "{covered}");
        }
    };
    tokio::spawn(run.with_context(trace));
}

/// Hands each goal this process's pledge batches brought to its goal its workflow's outbox entry
/// at once. A pledge never signals (BRIEF §5): the batch that reached the goal wrote the signal
/// into the outbox with it, which the worker's relay would deliver only after
/// `OUTBOX_RELAY_GRACE_SECONDS`; this follows the batches' committed events (`GOAL_REACHED`)
/// instead, so the goal's notice and the workflow's deadline timer start at once. A missed event
/// (a lagging receiver) is left to the relay. Ends with the state.
pub(crate) fn hand_reached_goals(app: &AppState) {
    use missionlink_ledger::status::EventKind;
    use tokio::sync::broadcast::error::RecvError;
    let weak = app.downgrade();
    let mut committed = missionlink_ledger::events::local_committed().subscribe();
    tokio::spawn(async move {
        loop {
            match committed.recv().await {
                Ok(appended) => {
                    let Some(app) = AppState::upgrade(&weak) else {
                        return;
                    };
                    for e in &appended.events {
                        if let (EventKind::GoalReached, None, Some(mission_id)) =
                            (e.kind, &e.test_payload, &e.mission_id)
                        {
                            hand_to_workflow(&app, mission_id);
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// After a commit: hand the workflow its outbox entry right away (in the background; the relay
/// covers a failure). The change itself was announced by its transaction.
pub(crate) fn hand_to_workflow(app: &AppState, mission_id: &str) {
    after_commit(
        app,
        mission_id,
        "workflow outbox left for the relay",
        |app, id| async move {
            let client = app.temporal.client().await?;
            missionlink_workflows::outbox::deliver(
                &app.db.missions,
                &client,
                &app.temporal.config().task_queue,
                &id,
            )
            .await
        },
    );
}
