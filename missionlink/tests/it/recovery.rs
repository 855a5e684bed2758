//! Nothing acknowledged is stranded: the outbox relay and crash-safe settlement.

use crate::support::{PASSWORD, TestApp};
use futures::StreamExt;
use missionlink_entities::missions::{pledge, workflow_outbox};
use missionlink_ledger::batch::{self, PledgeRequest};
use missionlink_ledger::idempotency::IdempotencyKey;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};
use std::time::Duration;

/// The API cannot reach Temporal at all: every mutation still commits with its outbox entry,
/// and the worker's relay starts the workflow and delivers the verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_starts_and_signals_workflows_the_api_could_not() {
    let app = TestApp::spawn().await; // TEMPORAL_ADDRESS points at a closed port
    let streamer = app.register_as("relayed", "STREAMER").await;
    let fan = app.register("relayfan").await;
    app.top_up(&fan, 50_000, "t").await.data("topUp");
    let id = app.new_mission(&fan, &streamer.user_id, 8_000).await;
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    let entry = workflow_outbox::Entity::find_by_id(id.clone())
        .one(&app.db.missions)
        .await
        .expect("query")
        .expect("outbox entry");
    assert!(
        entry.started_at.is_none(),
        "the API could not have started it"
    );
    assert_eq!(entry.pending_signal.as_deref(), Some("SUCCEEDED"));

    let worker = app.start_file_worker().await;
    let m = app
        .wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;
    assert_eq!(m["status"], "SUCCEEDED");
    assert_eq!(app.wallet(&streamer).await["earnings"], 8_000);
    // The file transport: one RFC 5322 message per recipient, To and an encoded Subject.
    let mail = worker
        .wait_for_mail(m["title"].as_str().expect("title"), 2)
        .await;
    assert_eq!(mail.len(), 2, "{mail:#?}");
    assert!(
        mail.iter()
            .any(|m| m.to == "relayfan@example.com" && m.body.contains("8,000원"))
    );
    let entry = workflow_outbox::Entity::find_by_id(id.clone())
        .one(&app.db.missions)
        .await
        .expect("query")
        .expect("outbox entry");
    assert!(entry.started_at.is_some());
    worker.stop().await;
}

const BACKERS: usize = 200;
const PLEDGES_EACH: usize = 10;

fn spawn_worker(app: &TestApp, outbox: &std::path::Path) -> tokio::process::Child {
    let outbox = outbox.to_str().expect("utf-8 path");
    app.spawn_worker_process(&[
        ("PLATFORM_FEE_BPS", "100"),
        ("SETTLEMENT_PAGE_SIZE", "20"),
        ("EMAIL_OUTBOX_DIR", outbox),
    ])
}

async fn count(app: &TestApp, id: &str, status: &str) -> u64 {
    pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(id))
        .filter(pledge::Column::Status.eq(status))
        .count(&app.db.missions)
        .await
        .expect("count")
}

/// 2,000 pledges; the worker is killed (SIGKILL) in the middle of paying them out and started
/// again: settlement resumes, every pledge is paid exactly once, and every backer gets one email.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_worker_mid_settlement_neither_pays_twice_nor_skips() {
    let app = TestApp::with_temporal(&[("PLATFORM_FEE_BPS", "100")]).await;
    let streamer = app.register_as("crashy", "STREAMER").await;
    let creator = app.register("creator").await;
    app.top_up(&creator, 10_000, "t").await.data("topUp");
    let id = app.new_mission(&creator, &streamer.user_id, 1_000).await;

    // Seed backers straight through the domain code (registration through HTTP would spend most
    // of the test hashing passwords).
    let hash = missionlink_identity::password::hash(PASSWORD.into())
        .await
        .expect("hash");
    let rules = app.config.missions.ledger();
    let seeds = (0..BACKERS).map(|i| {
        let (app, hash, rules, id) = (&app, hash.clone(), rules.clone(), id.clone());
        async move {
            let user_id = uuid::Uuid::now_v7().to_string();
            app.db
                .users
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, password_hash, created_at)
                     VALUES ($1, $2, $3, $3, $3, 'VIEWER', 'en', $4, now())",
                    [user_id.clone().into(), format!("backer{i}@example.com").into(), format!("backer{i}").into(), hash.into()],
                ))
                .await
                .expect("user");
            missionlink_ledger::wallet::open_user(&app.db.missions, &user_id, 0).await.expect("open");
            let key = IdempotencyKey::parse("seed").expect("key");
            missionlink_ledger::wallet::top_up(&app.db.missions, &user_id, 20_000, &key, 1_000_000).await.expect("top up");
            let pledges: Vec<PledgeRequest> = (0..PLEDGES_EACH)
                .map(|p| PledgeRequest {
                    mission_id: id.clone(),
                    backer_id: user_id.clone(),
                    amount_won: 1_000,
                    key: IdempotencyKey::parse(&format!("p{p}")).expect("key"),
                    note: Default::default(),
                })
                .collect();
            for answer in batch::commit(&app.db.missions, &rules, &pledges).await {
                answer.expect("pledge");
            }
        }
    });
    futures::stream::iter(seeds)
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    let pledges = u64::try_from(BACKERS * PLEDGES_EACH).expect("count") + 1;
    assert_eq!(count(&app, &id, "HELD").await, pledges);

    let outbox = tempfile::tempdir().expect("dir");
    let mut worker = spawn_worker(&app, outbox.path());
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");

    // Kill it once part of the payouts are committed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let paid = count(&app, &id, "PAID").await;
        if paid >= 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "settlement never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.start_kill().expect("kill");
    worker.wait().await.expect("reap");
    let held_after_kill = count(&app, &id, "HELD").await;
    assert!(
        held_after_kill > 0,
        "the kill came too late to test anything"
    );
    assert!(app.mission(&id).await["settledAt"].is_null());

    let mut worker = spawn_worker(&app, outbox.path());
    let m = app
        .wait_for_mission(&id, 120, |m| !m["settledAt"].is_null())
        .await;
    assert_eq!(m["status"], "SUCCEEDED");
    assert_eq!(count(&app, &id, "PAID").await, pledges);
    // 1 % of 1,000 per pledge.
    let total = i64::try_from(pledges).expect("fits") * 1_000;
    assert_eq!(app.wallet(&streamer).await["earnings"], total - total / 100);

    // Every backer (and the creator) gets exactly one email, and the streamer a summary.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let expected_emails = BACKERS + 2;
    loop {
        // The result emails: the notice of the acceptance is not one of them.
        let n = std::fs::read_dir(outbox.path())
            .expect("outbox")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| crate::support::parse_eml(&std::fs::read_to_string(e.path()).expect("eml")))
            .filter(|m| !crate::support::is_notice(&m.subject))
            .count();
        if n >= expected_emails {
            assert_eq!(n, expected_emails);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {n} emails");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    worker.start_kill().ok();
    worker.wait().await.ok();

    app.assert_audit_clean().await;

    // And the audit notices a pledge that claims to be held on a settled mission.
    app.db
        .missions
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("UPDATE pledges SET status = 'HELD', settled_at = NULL WHERE id = (SELECT id FROM pledges WHERE mission_id = '{id}' LIMIT 1)"),
        ))
        .await
        .expect("corrupt");
    let out = app.audit().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("pledge_settlement"), "{stdout}");
}
