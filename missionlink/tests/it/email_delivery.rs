//! Emails of a settled mission through SES v2 (moto) at the default send rate
//! (`EMAIL_MAX_PER_SECOND` = 14), sent by the real `missionlink worker` process: one message per
//! recipient with no fault, and with the worker killed mid-page, PostgreSQL unavailable while
//! deliveries are recorded, SES stalling, and addresses that can never be delivered to.

use crate::support::{
    Fault, FaultProxy, SES_SENDER, TestApp, free_port, moto_messages, moto_ses_config, ses_endpoint,
};
use missionlink_entities::missions::{email_delivery, mission};
use missionlink_workflows::email::SES_CONCURRENCY;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// A failed mission (every backer refunded, so each gets an email) with `backers` backers
/// besides its creator, whose addresses are `<prefix><n>@example.com` (or the given ones).
struct Mission {
    id: String,
    title: String,
    /// Every address that should get exactly one message: backers, creator and streamer.
    recipients: Vec<String>,
}

async fn failed_mission(app: &TestApp, addresses: &[String]) -> Mission {
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let streamer = app
        .register_as(&format!("mailstreamer{run}"), "STREAMER")
        .await;
    let creator = app.register(&format!("mailcreator{run}")).await;
    app.top_up(&creator, 10_000, "t").await.data("topUp");
    let title = format!("Email exactly once #{run}");
    let id = app
        .create_mission(
            &creator,
            &streamer.user_id,
            1_000,
            json!({ "title": title }),
        )
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    seed_backers(app, &id, addresses).await;
    app.act(&streamer, "FAILURE", &id)
        .await
        .data("decideMission");
    let mut recipients = addresses.to_vec();
    recipients.extend([creator.email.clone(), streamer.email.clone()]);
    Mission {
        id,
        title,
        recipients,
    }
}

/// Backers with the given addresses, each pledging 1,000 won to the mission: user rows written
/// in bulk (registering hundreds through argon2 would dominate the test), wallets and pledges
/// through the ledger's own functions.
pub(crate) async fn seed_backers(app: &TestApp, mission_id: &str, addresses: &[String]) {
    use missionlink_ledger::{AccountId, Amount, Currency, account, transfer};
    use sea_orm::TransactionTrait;
    let ids: Vec<String> = addresses
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    for (chunk_ids, chunk_addresses) in ids.chunks(500).zip(addresses.chunks(500)) {
        let values: Vec<String> = chunk_ids
            .iter()
            .zip(chunk_addresses)
            .map(|(id, address)| {
                let handle = format!("b{}", &id.replace('-', "")[20..]);
                format!(
                    "('{id}', '{address}', '{handle}', '{handle}', '{handle}', 'VIEWER', 'en', 'x', '2026-11-25 00:00:00+00')"
                )
            })
            .collect();
        app.db
            .users
            .execute_raw(Statement::from_string(
                app.db.users.get_database_backend(),
                format!(
                    "INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, password_hash, created_at) VALUES {}",
                    values.join(",")
                ),
            ))
            .await
            .expect("seed users");
    }
    let txn = app.db.missions.begin().await.expect("begin");
    let accounts: Vec<AccountId> = ids
        .iter()
        .flat_map(|id| account::user_accounts(id))
        .collect();
    account::open(&txn, &accounts).await.expect("accounts");
    let top_ups: Vec<transfer::Transfer> = ids
        .iter()
        .map(|id| transfer::Transfer {
            id: format!("topup:{id}:seed"),
            debit: AccountId::world(Currency::Cash),
            credit: AccountId::wallet(Currency::Cash, id),
            amount: Amount::new(1_000).expect("amount"),
            kind: missionlink_ledger::status::TransferKind::Topup,
        })
        .collect();
    transfer::apply_new_batch(&txn, &top_ups)
        .await
        .expect("top-ups");
    txn.commit().await.expect("commit");
    let key = missionlink_ledger::idempotency::IdempotencyKey::parse("seed-pledge").expect("key");
    let rules = app.config.missions.ledger();
    for chunk in ids.chunks(250) {
        let requests: Vec<_> = chunk
            .iter()
            .map(|id| missionlink_ledger::batch::PledgeRequest {
                mission_id: mission_id.to_owned(),
                backer_id: id.clone(),
                amount_won: 1_000,
                key: key.clone(),
                note: Default::default(),
            })
            .collect();
        for answer in missionlink_ledger::batch::commit(&app.db.missions, &rules, &requests).await {
            answer.expect("pledge");
        }
    }
}

