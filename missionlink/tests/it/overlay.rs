//! The streamer's OBS overlay (issue 13): the link only its streamer gets (`myOverlay`,
//! `rotateOverlayToken`), what its token opens (`overlay`, `overlayEvents`, `GET /overlay/<token>`)
//! and what it refuses, and the page itself in Debian's headless chromium, driven by
//! `scripts/node/overlay-check.mjs`: a mission created after it loaded shows within a second, a
//! pledge shows as an alert, every event shows exactly once across a restart of its API, and a
//! rotated token's page stops.

use crate::support::{
    Gql, PASSWORD, ServeProcess, Session, TestApp, TestDatabases, artifacts_dir, ws_next_json,
    ws_open,
};
use futures::SinkExt;
use missionlink_entities::users::overlay_link;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

const LINK: &str = "url token issuedAt";

/// Registers `handle` with a display name and a locale.
async fn register(app: &TestApp, handle: &str, role: &str, locale: &str, name: &str) -> Session {
    app.register_with(
        json!({ "email": format!("{handle}@example.com"), "password": PASSWORD,
        "handle": handle, "displayName": name, "role": role, "locale": locale }),
    )
    .await
}

async fn my_overlay(app: &TestApp, who: Option<&Session>) -> Gql {
    app.gql(
        who.map(|s| s.access.as_str()),
        &format!("{{ myOverlay {{ {LINK} }} }}"),
        json!({}),
    )
    .await
}

async fn rotate(app: &TestApp, who: &Session) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("mutation {{ rotateOverlayToken {{ {LINK} }} }}"),
        json!({}),
    )
    .await
}

/// The token the streamer's first `rotateOverlayToken` issues.
pub(crate) async fn first_token(app: &TestApp, streamer: &Session) -> String {
    rotate(app, streamer).await.data("rotateOverlayToken")["token"]
        .as_str()
        .expect("issuing shows the token")
        .to_owned()
}

async fn overlay(app: &TestApp, token: &str) -> Gql {
    app.gql(
        None,
        "query($t: String!) { overlay(token: $t) { locale lastSeq
            streamer { id displayName verifiedChannel { platform name url } }
            missions(first: 50) { totalCount nodes { id status title acceptBy deadline totalPledged backerCount } } } }",
        json!({ "t": token }),
    )
    .await
}

/// A streamer with `fans` viewers holding cash.
async fn cast(app: &TestApp, tag: &str, locale: &str, fans: usize) -> (Session, Vec<Session>) {
    let streamer = register(app, &format!("{tag}_star"), "STREAMER", locale, "Stella").await;
    let mut viewers = Vec::new();
    for (i, name) in ["Alice", "Bob", "Cho"].iter().take(fans).enumerate() {
        let fan = register(app, &format!("{tag}_fan{i}"), "VIEWER", locale, name).await;
        app.top_up(&fan, 500_000, "cash").await.data("topUp");
        viewers.push(fan);
    }
    (streamer, viewers)
}

#[tokio::test]
async fn only_a_streamer_gets_an_overlay_link_and_it_is_shown_once() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let app = TestApp::spawn_with(dbs, &[]).await;
        a_link_is_shown_once(&app).await;
    }
}

