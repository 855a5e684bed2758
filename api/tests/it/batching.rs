//! Group commit keeps every rule of BRIEF §4: pledges share commits, but an acknowledged pledge
//! is always committed, a refused one leaves nothing, and idempotency holds inside a batch.

use crate::support::{Session, TEST_JWT_SECRET, TestApp};
use missionlink_entities::missions::pledge;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_of_one_key_inside_one_batch_pledge_once() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("host", "STREAMER").await;
    let fan = app.register("fan").await;
    app.top_up(&fan, 100_000, "t").await.data("topUp");
    let mission = app.new_mission(&fan, &streamer.user_id, 1_000).await;
    // Twenty identical requests at once: they land in the same batch or in consecutive ones.
    let (app_ref, fan_ref, mission_ref) = (&app, &fan, &mission);
    let answers = futures::future::join_all((0..20).map(|_| async move {
        app_ref
            .contribute(fan_ref, mission_ref, 5_000, "same-key")
            .await
    }))
    .await;
    let ids: HashSet<String> = answers
        .iter()
        .map(|a| a.data("contribute")["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every replay answers the one pledge");
    assert_eq!(app.wallet(&fan).await["cash"], 100_000 - 1_000 - 5_000);
    // And mixed with other pledges and refusals in the same moment.
    let poor = app.register("poor").await;
    app.top_up(&poor, 3_000, "t").await.data("topUp");
    let poor_ref = &poor;
    let answers = futures::future::join_all((0..10).map(|i| async move {
        if i % 2 == 0 {
            app_ref
                .contribute(poor_ref, mission_ref, 1_000, &format!("p{i}"))
                .await
        } else {
            app_ref
                .contribute(fan_ref, mission_ref, 1_000, &format!("f{i}"))
                .await
        }
    }))
    .await;
    let poor_ok = answers
        .iter()
        .enumerate()
        .filter(|(i, a)| i % 2 == 0 && a.0.get("errors").is_none())
        .count();
    assert_eq!(poor_ok, 3, "exactly what the poor wallet covers");
    assert_eq!(app.wallet(&poor).await["cash"], 0);
    assert_eq!(
        app.mission(&mission).await["totalPledged"],
        1_000 + 5_000 + 3_000 + 5 * 1_000
    );
    app.assert_audit_clean().await;
}

/// The API process is killed (SIGKILL) while batches are being assembled and committed: every
/// pledge a client was told about is in the database, and the ledger is intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_api_mid_batch_loses_no_acknowledged_pledge() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("host", "STREAMER").await;
    let mut fans: Vec<Session> = Vec::new();
    for i in 0..16 {
        let fan = app.register(&format!("fan{i}")).await;
        app.top_up(&fan, 1_000_000, "t").await.data("topUp");
        fans.push(fan);
    }
    let mission = app.new_mission(&fans[0], &streamer.user_id, 1_000).await;

    // A second API process on the same databases, the one that dies.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut victim = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
        .arg("serve")
        .env_clear()
        .envs(app.binary_env())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("TEMPORAL_ADDRESS", "http://127.0.0.1:9")
        .env("PLEDGE_BATCH_MAX", "64")
        .kill_on_drop(true)
        .spawn()
        .expect("start API");
    let url = format!("http://127.0.0.1:{port}/graphql");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while http.get(&url).send().await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the API never listened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let clients = fans.iter().enumerate().map(|(c, fan)| {
        let (http, url, mission, token, acked) = (http.clone(), url.clone(), mission.clone(), fan.access.clone(), acknowledged.clone());
        tokio::spawn(async move {
            for n in 0.. {
                let body = json!({
                    "query": "mutation($m: ID!, $k: String!) { contribute(missionId: $m, amount: 1000, idempotencyKey: $k) { id } }",
                    "variables": { "m": mission, "k": format!("c{c}-{n}") },
                });
                let Ok(response) = http.post(&url).bearer_auth(&token).json(&body).send().await else { return };
                let Ok(answer) = response.json::<Value>().await else { return };
                if let Some(id) = answer["data"]["contribute"]["id"].as_str() {
                    acked.lock().expect("lock").push(id.to_owned());
                }
            }
        })
    });
    let clients: Vec<_> = clients.collect();
    // Let a few hundred pledges through, then kill the process mid-flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().expect("lock").len() < 300 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "pledges did not flow"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    victim.start_kill().expect("kill");
    victim.wait().await.expect("reap");
    for c in clients {
        let _ = c.await;
    }

    let acked: Vec<String> = acknowledged.lock().expect("lock").clone();
    let stored = pledge::Entity::find()
        .filter(pledge::Column::Id.is_in(acked.clone()))
        .count(&app.db.missions)
        .await
        .expect("count");
    assert_eq!(
        stored,
        u64::try_from(acked.len()).expect("fits"),
        "every acknowledged pledge is committed"
    );
    app.assert_audit_clean().await;
}