pub(crate) fn addresses(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}@example.com")).collect()
}

/// `missionlink worker` as its own process, sending through SES v2 at `ses` (moto, or a proxy
/// in front of it) with the default rate and page size, on `missions_url` (the app's database,
/// or a proxy in front of it).
pub(crate) async fn ses_worker(
    app: &TestApp,
    ses: &str,
    missions_url: &str,
    metrics: SocketAddr,
) -> tokio::process::Child {
    moto_ses_config().await; // the sender verified in moto
    let metrics = metrics.to_string();
    app.spawn_worker_process(&[
        ("EMAIL_TRANSPORT", "ses"),
        ("EMAIL_FROM", &format!("MissionLink <{SES_SENDER}>")),
        ("AWS_ENDPOINT_URL_SESV2", ses),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("MISSIONS_DATABASE_URL", missions_url),
        ("WORKER_METRICS_ADDR", &metrics),
    ])
}

pub(crate) fn metrics_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Messages per recipient about the mission, as SES (moto) accepted them.
async fn received(title: &str) -> HashMap<String, usize> {
    let mut per_recipient = HashMap::new();
    for mail in moto_messages().await {
        // The result emails (a creator who backed it at acceptance had that notice too).
        if mail.subject.contains(title) && !crate::support::is_notice(&mail.subject) {
            *per_recipient.entry(mail.to).or_default() += 1;
        }
    }
    per_recipient
}

