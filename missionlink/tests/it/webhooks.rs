//! Streamers' webhooks (issue 29, item 1), through HTTP against receivers on loopback: every
//! event of a pledge burst exactly once, in `seq` order, each signature valid (checked with an
//! HMAC written here from SHA-256, not the server's); a receiver down for a while gets the
//! backlog in order; one that never returns is disabled and its streamer emailed; refused
//! targets; the limits and who may touch a webhook.

use crate::support::{Session, TestApp, free_port, serve_on_loopback};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use missionlink_testdb::TestDatabases;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CREATE: &str = "mutation($url: String!, $events: [MissionEventKind!]!, $d: String) {
    createWebhook(url: $url, events: $events, description: $d) {
        id url events secret status deliveredSeq } }";
const HOOKS: &str = "{ webhooks { id url secret status deliveredSeq failingSince retryAt
    disabledAt disabledReason } }";
const DELIVERIES: &str = "query($id: ID!) { webhookDeliveries(webhookId: $id, first: 100) {
    totalCount nodes { seq eventId kind status attempts responseCode latencyMs error } } }";
const ALL_KINDS: [&str; 6] = [
    "CREATED",
    "PLEDGED",
    "ACCEPTED",
    "SUCCEEDED",
    "FAILED",
    "SETTLED",
];