async fn a_link_is_shown_once(app: &TestApp) {
    let (streamer, fans) = cast(app, "link", "en", 1).await;

    // Viewers have no overlay; without a sign-in there is no one to have one.
    assert_eq!(my_overlay(app, Some(&fans[0])).await.code(), "FORBIDDEN");
    assert_eq!(rotate(app, &fans[0]).await.code(), "FORBIDDEN");
    assert_eq!(my_overlay(app, None).await.code(), "UNAUTHENTICATED");
    let anonymous = app
        .gql(
            None,
            &format!("mutation {{ rotateOverlayToken {{ {LINK} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");

    // Nothing is issued by reading: before the first rotation there is no link.
    assert_eq!(
        my_overlay(app, Some(&streamer)).await.data("myOverlay"),
        Value::Null
    );
    // The mutation issues the link and shows it: the page on the host the request came to.
    let first = rotate(app, &streamer).await.data("rotateOverlayToken");
    let token = first["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 43, "256 random bits, base64url: {token}");
    assert_eq!(first["url"], format!("http://{}/overlay/{token}", app.addr));
    // Stored hashed: reads cannot show it, only when it was issued.
    let again = my_overlay(app, Some(&streamer)).await.data("myOverlay");
    assert_eq!(again["token"], Value::Null);
    assert_eq!(again["url"], Value::Null);
    assert_eq!(again["issuedAt"], first["issuedAt"]);
    let rows = overlay_link::Entity::find()
        .all(&app.db.users)
        .await
        .expect("overlay links");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_id, streamer.user_id);
    assert_eq!(rows[0].token_hash, hex_sha256(&token));
    assert!(!format!("{rows:?}").contains(&token));
    assert_eq!(
        overlay(app, &token).await.data("overlay")["streamer"]["id"],
        streamer.user_id.as_str()
    );

    // Rotation shows the new link, once, and the old token opens nothing from then on.
    let rotated = rotate(app, &streamer).await.data("rotateOverlayToken");
    let new = rotated["token"].as_str().expect("new token").to_owned();
    assert_ne!(new, token);
    assert_eq!(rotated["url"], format!("http://{}/overlay/{new}", app.addr));
    assert_eq!(overlay(app, &token).await.code(), "OVERLAY_TOKEN_INVALID");
    assert_eq!(overlay(app, &new).await.data("overlay")["locale"], "en");
    assert_eq!(
        my_overlay(app, Some(&streamer)).await.data("myOverlay")["issuedAt"],
        rotated["issuedAt"]
    );
}

fn hex_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn a_token_opens_its_streamers_open_missions_and_a_bad_one_nothing() {
    let app = TestApp::spawn().await;
    let (streamer, fans) = cast(&app, "open", "ko", 1).await;
    let token = first_token(&app, &streamer).await;
    let pending = app.new_mission(&fans[0], &streamer.user_id, 1_000).await;
    let active = app.new_mission(&fans[0], &streamer.user_id, 2_000).await;
    app.act(&streamer, "accept", &active)
        .await
        .data("acceptMission");
    let rejected = app.new_mission(&fans[0], &streamer.user_id, 3_000).await;
    app.act(&streamer, "reject", &rejected)
        .await
        .data("rejectMission");

    let state = overlay(&app, &token).await.data("overlay");
    assert_eq!(state["locale"], "ko");
    assert_eq!(state["streamer"]["displayName"], "Stella");
    // The page shows the streamer's verified channel (the test support's CHZZK channel).
    let channel = &state["streamer"]["verifiedChannel"];
    assert_eq!(channel["platform"], "CHZZK");
    assert!(
        channel["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://chzzk.naver.com/")),
        "{state}"
    );
    // Three creations, an acceptance, a rejection.
    assert_eq!(state["lastSeq"], 5);
    let ids: Vec<&str> = state["missions"]["nodes"]
        .as_array()
        .expect("missions")
        .iter()
        .map(|m| m["id"].as_str().expect("id"))
        .collect();
    // PENDING and ACTIVE only, the nearest time limit first: the pending mission's accept
    // window (an hour from its creation) closes before the active one's deadline (an hour
    // from its later acceptance).
    assert_eq!(ids, [pending.as_str(), active.as_str()], "{state}");
    assert_eq!(state["missions"]["totalCount"], 2);

    // A bad token: one code, a message that names nothing, whatever was wrong with it.
    let unknown = "A".repeat(43);
    for bad in ["", "nope", unknown.as_str(), &format!("{token}x")] {
        let refused = overlay(&app, bad).await;
        assert_eq!(refused.code(), "OVERLAY_TOKEN_INVALID", "{bad}");
        assert_eq!(refused.message(), overlay(&app, &unknown).await.message());
        assert!(!refused.message().contains(&streamer.user_id));
        assert_eq!(refused.0["data"], Value::Null);
    }

    // The page: in the streamer's language, loading nothing, strict about what it may do.
    let page = app
        .http
        .get(app.url(&format!("/overlay/{token}")))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let header = |name: &str| page.headers()[name].to_str().expect("ascii").to_owned();
    let csp = header("content-security-policy");
    for rule in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "connect-src 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(rule), "{rule} missing from {csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("content-type").starts_with("text/html"));
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"<html lang="ko">"#), "{html}");
    assert!(html.contains("MissionLink 오버레이"));
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("{{"),
        "the page names an external URL or an unfilled placeholder"
    );
    assert!(
        !html.contains(" src=") && !html.contains("stylesheet"),
        "loads nothing"
    );
    for bad in ["nope", unknown.as_str()] {
        let r = app
            .http
            .get(app.url(&format!("/overlay/{bad}")))
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), 404, "{bad}");
        assert_eq!(r.text().await.expect("body"), "no such overlay");
    }
    let old = token;
    let new = rotate(&app, &streamer).await.data("rotateOverlayToken")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let status = |t: String| {
        let (http, url) = (app.http.clone(), app.url(&format!("/overlay/{t}")));
        async move { http.get(url).send().await.expect("page").status() }
    };
    assert_eq!(status(old).await, 404);
    assert_eq!(status(new).await, 200);
}

