//! Operators and disputes end to end (issue 16): the backers' objection window below and above
//! the threshold, disputes resolved each way, cancellation from every status that is not final,
//! suspensions mid-mission, and the record of every action, through real HTTP, the Temporal dev
//! server and a worker sending through moto's SES, with the money checked to the won and the
//! audit run after each.

use crate::findable::{temporal_client, wait_for_listing};
use crate::support::{Gql, PASSWORD, Session, TestApp, wait_for_metrics};
use serde_json::{Value, json};

fn settled(m: &Value) -> bool {
    !m["settledAt"].is_null()
}

/// A streamer and three viewers with 100,000 won each.
async fn cast(app: &TestApp) -> (Session, Session, Session, Session) {
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    for v in [&alice, &bob, &carol] {
        app.top_up(v, 100_000, "t").await.data("topUp");
    }
    (streamer, alice, bob, carol)
}

/// An operator made by `missionlink operator create`, logged in with the password it printed.
pub async fn operator(app: &TestApp, name: &str) -> Session {
    let email = format!("{name}@ops.example.com");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
        .args(["operator", "create", &email, "--json"])
        .env_clear()
        .envs(app.binary_env())
        .output()
        .await
        .expect("run missionlink operator create");
    assert!(
        out.status.success(),
        "operator create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("JSON from operator create");
    let password = created["password"].as_str().expect("password");
    let login = app
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
               accessToken refreshToken user { id role } } }",
            json!({ "e": email, "p": password }),
        )
        .await
        .data("login");
    assert_eq!(login["user"]["role"], "OPERATOR");
    Session {
        user_id: login["user"]["id"].as_str().expect("id").to_owned(),
        access: login["accessToken"].as_str().expect("token").to_owned(),
        refresh: login["refreshToken"].as_str().expect("refresh").to_owned(),
        email,
    }
}

async fn object(app: &TestApp, who: &Session, mission_id: &str, key: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($m: ID!, $k: String!) { objectToVerdict(missionId: $m, reason: \"they healed at 3:12\", idempotencyKey: $k) {
           reason pledged createdAt backer { id } mission { id status objectionCount objectedPledged } } }",
        json!({ "m": mission_id, "k": key }),
    )
    .await
}

/// A clip the streamer shows with their verdict.
const EVIDENCE: &str = "https://clips.example.com/boss?t=192";

/// The streamer's SUCCESS verdict with `url` and a note.
async fn decide_with(app: &TestApp, streamer: &Session, mission_id: &str, url: &str) -> Gql {
    app.gql(
        Some(&streamer.access),
        "mutation($m: ID!, $u: String) { decideMission(missionId: $m, outcome: SUCCESS,
           evidenceUrl: $u, note: \"cleared at 3:12, no heals\") { id status evidenceUrl verdictNote } }",
        json!({ "m": mission_id, "u": url }),
    )
    .await
}

async fn resolve(app: &TestApp, op: &Session, mission_id: &str, outcome: &str) -> Gql {
    app.gql(
        Some(&op.access),
        "mutation($m: ID!, $o: Outcome!) { resolveDispute(missionId: $m, outcome: $o, note: \"watched the VOD\") { id status } }",
        json!({ "m": mission_id, "o": outcome }),
    )
    .await
}

async fn cancel(app: &TestApp, op: &Session, mission_id: &str) -> Gql {
    app.gql(
        Some(&op.access),
        "mutation($m: ID!) { cancelMission(missionId: $m, note: \"breaks the rules\") { id status } }",
        json!({ "m": mission_id }),
    )
    .await
}

/// A mission by Alice (10,000) with Bob (6,000) and Carol (4,000), accepted: 20,000 won held.
async fn accepted_mission(
    app: &TestApp,
    streamer: &Session,
    alice: &Session,
    bob: &Session,
    carol: &Session,
) -> String {
    let id = app.new_mission(alice, &streamer.user_id, 10_000).await;
    app.contribute(bob, &id, 6_000, &format!("b-{id}"))
        .await
        .data("contribute");
    app.contribute(carol, &id, 4_000, &format!("c-{id}"))
        .await
        .data("contribute");
    app.act(streamer, "accept", &id).await.data("acceptMission");
    id
}

