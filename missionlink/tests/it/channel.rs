//! A streamer's channel through HTTP on Postgres: settings and what `createMission` refuses
//! because of them, SOOP's cooldown and suspension after rejections, pledge messages with
//! manual approval, and anonymous pledges.

use crate::support::{Gql, Session, TestApp};
use serde_json::{Value, json};

const SETTINGS: &str = "acceptingRequests minFirstPledge maxDurationSeconds manualApproval bannedWords blockedUsers { id }";

async fn update(app: &TestApp, who: &Session, input: Value) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("mutation($i: StreamerSettingsInput!) {{ updateStreamerSettings(input: $i) {{ {SETTINGS} }} }}"),
        json!({ "i": input }),
    )
    .await
}

async fn propose(app: &TestApp, who: &Session, streamer: &str, extra: Value) -> Gql {
    app.create_mission(who, streamer, 5_000, extra).await
}

/// The caller's own missions as creator, and their cash: what a refused proposal must not change.
async fn footprint(app: &TestApp, who: &Session) -> (Value, Value) {
    let missions = app
        .gql(
            Some(&who.access),
            "{ me { missions(as: CREATOR) { totalCount } } }",
            json!({}),
        )
        .await
        .data("me")["missions"]["totalCount"]
        .clone();
    (missions, app.wallet(who).await["cash"].clone())
}

