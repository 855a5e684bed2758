//! `missionlink demo` (the real binary) seeds a running instance, and the README's walkthrough
//! runs against it step by step, exactly as written there.

use crate::support::{TestApp, WsSocket, ws_connect};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The development settings `scripts/run` sets (and its banner names), which the walkthrough and
/// the demo assume: the demo's users cannot read their mail nor verify who they are, its streamer
/// registers itself, backers may object for a minute (so VERIFYING and DISPUTED missions exist
/// and a success settles within the demo), and a payout waits 10 seconds for the bank.
const DEVELOPMENT: [(&str, &str); 5] = [
    ("EMAIL_VERIFICATION_REQUIRED", "false"),
    ("STREAMER_SELF_REGISTRATION", "true"),
    ("TOPUP_REQUIRES_IDENTITY", "false"),
    ("OBJECTION_WINDOW_SECONDS", "60"),
    ("PAYOUT_HOLD_SECONDS", "10"),
];

#[test]
fn scripts_run_sets_the_development_settings_and_says_so() {
    let run = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/run"))
        .expect("scripts/run");
    for (name, value) in DEVELOPMENT {
        assert!(
            run.contains(&format!("export {name}=\"${{{name}:-{value}}}\"")),
            "scripts/run sets {name}={value}"
        );
        assert!(
            run.contains(&format!("{name}=${name}")),
            "the banner says {name}"
        );
    }
    let deploy = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/base/configmap.yaml"
    ))
    .expect("configmap");
    for (name, _) in DEVELOPMENT {
        assert!(
            !deploy.contains(&format!("{name}:")),
            "production keeps the default of {name}"
        );
    }
}

/// Runs `missionlink demo` against `app` with `args`; its stdout.
async fn demo(app: &TestApp, args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
        .arg("demo")
        .arg("--url")
        .arg(app.url("/graphql"))
        .args(args)
        .output()
        .await
        .expect("run missionlink demo");
    assert!(
        out.status.success(),
        "missionlink demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// One step of the walkthrough: whose headers, and the operation.
struct Step {
    who: String,
    operation: String,
}

/// The walkthrough's GraphQL blocks, in order.
fn steps(readme: &str) -> Vec<Step> {
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("walkthrough start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("walkthrough end marker");
    readme[start..end]
        .split("```graphql\n")
        .skip(1)
        .map(|block| {
            let block = &block[..block.find("```").expect("closing fence")];
            let (first, rest) = block.split_once('\n').expect("a step has lines");
            let who = first
                .strip_prefix("# as: ")
                .unwrap_or_else(|| panic!("a step starts with `# as: <who>`: {first}"));
            Step {
                who: who.trim().to_owned(),
                operation: rest.to_owned(),
            }
        })
        .collect()
}

/// `text` with every `<a.b.c>` replaced by that path's string in the first of `known` that has
/// it.
fn fill(text: &str, known: &[&Value]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>').expect("placeholder closes");
        let path = &rest[open + 1..close];
        let value = known
            .iter()
            .find_map(|k| path.split('.').fold(*k, |v, key| &v[key]).as_str())
            .unwrap_or_else(|| panic!("nothing known as <{path}>"));
        out.push_str(&rest[..open]);
        out.push_str(value);
        rest = &rest[close + 1..];
    }
    out + rest
}

async fn subscribe(app: &TestApp, token: Option<&str>, query: &str) -> WsSocket {
    let mut ws = ws_connect(app).await.expect("connect");
    let payload = token.map_or(
        json!({}),
        |t| json!({ "Authorization": format!("Bearer {t}") }),
    );
    let init = json!({ "type": "connection_init", "payload": payload });
    ws.send(Message::text(init.to_string()))
        .await
        .expect("init");
    let ack = crate::support::ws_next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe =
        json!({ "id": "walkthrough", "type": "subscribe", "payload": { "query": query } });
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    ws
}

/// The subscription's first event about mission `id` showing `total` won pledged (changes of
/// the demo's own missions may still be announced before it, and the subscription may start
/// after the pledge's own announcement: the acceptance and the verdict that follow show the
/// same total).
async fn event_about(ws: &mut WsSocket, id: &Value, total: i64) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("an event within 15 s")
            .expect("socket open")
            .expect("message");
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(&text).expect("json");
            let mission = &v["payload"]["data"]["missionChanged"];
            if v["type"] == "next" && mission["id"] == *id && mission["totalPledged"] == total {
                return v["payload"].clone();
            }
            assert_ne!(v["type"], "error", "{v}");
        }
    }
}