/// What the mission's finished workflow recorded: every signal (name, payload as text) and
/// every activity scheduled (its type).
async fn history(app: &TestApp, mission_id: &str) -> (Vec<(String, String)>, Vec<String>) {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let client = temporal_client(app).await;
    let handle = client.get_workflow_handle::<missionlink_workflows::mission::MissionWorkflow>(
        missionlink_ledger::mission::workflow_id(mission_id),
    );
    handle
        .get_result(temporalio_client::WorkflowGetResultOptions::default())
        .await
        .expect("workflow result");
    let events = handle
        .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history");
    let (mut signals, mut activities) = (Vec::new(), Vec::new());
    for e in events {
        match e.attributes {
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(s)) => {
                let payload = s
                    .input
                    .iter()
                    .flat_map(|i| i.payloads.iter())
                    .map(|p| String::from_utf8_lossy(&p.data).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ");
                signals.push((s.signal_name, payload));
            }
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                activities.push(a.activity_type.map(|t| t.name).unwrap_or_default());
            }
            _ => {}
        }
    }
    (signals, activities)
}

/// Stores the finished mission's history as a replay fixture of the current code.
async fn record_history(app: &TestApp, mission_id: &str, name: &str) {
    history(app, mission_id).await;
    let client = temporal_client(app).await;
    let history = missionlink_workflows::mission::recorded_history(&client, mission_id)
        .await
        .expect("history");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflows/tests/fixtures")
        .join(name);
    std::fs::write(&path, history).expect("write fixture");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objections_below_the_threshold_let_the_success_stand_when_the_window_ends() {
    let app = TestApp::with_temporal(&[
        ("OBJECTION_WINDOW_SECONDS", "6"),
        ("PLATFORM_FEE_BPS", "1000"),
    ])
    .await;
    let worker = app.start_worker().await;
    let (streamer, alice, bob, carol) = cast(&app).await;
    let outsider = app.register("dave").await;
    let id = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;

    // Objecting before the verdict is refused: there is nothing to object to.
    assert_eq!(
        object(&app, &carol, &id, "early").await.code(),
        "INVALID_STATE"
    );
    // The verdict comes with its evidence: an https link and a note, or nothing changes.
    assert_eq!(
        decide_with(&app, &streamer, &id, "http://clips.example.com/boss")
            .await
            .code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(app.mission(&id).await["status"], "ACTIVE", "refused whole");
    let decided = decide_with(&app, &streamer, &id, EVIDENCE)
        .await
        .data("decideMission");
    assert_eq!(decided["status"], "VERIFYING");
    assert_eq!(decided["evidenceUrl"], EVIDENCE);
    assert_eq!(decided["verdictNote"], "cleared at 3:12, no heals");
    let m = app
        .gql(
            None,
            "query($id: ID!) { mission(id: $id) { status objectionWindowEndsAt } }",
            json!({ "id": id }),
        )
        .await
        .data("mission");
    assert!(!m["objectionWindowEndsAt"].is_null(), "{m}");
    // No more pledges once decided.
    assert_eq!(
        app.contribute(&bob, &id, 1_000, "late").await.code(),
        "INVALID_STATE"
    );

    // Carol holds 4,000 of 20,000: 20 %, under the 30 % threshold.
    let objected = object(&app, &carol, &id, "o1")
        .await
        .data("objectToVerdict");
    assert_eq!(objected["pledged"], 4_000);
    assert_eq!(objected["mission"]["status"], "VERIFYING");
    assert_eq!(objected["mission"]["objectionCount"], 1);
    assert_eq!(objected["mission"]["objectedPledged"], 4_000);
    // The same key answers the first objection again; another key is a second objection.
    let again = object(&app, &carol, &id, "o1")
        .await
        .data("objectToVerdict");
    assert_eq!(again["createdAt"], objected["createdAt"]);
    assert_eq!(
        object(&app, &carol, &id, "o2").await.code(),
        "ALREADY_OBJECTED"
    );
    assert_eq!(
        object(&app, &outsider, &id, "o1").await.code(),
        "NOT_A_BACKER"
    );
    assert_eq!(
        object(&app, &streamer, &id, "o1").await.code(),
        "NOT_A_BACKER"
    );
    // The others see only their own objections; the mission's count is public.
    let seen = app
        .gql(
            Some(&bob.access),
            "query($id: ID!) { mission(id: $id) { objections(first: 10) { totalCount } } }",
            json!({ "id": id }),
        )
        .await
        .data("mission");
    assert_eq!(seen["objections"]["totalCount"], 0);

    let m = app.wait_for_mission(&id, 60, settled).await;
    assert_eq!(m["status"], "SUCCEEDED");
    assert_eq!(
        object(&app, &bob, &id, "o3").await.code(),
        "OBJECTION_WINDOW_CLOSED"
    );
    // 10 % of 20,000 to the platform; the backers keep nothing back.
    assert_eq!(app.wallet(&streamer).await["earnings"], 18_000);
    assert_eq!(app.wallet(&alice).await["cash"], 90_000);
    assert_eq!(app.wallet(&bob).await["cash"], 94_000);
    assert_eq!(app.wallet(&carol).await["cash"], 96_000);
    let title = app.mission(&id).await["title"]
        .as_str()
        .expect("title")
        .to_owned();
    let mail = worker.wait_for_mail(&title, 4).await;
    assert_eq!(mail.len(), 4, "{mail:#?}");
    let to_backers: Vec<_> = mail.iter().filter(|m| m.to != streamer.email).collect();
    assert_eq!(to_backers.len(), 3);
    assert!(
        to_backers
            .iter()
            .all(|m| m.body.contains(EVIDENCE) && m.body.contains("cleared at 3:12, no heals")),
        "the backers' emails show the evidence: {to_backers:#?}"
    );
    app.assert_audit_clean().await;
    let (_, activities) = history(&app, &id).await;
    assert!(
        activities.iter().any(|a| a == "CloseObjectionWindow"),
        "the window's end is an activity: {activities:?}"
    );
    if std::env::var_os("RECORD_WORKFLOW_HISTORY").is_some() {
        record_history(&app, &id, "mission-verified.binpb").await;
    }
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objections_at_the_threshold_open_a_dispute_an_operator_settles_either_way() {
    let app = TestApp::with_temporal(&[("OBJECTION_WINDOW_SECONDS", "600")]).await;
    let worker = app.start_worker().await;
    let (streamer, alice, bob, carol) = cast(&app).await;
    let op = operator(&app, "ops").await;

    // Two missions, both disputed. Bob's 6,000 of 20,000 is exactly 30 %, but one backer
    // alone does not open a dispute (OBJECTION_MIN_BACKERS, 2); with Carol's it does.
    let upheld = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;
    let overturned = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;
    for id in [&upheld, &overturned] {
        app.act(&streamer, "SUCCESS", id)
            .await
            .data("decideMission");
        let objected = object(&app, &bob, id, &format!("o-{id}"))
            .await
            .data("objectToVerdict");
        assert_eq!(
            objected["mission"]["status"], "VERIFYING",
            "a single backer's 30 % does not dispute alone"
        );
        let objected = object(&app, &carol, id, &format!("oc-{id}"))
            .await
            .data("objectToVerdict");
        assert_eq!(
            objected["mission"]["status"], "DISPUTED",
            "two backers holding 50 %"
        );
    }
    // Objections stop once disputed; resolving is for operators only.
    assert_eq!(
        object(&app, &alice, &upheld, "late").await.code(),
        "OBJECTION_WINDOW_CLOSED"
    );
    assert_eq!(
        resolve(&app, &alice, &upheld, "SUCCESS").await.code(),
        "FORBIDDEN"
    );
    let m = app
        .gql(Some(&op.access), "query($id: ID!) { mission(id: $id) { status disputedAt objections(first: 10) { nodes { reason backer { id } } } } }", json!({ "id": upheld }))
        .await
        .data("mission");
    assert!(!m["disputedAt"].is_null());
    assert_eq!(m["objections"]["nodes"][0]["reason"], "they healed at 3:12");

    // Operators find the disputes in the Temporal UI by status and streamer.
    let query = format!(
        "WorkflowType = 'Mission' AND MissionStatus = 'DISPUTED' AND StreamerId = '{}'",
        streamer.user_id
    );
    let mut ids = vec![format!("mission-{upheld}"), format!("mission-{overturned}")];
    ids.sort();
    wait_for_listing(&app, &query, &ids).await;

    assert_eq!(
        resolve(&app, &op, &upheld, "SUCCESS")
            .await
            .data("resolveDispute")["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        resolve(&app, &op, &overturned, "FAILURE")
            .await
            .data("resolveDispute")["status"],
        "FAILED"
    );
    assert_eq!(
        resolve(&app, &op, &overturned, "SUCCESS").await.code(),
        "INVALID_STATE"
    );
    for id in [&upheld, &overturned] {
        app.wait_for_mission(id, 60, settled).await;
    }
    // One mission paid (no fee configured), the other refunded.
    assert_eq!(app.wallet(&streamer).await["earnings"], 20_000);
    assert_eq!(app.wallet(&alice).await["cash"], 90_000);
    assert_eq!(app.wallet(&bob).await["cash"], 94_000);
    assert_eq!(app.wallet(&carol).await["cash"], 96_000);
    app.assert_audit_clean().await;

    // The record, and the workflow's history, say who decided and why.
    let log = app
        .gql(Some(&op.access), "query($m: ID!) { operatorActions(missionId: $m, first: 10) { nodes { action outcome note operator { id } mission { id } } } }", json!({ "m": overturned }))
        .await
        .data("operatorActions");
    assert_eq!(log["nodes"].as_array().map(Vec::len), Some(1), "{log}");
    assert_eq!(log["nodes"][0]["action"], "RESOLVE_DISPUTE");
    assert_eq!(log["nodes"][0]["outcome"], "FAILURE");
    assert_eq!(log["nodes"][0]["operator"]["id"], op.user_id.as_str());
    let (signals, _) = history(&app, &overturned).await;
    assert!(
        signals
            .iter()
            .any(|(name, payload)| name == "operatorAction"
                && payload.contains("RESOLVE_DISPUTE")
                && payload.contains("watched the VOD")
                && payload.contains(&op.user_id)),
        "{signals:?}"
    );
    if std::env::var_os("RECORD_WORKFLOW_HISTORY").is_some() {
        record_history(&app, &overturned, "mission-disputed.binpb").await;
    }
    let title = app.mission(&overturned).await["title"]
        .as_str()
        .expect("title")
        .to_owned();
    assert_eq!(worker.wait_for_mail(&title, 4).await.len(), 4);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cancels_from_every_status_that_is_not_final_and_everyone_is_refunded() {
    let app = TestApp::with_temporal(&[("OBJECTION_WINDOW_SECONDS", "600")]).await;
    let worker = app.start_worker().await;
    let (streamer, alice, bob, carol) = cast(&app).await;
    let op = operator(&app, "ops").await;

    let pending = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    let active = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;
    let verifying = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;
    app.act(&streamer, "SUCCESS", &verifying)
        .await
        .data("decideMission");
    let disputed = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;
    app.act(&streamer, "SUCCESS", &disputed)
        .await
        .data("decideMission");
    for who in [&bob, &carol] {
        object(&app, who, &disputed, "o")
            .await
            .data("objectToVerdict");
    }
    // Carol bets on the active one: her points come back too.
    let bet = app
        .gql(Some(&carol.access), "mutation($m: ID!) { placeBet(missionId: $m, outcome: SUCCESS, points: 300, idempotencyKey: \"bet\") { points } }", json!({ "m": active }))
        .await;
    assert_eq!(bet.data("placeBet")["points"], 300);

    assert_eq!(cancel(&app, &alice, &active).await.code(), "FORBIDDEN");
    // An operator with a stake in a mission does not act on it; another operator does.
    let staked = operator(&app, "ops2").await;
    app.gql(
        Some(&staked.access),
        "mutation($m: ID!) { placeBet(missionId: $m, outcome: FAILURE, points: 100, idempotencyKey: \"bet\") { points } }",
        json!({ "m": active }),
    )
    .await
    .data("placeBet");
    assert_eq!(
        cancel(&app, &staked, &active).await.code(),
        "CONFLICT_OF_INTEREST"
    );
    for (id, from) in [
        (&pending, "PENDING"),
        (&active, "ACTIVE"),
        (&verifying, "VERIFYING"),
        (&disputed, "DISPUTED"),
    ] {
        assert_eq!(app.mission(id).await["status"], from);
        let done = cancel(&app, &op, id).await.data("cancelMission");
        assert_eq!(done["status"], "CANCELLED", "from {from}");
    }
    for id in [&pending, &active, &verifying, &disputed] {
        let m = app.wait_for_mission(id, 60, settled).await;
        for p in m["pledges"]["nodes"].as_array().expect("pledges") {
            assert_eq!(p["status"], "REFUNDED");
        }
    }
    // The bets are refunded after the pledges.
    let q = "query($id: ID!) { mission(id: $id) { prediction { status } } }";
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while app
        .gql(None, q, json!({ "id": active }))
        .await
        .data("mission")["prediction"]["status"]
        != "REFUNDED"
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the prediction was never refunded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A final mission is not cancelled again.
    assert_eq!(cancel(&app, &op, &active).await.code(), "INVALID_STATE");
    assert_eq!(app.wallet(&streamer).await["earnings"], 0);
    assert_eq!(app.wallet(&alice).await["cash"], 100_000);
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    let carol_wallet = app.wallet(&carol).await;
    assert_eq!(carol_wallet["cash"], 100_000);
    assert_eq!(carol_wallet["points"], 1_000, "the bet came back");
    app.assert_audit_clean().await;
    // Everyone hears of it, in their language.
    let title = app.mission(&active).await["title"]
        .as_str()
        .expect("title")
        .to_owned();
    let mail = worker.wait_for_mail(&title, 4).await;
    assert!(mail.iter().all(|m| m.subject.contains("취소")), "{mail:#?}");
    let log = app
        .gql(
            Some(&op.access),
            "{ operatorActions(first: 10) { totalCount nodes { action note mission { id } } } }",
            json!({}),
        )
        .await
        .data("operatorActions");
    // Beside the streamer's approval, when the test support made them a streamer.
    let cancels = log["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["action"] != "APPROVE_STREAMER")
        .count();
    assert_eq!(cancels, 4, "{log}");
    assert_eq!(
        log["nodes"][0]["mission"]["id"],
        disputed.as_str(),
        "newest first"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_mid_mission_cancels_the_streamers_missions_and_keeps_a_viewers_pledges() {
    let app = TestApp::with_temporal(&[("USER_CACHE_SECONDS", "2")]).await;
    let worker = app.start_worker().await;
    let (streamer, alice, bob, carol) = cast(&app).await;
    let other = app.register_as("otherstreamer", "STREAMER").await;
    let op = operator(&app, "ops").await;
    let theirs = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;
    let pending = app.new_mission(&bob, &streamer.user_id, 5_000).await;
    let elsewhere = accepted_mission(&app, &other, &alice, &bob, &carol).await;

    // Bob is suspended mid-mission: his pledges stay, he can do nothing more.
    let suspended = app
        .gql(Some(&op.access), "mutation($u: ID!) { suspendUser(userId: $u, note: \"harassment in chat\") { action user { id } suspendedUntil } }", json!({ "u": bob.user_id }))
        .await
        .data("suspendUser");
    assert_eq!(suspended["action"], "SUSPEND_USER");
    assert!(suspended["suspendedUntil"].is_null());
    assert_eq!(
        app.contribute(&bob, &elsewhere, 1_000, "x").await.code(),
        "USER_SUSPENDED"
    );
    let login = app
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
            json!({ "e": bob.email, "p": PASSWORD }),
        )
        .await;
    assert_eq!(login.code(), "USER_SUSPENDED");

    // The streamer is suspended for a day: both missions of theirs are cancelled.
    let until = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    app.gql(Some(&op.access), "mutation($u: ID!, $t: DateTime!) { suspendUser(userId: $u, until: $t, note: \"fraud\") { id } }", json!({ "u": streamer.user_id, "t": until }))
        .await
        .data("suspendUser");
    assert_eq!(
        app.act(&streamer, "SUCCESS", &theirs).await.code(),
        "USER_SUSPENDED"
    );
    for id in [&theirs, &pending] {
        let m = app.wait_for_mission(id, 60, settled).await;
        assert_eq!(m["status"], "CANCELLED");
    }
    // The other streamer's mission goes on, with Bob's pledge in it.
    app.act(&other, "SUCCESS", &elsewhere)
        .await
        .data("decideMission");
    app.wait_for_mission(&elsewhere, 60, settled).await;
    assert_eq!(app.wallet(&other).await["earnings"], 20_000);
    assert_eq!(app.wallet(&alice).await["cash"], 90_000);
    assert_eq!(app.wallet(&carol).await["cash"], 96_000);
    app.assert_audit_clean().await;

    let log = app
        .gql(Some(&op.access), "query($u: ID!) { operatorActions(userId: $u, first: 10) { nodes { action suspendedUntil } } }", json!({ "u": streamer.user_id }))
        .await
        .data("operatorActions");
    assert_eq!(log["nodes"][0]["action"], "SUSPEND_USER");
    let cancelled = app
        .gql(Some(&op.access), "query($m: ID!) { operatorActions(missionId: $m, first: 10) { nodes { action cause { action user { id } } } } }", json!({ "m": theirs }))
        .await
        .data("operatorActions");
    assert_eq!(cancelled["nodes"][0]["action"], "CANCEL_MISSION");
    assert_eq!(
        cancelled["nodes"][0]["cause"]["user"]["id"],
        streamer.user_id.as_str()
    );

    // Lifted: Bob logs in again.
    app.gql(
        Some(&op.access),
        "mutation($u: ID!) { unsuspendUser(userId: $u, note: \"appeal accepted\") { action } }",
        json!({ "u": bob.user_id }),
    )
    .await
    .data("unsuspendUser");
    let login = app
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
            json!({ "e": bob.email, "p": PASSWORD }),
        )
        .await;
    let bob_again = Session {
        access: login.data("login")["accessToken"]
            .as_str()
            .expect("token")
            .to_owned(),
        ..bob.clone()
    };
    assert_eq!(
        app.wallet(&bob_again).await["cash"],
        94_000,
        "his pledge to the other streamer stood, the one to the suspended streamer came back"
    );
    // Operators act with a note, never on themselves, and only operators act.
    for (by, target, note, code) in [
        (&op, &carol.user_id, "  ", "BAD_USER_INPUT"),
        (&op, &op.user_id, "me", "BAD_USER_INPUT"),
        (&carol, &alice.user_id, "x", "FORBIDDEN"),
    ] {
        let refused = app
            .gql(
                Some(&by.access),
                "mutation($u: ID!, $n: String!) { suspendUser(userId: $u, note: $n) { id } }",
                json!({ "u": target, "n": note }),
            )
            .await;
        assert_eq!(refused.code(), code, "note {note:?}");
    }
    worker.stop().await;
}

/// The record is append-only in the database itself, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_record_cannot_be_changed_or_deleted() {
    use sea_orm::ConnectionTrait;
    for app in [
        TestApp::spawn().await,
        TestApp::spawn_with(crate::support::TestDatabases::sqlite(), &[]).await,
    ] {
        let op = operator(&app, "ops").await;
        let viewer = app.register("mallory").await;
        app.gql(
            Some(&op.access),
            "mutation($u: ID!) { suspendUser(userId: $u, note: \"spam\") { id } }",
            json!({ "u": viewer.user_id }),
        )
        .await
        .data("suspendUser");
        for sql in [
            "UPDATE operator_actions SET note = 'nothing happened'",
            "DELETE FROM operator_actions",
        ] {
            let refused = app.db.missions.execute_unprepared(sql).await;
            assert!(refused.is_err(), "{sql} was allowed");
        }
        let log = app
            .gql(
                Some(&op.access),
                "{ operatorActions(first: 5) { nodes { note } } }",
                json!({}),
            )
            .await
            .data("operatorActions");
        assert_eq!(log["nodes"][0]["note"], "spam");
        assert_eq!(log["nodes"].as_array().map(Vec::len), Some(1));
        let other = app.register("trent").await;
        let refused = app
            .gql(
                Some(&other.access),
                "{ operatorActions(first: 5) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(refused.code(), "FORBIDDEN");
    }
}

/// Migration 000013 keeps every mission, pledge, feed event and outbox entry on both backends
/// (SQLite rebuilds `missions` and `mission_events`), with every foreign key still holding,
/// and its new rules hold from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disputes_migration_keeps_every_mission_and_its_references() {
    use missionlink_migration::Migrate as _;
    use sea_orm::{ConnectionTrait, DbBackend};
    for dbs in [
        crate::support::TestDatabases::postgres_empty().await,
        crate::support::TestDatabases::sqlite(),
    ] {
        let db = sea_orm::Database::connect(&dbs.missions_url)
            .await
            .expect("connect");
        let backend = db.get_database_backend();
        missionlink_migration::missions::Migrator::up(&db, Some(12))
            .await
            .expect("migrate to 12");
        let now = if backend == DbBackend::Postgres {
            "now()"
        } else {
            "'2026-11-26T10:00:00+00:00'"
        };
        for sql in [
            format!(
                "INSERT INTO missions (id, streamer_id, creator_id, title, status, duration_seconds, \
                 accept_by, accepted_at, deadline, closed_at, created_at) VALUES \
                 ('m1', 's', 'c', 'old one', 'SUCCEEDED', 60, {now}, {now}, {now}, {now}, {now}), \
                 ('m2', 's', 'c', 'open one', 'PENDING', 60, {now}, NULL, NULL, NULL, {now})"
            ),
            format!(
                "INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at) VALUES \
                 ('p1', 'm1', 'c', 1000, 'HELD', {now}), ('p2', 'm2', 'c', 2000, 'HELD', {now})"
            ),
            format!(
                "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at) \
                 VALUES ('s', 1, 'm1', 'CREATED', 'p1', {now}), ('s', 2, 'm1', 'SUCCEEDED', NULL, {now})"
            ),
            format!(
                "INSERT INTO workflow_outbox (mission_id, created_at) VALUES ('m1', {now}), ('m2', {now})"
            ),
        ] {
            db.execute_unprepared(&sql).await.expect(&sql);
        }
        missionlink_migration::missions::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        let count = |table: &'static str| {
            let db = db.clone();
            async move {
                db.query_one_raw(sea_orm::Statement::from_string(
                    backend,
                    format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"),
                ))
                .await
                .expect("count")
                .expect("row")
                .try_get_by_index::<i64>(0)
                .expect("n")
            }
        };
        assert_eq!(count("missions").await, 2, "{backend:?}");
        assert_eq!(count("pledges").await, 2);
        assert_eq!(count("mission_events").await, 2);
        assert_eq!(count("workflow_outbox").await, 2);
        // The indexes of the rebuilt tables are all there.
        let index_sql = if backend == DbBackend::Postgres {
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('missions', 'mission_events')"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('missions', 'mission_events') AND sql IS NOT NULL"
        };
        let indexes: Vec<String> = db
            .query_all_raw(sea_orm::Statement::from_string(backend, index_sql))
            .await
            .expect("indexes")
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).expect("name"))
            .collect();
        for index in [
            "missions_streamer",
            "missions_status",
            "missions_creator",
            "missions_creator_closed",
            "mission_events_created",
        ] {
            assert!(
                indexes.iter().any(|i| i == index),
                "{backend:?} lost {index}: {indexes:?}"
            );
        }
        if backend == DbBackend::Sqlite {
            let broken = db
                .query_all_raw(sea_orm::Statement::from_string(
                    backend,
                    "PRAGMA foreign_key_check",
                ))
                .await
                .expect("foreign_key_check");
            assert!(broken.is_empty(), "foreign keys broken by the rebuild");
            // Still enforced against the rebuilt table.
            assert!(db
                .execute_unprepared(&format!("INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at) VALUES ('p3', 'nope', 'c', 1, 'HELD', {now})"))
                .await
                .is_err());
        }
        // The new rules: a verifying mission names its window's end; new kinds are allowed.
        assert!(
            db.execute_unprepared("UPDATE missions SET status = 'VERIFYING' WHERE id = 'm1'")
                .await
                .is_err()
        );
        db.execute_unprepared(&format!(
            "UPDATE missions SET status = 'CANCELLED', closed_at = {now} WHERE id = 'm2'"
        ))
        .await
        .expect("CANCELLED is a status");
        db.execute_unprepared(&format!(
            "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at) \
             VALUES ('s', 3, 'm2', 'CANCELLED', NULL, {now})"
        ))
        .await
        .expect("CANCELLED is an event kind");
        assert!(
            db.execute_unprepared("UPDATE missions SET status = 'LOST' WHERE id = 'm2'")
                .await
                .is_err()
        );
    }
}

/// Proposals racing a streamer's suspension: each one either committed before the sweep listed
/// the streamer's missions (and is cancelled) or is refused with `STREAMER_SUSPENDED`; none is
/// left open. On both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proposals_racing_a_suspension_are_cancelled_or_refused() {
    for app in [
        TestApp::spawn().await,
        TestApp::spawn_with(crate::support::TestDatabases::sqlite(), &[]).await,
    ] {
        let app = std::sync::Arc::new(app);
        let streamer = app.register_as("racedstreamer", "STREAMER").await;
        let op = operator(&app, "ops").await;
        let suspended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut proposers = Vec::new();
        for i in 0..6 {
            let viewer = app.register(&format!("proposer{i}")).await;
            app.top_up(&viewer, 300_000, "t").await.data("topUp");
            let (app, streamer_id) = (app.clone(), streamer.user_id.clone());
            let suspended = suspended.clone();
            proposers.push(tokio::spawn(async move {
                // Proposing until refused, or until three more went through after the
                // suspension answered: proposals are in flight all around it.
                let (mut made, mut refused, mut after) = (0, 0, 0);
                while refused == 0 && after < 3 && made < 250 {
                    let late = suspended.load(std::sync::atomic::Ordering::SeqCst);
                    let r = app
                        .create_mission(&viewer, &streamer_id, 1_000, json!({}))
                        .await;
                    match r.0["errors"][0]["extensions"]["code"].as_str() {
                        None => {
                            made += 1;
                            after += usize::from(late);
                        }
                        Some("STREAMER_SUSPENDED") => refused += 1,
                        Some(other) => panic!("unexpected refusal {other}: {}", r.0),
                    }
                }
                (made, refused)
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        app.gql(
            Some(&op.access),
            "mutation($u: ID!) { suspendUser(userId: $u, note: \"fraud\") { id } }",
            json!({ "u": streamer.user_id }),
        )
        .await
        .data("suspendUser");
        suspended.store(true, std::sync::atomic::Ordering::SeqCst);
        let (mut made, mut refused) = (0, 0);
        for p in proposers {
            let (m, r) = p.await.expect("proposer");
            made += m;
            refused += r;
        }
        let missions = app
            .gql(
                None,
                "query($s: ID!) { missions(streamerId: $s, first: 100, statuses: [PENDING]) { totalCount } }",
                json!({ "s": streamer.user_id }),
            )
            .await
            .data("missions");
        assert_eq!(
            missions["totalCount"], 0,
            "{made} made, {refused} refused: none may stay open"
        );
        let cancelled = app
            .gql(
                None,
                "query($s: ID!) { missions(streamerId: $s, first: 1, statuses: [CANCELLED]) { totalCount } }",
                json!({ "s": streamer.user_id }),
            )
            .await
            .data("missions");
        assert_eq!(
            cancelled["totalCount"], made,
            "every mission made was cancelled"
        );
        assert_eq!(refused, 6, "every proposer was refused in the end");
    }
}

/// A dispute waiting past `DISPUTE_SLA_SECONDS` is counted by the worker (a `missionlink worker`
/// process) into the gauges the business dashboard and `MissionLinkDisputeOverdue` read; once
/// resolved, it is counted no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_past_its_sla_is_counted_for_the_alert() {
    let app = TestApp::with_temporal(&[("OBJECTION_WINDOW_SECONDS", "600")]).await;
    let (streamer, alice, bob, carol) = cast(&app).await;
    let op = operator(&app, "ops").await;
    let outbox = tempfile::tempdir().expect("outbox");
    let metrics_addr = format!("127.0.0.1:{}", crate::support::free_port());
    let _worker = app.spawn_worker_process(&[
        ("EMAIL_TRANSPORT", "file"),
        (
            "EMAIL_OUTBOX_DIR",
            outbox.path().to_str().expect("utf-8 path"),
        ),
        ("DISPUTE_SLA_SECONDS", "1"),
        ("WORKER_METRICS_ADDR", metrics_addr.as_str()),
    ]);
    let id = accepted_mission(&app, &streamer, &alice, &bob, &carol).await;
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    for who in [&bob, &carol] {
        object(&app, who, &id, "o").await.data("objectToVerdict");
    }
    let scrape = |expected: [&'static str; 2]| {
        let (http, addr) = (app.http.clone(), metrics_addr.clone());
        async move { wait_for_metrics(&http, &addr, &expected, "disputes").await }
    };
    scrape([
        "missionlink_disputes_open 1",
        "missionlink_disputes_overdue 1",
    ])
    .await;
    resolve(&app, &op, &id, "FAILURE")
        .await
        .data("resolveDispute");
    scrape([
        "missionlink_disputes_open 0",
        "missionlink_disputes_overdue 0",
    ])
    .await;
    app.wait_for_mission(&id, 60, settled).await;
    app.assert_audit_clean().await;
}
