//! Recorded histories: fetching a finished mission's, and replaying one against today's code.

use super::workflow::MissionWorkflow;

/// The complete history of a finished mission workflow, protobuf-encoded: the form in which
/// histories are committed as replay fixtures (`workflows/tests/fixtures/`).
pub async fn recorded_history(
    client: &temporalio_client::Client,
    mission_id: &str,
) -> anyhow::Result<Vec<u8>> {
    use prost::Message;
    let events = client
        .get_workflow_handle::<MissionWorkflow>(missionlink_ledger::mission::workflow_id(
            mission_id,
        ))
        .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
        .into_events()
        .await?;
    let history = temporalio_common::protos::temporal::api::history::v1::History { events };
    Ok(history.encode_to_vec())
}

/// Replays a recorded history against today's workflow code: an error means the code would
/// no longer replay missions already running in production (a non-deterministic change).
pub async fn replay(encoded_history: &[u8]) -> anyhow::Result<()> {
    use prost::Message;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
    let history =
        temporalio_common::protos::temporal::api::history::v1::History::decode(encoded_history)?;
    let mut options = WorkflowReplayerOptions::new().build();
    options.register_workflow::<MissionWorkflow>()?;
    WorkflowReplayer::new(options)?
        .replay_workflow(history.into())
        .await?;
    Ok(())
}