#[tokio::test]
async fn the_readme_walkthrough_runs_as_written() {
    let app = TestApp::with_temporal(&DEVELOPMENT).await;
    let _worker = app.start_file_worker().await;

    // The demo, as text: it names every user and mission and prints headers to paste.
    let text = demo(&app, &[]).await;
    let headers: Vec<Value> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("{\"Authorization\""))
        .map(|l| serde_json::from_str(l.trim()).expect("a headers line is JSON"))
        .collect();
    assert_eq!(headers.len(), 3, "{text}");
    // And each user's refresh token, for the walkthrough's step 13.
    let refresh_lines = text
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("refreshToken"))
        .count();
    assert_eq!(refresh_lines, 3, "{text}");
    for status in [
        "PENDING",
        "ACTIVE",
        "VERIFYING",
        "DISPUTED",
        "SUCCEEDED",
        "FAILED",
        "REJECTED",
        "EXPIRED",
    ] {
        assert!(text.contains(status), "{status} missing from {text}");
    }
    assert!(
        text.contains("The streamer's payout of 10000 won: PAID"),
        "{text}"
    );

    // Again, as JSON, on the same instance (handles are per run): every state is real.
    let seeded: Value = serde_json::from_str(&demo(&app, &["--json"]).await).expect("json");
    for (status, id) in seeded["missions"].as_object().expect("missions") {
        let m = app.mission(id.as_str().expect("id")).await;
        assert_eq!(m["status"], *status);
        let ends = !matches!(
            status.as_str(),
            "PENDING" | "ACTIVE" | "VERIFYING" | "DISPUTED"
        );
        assert_eq!(!m["settledAt"].is_null(), ends, "{status}: {m}");
    }
    assert_eq!(seeded["payout"]["status"], "PAID", "{seeded}");
    // The walkthrough's operator, made as its reader makes one (`missionlink operator create`).
    let operator = crate::disputes::operator(&app, "walkthrough-ops").await;
    let token_of = |who: &str| match who {
        "operator" => Some(operator.access.clone()),
        _ => seeded["users"][who]["accessToken"]
            .as_str()
            .map(str::to_owned),
    };
    let auth = app
        .gql(
            token_of("viewer").as_deref(),
            "{ wallet { cash } }",
            json!({}),
        )
        .await
        .data("wallet");
    assert!(auth["cash"].as_i64().expect("cash") > 0, "{auth}");

    // The walkthrough, step by step.
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .expect("README.md");
    let steps = steps(&readme);
    assert!(
        steps.len() >= 10,
        "the walkthrough has {} steps",
        steps.len()
    );
    // `<streamer.id>`, `<missions.PENDING>`: the demo's users by name, and its missions.
    let mut demo_made = seeded["users"].clone();
    demo_made["missions"] = seeded["missions"].clone();
    // What earlier steps answered, by field: `<createMission.id>`.
    let mut answered = json!({});
    let mut live: Option<WsSocket> = None;
    for (n, step) in steps.iter().enumerate() {
        let token = match step.who.as_str() {
            "anyone" => None,
            who => Some(token_of(who).unwrap_or_else(|| panic!("step {}: no user {who}", n + 1))),
        };
        let operation = fill(&step.operation, &[&demo_made, &answered]);
        if operation.trim_start().starts_with("subscription") {
            live = Some(subscribe(&app, token.as_deref(), &operation).await);
            continue;
        }
        let answer = app.gql(token.as_deref(), &operation, json!({})).await;
        assert!(
            answer.0.get("errors").is_none(),
            "step {} failed: {operation}\n{}",
            n + 1,
            answer.0
        );
        for (field, value) in answer.0["data"].as_object().expect("data") {
            assert!(!value.is_null(), "step {}: {field} is null", n + 1);
            answered[field] = value.clone();
        }
    }
    // The subscription showed the mission with the second viewer's pledge.
    let mut ws = live.expect("the walkthrough subscribes");
    event_about(&mut ws, &answered["createMission"]["id"], 15_000).await;
    // What the walkthrough did, as its reader would check it.
    // Settled once the backers' objection window (a minute here) has passed.
    let done = app
        .wait_for_mission(
            answered["createMission"]["id"].as_str().expect("id"),
            120,
            |m| !m["settledAt"].is_null(),
        )
        .await;
    // The operator's verdict on the demo's dispute: the backers are refunded.
    assert_eq!(answered["resolveDispute"]["status"], "FAILED");
    app.wait_for_mission(
        seeded["missions"]["DISPUTED"].as_str().expect("id"),
        60,
        |m| !m["settledAt"].is_null(),
    )
    .await;
    // The overlay link the walkthrough made opens the overlay.
    let url = answered["createOverlayLink"]["url"]
        .as_str()
        .expect("an overlay url");
    assert_eq!(reqwest::get(url).await.expect("overlay").status(), 200);
    assert_eq!(done["status"], "SUCCEEDED");
    assert_eq!(done["totalPledged"], 15_000);
    app.assert_audit_clean().await;
}

/// On the embedded defaults (SQLite, the API and the worker sharing the files, as
/// `missionlink all` does): the demo's transitions race the worker's settlements of the
/// missions before them, and none may fail on SQLite's write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_an_instance_on_sqlite_the_default() {
    let temporal = crate::support::temporal_address();
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::sqlite(),
        &[
            ("TEMPORAL_ADDRESS", temporal.as_str()),
            DEVELOPMENT[0],
            DEVELOPMENT[1],
            DEVELOPMENT[2],
            DEVELOPMENT[3],
            DEVELOPMENT[4],
        ],
    )
    .await;
    let _worker = app.start_file_worker().await;
    let mut used = Vec::new();
    for run in 0..2 {
        let seeded: Value = serde_json::from_str(&demo(&app, &["--json"]).await).expect("json");
        for (status, id) in seeded["missions"].as_object().expect("missions") {
            let m = app.mission(id.as_str().expect("id")).await;
            assert_eq!(m["status"], *status, "run {run}");
        }
        let token = seeded["users"]["viewer"]["accessToken"]
            .as_str()
            .expect("token");
        let limit = app
            .gql(
                Some(token),
                "{ wallet { topUpLimit { usedToday } } }",
                json!({}),
            )
            .await
            .data("wallet");
        used.push(limit["topUpLimit"]["usedToday"].as_i64().expect("used"));
    }
    // A rerun tops up only what the first run's missions took, never another 200,000 won: the
    // demo can be run again and again within one day's top-up limit.
    assert_eq!(used[0], 200_000);
    assert!(used[1] - used[0] <= 70_000, "{used:?}");
    app.assert_audit_clean().await;
}