/// HMAC-SHA256 as RFC 2104 defines it, for a key of at most one block.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    assert!(key.len() <= 64);
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    hex::encode(
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize(),
    )
}

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn seq(&self) -> i64 {
        self.json()["seq"].as_i64().expect("seq")
    }

    /// Whether `MissionLink-Signature` is `t=<t>,v1=<HMAC of "<t>.<body>">` under `secret`.
    fn signed_with(&self, secret: &str) -> bool {
        let value = self.headers["missionlink-signature"]
            .to_str()
            .expect("ascii");
        let (t, v1) = value
            .split_once(',')
            .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
            .expect("t=…,v1=…");
        let mut message = format!("{t}.").into_bytes();
        message.extend_from_slice(&self.body);
        let now = chrono::Utc::now().timestamp();
        let t: i64 = t.parse().expect("unix seconds");
        (now - t).abs() < 300 && hmac_sha256(secret.as_bytes(), &message) == v1
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn receive(
    State(log): State<Log>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    log.lock().expect("log").push(Received {
        headers,
        body: body.to_vec(),
    });
    StatusCode::NO_CONTENT
}

fn receiver_app(log: Log) -> axum::Router {
    axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(log)
}

/// A receiver on a free loopback port.
async fn receiver() -> (SocketAddr, Log) {
    let log = Log::default();
    (serve_on_loopback(receiver_app(log.clone())).await, log)
}

async fn create(app: &TestApp, who: &Session, url: &str, events: &[&str]) -> Value {
    app.gql(
        Some(&who.access),
        CREATE,
        json!({ "url": url, "events": events, "d": "test bot" }),
    )
    .await
    .data("createWebhook")
}

/// A streamer, `backers` funded viewers and a mission proposed by the first.
async fn cast(app: &TestApp, backers: usize) -> (Session, Vec<Session>) {
    let streamer = app.register_as("hookstar", "STREAMER").await;
    let mut viewers = Vec::new();
    for i in 0..backers {
        let v = app.register_owned(format!("hookfan{i}")).await;
        app.top_up(&v, 500_000, "cash").await.data("topUp");
        viewers.push(v);
    }
    (streamer, viewers)
}

async fn last_seq(app: &TestApp, streamer: &Session) -> i64 {
    app.gql(
        None,
        "query($s: ID!) { missionEvents(streamerId: $s, first: 1) { lastSeq } }",
        json!({ "s": streamer.user_id }),
    )
    .await
    .data("missionEvents")["lastSeq"]
        .as_i64()
        .expect("lastSeq")
}

/// Waits (at most `seconds`) until the log holds an event numbered `seq` or later.
async fn wait_for_seq(log: &Log, seq: i64, seconds: u64) -> Vec<Received> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let got = log.lock().expect("log").clone();
        if got.iter().any(|r| r.seq() >= seq) || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pledge_burst_reaches_a_receiver_once_each_in_seq_order_signed() {
    burst_reaches_a_receiver(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_too_a_pledge_burst_reaches_a_receiver_once_each_in_seq_order_signed() {
    burst_reaches_a_receiver(TestApp::spawn_with(TestDatabases::sqlite(), &[]).await).await;
}

async fn burst_reaches_a_receiver(app: TestApp) {
    let (streamer, viewers) = cast(&app, 6).await;
    let (addr, log) = receiver().await;
    let hook = create(&app, &streamer, &format!("http://{addr}/hook"), &ALL_KINDS).await;
    let secret = hook["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");
    assert_eq!(hook["status"], "ACTIVE");

    // A mission and 5 backers × 8 pledges at once.
    let mission = app.new_mission(&viewers[0], &streamer.user_id, 1_000).await;
    let pledges = viewers[1..].iter().flat_map(|who| {
        let (app, mission) = (&app, &mission);
        (0..8).map(move |i| async move {
            app.contribute(who, mission, 1_000, &format!("h{i}"))
                .await
                .data("contribute");
        })
    });
    futures::future::join_all(pledges).await;
    let last = last_seq(&app, &streamer).await;
    assert_eq!(last, 41, "CREATED and 40 PLEDGED");

    let got = wait_for_seq(&log, last, 30).await;
    let seqs: Vec<i64> = got.iter().map(Received::seq).collect();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "each once, in seq order"
    );
    for r in &got {
        assert!(r.signed_with(&secret), "a bad signature: {:?}", r.headers);
        assert_eq!(
            r.headers["missionlink-event-id"],
            format!("{}:{}", streamer.user_id, r.seq()).as_str()
        );
        assert_eq!(
            r.headers["missionlink-webhook-id"],
            hook["id"].as_str().expect("id")
        );
        assert_eq!(r.headers["content-type"], "application/json");
    }
    // The body is a missionEvents node: the pledge, its backer and the mission with it.
    let first_pledge = got[1].json();
    assert_eq!(first_pledge["kind"], "PLEDGED", "{first_pledge}");
    assert_eq!(first_pledge["mission"]["id"], mission.as_str());
    assert_eq!(first_pledge["pledge"]["amount"], 1_000);
    assert!(first_pledge["pledge"]["backer"]["displayName"].is_string());
    assert_eq!(
        first_pledge["mission"]["streamer"]["id"],
        streamer.user_id.as_str()
    );

    // Nothing more arrives, and the record shows each delivered at its first attempt.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(log.lock().expect("log").len(), 41, "no event twice");
    let record = app
        .gql(
            Some(&streamer.access),
            DELIVERIES,
            json!({ "id": hook["id"] }),
        )
        .await
        .data("webhookDeliveries");
    assert_eq!(record["totalCount"], 41, "{record}");
    let newest = &record["nodes"][0];
    assert_eq!(newest["seq"], 41);
    assert_eq!(newest["status"], "DELIVERED");
    assert_eq!(newest["attempts"], 1);
    assert_eq!(newest["responseCode"], 204);
    assert_eq!(newest["eventId"], format!("{}:41", streamer.user_id));
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed[0]["deliveredSeq"], 41);
    assert!(
        listed[0]["secret"].is_null(),
        "the secret is shown once: {listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_is_sent_only_the_kinds_it_takes_and_a_rotated_secret_signs_from_then_on() {
    let app = TestApp::spawn().await;
    let (streamer, viewers) = cast(&app, 2).await;
    let (addr, log) = receiver().await;
    let hook = create(
        &app,
        &streamer,
        &format!("http://{addr}/hook"),
        &["CREATED", "ACCEPTED"],
    )
    .await;
    let old = hook["secret"].as_str().expect("secret").to_owned();
    let mission = app.new_mission(&viewers[0], &streamer.user_id, 1_000).await;
    app.contribute(&viewers[1], &mission, 1_000, "k")
        .await
        .data("contribute");
    let got = wait_for_seq(&log, 1, 20).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["kind"], "CREATED");
    assert!(got[0].signed_with(&old));

    let rotated = app
        .gql(
            Some(&streamer.access),
            "mutation($id: ID!) { rotateWebhookSecret(webhookId: $id) { secret } }",
            json!({ "id": hook["id"] }),
        )
        .await
        .data("rotateWebhookSecret");
    let new = rotated["secret"].as_str().expect("new secret").to_owned();
    assert_ne!(new, old);
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    let got = wait_for_seq(&log, 3, 20).await;
    assert_eq!(got.len(), 2, "the PLEDGED event was not sent");
    assert_eq!(got[1].json()["kind"], "ACCEPTED");
    assert!(got[1].signed_with(&new) && !got[1].signed_with(&old));
    // The cursor moved past the kind it does not take.
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed[0]["deliveredSeq"], 3);
}

