//! Group commit keeps every rule of BRIEF §4: pledges share commits, but an acknowledged pledge
//! is always committed, a refused one leaves nothing, and idempotency holds inside a batch.

use crate::support::{Session, TEST_JWT_SECRET, TestApp, TestDatabases, free_port};
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

/// One batch holding every kind of answer at once: new pledges, a backer's second pledge, a
/// replay, a reused key, too little money, an unknown mission, the streamer's own mission, a
/// closed mission and a bad amount. Each gets its own answer, in the order asked, on Postgres
/// (the set-based batch) and on SQLite (pledge by pledge); the refused leave nothing behind —
/// not even their idempotency keys, which work once the reason is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_answers_every_pledge_on_its_own() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        one_batch_of_every_kind(TestApp::spawn_with(dbs, &[]).await).await;
    }
}

async fn one_batch_of_every_kind(app: TestApp) {
    use missionlink_ledger::LedgerError;
    use missionlink_ledger::batch::{self, PledgeRequest};
    use missionlink_ledger::idempotency::IdempotencyKey;
    let streamer = app.register_as("host", "STREAMER").await;
    let (a, b, c) = (
        app.register("anna").await,
        app.register("bob").await,
        app.register("cyd").await,
    );
    app.top_up(&a, 50_000, "t").await.data("topUp");
    app.top_up(&b, 1_000, "t").await.data("topUp");
    app.top_up(&c, 50_000, "t").await.data("topUp");
    app.top_up(&streamer, 50_000, "t").await.data("topUp");
    let mission = app.new_mission(&c, &streamer.user_id, 1_000).await;
    let closed = app.new_mission(&c, &streamer.user_id, 1_000).await;
    app.act(&streamer, "reject", &closed)
        .await
        .data("rejectMission");
    let earlier = app
        .contribute(&c, &mission, 2_000, "c-earlier")
        .await
        .data("contribute");

    let ask = |who: &Session, mission: &str, amount: i64, key: &str| PledgeRequest {
        mission_id: mission.to_owned(),
        backer_id: who.user_id.clone(),
        amount_won: amount,
        key: IdempotencyKey::parse(key).expect("key"),
        note: Default::default(),
    };
    let requests = vec![
        ask(&a, &mission, 1_000, "a1"),
        ask(&b, &mission, 2_000, "b1"),
        ask(&a, &mission, 2_000, "a2"),
        ask(&c, &mission, 2_000, "c-earlier"),
        ask(&c, &mission, 3_000, "c-earlier"),
        ask(&a, "no-such-mission", 1_000, "a3"),
        ask(&streamer, &mission, 1_000, "s1"),
        ask(&c, &closed, 1_000, "c2"),
        ask(&a, &mission, 1, "a4"),
        ask(&a, &mission, 1_000, "a1"),
    ];
    let rules = app.config.missions.ledger();
    let answers = batch::commit(&app.db.missions, &rules, &requests).await;
    assert_eq!(answers.len(), requests.len());
    let id = |i: usize| {
        answers[i]
            .as_ref()
            .map(|p| p.get().id.clone())
            .unwrap_or_else(|e| panic!("request {i} refused: {e}"))
    };
    let first = id(0);
    assert_ne!(
        id(2),
        first,
        "a backer's second pledge is a pledge of its own"
    );
    assert_eq!(id(9), first, "the replay of a1 answers a1's pledge");
    assert_eq!(
        id(3),
        earlier["id"].as_str().expect("id"),
        "a replay of an earlier batch's key"
    );
    assert!(
        matches!(answers[1], Err(LedgerError::InsufficientFunds { .. })),
        "{:?}",
        answers[1]
    );
    assert!(
        matches!(answers[4], Err(LedgerError::IdempotencyKeyReused)),
        "{:?}",
        answers[4]
    );
    assert!(
        matches!(answers[5], Err(LedgerError::NotFound(_))),
        "{:?}",
        answers[5]
    );
    assert!(
        matches!(answers[6], Err(LedgerError::Forbidden(_))),
        "{:?}",
        answers[6]
    );
    assert!(
        matches!(answers[7], Err(LedgerError::InvalidState(_))),
        "{:?}",
        answers[7]
    );
    assert!(
        matches!(answers[8], Err(LedgerError::InvalidAmount(_))),
        "{:?}",
        answers[8]
    );

    assert_eq!(app.wallet(&a).await["cash"], 50_000 - 3_000);
    assert_eq!(
        app.wallet(&b).await["cash"],
        1_000,
        "a refused pledge takes nothing"
    );
    assert_eq!(app.wallet(&c).await["cash"], 50_000 - 1_000 - 1_000 - 2_000);
    assert_eq!(app.wallet(&streamer).await["cash"], 50_000);
    assert_eq!(
        app.mission(&mission).await["totalPledged"],
        1_000 + 2_000 + 1_000 + 2_000
    );
    app.assert_audit_clean().await;

    // The refused keys were given back: once the reason is gone, the same key pledges.
    app.top_up(&b, 1_000, "t2").await.data("topUp");
    let retried = app
        .contribute(&b, &mission, 2_000, "b1")
        .await
        .data("contribute");
    assert_eq!(retried["amount"], 2_000);
    assert_eq!(app.wallet(&b).await["cash"], 0);
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
    let port = free_port();
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

/// A mission's kept totals (`totalPledged`, `backerCount`) stay exact when one backer's pledges
/// race each other in concurrent batches (two in flight per streamer) and other backers' too,
/// on Postgres (set-based) and SQLite (pledge by pledge); the audit compares them with the
/// pledges, and notices when they disagree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backers_are_counted_once_however_their_pledges_race() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let app = TestApp::spawn_with(dbs, &[]).await;
        let streamer = app.register_as("host", "STREAMER").await;
        let creator = app.register("creator").await;
        app.top_up(&creator, 100_000, "t").await.data("topUp");
        let mission = app.new_mission(&creator, &streamer.user_id, 1_000).await;
        let mut fans = Vec::new();
        for i in 0..4 {
            let fan = app.register_owned(format!("racer{i}")).await;
            app.top_up(&fan, 100_000, "t").await.data("topUp");
            fans.push(fan);
        }
        // Each fan's first pledges race each other: 4 fans × 8 pledges, all at once.
        let pledges = fans.iter().flat_map(|fan| {
            let (app, mission) = (&app, &mission);
            (0..8).map(move |i| async move {
                app.contribute(fan, mission, 1_000 + i, &format!("r{i}"))
                    .await
                    .data("contribute");
            })
        });
        futures::future::join_all(pledges).await;
        let m = app.mission(&mission).await;
        assert_eq!(m["backerCount"], 5, "{m}");
        assert_eq!(m["totalPledged"], 1_000 + 4 * (8 * 1_000 + 28), "{m}");
        app.assert_audit_clean().await;

        // The audit notices kept totals that disagree with the pledges.
        use sea_orm::ConnectionTrait;
        app.db
            .missions
            .execute_unprepared("UPDATE mission_totals SET backers = backers + 1")
            .await
            .expect("corrupt the totals");
        let out = app.audit().await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("mission_totals"), "{stdout}");
    }
}
