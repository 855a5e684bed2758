//! Recorded payout histories: fetching a finished payout's, and replaying one against today's
//! code (`workflows/tests/fixtures/payout/payout-paid.binpb`).

use super::workflow::PayoutWorkflow;

/// The complete history of a finished payout workflow, protobuf-encoded.
pub async fn recorded_history(
    client: &temporalio_client::Client,
    payout_id: &str,
) -> anyhow::Result<Vec<u8>> {
    use prost::Message;
    let events = client
        .get_workflow_handle::<PayoutWorkflow>(missionlink_ledger::payout::workflow_id(payout_id))
        .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
        .into_events()
        .await?;
    let history = temporalio_common::protos::temporal::api::history::v1::History { events };
    Ok(history.encode_to_vec())
}

/// Replays a recorded payout history against today's workflow code: an error means the code
/// would no longer replay payouts already running.
pub async fn replay(encoded_history: &[u8]) -> anyhow::Result<()> {
    use prost::Message;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
    let history =
        temporalio_common::protos::temporal::api::history::v1::History::decode(encoded_history)?;
    let mut options = WorkflowReplayerOptions::new().build();
    options.register_workflow::<PayoutWorkflow>()?;
    WorkflowReplayer::new(options)?
        .replay_workflow(history.into())
        .await?;
    Ok(())
}