/// A webhook that takes the prediction kinds gets each with the prediction (issue 31): a bot
/// sees the outcomes and the winner, and no mission for a prediction about none. A test of a
/// prediction kind is refused: it would have no prediction to show.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_taking_prediction_events_gets_the_prediction() {
    let app = TestApp::spawn().await;
    let (streamer, viewers) = cast(&app, 1).await;
    let (addr, log) = receiver().await;
    create(
        &app,
        &streamer,
        &format!("http://{addr}/hook"),
        &["PREDICTION_OPENED", "PREDICTION_RESOLVED"],
    )
    .await;
    let p = app
        .gql(
            Some(&streamer.access),
            "mutation { createPrediction(title: \"Boss down?\", outcomes: [\"Yes\", \"No\"]) {
               id outcomes { id } } }",
            json!({}),
        )
        .await
        .data("createPrediction");
    app.gql(
        Some(&viewers[0].access),
        "mutation($p: ID!, $o: ID!) { betOnPrediction(predictionId: $p, outcomeId: $o,
           points: 40, idempotencyKey: \"hook\") { id } }",
        json!({ "p": p["id"], "o": p["outcomes"][0]["id"] }),
    )
    .await
    .data("betOnPrediction");
    app.gql(
        Some(&streamer.access),
        "mutation($p: ID!, $o: ID!) { resolvePrediction(predictionId: $p, outcomeId: $o) { id } }",
        json!({ "p": p["id"], "o": p["outcomes"][0]["id"] }),
    )
    .await
    .data("resolvePrediction");
    // Seqs 1 opened, 2 locked (not taken), 3 resolved.
    let got = wait_for_seq(&log, 3, 20).await;
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    let kinds: Vec<&str> = bodies
        .iter()
        .map(|b| b["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["PREDICTION_OPENED", "PREDICTION_RESOLVED"],
        "{bodies:#?}"
    );
    assert!(bodies[0]["mission"].is_null());
    assert_eq!(bodies[0]["prediction"]["title"], "Boss down?");
    assert_eq!(bodies[1]["prediction"]["winningOutcome"]["title"], "Yes");
    assert_eq!(bodies[1]["prediction"]["outcomes"][0]["points"], 40);
    assert_eq!(bodies[1]["prediction"]["status"], "SETTLED");

    let test = app
        .gql(
            Some(&streamer.access),
            "mutation { sendTestEvent(kind: PREDICTION_OPENED) { seq } }",
            json!({}),
        )
        .await;
    assert_eq!(
        test.0["errors"][0]["extensions"]["field"], "kind",
        "{}",
        test.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_down_for_a_while_gets_the_backlog_in_order_when_it_returns() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("WEBHOOK_BACKOFF_MAX_SECONDS", "1")],
    )
    .await;
    let (streamer, viewers) = cast(&app, 3).await;
    // Nothing listens on the port yet: every attempt is refused.
    let port = free_port();
    let hook = create(
        &app,
        &streamer,
        &format!("http://127.0.0.1:{port}/hook"),
        &ALL_KINDS,
    )
    .await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    let mission = app.new_mission(&viewers[0], &streamer.user_id, 1_000).await;
    for (i, who) in viewers[1..].iter().enumerate() {
        app.contribute(who, &mission, 1_000, &format!("d{i}"))
            .await
            .data("contribute");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed[0]["deliveredSeq"], 0, "{listed}");
    assert!(listed[0]["failingSince"].is_string(), "{listed}");
    let record = app
        .gql(
            Some(&streamer.access),
            DELIVERIES,
            json!({ "id": hook["id"] }),
        )
        .await
        .data("webhookDeliveries");
    let first = &record["nodes"][0];
    assert_eq!(first["seq"], 1, "{record}");
    assert_eq!(first["status"], "RETRYING");
    assert!(
        first["attempts"].as_i64().expect("attempts") >= 2,
        "{record}"
    );
    assert!(first["responseCode"].is_null());
    assert!(
        first["error"]
            .as_str()
            .expect("error")
            .contains("could not reach"),
        "{record}"
    );

    // The receiver comes up on that port: the backlog arrives, in order, once each.
    let log = Log::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the receiver's port");
    let served = receiver_app(log.clone());
    tokio::spawn(async move { axum::serve(listener, served).await.ok() });
    let got = wait_for_seq(&log, 3, 30).await;
    let seqs: Vec<i64> = got.iter().map(Received::seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(got.iter().all(|r| r.signed_with(&secret)));
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed[0]["deliveredSeq"], 3);
    assert!(listed[0]["failingSince"].is_null(), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_never_returns_is_disabled_and_its_streamer_emailed() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[
            ("WEBHOOK_BACKOFF_MAX_SECONDS", "1"),
            ("WEBHOOK_GIVE_UP_SECONDS", "3"),
        ],
    )
    .await;
    let worker = app.start_file_worker().await;
    let (streamer, viewers) = cast(&app, 1).await;
    let port = free_port();
    let hook = create(
        &app,
        &streamer,
        &format!("http://127.0.0.1:{port}/gone"),
        &ALL_KINDS,
    )
    .await;
    app.new_mission(&viewers[0], &streamer.user_id, 1_000).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let listed = app
            .gql(Some(&streamer.access), HOOKS, json!({}))
            .await
            .data("webhooks");
        if listed[0]["status"] == "DISABLED" || tokio::time::Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(listed[0]["status"], "DISABLED", "{listed}");
    let reason = listed[0]["disabledReason"].as_str().expect("reason");
    assert!(reason.contains("WEBHOOK_GIVE_UP_SECONDS"), "{reason}");
    let record = app
        .gql(
            Some(&streamer.access),
            DELIVERIES,
            json!({ "id": hook["id"] }),
        )
        .await
        .data("webhookDeliveries");
    assert_eq!(record["nodes"][0]["status"], "FAILED", "{record}");

    let mail = worker.wait_for_mail_to(&streamer.email, 1).await;
    assert_eq!(mail.len(), 1, "one notice");
    assert!(
        mail[0].body.contains(&format!("127.0.0.1:{port}/gone")),
        "{}",
        mail[0].body
    );
    assert!(mail[0].body.contains("enableWebhook"), "{}", mail[0].body);
    // Enabled again with a receiver there, it resumes from the event it stopped at.
    let log = Log::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("port");
    let served = axum::Router::new()
        .route("/gone", axum::routing::post(receive))
        .with_state(log.clone());
    tokio::spawn(async move { axum::serve(listener, served).await.ok() });
    let enabled = app
        .gql(
            Some(&streamer.access),
            "mutation($id: ID!) { enableWebhook(webhookId: $id) { status } }",
            json!({ "id": hook["id"] }),
        )
        .await
        .data("enableWebhook");
    assert_eq!(enabled["status"], "ACTIVE");
    let got = wait_for_seq(&log, 1, 20).await;
    assert_eq!(got.iter().map(Received::seq).collect::<Vec<_>>(), [1]);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn private_link_local_and_reserved_targets_are_refused_and_nothing_is_made() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("hookguard", "STREAMER").await;
    for url in [
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0:8080/hook",
        "ftp://example.com/hook",
        "http://user:pw@127.0.0.1/hook",
    ] {
        let refused = app
            .gql(
                Some(&streamer.access),
                CREATE,
                json!({ "url": url, "events": ["PLEDGED"] }),
            )
            .await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{url}: {:?}", refused.0);
    }
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_most_five_per_streamer_and_only_their_own() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("hooklimit", "STREAMER").await;
    let other = app.register_as("hookother", "STREAMER").await;
    let viewer = app.register("hookviewer").await;
    let url = "http://127.0.0.1:9/hook";
    // Six at once: five are made, one is refused.
    let tries = (0..6).map(|_| {
        app.gql(
            Some(&streamer.access),
            CREATE,
            json!({ "url": url, "events": ["PLEDGED"] }),
        )
    });
    let answers = futures::future::join_all(tries).await;
    let refused: Vec<String> = answers
        .iter()
        .filter(|a| a.0.get("errors").is_some())
        .map(|a| a.code())
        .collect();
    assert_eq!(refused, ["WEBHOOK_LIMIT"]);
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed.as_array().expect("list").len(), 5);

    let id = listed[0]["id"].clone();
    let viewer_try = app
        .gql(
            Some(&viewer.access),
            CREATE,
            json!({ "url": url, "events": ["PLEDGED"] }),
        )
        .await;
    assert_eq!(viewer_try.code(), "FORBIDDEN");
    for mutation in [
        "mutation($id: ID!) { deleteWebhook(webhookId: $id) }",
        "mutation($id: ID!) { rotateWebhookSecret(webhookId: $id) { id } }",
    ] {
        let theirs = app
            .gql(Some(&other.access), mutation, json!({ "id": id }))
            .await;
        assert_eq!(theirs.code(), "NOT_FOUND", "{mutation}");
    }
    let deleted = app
        .gql(
            Some(&streamer.access),
            "mutation($id: ID!) { deleteWebhook(webhookId: $id) }",
            json!({ "id": id }),
        )
        .await
        .data("deleteWebhook");
    assert_eq!(deleted, id);
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed.as_array().expect("list").len(), 4);
}