async fn wait_for_sent(title: &str, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while received(title).await.values().sum::<usize>() < at_least {
        assert!(Instant::now() < deadline, "fewer than {at_least} sent");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the email step finished (`notified_at` set), at most `seconds`.
async fn wait_notified(app: &TestApp, mission_id: &str, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let m = mission::Entity::find_by_id(mission_id.to_owned())
            .one(&app.db.missions)
            .await
            .expect("mission")
            .expect("exists");
        if m.notified_at.is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the email step did not finish within {seconds}s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn assert_exactly_once(m: &Mission, got: &HashMap<String, usize>) {
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    let missing: Vec<_> = m
        .recipients
        .iter()
        .filter(|r| !got.contains_key(*r))
        .collect();
    assert!(missing.is_empty(), "never sent: {missing:?}");
    assert_eq!(got.len(), m.recipients.len());
}

/// Every recipient's delivery is recorded as sent, once (the primary key allows no second).
async fn assert_each_recorded_sent(app: &TestApp, m: &Mission) {
    let recorded = email_delivery::Entity::find()
        .filter(email_delivery::Column::MissionId.eq(&m.id))
        .filter(email_delivery::Column::Status.eq("SENT"))
        // The result emails, not the notice of the acceptance.
        .filter(email_delivery::Column::Role.is_in(["BACKER", "STREAMER"]))
        .all(&app.db.missions)
        .await
        .expect("deliveries");
    assert_eq!(recorded.len(), m.recipients.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_backers_at_the_default_ses_rate_get_one_email_each() {
    let app = TestApp::with_temporal(&[]).await;
    let m = failed_mission(&app, &addresses("six", 600)).await;
    let _worker = ses_worker(&app, &ses_endpoint(), &app.dbs.missions_url, metrics_addr()).await;
    // 602 messages at 14 a second: longer than the 30 s heartbeat timeout that used to start a
    // second attempt beside the first.
    wait_notified(&app, &m.id, 180).await;
    assert_exactly_once(&m, &received(&m.title).await);
    assert_each_recorded_sent(&app, &m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_page_resends_at_most_the_sends_in_flight() {
    let app = TestApp::with_temporal(&[]).await;
    let m = failed_mission(&app, &addresses("kill", 200)).await;
    let mut first = ses_worker(&app, &ses_endpoint(), &app.dbs.missions_url, metrics_addr()).await;
    wait_for_sent(&m.title, 60).await;
    first.kill().await.expect("kill the worker");
    // Another worker takes over once Temporal presumes the first dead (30 s without heartbeat).
    let _second = ses_worker(&app, &ses_endpoint(), &app.dbs.missions_url, metrics_addr()).await;
    wait_notified(&app, &m.id, 180).await;
    let got = received(&m.title).await;
    let missing: Vec<_> = m
        .recipients
        .iter()
        .filter(|r| !got.contains_key(*r))
        .collect();
    assert!(missing.is_empty(), "never sent: {missing:?}");
    let repeated: usize = got.values().map(|n| n - 1).sum();
    assert!(
        repeated <= SES_CONCURRENCY,
        "{repeated} messages repeated after the crash; at most the {SES_CONCURRENCY} in flight may be"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_while_deliveries_are_recorded_resends_nothing() {
    let app = TestApp::with_temporal(&[]).await;
    let m = failed_mission(&app, &addresses("pgdown", 100)).await;
    let postgres: SocketAddr = "127.0.0.1:5432".parse().expect("addr");
    let proxy = FaultProxy::start(postgres).await;
    let via_proxy = app
        .dbs
        .missions_url
        .replace("127.0.0.1:5432", &proxy.addr.to_string());
    assert_ne!(via_proxy, app.dbs.missions_url, "the proxy is in the path");
    let _worker = ses_worker(&app, &ses_endpoint(), &via_proxy, metrics_addr()).await;
    wait_for_sent(&m.title, 20).await;
    // Longer than the pool's 10 s wait for a connection.
    proxy.set(Fault::Down);
    tokio::time::sleep(Duration::from_secs(20)).await;
    proxy.set(Fault::Pass);
    wait_notified(&app, &m.id, 180).await;
    assert_exactly_once(&m, &received(&m.title).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_stalling_for_45_seconds_resends_nothing() {
    let app = TestApp::with_temporal(&[]).await;
    let m = failed_mission(&app, &addresses("stall", 60)).await;
    let moto: SocketAddr = ses_endpoint()
        .trim_start_matches("http://")
        .parse()
        .expect("moto address");
    let proxy = FaultProxy::start(moto).await;
    let ses = format!("http://{}", proxy.addr);
    let _worker = ses_worker(&app, &ses, &app.dbs.missions_url, metrics_addr()).await;
    wait_for_sent(&m.title, 10).await;
    // SES takes the messages but answers none for longer than the heartbeat timeout.
    proxy.set(Fault::Stall);
    tokio::time::sleep(Duration::from_secs(45)).await;
    proxy.set(Fault::Pass);
    wait_notified(&app, &m.id, 180).await;
    assert_exactly_once(&m, &received(&m.title).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_addresses_are_recorded_as_failed_and_never_block_the_rest() {
    let app = TestApp::with_temporal(&[]).await;
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut backers = addresses(&format!("bad{run}_"), 5);
    // Rows from before registration checked the grammar: a list (two recipients to a mail
    // server) never reaches SES; a quoted local part passes the grammar, and SES (moto)
    // refuses it.
    let list = format!("a{run},b@example.com");
    let refused = format!("\"q@{run}\"@example.com");
    backers.extend([list.clone(), refused.clone()]);
    let m = failed_mission(&app, &backers).await;
    let metrics = metrics_addr();
    let _worker = ses_worker(&app, &ses_endpoint(), &app.dbs.missions_url, metrics).await;
    wait_notified(&app, &m.id, 120).await;

    let got = received(&m.title).await;
    for good in m
        .recipients
        .iter()
        .filter(|r| **r != list && **r != refused)
    {
        assert_eq!(got.get(good), Some(&1), "{good}: {got:?}");
    }
    assert!(
        !got.keys().any(|to| to.contains(run) && to.contains(',')),
        "{got:?}"
    );
    let failed = email_delivery::Entity::find()
        .filter(email_delivery::Column::MissionId.eq(&m.id))
        .filter(email_delivery::Column::Status.eq("FAILED"))
        .all(&app.db.missions)
        .await
        .expect("deliveries");
    let mut failed_to: Vec<_> = failed.iter().map(|d| d.address.clone()).collect();
    failed_to.sort();
    let mut expected = vec![list, refused];
    expected.sort();
    assert_eq!(failed_to, expected);
    assert!(failed.iter().all(|d| d.error.is_some()), "{failed:?}");
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .expect("worker metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.lines()
            .any(|l| l == "missionlink_emails_rejected_total{transport=\"ses\"} 2"),
        "{}",
        text.lines()
            .filter(|l| l.contains("emails_"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_transport_never_addresses_a_list() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_file_worker().await;
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let list = format!("x{run},y@example.com");
    let mut backers = addresses(&format!("file{run}_"), 2);
    backers.push(list.clone());
    let m = failed_mission(&app, &backers).await;
    wait_notified(&app, &m.id, 60).await;
    let mail = worker.mail_about(&m.title).await;
    let mut to: Vec<_> = mail.iter().map(|m| m.to.clone()).collect();
    to.sort();
    let mut expected: Vec<_> = m
        .recipients
        .iter()
        .filter(|r| **r != list)
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(
        to, expected,
        "one file per deliverable recipient, none for the list"
    );
    // The result emails' deliveries: the acceptance notice, racing the verdict, may have
    // tried the list too (recorded under its own role).
    let failed = email_delivery::Entity::find()
        .filter(email_delivery::Column::MissionId.eq(&m.id))
        .filter(email_delivery::Column::Role.eq("BACKER"))
        .filter(email_delivery::Column::Status.eq("FAILED"))
        .all(&app.db.missions)
        .await
        .expect("deliveries");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].address, list);
    worker.stop().await;
}

/// Files named after their message: the file worker writes a page while the one before it is
/// recorded, so a crash can rewrite two pages' files. Killed mid-way, it must still leave
/// exactly one file per recipient, and each delivery recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_worker_killed_mid_way_leaves_one_file_per_recipient() {
    let app = TestApp::with_temporal(&[]).await;
    let outbox = tempfile::tempdir().expect("outbox");
    let dir = outbox.path().to_str().expect("utf-8 path").to_owned();
    let file_worker = |app: &TestApp| {
        app.spawn_worker_process(&[
            ("EMAIL_TRANSPORT", "file"),
            ("EMAIL_OUTBOX_DIR", &dir),
            // Pages of 50: the kill lands between pages, with some recorded and some not.
            ("EMAIL_PAGE_SIZE", "50"),
            ("WORKER_METRICS_ADDR", &metrics_addr().to_string()),
        ])
    };
    let files = || {
        std::fs::read_dir(outbox.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| crate::support::parse_eml(&std::fs::read_to_string(e.path()).expect("eml")))
            .collect::<Vec<_>>()
    };
    let mut first = file_worker(&app);
    let m = failed_mission(&app, &addresses("filekill", 3_000)).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while files().len() < 300 {
        assert!(Instant::now() < deadline, "fewer than 300 files written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().await.expect("kill the worker");
    let written = files().len();
    assert!(
        written < m.recipients.len(),
        "the first worker finished ({written} files) before it was killed: nothing was tested"
    );
    let _second = file_worker(&app);
    wait_notified(&app, &m.id, 180).await;
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for mail in files()
        .into_iter()
        .filter(|f| f.subject.contains(&m.title) && !crate::support::is_notice(&f.subject))
    {
        *per_recipient.entry(mail.to).or_default() += 1;
    }
    assert_exactly_once(&m, &per_recipient);
    assert_each_recorded_sent(&app, &m).await;
}
