//! An activity error no retry can fix ends the activity at its first attempt, non-retryable,
//! with the error in the workflow's history, and fails the workflow (instead of retrying it
//! forever); the failure is counted for the `MissionLinkActivityFailedForGood` alert.

use crate::support::{TestApp, free_port};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_id_conflict_fails_settlement_at_once_and_visibly() {
    let app = TestApp::with_temporal(&[]).await;
    let outbox = tempfile::tempdir().expect("outbox");
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut worker = app.spawn_worker_process(&[
        ("EMAIL_TRANSPORT", "file"),
        ("EMAIL_OUTBOX_DIR", &outbox.path().display().to_string()),
        ("WORKER_METRICS_ADDR", &metrics),
    ]);
    let streamer = app.register_as("conflict_streamer", "STREAMER").await;
    let alice = app.register("conflict_alice").await;
    app.top_up(&alice, 50_000, "t1").await.data("topUp");
    let id = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    // Someone (a bug, a hand edit) already wrote a different movement under the id that the
    // refund of alice's pledge will use.
    app.db
        .missions
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at, credit_balance_after) \
             SELECT 'refund:' || p.mission_id || ':' || p.id, 'world:CASH', 'fee:CASH', 'CASH', 1, 'REFUND', now(), 1 \
             FROM pledges p WHERE p.mission_id = $1",
            [id.clone().into()],
        ))
        .await
        .expect("plant a conflicting transfer");
    app.act(&streamer, "reject", &id)
        .await
        .data("rejectMission");

    let client = missionlink_workflows::temporal::connect(
        &missionlink_workflows::TemporalConfig {
            address: crate::support::temporal_address(),
            ..app.config.temporal.clone()
        },
        "activity-failure-test",
    )
    .await
    .expect("client");
    let handle = client.get_workflow_handle::<missionlink_workflows::mission::MissionWorkflow>(
        missionlink_ledger::mission::workflow_id(&id),
    );
    // The workflow may not have started yet when the streamer's rejection returns (its start
    // goes through the outbox): wait for its history to end, failed, within a minute.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let events = loop {
        let events = handle
            .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
            .into_events()
            .await
            .unwrap_or_default();
        if events
            .iter()
            .any(|e| e.event_type() == EventType::WorkflowExecutionFailed)
        {
            break events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the workflow did not fail within a minute (retrying instead?): {} events",
            events.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let settle_attempts = events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
            _ => None,
        })
        .max();
    let failure = events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => a.failure.clone(),
            _ => None,
        })
        .expect("an ActivityTaskFailed event");
    let Some(FailureInfo::ApplicationFailureInfo(info)) = &failure.failure_info else {
        panic!("an application failure: {failure:?}");
    };
    assert!(info.non_retryable, "{failure:?}");
    assert_eq!(info.r#type, "TransferIdConflict");
    assert!(failure.message.contains("refund:"), "{}", failure.message);
    assert_eq!(settle_attempts, Some(1), "no activity was retried");
    // The pledge stays held in escrow: nothing moved.
    let held = app
        .db
        .missions
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM pledges WHERE mission_id = $1 AND status = 'HELD'",
            [id.clone().into()],
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n");
    assert_eq!(held, 1);
    let exported = app
        .http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("worker metrics")
        .text()
        .await
        .expect("body");
    assert!(
        exported.lines().any(|l| l.starts_with(
            "missionlink_activities_failed_for_good_total{activity=\"SettlePledges\"}"
        ) && !l.ends_with(" 0")),
        "the failure is counted: {exported}"
    );
    worker.start_kill().ok();
    worker.wait().await.ok();
}