#[tokio::test]
async fn a_streamer_sets_their_channel_and_create_mission_refuses_with_distinct_codes() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("chan_streamer", "STREAMER").await;
    let fan = app.register("chan_fan").await;
    let pest = app.register("chan_pest").await;
    for who in [&fan, &pest] {
        app.top_up(who, 100_000, "cash").await.data("topUp");
    }
    let s = streamer.user_id.as_str();

    // Defaults; only a streamer has settings.
    let mine = app
        .gql(
            Some(&streamer.access),
            &format!("{{ streamerSettings {{ {SETTINGS} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(mine.data("streamerSettings")["acceptingRequests"], true);
    assert_eq!(mine.data("streamerSettings")["minFirstPledge"], Value::Null);
    let viewer = app
        .gql(
            Some(&fan.access),
            &format!("{{ streamerSettings {{ {SETTINGS} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(viewer.code(), "FORBIDDEN");
    assert_eq!(
        update(&app, &fan, json!({ "acceptingRequests": false }))
            .await
            .code(),
        "FORBIDDEN"
    );

    // Bad settings are refused and change nothing.
    for (input, why) in [
        (json!({ "minFirstPledge": 999 }), "below PLEDGE_MIN"),
        (
            json!({ "maxDurationSeconds": 10 }),
            "below the shortest mission",
        ),
        (
            json!({ "bannedWords": vec!["x"; 501].iter().enumerate().map(|(i, _)| format!("w{i}")).collect::<Vec<_>>() }),
            "501 words",
        ),
        (json!({ "bannedWords": [" "] }), "an empty word"),
        (json!({ "blockedUsers": [s] }), "blocking oneself"),
    ] {
        assert_eq!(
            update(&app, &streamer, input).await.code(),
            "BAD_USER_INPUT",
            "{why}"
        );
    }
    let unchanged = app
        .gql(
            Some(&streamer.access),
            &format!("{{ streamerSettings {{ {SETTINGS} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        unchanged.data("streamerSettings"),
        mine.data("streamerSettings")
    );

    let saved = update(
        &app,
        &streamer,
        json!({
            "minFirstPledge": 3_000, "maxDurationSeconds": 1_800,
            "bannedWords": ["Spoiler", "spoiler", "보스"], "blockedUsers": [pest.user_id],
        }),
    )
    .await
    .data("updateStreamerSettings");
    assert_eq!(saved["minFirstPledge"], 3_000);
    assert_eq!(
        saved["bannedWords"],
        json!(["Spoiler", "보스"]),
        "each word once, case aside"
    );
    assert_eq!(saved["blockedUsers"][0]["id"], pest.user_id.as_str());
    // Anyone can read what a proposal must meet.
    let rules = app
        .gql(None, "query($h: String!) { user(handle: $h) { channel { acceptingRequests minFirstPledge maxDurationSeconds } } }", json!({ "h": "chan_streamer" }))
        .await
        .data("user")["channel"]
        .clone();
    assert_eq!(
        rules,
        json!({ "acceptingRequests": true, "minFirstPledge": 3_000, "maxDurationSeconds": 1_800 })
    );

    let before = footprint(&app, &fan).await;
    let low = app.create_mission(&fan, s, 2_000, json!({})).await;
    assert_eq!(low.code(), "BELOW_STREAMER_MINIMUM");
    let long = propose(&app, &fan, s, json!({ "durationSeconds": 3_600 })).await;
    assert_eq!(long.code(), "ABOVE_STREAMER_MAXIMUM");
    for (extra, why) in [
        (
            json!({ "durationSeconds": 600, "title": "No ＳＰＯＩＬＥＲＳ run" }),
            "full-width, upper case",
        ),
        (
            json!({ "durationSeconds": 600, "description": "보\u{200B}스 없이" }),
            "Hangul with an invisible character inside",
        ),
        (
            json!({ "durationSeconds": 600, "message": "씨발 화이팅" }),
            "the platform's own list",
        ),
    ] {
        assert_eq!(
            propose(&app, &fan, s, extra).await.code(),
            "CONTENT_BLOCKED",
            "{why}"
        );
    }
    // A blocked user hears the same as any proposer refused for who they are.
    let blocked = propose(&app, &pest, s, json!({ "durationSeconds": 600 })).await;
    assert_eq!(blocked.code(), "FORBIDDEN");
    assert_eq!(
        blocked.message(),
        "you cannot propose missions to this streamer"
    );
    update(&app, &streamer, json!({ "acceptingRequests": false }))
        .await
        .data("updateStreamerSettings");
    let closed = propose(&app, &fan, s, json!({ "durationSeconds": 600 })).await;
    assert_eq!(closed.code(), "REQUESTS_CLOSED");
    assert_eq!(
        footprint(&app, &fan).await,
        before,
        "refusals take nothing and create nothing"
    );

    // Open again: the same proposal goes through, with the platform's minimum restored.
    update(
        &app,
        &streamer,
        json!({ "acceptingRequests": true, "minFirstPledge": null }),
    )
    .await
    .data("updateStreamerSettings");
    app.create_mission(&fan, s, 1_000, json!({ "durationSeconds": 600 }))
        .await
        .data("createMission");
}

#[tokio::test]
async fn a_rejected_proposer_waits_out_the_cooldown_and_repeated_rejections_suspend_them() {
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[("PROPOSAL_COOLDOWN_SECONDS", "8"), ("REJECTIONS_BAN", "3")],
    )
    .await;
    let stella = app.register_as("cool_stella", "STREAMER").await;
    let otto = app.register_as("cool_otto", "STREAMER").await;
    let fan = app.register("cool_fan").await;
    app.top_up(&fan, 200_000, "cash").await.data("topUp");

    let first = app.new_mission(&fan, &stella.user_id, 5_000).await;
    app.act(&stella, "reject", &first)
        .await
        .data("rejectMission");
    let again = propose(&app, &fan, &stella.user_id, json!({})).await;
    assert_eq!(again.code(), "PROPOSAL_COOLDOWN");
    let retry_at = again.0["errors"][0]["extensions"]["retryAt"]
        .as_str()
        .expect("retryAt")
        .to_owned();
    let retry_at = chrono::DateTime::parse_from_rfc3339(&retry_at).expect("RFC 3339");
    let wait = retry_at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::zero() && wait <= chrono::Duration::seconds(8),
        "{wait}"
    );
    // Another streamer is not concerned; after the cooldown, the same one takes proposals again.
    app.new_mission(&fan, &otto.user_id, 5_000).await;
    tokio::time::sleep(wait.to_std().expect("positive") + std::time::Duration::from_millis(200))
        .await;
    let second = app.new_mission(&fan, &stella.user_id, 5_000).await;

    // Expiries do not count; three rejections within 24 h suspend the proposer everywhere.
    let expiring = app
        .create_mission(
            &fan,
            &otto.user_id,
            5_000,
            json!({ "acceptWithinSeconds": 1 }),
        )
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let expired = missionlink_ledger::mission::expire(
        &app.db.missions,
        &expiring,
        missionlink_ledger::status::MissionStatus::Pending,
    )
    .await
    .expect("expire");
    assert_eq!(
        expired.status,
        missionlink_ledger::status::MissionStatus::Expired
    );
    app.act(&stella, "reject", &second)
        .await
        .data("rejectMission");
    let third = app.new_mission(&fan, &otto.user_id, 5_000).await;
    app.act(&otto, "reject", &third).await.data("rejectMission");
    let before = footprint(&app, &fan).await;
    let suspended = propose(&app, &fan, &otto.user_id, json!({})).await;
    assert_eq!(suspended.code(), "PROPOSALS_SUSPENDED");
    let until = chrono::DateTime::parse_from_rfc3339(
        suspended.0["errors"][0]["extensions"]["retryAt"]
            .as_str()
            .expect("retryAt"),
    )
    .expect("RFC 3339")
    .with_timezone(&chrono::Utc);
    let hours = (until - chrono::Utc::now()).num_minutes();
    assert!(
        (23 * 60..=24 * 60).contains(&hours),
        "suspended for about 24 h: {hours} min"
    );
    assert_eq!(footprint(&app, &fan).await, before);
}

const PLEDGE: &str = "id amount anonymous message messageStatus backer { id handle }";

async fn pledge_with(
    app: &TestApp,
    who: &Session,
    mission: &str,
    key: &str,
    message: &str,
    anonymous: bool,
) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("mutation($m: ID!, $k: String!, $msg: String, $a: Boolean) {{
            contribute(missionId: $m, amount: 2000, idempotencyKey: $k, message: $msg, anonymous: $a) {{ {PLEDGE} }} }}"),
        json!({ "m": mission, "k": key, "msg": message, "a": anonymous }),
    )
    .await
}

