//! Traces leave by OTLP and tell one story: a real OTLP/HTTP receiver on loopback collects the
//! spans of a `missionlink all` process while a mission is played, and the test follows the
//! parent links from the GraphQL operation into the workflow and its activities.

use crate::support::{
    PASSWORD, SES_SENDER, TEST_JWT_SECRET, TestDatabases, free_port, moto_ses_config, ses_endpoint,
    temporal_address,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
struct Span {
    name: String,
    trace: Vec<u8>,
    id: Vec<u8>,
    parent: Vec<u8>,
}

/// An OTLP/HTTP trace receiver: every span posted to `/v1/traces`.
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<Span>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let store = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut store = store.lock().expect("lock");
                for scope in request.resource_spans.iter().flat_map(|r| &r.scope_spans) {
                    for s in &scope.spans {
                        store.push(Span {
                            name: s.name.clone(),
                            trace: s.trace_id.clone(),
                            id: s.span_id.clone(),
                            parent: s.parent_span_id.clone(),
                        });
                    }
                }
                // An empty ExportTraceServiceResponse.
                axum::body::Bytes::new()
            }
        }),
    );
    (crate::support::serve_on_loopback(app).await, spans)
}

async fn gql(
    http: &reqwest::Client,
    addr: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = http
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request
        .send()
        .await
        .expect("graphql")
        .json()
        .await
        .expect("json");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn register(
    http: &reqwest::Client,
    addr: &str,
    handle: &str,
    role: &str,
) -> (String, String) {
    let r = gql(
        http,
        addr,
        None,
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
        json!({ "i": { "email": format!("{handle}@example.com"), "password": PASSWORD, "handle": handle, "role": role } }),
    )
    .await;
    (
        r["register"]["accessToken"]
            .as_str()
            .expect("token")
            .to_owned(),
        r["register"]["user"]["id"].as_str().expect("id").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_mission_from_the_request_into_its_workflow_and_activities() {
    let (otlp, spans) = receiver().await;
    moto_ses_config().await; // verifies the sender in moto
    let dbs = TestDatabases::postgres().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut process = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
        .arg("all")
        .env_clear()
        .env("USERS_DATABASE_URL", &dbs.users_url)
        .env("MISSIONS_DATABASE_URL", &dbs.missions_url)
        .env("HTTP_ADDR", &addr)
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("TEMPORAL_ADDRESS", temporal_address())
        .env(
            "TEMPORAL_TASK_QUEUE",
            format!("traces-{}", uuid::Uuid::new_v4().simple()),
        )
        .env("EMAIL_TRANSPORT", "ses")
        .env("EMAIL_FROM", format!("MissionLink <{SES_SENDER}>"))
        .env("EMAIL_MAX_PER_SECOND", "100")
        .env("AWS_ENDPOINT_URL_SESV2", ses_endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_SERVICE_NAME", "missionlink-test")
        .env("RUST_LOG", "warn")
        // The trace shows the API's fast path starting the workflow: however slow a loaded
        // machine makes it, the worker's relay must not get there first.
        .env("OUTBOX_RELAY_GRACE_SECONDS", "120")
        // The trace follows a success to its emails: no objection window to wait out.
        .env("OBJECTION_WINDOW_SECONDS", "0")
        // A test of traces, not of verification: its streamer registers itself and its fan
        // tops up unidentified, as in development (scripts/run).
        .env("STREAMER_SELF_REGISTRATION", "true")
        .env("TOPUP_REQUIRES_IDENTITY", "false")
        .kill_on_drop(true)
        .spawn()
        .expect("start missionlink all");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "missionlink all never listened"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (streamer, streamer_id) = register(&http, &addr, "traced", "STREAMER").await;
    let (fan, fan_id) = register(&http, &addr, "tracefan", "VIEWER").await;
    // Their addresses proven, as their codes would.
    let users = missionlink_api::db::connect(&dbs.users_url)
        .await
        .expect("connect");
    for id in [&streamer_id, &fan_id] {
        crate::support::mark_email_verified(&users, id).await;
    }
    gql(
        &http,
        &addr,
        Some(&fan),
        "mutation { topUp(amount: 20000, idempotencyKey: \"t\") { cash } }",
        json!({}),
    )
    .await;
    let created = gql(
        &http,
        &addr,
        Some(&fan),
        "mutation($i: CreateMissionInput!) { createMission(input: $i, idempotencyKey: \"m\") { id } }",
        json!({ "i": { "streamerId": streamer_id, "title": "Traced run", "amount": 5000, "durationSeconds": 600 } }),
    )
    .await;
    let id = created["createMission"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The creation's fast path starts the workflow after the response: let it, before the
    // acceptance's own delivery (which would start a workflow not started yet) races it.
    let missions = sea_orm::Database::connect(&dbs.missions_url)
        .await
        .expect("missions db");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let started = missions
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT started_at IS NOT NULL AS started FROM workflow_outbox WHERE mission_id = $1",
                [id.clone().into()],
            ))
            .await
            .expect("outbox")
            .and_then(|r| r.try_get::<bool>("", "started").ok())
            .unwrap_or(false);
        if started {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the creation's fast path never started the workflow"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    missions.close().await.ok();
    gql(
        &http,
        &addr,
        Some(&streamer),
        "mutation($m: ID!) { acceptMission(missionId: $m) { status } }",
        json!({ "m": id }),
    )
    .await;
    gql(
        &http,
        &addr,
        Some(&streamer),
        "mutation($m: ID!) { decideMission(missionId: $m, outcome: SUCCESS) { status } }",
        json!({ "m": id }),
    )
    .await;

    // Wait for the emails' spans: the last thing the workflow does.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = spans
            .lock()
            .expect("lock")
            .iter()
            .filter(|s| s.name == "ses.SendEmail")
            .count()
            >= 2;
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no SES spans arrived: {:#?}",
            spans
                .lock()
                .expect("lock")
                .iter()
                .map(|s| &s.name)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    process.start_kill().ok();

    let spans = spans.lock().expect("lock").clone();
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let one = |name: &str| -> &Span {
        named(name).first().copied().unwrap_or_else(|| {
            panic!(
                "no span {name}; got {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        })
    };
    let by_id = |id: &[u8]| spans.iter().find(|s| s.id == id);
    // Walks up the parent links: is `ancestor` above `span`?
    let descends = |span: &Span, ancestor: &Span| {
        let mut current = Some(span);
        while let Some(s) = current {
            if s.id == ancestor.id {
                return true;
            }
            current = by_id(&s.parent);
        }
        false
    };

    let request = one("graphql createMission");
    assert!(
        request.parent.is_empty(),
        "the GraphQL operation is the root of its trace"
    );
    assert!(
        descends(one("db.create_mission"), request),
        "the database call is inside the request"
    );
    assert!(
        named("StartWorkflow:Mission")
            .iter()
            .any(|s| descends(s, request)),
        "the workflow start is inside the request"
    );
    // The SDK's (experimental) OpenTelemetry plugin also emits a parentless twin of each
    // RunWorkflow/RunActivity span; the linked one is the one that tells the story.
    let linked = |name: &str| named(name).into_iter().find(|s| by_id(&s.parent).is_some());
    let settle = linked("RunActivity:SettlePledges").expect("a linked settlement activity span");
    assert_eq!(
        settle.trace, request.trace,
        "the settlement is in the createMission trace"
    );
    assert!(
        descends(settle, request),
        "request → workflow start → workflow → settlement activity"
    );
    assert!(
        named("db.settle_page").iter().any(|s| descends(s, settle)),
        "settlement's database pages are inside its activity"
    );
    let email_activities = named("RunActivity:SendMissionEmails");
    // The verification emails the worker may have sent before the addresses were marked proven
    // are outside any mission: each inside its own `account_email.send`.
    let account_emails = named("account_email.send");
    let ses_calls: Vec<_> = named("ses.SendEmail")
        .into_iter()
        .filter(|s| !account_emails.iter().any(|a| descends(s, a)))
        .collect();
    assert!(
        ses_calls
            .iter()
            .all(|s| email_activities.iter().any(|a| descends(s, a))),
        "each SES call is inside an email activity: {:?}",
        ses_calls
            .iter()
            .map(|s| by_id(&s.parent).map(|p| p.name.clone()))
            .collect::<Vec<_>>()
    );
    // Each streamer action's signal is sent inside a request (the accept's delivery may carry
    // the verdict too, when the verdict committed before it ran).
    let signals = named("SignalWorkflow:statusChanged");
    assert!(!signals.is_empty());
    assert!(
        signals.iter().all(|sig| spans
            .iter()
            .any(|r| r.name.starts_with("graphql ") && descends(sig, r))),
        "every workflow signal is inside a GraphQL request"
    );
}
