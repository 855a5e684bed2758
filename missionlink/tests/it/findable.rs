//! Missions and payouts findable in the Temporal UI: a visibility query by the search attributes
//! the workflows upsert finds them, through the real Temporal dev server. Visibility is
//! eventually consistent, so every query polls.

use crate::support::{TestApp, temporal_address};
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_common::protos::temporal::api::workflow::v1::WorkflowExecutionInfo;
use temporalio_common::protos::temporal::api::workflowservice::v1::ListWorkflowExecutionsRequest;

pub async fn temporal_client(app: &TestApp) -> temporalio_client::Client {
    missionlink_workflows::temporal::connect(
        &missionlink_workflows::TemporalConfig {
            address: temporal_address(),
            ..app.config.temporal.clone()
        },
        "findable-test",
    )
    .await
    .expect("temporal client")
}

/// The executions `query` lists (at most 100).
async fn list(app: &TestApp, query: &str) -> Vec<WorkflowExecutionInfo> {
    let client = temporal_client(app).await;
    let mut service = client.connection().workflow_service();
    service
        .list_workflow_executions(tonic::Request::new(ListWorkflowExecutionsRequest {
            namespace: app.config.temporal.namespace.clone(),
            page_size: 100,
            query: query.to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_inner()
        .executions
}

fn workflow_ids(found: &[WorkflowExecutionInfo]) -> Vec<String> {
    let mut ids: Vec<String> = found
        .iter()
        .filter_map(|e| e.execution.as_ref().map(|x| x.workflow_id.clone()))
        .collect();
    ids.sort();
    ids
}

/// Polls `query` until it lists exactly the workflows `expected` (ids), at most 30 s, and
/// returns what it listed.
pub async fn wait_for_listing(
    app: &TestApp,
    query: &str,
    expected: &[String],
) -> Vec<WorkflowExecutionInfo> {
    let mut expected = expected.to_vec();
    expected.sort();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = list(app, query).await;
        if workflow_ids(&found) == expected {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{query} lists {:?}, not {expected:?}",
            workflow_ids(&found)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn json_of(payload: Option<&Payload>) -> Value {
    serde_json::from_slice(&payload.expect("present").data).expect("a JSON payload")
}

/// A search attribute of a listed execution, as JSON.
pub fn attribute(info: &WorkflowExecutionInfo, name: &str) -> Value {
    json_of(
        info.search_attributes
            .as_ref()
            .and_then(|s| s.indexed_fields.get(name)),
    )
}

fn mission_workflow(id: &str) -> String {
    missionlink_ledger::mission::workflow_id(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visibility_query_by_status_and_streamer_finds_the_mission_at_every_step() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.top_up(&alice, 100_000, "t").await.data("topUp");
    app.top_up(&bob, 100_000, "t").await.data("topUp");
    let of_streamer = |status: &str| {
        format!(
            "MissionStatus = '{status}' AND StreamerId = '{}'",
            streamer.user_id
        )
    };

    let m = app
        .create_mission(&alice, &streamer.user_id, 10_000, json!({}))
        .await
        .data("createMission");
    let id = m["id"].as_str().expect("id").to_owned();
    let title = app.mission(&id).await["title"]
        .as_str()
        .expect("title")
        .to_owned();
    let workflow = vec![mission_workflow(&id)];

    // At start: PENDING, with the streamer, the total and the title.
    let found = wait_for_listing(&app, &of_streamer("PENDING"), &workflow).await;
    assert_eq!(attribute(&found[0], "TotalPledgedWon"), json!(10_000));
    assert_eq!(
        attribute(&found[0], "StreamerId"),
        json!(streamer.user_id.clone())
    );
    let memo = found[0].memo.as_ref().expect("memo");
    assert_eq!(json_of(memo.fields.get("title")), json!(title));

    // Each status change: ACTIVE with Bob's pledge counted, then SUCCEEDED.
    app.contribute(&bob, &id, 5_000, "b1")
        .await
        .data("contribute");
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    let found = wait_for_listing(&app, &of_streamer("ACTIVE"), &workflow).await;
    assert_eq!(attribute(&found[0], "TotalPledgedWon"), json!(15_000));
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    app.wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;
    let found = wait_for_listing(&app, &of_streamer("SUCCEEDED"), &workflow).await;
    assert_eq!(attribute(&found[0], "TotalPledgedWon"), json!(15_000));
    assert_eq!(attribute(&found[0], "MissionStatus"), json!("SUCCEEDED"));
    wait_for_listing(&app, &of_streamer("ACTIVE"), &[]).await;

    // A second mission of the same streamer, rejected: each query lists only its own.
    let other = app
        .create_mission(&bob, &streamer.user_id, 3_000, json!({}))
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.act(&streamer, "reject", &other)
        .await
        .data("rejectMission");
    app.wait_for_mission(&other, 60, |m| !m["settledAt"].is_null())
        .await;
    wait_for_listing(&app, &of_streamer("REJECTED"), &[mission_workflow(&other)]).await;
    wait_for_listing(&app, &of_streamer("SUCCEEDED"), &workflow).await;
    wait_for_listing(
        &app,
        &format!(
            "WorkflowType = 'Mission' AND StreamerId = '{}'",
            streamer.user_id
        ),
        &[mission_workflow(&id), mission_workflow(&other)],
    )
    .await;
    wait_for_listing(
        &app,
        &format!(
            "StreamerId = '{}' AND TotalPledgedWon >= 10000",
            streamer.user_id
        ),
        &workflow,
    )
    .await;

    // The money: the pot to the streamer (no fee configured), the rejected pledge back.
    assert_eq!(app.wallet(&streamer).await["earnings"], 15_000);
    assert_eq!(app.wallet(&alice).await["cash"], 90_000);
    assert_eq!(app.wallet(&bob).await["cash"], 95_000);
    app.assert_audit_clean().await;
    worker.stop().await;
}

async fn register_namespace(client: &temporalio_client::Client, namespace: &str) {
    use temporalio_common::protos::temporal::api::workflowservice::v1::RegisterNamespaceRequest;
    client
        .connection()
        .workflow_service()
        .register_namespace(tonic::Request::new(RegisterNamespaceRequest {
            namespace: namespace.to_owned(),
            workflow_execution_retention_period: Some(
                Duration::from_secs(86_400).try_into().expect("a retention"),
            ),
            ..Default::default()
        }))
        .await
        .expect("register the namespace");
}

/// `findable::register` on a namespace new to the frontend, retried while the namespace has not
/// reached the frontend's cache (within seconds), at most 30 s.
async fn register_fresh(
    client: &temporalio_client::Client,
    namespace: &str,
) -> anyhow::Result<Vec<&'static str>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match missionlink_workflows::findable::register(client, namespace).await {
            Err(e)
                if tokio::time::Instant::now() < deadline
                    && format!("{e:#}").contains("not found") =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            answer => return answer,
        }
    }
}

/// The worker adds the attributes a namespace lacks, once: a namespace of this test's own starts
/// without them. Two workers starting together both succeed, whichever adds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_registers_the_search_attributes_a_namespace_lacks() {
    let app = TestApp::with_temporal(&[]).await;
    let client = temporal_client(&app).await;
    let namespace = format!("ml-findable-{}", uuid::Uuid::new_v4().simple());
    register_namespace(&client, &namespace).await;
    let added = register_fresh(&client, &namespace)
        .await
        .expect("the first registration");
    assert_eq!(
        added,
        [
            "MissionStatus",
            "StreamerId",
            "TotalPledgedWon",
            "PayoutStatus"
        ]
    );
    let again = missionlink_workflows::findable::register(&client, &namespace)
        .await
        .expect("a second registration");
    assert!(again.is_empty(), "{again:?}");

    // Two at once on another fresh namespace: both succeed, and the attributes are there.
    let raced = format!("ml-findable-{}", uuid::Uuid::new_v4().simple());
    register_namespace(&client, &raced).await;
    let (first, second) = tokio::join!(
        register_fresh(&client, &raced),
        register_fresh(&client, &raced)
    );
    let (first, second) = (first.expect("first"), second.expect("second"));
    assert!(
        first.len() + second.len() >= 4,
        "the attributes were added by neither: {first:?} {second:?}"
    );
    let after = missionlink_workflows::findable::register(&client, &raced)
        .await
        .expect("after the race");
    assert!(after.is_empty(), "{after:?}");
}