/// The README's code block of `language` under "Checking a signature".
fn readme_snippet(language: &str) -> String {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .expect("README.md");
    let from = readme
        .find("Checking a signature")
        .expect("the README's section");
    let fence = format!("```{language}\n");
    let start = readme[from..].find(&fence).expect("the snippet") + from + fence.len();
    let end = readme[start..].find("```").expect("its end") + start;
    readme[start..end].to_owned()
}

/// Runs `program` with `script` on stdin; its trimmed output.
fn run(program: &str, script: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("run");
    assert!(out.status.success(), "{program} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readmes_python_and_node_checks_accept_a_real_delivery_and_refuse_a_changed_one() {
    let app = TestApp::spawn().await;
    let (streamer, viewers) = cast(&app, 1).await;
    let (addr, log) = receiver().await;
    let hook = create(&app, &streamer, &format!("http://{addr}/hook"), &ALL_KINDS).await;
    let secret = hook["secret"].as_str().expect("secret");
    app.new_mission(&viewers[0], &streamer.user_id, 1_000).await;
    let got = wait_for_seq(&log, 1, 20).await;
    let delivery = got.first().expect("a delivery");
    let header = delivery.headers["missionlink-signature"]
        .to_str()
        .expect("ascii");
    let dir = tempfile::tempdir().expect("dir");
    let body = dir.path().join("body");
    std::fs::write(&body, &delivery.body).expect("body");
    let mut changed = delivery.body.clone();
    changed[0] = b' ';
    let tampered = dir.path().join("tampered");
    std::fs::write(&tampered, &changed).expect("tampered");

    let python = format!(
        "{}\nfor p in [{body:?}, {tampered:?}]:\n    print(verified({secret:?}, {header:?}, open(p, 'rb').read()))\n",
        readme_snippet("python")
    );
    assert_eq!(run("python3", &python), "True\nFalse");
    let node = format!(
        "{}\nconst fs = require('fs');\nfor (const p of [{body:?}, {tampered:?}]) console.log(verified({secret:?}, {header:?}, fs.readFileSync(p)) ? 'True' : 'False');\n",
        readme_snippet("js")
    );
    assert_eq!(run("node", &node), "True\nFalse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redirect_is_not_followed_and_a_receiver_too_slow_is_tried_again() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[
            ("WEBHOOK_TIMEOUT_SECONDS", "1"),
            ("WEBHOOK_BACKOFF_MAX_SECONDS", "1"),
        ],
    )
    .await;
    let (streamer, viewers) = cast(&app, 1).await;
    let log = Log::default();
    let slow_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls = slow_calls.clone();
    let receiver = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .route(
            "/moved",
            axum::routing::post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, "/hook")],
                )
            }),
        )
        .route(
            "/slow",
            axum::routing::post(
                move |State(log): State<Log>, headers: HeaderMap, body: axum::body::Bytes| {
                    let calls = calls.clone();
                    async move {
                        // The first answer comes after the timeout; the rest at once.
                        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                        }
                        receive(State(log), headers, body).await
                    }
                },
            ),
        )
        .with_state(log.clone());
    let addr = serve_on_loopback(receiver).await;
    let moved = create(&app, &streamer, &format!("http://{addr}/moved"), &ALL_KINDS).await;
    let slow = create(&app, &streamer, &format!("http://{addr}/slow"), &ALL_KINDS).await;
    app.new_mission(&viewers[0], &streamer.user_id, 1_000).await;

    // The slow receiver: the first attempt timed out (the receiver still got it), the second
    // delivered; the receiver deduplicates by MissionLink-Event-Id.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let record = loop {
        let record = app
            .gql(
                Some(&streamer.access),
                DELIVERIES,
                json!({ "id": slow["id"] }),
            )
            .await
            .data("webhookDeliveries");
        if record["nodes"][0]["status"] == "DELIVERED" || tokio::time::Instant::now() > deadline {
            break record;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let delivered = &record["nodes"][0];
    assert_eq!(delivered["status"], "DELIVERED", "{record}");
    assert_eq!(delivered["attempts"], 2, "{record}");
    let got = log.lock().expect("log").clone();
    let ids: std::collections::BTreeSet<String> = got
        .iter()
        .map(|r| {
            r.headers["missionlink-event-id"]
                .to_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one event, deduplicated by its id");

    // The redirect: answered 307, never followed, retried.
    let record = app
        .gql(
            Some(&streamer.access),
            DELIVERIES,
            json!({ "id": moved["id"] }),
        )
        .await
        .data("webhookDeliveries");
    let first = &record["nodes"][0];
    assert_eq!(first["status"], "RETRYING", "{record}");
    assert_eq!(first["responseCode"], 307, "{record}");
    let slow_id = slow["id"].as_str().expect("id");
    assert!(
        got.iter()
            .all(|r| r.headers["missionlink-webhook-id"] == slow_id),
        "the redirect's target got nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_production_a_webhook_must_be_https_to_a_public_address_even_by_name() {
    // Production's webhook rules (APP_ENV=production sets them; the rest of production's
    // configuration is beside the point here).
    let dbs = TestDatabases::postgres().await;
    let mut config = crate::support::test_config(&dbs, &[]);
    config.webhooks.production = true;
    let app = TestApp::start(dbs, config).await;
    let streamer = app.register_as("prodhooks", "STREAMER").await;
    for (url, says) in [
        ("https://localhost:8443/hook", "loopback"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("http://example.com/hook", "https"),
        ("https://10.1.2.3/hook", "public"),
    ] {
        let refused = app
            .gql(
                Some(&streamer.access),
                CREATE,
                json!({ "url": url, "events": ["PLEDGED"] }),
            )
            .await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{url}");
        assert!(
            refused.message().contains(says),
            "{url}: {}",
            refused.message()
        );
    }
    let listed = app
        .gql(Some(&streamer.access), HOOKS, json!({}))
        .await
        .data("webhooks");
    assert_eq!(listed, json!([]));
}