async fn read_pledge(app: &TestApp, token: Option<&str>, id: &str) -> Value {
    app.gql(
        token,
        &format!("query($id: ID!) {{ node(id: $id) {{ ... on Pledge {{ {PLEDGE} }} }} }}"),
        json!({ "id": id }),
    )
    .await
    .data("node")
}

#[tokio::test]
async fn messages_wait_for_approval_where_asked_and_anonymous_pledges_hide_their_backer() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("msg_streamer", "STREAMER").await;
    let fan = app.register("msg_fan").await;
    let other = app.register("msg_other").await;
    for who in [&fan, &other] {
        app.top_up(who, 100_000, "cash").await.data("topUp");
    }
    let mission = app.new_mission(&other, &streamer.user_id, 5_000).await;

    // Without manual approval a message shows at once; an anonymous backer is hidden from others.
    let open = pledge_with(&app, &fan, &mission, "open", "화이팅!", true)
        .await
        .data("contribute");
    assert_eq!(
        open["backer"]["id"],
        fan.user_id.as_str(),
        "the backer sees their own"
    );
    let public = read_pledge(&app, None, open["id"].as_str().expect("id")).await;
    assert_eq!(public["message"], "화이팅!");
    assert_eq!(public["messageStatus"], Value::Null);
    assert_eq!(
        public["backer"],
        json!({ "id": "anonymous", "handle": "anonymous" })
    );
    let to_streamer = read_pledge(
        &app,
        Some(&streamer.access),
        open["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(
        to_streamer["backer"]["handle"], "anonymous",
        "not even the streamer sees who"
    );

    // Bad messages are refused and take nothing.
    let cash = app.wallet(&fan).await["cash"].clone();
    for (message, code) in [
        ("x".repeat(101), "BAD_USER_INPUT"),
        ("hi \u{202E}olleh".to_owned(), "BAD_USER_INPUT"),
        ("line\nbreak".to_owned(), "BAD_USER_INPUT"),
        ("ＦＵＣＫ".to_owned(), "CONTENT_BLOCKED"),
    ] {
        assert_eq!(
            pledge_with(&app, &fan, &mission, "bad", &message, false)
                .await
                .code(),
            code,
            "{message:?}"
        );
    }
    assert_eq!(app.wallet(&fan).await["cash"], cash);
    // A key is bound to its message.
    let replay = pledge_with(&app, &fan, &mission, "open", "화이팅!", true)
        .await
        .data("contribute");
    assert_eq!(replay["id"], open["id"]);
    assert_eq!(
        pledge_with(&app, &fan, &mission, "open", "다른 말", true)
            .await
            .code(),
        "IDEMPOTENCY_KEY_REUSED"
    );

    // A retry answers its first pledge even once the channel bans a word of its message.
    update(&app, &streamer, json!({ "bannedWords": ["화이팅"] }))
        .await
        .data("updateStreamerSettings");
    let retried = pledge_with(&app, &fan, &mission, "open", "화이팅!", true)
        .await
        .data("contribute");
    assert_eq!(retried["id"], open["id"]);
    assert_eq!(
        pledge_with(&app, &fan, &mission, "fresh", "화이팅!", true)
            .await
            .code(),
        "CONTENT_BLOCKED"
    );
    // A mission's creator is public: its first pledge cannot be anonymous.
    let anonymous_creator = app
        .create_mission(&fan, &streamer.user_id, 5_000, json!({ "anonymous": true }))
        .await;
    assert_eq!(anonymous_creator.code(), "BAD_USER_INPUT");

    // With manual approval a message waits; the feed shows it once approved.
    update(&app, &streamer, json!({ "manualApproval": true }))
        .await
        .data("updateStreamerSettings");
    let held = pledge_with(&app, &fan, &mission, "held", "보스 잡자", false)
        .await
        .data("contribute");
    let id = held["id"].as_str().expect("id").to_owned();
    assert_eq!(held["messageStatus"], "PENDING");
    assert_eq!(read_pledge(&app, None, &id).await["message"], Value::Null);
    assert_eq!(
        read_pledge(&app, Some(&streamer.access), &id).await["message"],
        "보스 잡자"
    );
    let approve = |who: &Session, field: &'static str| {
        let (app, id, token) = (&app, id.clone(), who.access.clone());
        async move {
            app.gql(
                Some(&token),
                &format!(
                    "mutation($p: ID!) {{ {field}(pledgeId: $p) {{ messageStatus message }} }}"
                ),
                json!({ "p": id }),
            )
            .await
        }
    };
    assert_eq!(approve(&fan, "approveMessage").await.code(), "FORBIDDEN");
    assert_eq!(
        approve(&streamer, "approveMessage")
            .await
            .data("approveMessage")["messageStatus"],
        "APPROVED"
    );
    assert_eq!(read_pledge(&app, None, &id).await["message"], "보스 잡자");
    let total = app.mission(&mission).await["totalPledged"].clone();
    approve(&streamer, "hideMessage").await.data("hideMessage");
    assert_eq!(read_pledge(&app, None, &id).await["message"], Value::Null);
    assert_eq!(
        app.mission(&mission).await["totalPledged"],
        total,
        "hiding never touches money"
    );

    let kinds: Vec<Value> = app
        .gql(
            None,
            "query($s: ID!) { missionEvents(streamerId: $s) { nodes { kind pledge { id } } } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("missionEvents")["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|e| e["pledge"]["id"] == id.as_str())
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, ["PLEDGED", "MESSAGE_APPROVED", "MESSAGE_HIDDEN"]);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn moderators_accept_reject_and_moderate_but_never_decide_nor_act_where_they_staked() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("mod_streamer", "STREAMER").await;
    let moderator = app.register("mod_helper").await;
    let fan = app.register("mod_fan").await;
    for who in [&moderator, &fan] {
        app.top_up(who, 100_000, "cash").await.data("topUp");
    }
    let appoint = |who: &Session, user: &str, field: &'static str| {
        let (app, token, user) = (&app, who.access.clone(), user.to_owned());
        async move {
            app.gql(
                Some(&token),
                &format!(
                    "mutation($u: ID!) {{ {field}(userId: $u) {{ moderators {{ handle }} }} }}"
                ),
                json!({ "u": user }),
            )
            .await
        }
    };
    assert_eq!(
        appoint(&fan, &moderator.user_id, "appointModerator")
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        appoint(
            &streamer,
            &uuid::Uuid::now_v7().to_string(),
            "appointModerator"
        )
        .await
        .code(),
        "NOT_FOUND"
    );
    let mods = appoint(&streamer, &moderator.user_id, "appointModerator")
        .await
        .data("appointModerator");
    assert_eq!(mods["moderators"], json!([{ "handle": "mod_helper" }]));

    // A moderator accepts and rejects, never decides.
    let first = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    app.act(&moderator, "accept", &first)
        .await
        .data("acceptMission");
    assert_eq!(
        app.act(&moderator, "SUCCESS", &first).await.code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.act(&fan, "reject", &first).await.code(),
        "FORBIDDEN",
        "not a moderator"
    );
    // Nor where they staked: a pledge makes them interested.
    let second = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    app.contribute(&moderator, &second, 1_000, "stake")
        .await
        .data("contribute");
    assert_eq!(
        app.act(&moderator, "reject", &second).await.code(),
        "CONFLICT_OF_INTEREST"
    );
    assert_eq!(
        app.mission(&second).await["status"],
        "PENDING",
        "a refusal changes nothing"
    );
    app.act(&streamer, "reject", &second)
        .await
        .data("rejectMission");

    // Messages: a moderator approves; once dismissed, they cannot.
    update(&app, &streamer, json!({ "manualApproval": true }))
        .await
        .data("updateStreamerSettings");
    let held = pledge_with(&app, &fan, &first, "msg", "가즈아", false)
        .await
        .data("contribute");
    let approve = |who: &Session| {
        let (app, token, id) = (&app, who.access.clone(), held["id"].clone());
        async move {
            app.gql(
                Some(&token),
                "mutation($p: ID!) { approveMessage(pledgeId: $p) { messageStatus } }",
                json!({ "p": id }),
            )
            .await
        }
    };
    let pending = |who: &Session| {
        let (app, token, streamer) = (&app, who.access.clone(), streamer.user_id.clone());
        async move {
            app.gql(Some(&token), "query($s: ID!) { pendingMessages(streamerId: $s) { totalCount nodes { id message messageStatus } } }", json!({ "s": streamer }))
                .await
        }
    };
    let waiting = pending(&moderator).await.data("pendingMessages");
    assert_eq!(waiting["totalCount"], 1);
    assert_eq!(
        waiting["nodes"][0]["message"], "가즈아",
        "a moderator reads what they approve"
    );
    assert_eq!(pending(&fan).await.code(), "FORBIDDEN");
    assert_eq!(
        approve(&moderator).await.data("approveMessage")["messageStatus"],
        "APPROVED"
    );
    assert_eq!(
        pending(&streamer).await.data("pendingMessages")["totalCount"],
        0
    );
    appoint(&streamer, &moderator.user_id, "dismissModerator")
        .await
        .data("dismissModerator");
    assert_eq!(approve(&moderator).await.code(), "FORBIDDEN");

    // The streamer sees everything done in the channel, newest first.
    let log = app
        .gql(Some(&streamer.access), "{ moderationLog { totalCount nodes { action actor { handle } mission { id } pledge { id } } } }", json!({}))
        .await
        .data("moderationLog");
    let seen: Vec<(Value, Value)> = log["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| (n["action"].clone(), n["actor"]["handle"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (json!("APPROVE_MESSAGE"), json!("mod_helper")),
            (json!("REJECT"), json!("mod_streamer")),
            (json!("ACCEPT"), json!("mod_helper")),
        ]
    );
    assert_eq!(log["nodes"][0]["pledge"]["id"], held["id"]);
    assert_eq!(
        app.gql(
            Some(&fan.access),
            "{ moderationLog { totalCount } }",
            json!({})
        )
        .await
        .code(),
        "FORBIDDEN"
    );
}