/// Subscribes to `overlayEvents(token, afterSeq)` on a fresh socket.
async fn follow(app: &TestApp, token: &str, after_seq: i64) -> crate::support::WsSocket {
    let mut ws = ws_open(app).await;
    let ack = ws_next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({ "id": "overlay", "type": "subscribe", "payload": {
        "query": "subscription($t: String!, $a: Int!) { overlayEvents(token: $t, afterSeq: $a) {
            seq kind mission { id status } pledge { amount backer { displayName } } } }",
        "variables": { "t": token, "a": after_seq } } });
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    ws
}

/// The error code a message carries: an `error` message, or a `next` whose result has errors.
fn error_code(message: &Value) -> Option<&str> {
    let errors = if message["type"] == "error" {
        &message["payload"]
    } else {
        &message["payload"]["errors"]
    };
    errors[0]["extensions"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlay_subscription_ends_as_soon_as_its_token_is_rotated() {
    let app = TestApp::spawn().await;
    let (streamer, fans) = cast(&app, "sub", "en", 1).await;
    let mission = app.new_mission(&fans[0], &streamer.user_id, 1_000).await;
    let token = first_token(&app, &streamer).await;

    // A token that opens nothing, or a seq from the future: refused at once.
    let mut ws = follow(&app, &"B".repeat(43), 0).await;
    let refused = ws_next_json(&mut ws).await;
    assert_eq!(
        error_code(&refused),
        Some("OVERLAY_TOKEN_INVALID"),
        "{refused}"
    );
    drop(ws);
    let mut ws = follow(&app, &token, 99).await;
    let refused = ws_next_json(&mut ws).await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    drop(ws);

    // Live, then the token is rotated on a quiet feed: the stream ends within a poll (2 s).
    let mut ws = follow(&app, &token, 1).await;
    app.contribute(&fans[0], &mission, 2_000, "live")
        .await
        .data("contribute");
    let live = ws_next_json(&mut ws).await;
    assert_eq!(live["payload"]["data"]["overlayEvents"]["seq"], 2, "{live}");
    assert_eq!(
        live["payload"]["data"]["overlayEvents"]["pledge"]["backer"]["displayName"],
        "Alice"
    );
    let rotated_at = std::time::Instant::now();
    let token = rotate(&app, &streamer).await.data("rotateOverlayToken")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let ended = ws_next_json(&mut ws).await;
    assert_eq!(error_code(&ended), Some("OVERLAY_TOKEN_INVALID"), "{ended}");
    assert!(
        rotated_at.elapsed() < Duration::from_secs(4),
        "ended {:?} after the rotation",
        rotated_at.elapsed()
    );
    let complete = ws_next_json(&mut ws).await;
    assert_eq!(complete["type"], "complete", "{complete}");
    drop(ws);

    // Rotated with a pledge right behind: the pledge, committed after the rotation, is never
    // delivered; the end is.
    let mut ws = follow(&app, &token, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    rotate(&app, &streamer).await.data("rotateOverlayToken");
    app.contribute(&fans[0], &mission, 3_000, "after")
        .await
        .data("contribute");
    let ended = ws_next_json(&mut ws).await;
    assert_eq!(error_code(&ended), Some("OVERLAY_TOKEN_INVALID"), "{ended}");
}

/// One tab or command of `scripts/node/overlay-check.mjs` at a time.
pub(crate) struct Browser {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    answers: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Browser {
    pub(crate) async fn launch() -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/node/overlay-check.mjs"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run node (scripts/test installs playwright-core and chromium)");
        let stdin = child.stdin.take().expect("stdin");
        let answers = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self {
            child,
            stdin,
            answers,
        }
    }

    /// Sends `command`; its answer, which must be `ok`.
    pub(crate) async fn call(&mut self, command: Value) -> Value {
        let answer = self.try_call(command.clone()).await;
        assert_eq!(answer["ok"], true, "{command} failed: {answer:#}");
        answer
    }

    pub(crate) async fn try_call(&mut self, command: Value) -> Value {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("write a command");
        let line = tokio::time::timeout(Duration::from_secs(90), self.answers.next_line())
            .await
            .unwrap_or_else(|_| panic!("no answer to {command} within 90 s"))
            .expect("read an answer")
            .unwrap_or_else(|| panic!("the browser script ended during {command}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    pub(crate) async fn open(&mut self, name: &str, url: &str) -> Value {
        self.call(json!({ "cmd": "open", "name": name, "url": url }))
            .await["snapshot"]
            .clone()
    }

    pub(crate) async fn wait_seq(&mut self, name: &str, seq: i64, timeout_ms: u64) -> Value {
        self.call(json!({ "cmd": "waitSeq", "name": name, "seq": seq, "timeoutMs": timeout_ms }))
            .await["snapshot"]
            .clone()
    }

    pub(crate) async fn snapshot(&mut self, name: &str) -> Value {
        self.call(json!({ "cmd": "snapshot", "name": name })).await["snapshot"].clone()
    }

    pub(crate) async fn close(mut self) {
        self.call(json!({ "cmd": "close" })).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

fn epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The seqs a snapshot's page applied, in the order it applied them.
fn shown_seqs(snapshot: &Value) -> Vec<i64> {
    snapshot["hooks"]["shown"]
        .as_array()
        .expect("shown")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect()
}

pub(crate) fn alert(snapshot: &Value, seq: i64) -> &Value {
    snapshot["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["seq"] == seq)
        .unwrap_or_else(|| panic!("no alert for seq {seq}: {snapshot:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_overlay_page_in_a_real_browser_follows_every_event_once_across_a_restart_and_stops_when_rotated()
 {
    // The page's API is a `missionlink serve` process of its own, killed and started again;
    // everything else goes through another instance on the same databases.
    let writer = TestApp::spawn().await;
    let reader = ServeProcess::start(&writer).await;
    let (streamer, fans) = cast(&writer, "obs", "en", 2).await;
    let token = first_token(&writer, &streamer).await;
    let page_url = format!("http://{}/overlay/{token}", reader.addr);
    let mut browser = Browser::launch().await;

    let loaded = browser.open("main", &page_url).await;
    assert_eq!(loaded["hooks"]["lastSeq"], 0, "{loaded:#}");
    assert_eq!(
        loaded["hooks"]["channel"]["platform"], "CHZZK",
        "the streamer's verified channel is shown: {loaded:#}"
    );
    assert_eq!(loaded["lang"], "en");
    assert_eq!(loaded["background"], "rgba(0, 0, 0, 0)", "transparent");

    // (1) A mission created after the page loaded shows within a second.
    let mission = writer
        .new_mission(&fans[0], &streamer.user_id, 10_000)
        .await;
    // Created: committed and answered (the page may even show it before the answer arrives).
    let before = epoch_ms();
    let shown = browser.wait_seq("main", 1, 5_000).await;
    let created = &shown["hooks"]["shown"][0];
    assert_eq!(created["kind"], "CREATED");
    assert_eq!(created["mission"], mission.as_str());
    let latency = created["at"].as_i64().expect("at") - before;
    println!("overlay: mission created -> shown on the page in {latency} ms");
    assert!(
        latency <= 1_000,
        "shown {latency} ms after createMission answered"
    );
    let card = &shown["missions"][0];
    assert_eq!(card["id"], mission.as_str());
    assert_eq!(card["status"], "PENDING");
    assert!(
        card["meta"]
            .as_str()
            .expect("meta")
            .starts_with("₩10,000 · Backers: 1"),
        "{card}"
    );
    assert!(
        card["clock"]
            .as_str()
            .expect("clock")
            .starts_with("Accept within "),
        "{card}"
    );
    let alerted = alert(&shown, 1)["text"].as_str().expect("text").to_owned();
    assert!(
        alerted.contains("New mission!") && alerted.contains("Alice pledged ₩10,000!"),
        "{alerted}"
    );

    // (2) A pledge shows as an alert: the backer and the amount, in the streamer's language.
    writer
        .contribute(&fans[1], &mission, 5_000, "obs-1")
        .await
        .data("contribute");
    let pledged = browser.wait_seq("main", 2, 5_000).await;
    let text = alert(&pledged, 2)["text"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(text.contains("Bob pledged ₩5,000!"), "{text}");
    assert_eq!(alert(&pledged, 2)["kind"], "PLEDGED");
    assert!(
        pledged["missions"][0]["meta"]
            .as_str()
            .expect("meta")
            .starts_with("₩15,000 · Backers: 2")
    );

    // Accepted: the countdown is now the deadline's. A second mission waits for its answer.
    writer
        .act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    let second = writer.new_mission(&fans[1], &streamer.user_id, 7_000).await;
    let board = browser.wait_seq("main", 4, 5_000).await;
    let active = board["missions"]
        .as_array()
        .expect("missions")
        .iter()
        .find(|m| m["id"] == mission.as_str())
        .expect("the accepted mission");
    assert_eq!(active["status"], "ACTIVE");
    assert!(
        active["clock"]
            .as_str()
            .expect("clock")
            .starts_with("Time left "),
        "{active}"
    );
    assert_eq!(board["missions"].as_array().expect("missions").len(), 2);
    let screenshot = artifacts_dir().join("overlay.png");
    browser
        .call(json!({ "cmd": "screenshot", "name": "main", "path": screenshot }))
        .await;
    println!("overlay screenshot: {}", screenshot.display());

    // (3) The page's API dies mid-stream while pledges keep coming through the other one; it
    // comes back on the same address and the page catches up: every event once, in order.
    let addr = reader.addr;
    reader.kill().await;
    for i in 0..5 {
        writer
            .contribute(
                &fans[i % 2],
                &mission,
                1_000 + i64::try_from(i).expect("small"),
                &format!("down{i}"),
            )
            .await
            .data("contribute");
    }
    let down = browser.snapshot("main").await;
    let restarted = ServeProcess::start_at(&writer, addr).await;
    for i in 0..5 {
        writer
            .contribute(&fans[i % 2], &second, 2_000, &format!("up{i}"))
            .await
            .data("contribute");
    }
    let caught_up = browser.wait_seq("main", 14, 60_000).await;
    assert_eq!(
        shown_seqs(&caught_up),
        (1..=14).collect::<Vec<_>>(),
        "every event exactly once, in seq order (down at seq {})",
        down["hooks"]["lastSeq"]
    );
    assert!(
        caught_up["hooks"]["connects"].as_i64() >= Some(2),
        "{caught_up:#}"
    );
    assert_eq!(
        caught_up["hooks"]["reloads"], 1,
        "resumed, not reloaded: {caught_up:#}"
    );
    let kinds: Vec<&str> = caught_up["hooks"]["shown"]
        .as_array()
        .expect("shown")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "CREATED", "PLEDGED", "ACCEPTED", "CREATED", "PLEDGED", "PLEDGED", "PLEDGED",
            "PLEDGED", "PLEDGED", "PLEDGED", "PLEDGED", "PLEDGED", "PLEDGED", "PLEDGED"
        ]
    );
    let seqs_on_alerts: Vec<i64> = caught_up["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["seq"].as_i64().expect("seq"))
        .collect();
    let unique: std::collections::HashSet<i64> = seqs_on_alerts.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seqs_on_alerts.len(),
        "an alert twice: {seqs_on_alerts:?}"
    );

    // The verdict when it comes.
    writer
        .act(&streamer, "SUCCESS", &mission)
        .await
        .data("decideMission");
    let decided = browser.wait_seq("main", 15, 5_000).await;
    let verdict = alert(&decided, 15);
    assert_eq!(verdict["kind"], "SUCCEEDED");
    assert!(
        verdict["text"]
            .as_str()
            .expect("text")
            .contains("Mission succeeded!"),
        "{verdict}"
    );

    // (4) Rotated, with a pledge right behind: the old page never shows the pledge and stops;
    // its URL is gone; the new URL works.
    let rotated = writer
        .gql(
            Some(&streamer.access),
            "mutation { rotateOverlayToken { token } }",
            json!({}),
        )
        .await
        .data("rotateOverlayToken");
    writer
        .contribute(&fans[0], &second, 3_000, "after-rotation")
        .await
        .data("contribute");
    let stopped = browser
        .call(
            json!({ "cmd": "waitStatus", "name": "main", "status": "revoked", "timeoutMs": 5_000 }),
        )
        .await["snapshot"]
        .clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let old = browser.snapshot("main").await;
    assert_eq!(
        old["hooks"]["lastSeq"], 15,
        "the old page updated after the rotation: {old:#}"
    );
    assert_eq!(shown_seqs(&old), (1..=15).collect::<Vec<_>>());
    assert_eq!(old["missions"], json!([]), "{old:#}");
    // Nothing on stream tells viewers to do anything: the page is simply empty.
    assert_eq!(old["notice"]["hidden"], true, "{old:#}");
    assert_eq!(old["alerts"], json!([]), "{old:#}");
    assert!(
        stopped["hooks"]["errors"]
            .as_array()
            .is_some_and(|e| e.contains(&json!("OVERLAY_TOKEN_INVALID"))),
        "{stopped:#}"
    );
    let gone = browser
        .try_call(json!({ "cmd": "open", "name": "stale", "url": page_url }))
        .await;
    assert_eq!(gone["httpStatus"], 404, "{gone}");
    let new_url = format!(
        "http://{}/overlay/{}",
        restarted.addr,
        rotated["token"].as_str().expect("token")
    );
    let fresh = browser.open("rotated", &new_url).await;
    assert_eq!(fresh["hooks"]["lastSeq"], 16);
    writer
        .contribute(&fans[1], &second, 4_000, "on-the-new-page")
        .await
        .data("contribute");
    let fresh = browser.wait_seq("rotated", 17, 5_000).await;
    assert_eq!(shown_seqs(&fresh), [17]);
    assert!(
        alert(&fresh, 17)["text"]
            .as_str()
            .expect("text")
            .contains("Bob pledged ₩4,000!")
    );
    assert_eq!(browser.snapshot("main").await["hooks"]["lastSeq"], 15);

    // A Korean streamer's page speaks Korean.
    let (ko_streamer, ko_fans) = cast(&writer, "obs_ko", "ko", 1).await;
    let ko_token = first_token(&writer, &ko_streamer).await;
    let ko = browser
        .open(
            "ko",
            &format!("http://{}/overlay/{ko_token}", restarted.addr),
        )
        .await;
    assert_eq!(ko["lang"], "ko");
    assert_eq!(ko["title"], "MissionLink 오버레이");
    let ko_mission = writer
        .new_mission(&ko_fans[0], &ko_streamer.user_id, 12_000)
        .await;
    let ko = browser.wait_seq("ko", 1, 5_000).await;
    let text = alert(&ko, 1)["text"].as_str().expect("text").to_owned();
    assert!(
        text.contains("새 미션 도착!") && text.contains("Alice님이 12,000원 후원!"),
        "{text}"
    );
    assert_eq!(ko["missions"][0]["id"], ko_mission.as_str());
    assert!(
        ko["missions"][0]["clock"]
            .as_str()
            .expect("clock")
            .starts_with("수락 마감까지 ")
    );

    // Messages held for approval reach the screen only once approved, an anonymous backer
    // shows as 익명, and a hidden message leaves the screen.
    writer
        .gql(
            Some(&ko_streamer.access),
            "mutation { updateStreamerSettings(input: { manualApproval: true }) { manualApproval } }",
            json!({}),
        )
        .await
        .data("updateStreamerSettings");
    let held = writer
        .gql(
            Some(&ko_fans[0].access),
            "mutation($m: ID!) { contribute(missionId: $m, amount: 3000, idempotencyKey: \"held\",
               message: \"보스 가즈아\", anonymous: true) { id } }",
            json!({ "m": ko_mission }),
        )
        .await
        .data("contribute")["id"]
        .clone();
    let ko = browser.wait_seq("ko", 2, 5_000).await;
    let text = alert(&ko, 2)["text"].as_str().expect("text").to_owned();
    assert!(
        text.contains("익명") && !text.contains("보스 가즈아"),
        "{text}"
    );
    let moderate = |field: &'static str| {
        let (writer, token, held) = (&writer, ko_streamer.access.clone(), held.clone());
        async move {
            writer
                .gql(
                    Some(&token),
                    &format!("mutation($p: ID!) {{ {field}(pledgeId: $p) {{ id }} }}"),
                    json!({ "p": held }),
                )
                .await
                .data(field);
        }
    };
    // Approved while its pledge's alert is on screen: the message joins that alert, and no
    // second alert reads like another pledge.
    moderate("approveMessage").await;
    let ko = browser.wait_seq("ko", 3, 5_000).await;
    let text = alert(&ko, 2)["text"].as_str().expect("text").to_owned();
    assert!(
        text.contains("익명") && text.contains("보스 가즈아"),
        "{text}"
    );
    assert!(
        ko["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .all(|a| a["seq"] != 3),
        "{ko:#}"
    );
    moderate("hideMessage").await;
    let ko = browser.wait_seq("ko", 4, 5_000).await;
    let text = alert(&ko, 2)["text"].as_str().expect("text").to_owned();
    assert!(
        !text.contains("보스 가즈아"),
        "a hidden message leaves the screen: {text}"
    );

    // A pledge withdrawn while the mission waits for its answer leaves the card's amount at
    // once, without an alert.
    let meta = |snapshot: &Value| {
        snapshot["missions"][0]["meta"]
            .as_str()
            .expect("meta")
            .to_owned()
    };
    assert!(meta(&ko).contains("15,000"), "{}", meta(&ko));
    writer
        .gql(
            Some(&ko_fans[0].access),
            "mutation($p: ID!) { withdrawPledge(pledgeId: $p, idempotencyKey: \"oops\") { status } }",
            json!({ "p": held }),
        )
        .await
        .data("withdrawPledge");
    let ko = browser.wait_seq("ko", 5, 5_000).await;
    assert!(
        meta(&ko).contains("12,000") && !meta(&ko).contains("15,000"),
        "{}",
        meta(&ko)
    );
    let withdrawn = &ko["hooks"]["shown"][4];
    assert_eq!(withdrawn["kind"], "PLEDGE_WITHDRAWN");
    assert_eq!(withdrawn["alert"], false, "{withdrawn}");
    // Its message can no longer be approved onto the stream.
    let approve = writer
        .gql(
            Some(&ko_streamer.access),
            "mutation($p: ID!) { approveMessage(pledgeId: $p) { id } }",
            json!({ "p": held }),
        )
        .await;
    assert_eq!(approve.code(), "INVALID_STATE");

    // Offline: nothing left loopback; no script error, no Content-Security-Policy violation.
    let report = browser.call(json!({ "cmd": "report" })).await["report"].clone();
    assert_eq!(report["blocked"], json!([]), "{report:#}");
    assert_eq!(report["pageErrors"], json!([]), "{report:#}");
    let violations: Vec<&Value> = report["consoleErrors"]
        .as_array()
        .expect("console errors")
        .iter()
        .filter(|e| {
            e.as_str()
                .is_some_and(|e| e.contains("Content Security Policy"))
        })
        .collect();
    assert!(violations.is_empty(), "{report:#}");
    assert!(
        report["websockets"]
            .as_array()
            .is_some_and(|w| !w.is_empty() && w.iter().all(|s| s["loopback"] == true)),
        "{report:#}"
    );
    browser.close().await;
    assert!(screenshot.exists(), "{}", screenshot.display());
}
