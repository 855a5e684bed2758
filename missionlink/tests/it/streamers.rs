//! Verified streamers (issue 25, item 5) through HTTP: a viewer applies, an operator approves or
//! refuses, and an approved account is the same account, now a streamer; self-registration is
//! refused at the default settings; the migrations keep every user and action.

use crate::disputes::operator;
use crate::support::{Session, TestApp, TestDatabases, migrations};
use serde_json::json;

pub const APPLY: &str = "mutation($p: StreamerPlatform!, $u: String!) {
    applyAsStreamer(platform: $p, channelUrl: $u) {
      id platform channelUrl channelId status note createdAt decidedAt user { id role } } }";
const MY_APPLICATION: &str = "{ myStreamerApplication { id status note decidedAt channelUrl } }";
pub const ME: &str = "{ me { id role verifiedChannel {
    platform channelId name url verifiedAt verifiedBy } } }";

fn decide(approve: bool) -> String {
    let field = if approve {
        "approveStreamer"
    } else {
        "refuseStreamer"
    };
    format!(
        "mutation($u: ID!, $n: String!) {{ {field}(userId: $u, note: $n) {{
           application {{ id status note decidedAt decidedBy {{ id }} user {{ id role }} }}
           action {{ id action note user {{ id }} }} }} }}"
    )
}

async fn apply(app: &TestApp, who: &Session, platform: &str, url: &str) -> crate::support::Gql {
    app.gql(Some(&who.access), APPLY, json!({ "p": platform, "u": url }))
        .await
}

fn chzzk_channel() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_applies_an_operator_approves_and_the_same_account_accepts_a_mission_with_its_wallet_intact()
 {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_file_worker().await;
    let ops = operator(&app, "approver").await;
    let stella = app.register("stella").await;
    let alice = app.register("alice").await;
    app.top_up(&stella, 50_000, "before").await.data("topUp");
    app.top_up(&alice, 50_000, "alice").await.data("topUp");
    let wallet_before = app.wallet(&stella).await;

    let channel = chzzk_channel();
    let url = format!("https://chzzk.naver.com/{}", channel.to_uppercase());
    let applied = apply(&app, &stella, "CHZZK", &url)
        .await
        .data("applyAsStreamer");
    assert_eq!(applied["status"], "PENDING");
    assert_eq!(applied["channelId"], channel.as_str());
    assert_eq!(
        applied["channelUrl"],
        format!("https://chzzk.naver.com/{channel}"),
        "canonical"
    );
    assert_eq!(applied["user"]["role"], "VIEWER");
    let again = apply(&app, &stella, "TWITCH", "https://www.twitch.tv/stella_tv").await;
    assert_eq!(again.code(), "APPLICATION_PENDING");
    let mine = app
        .gql(Some(&stella.access), MY_APPLICATION, json!({}))
        .await;
    assert_eq!(mine.data("myStreamerApplication")["id"], applied["id"]);

    // Nobody but an operator decides; a refusal changes nothing.
    for who in [&stella, &alice] {
        let r = app
            .gql(
                Some(&who.access),
                &decide(true),
                json!({ "u": stella.user_id, "n": "me" }),
            )
            .await;
        assert_eq!(r.code(), "FORBIDDEN");
    }
    let listed = app
        .gql(
            Some(&ops.access),
            "{ streamerApplications(status: PENDING, first: 10) { totalCount nodes { id user { id } } } }",
            json!({}),
        )
        .await
        .data("streamerApplications");
    assert_eq!(listed["totalCount"], 1);
    assert_eq!(listed["nodes"][0]["user"]["id"], stella.user_id.as_str());
    let refused = app
        .gql(
            Some(&stella.access),
            "{ streamerApplications { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");

    let decided = app
        .gql(
            Some(&ops.access),
            &decide(true),
            json!({ "u": stella.user_id, "n": "channel checked: her stream shows our code" }),
        )
        .await
        .data("approveStreamer");
    assert_eq!(decided["application"]["status"], "APPROVED");
    assert_eq!(
        decided["application"]["decidedBy"]["id"],
        ops.user_id.as_str()
    );
    assert_eq!(decided["application"]["user"]["role"], "STREAMER");
    assert_eq!(decided["action"]["action"], "APPROVE_STREAMER");
    assert_eq!(decided["action"]["user"]["id"], stella.user_id.as_str());
    let twice = app
        .gql(
            Some(&ops.access),
            &decide(true),
            json!({ "u": stella.user_id, "n": "again" }),
        )
        .await;
    assert_eq!(twice.code(), "INVALID_STATE", "nothing pending any more");

    // The same account, with the token it held as a viewer: a streamer now, verified, public.
    let me = app
        .gql(Some(&stella.access), ME, json!({}))
        .await
        .data("me");
    assert_eq!(me["id"], stella.user_id.as_str());
    assert_eq!(me["role"], "STREAMER");
    assert_eq!(me["verifiedChannel"]["platform"], "CHZZK");
    assert_eq!(me["verifiedChannel"]["channelId"], channel.as_str());
    assert_eq!(me["verifiedChannel"]["verifiedBy"], "OPERATOR");
    assert!(!me["verifiedChannel"]["verifiedAt"].is_null());
    // A streamer-only action, with the token that still says VIEWER: the role is the account's.
    let overlay = app
        .gql(
            Some(&stella.access),
            "mutation { rotateOverlayToken { url } }",
            json!({}),
        )
        .await;
    assert!(
        overlay.data("rotateOverlayToken")["url"].is_string(),
        "{}",
        overlay.0
    );
    let public = app
        .gql(
            None,
            "{ user(handle: \"stella\") { role verifiedChannel { url } } }",
            json!({}),
        )
        .await
        .data("user");
    assert_eq!(
        public["verifiedChannel"]["url"],
        format!("https://chzzk.naver.com/{channel}")
    );
    let action = app
        .gql(
            Some(&ops.access),
            "query($u: ID!) { operatorActions(userId: $u) { nodes { action note operator { id } } } }",
            json!({ "u": stella.user_id }),
        )
        .await
        .data("operatorActions");
    assert_eq!(action["nodes"][0]["action"], "APPROVE_STREAMER");
    assert_eq!(action["nodes"][0]["operator"]["id"], ops.user_id.as_str());
    let already = apply(&app, &stella, "TWITCH", "https://www.twitch.tv/stella_tv").await;
    assert_eq!(already.code(), "ALREADY_STREAMER");

    // A mission proposed to her, accepted by her: her wallet is the one she had.
    let id = app.new_mission(&alice, &stella.user_id, 10_000).await;
    let accepted = app.act(&stella, "accept", &id).await.data("acceptMission");
    assert_eq!(accepted["status"], "ACTIVE");
    assert_eq!(app.wallet(&stella).await, wallet_before);
    // Backers' emails name her with her verified channel.
    app.act(&stella, "SUCCESS", &id).await.data("decideMission");
    let m = app
        .wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;
    let mail = worker
        .wait_for_mail(m["title"].as_str().expect("title"), 2)
        .await;
    let to_alice = mail
        .iter()
        .find(|m| m.to == alice.email)
        .expect("alice's email");
    assert!(
        to_alice
            .body
            .contains(&format!("https://chzzk.naver.com/{channel}")),
        "{to_alice:?}"
    );
    let login = app
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { id role } } }",
            json!({ "e": stella.email, "p": crate::support::PASSWORD }),
        )
        .await
        .data("login");
    assert_eq!(
        login["user"],
        json!({ "id": stella.user_id, "role": "STREAMER" })
    );
}

#[tokio::test]
async fn a_refused_application_leaves_a_viewer_who_may_apply_again() {
    let app = TestApp::spawn().await;
    let ops = operator(&app, "refuser").await;
    let victor = app.register("victor").await;

    // Bad addresses are refused and change nothing.
    for (platform, url) in [
        ("CHZZK", "https://chzzk.naver.com/not-a-channel"),
        ("SOOP", "https://www.twitch.tv/victor"),
        ("TWITCH", "http://www.twitch.tv/victor"),
        ("TWITCH", "https://evil.example/victor"),
    ] {
        let r = apply(&app, &victor, platform, url).await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{platform} {url}");
    }
    let none = app
        .gql(Some(&victor.access), MY_APPLICATION, json!({}))
        .await;
    assert!(none.data("myStreamerApplication").is_null());

    apply(&app, &victor, "SOOP", "https://bj.afreecatv.com/victor99")
        .await
        .data("applyAsStreamer");
    let refused = app
        .gql(
            Some(&ops.access),
            &decide(false),
            json!({ "u": victor.user_id, "n": "the channel does not mention MissionLink" }),
        )
        .await
        .data("refuseStreamer");
    assert_eq!(refused["application"]["status"], "REFUSED");
    assert_eq!(refused["action"]["action"], "REFUSE_STREAMER");
    let approve_after = app
        .gql(
            Some(&ops.access),
            &decide(true),
            json!({ "u": victor.user_id, "n": "changed my mind" }),
        )
        .await;
    assert_eq!(approve_after.code(), "INVALID_STATE");

    let me = app
        .gql(Some(&victor.access), ME, json!({}))
        .await
        .data("me");
    assert_eq!(me["role"], "VIEWER");
    assert!(me["verifiedChannel"].is_null());
    let mine = app
        .gql(Some(&victor.access), MY_APPLICATION, json!({}))
        .await
        .data("myStreamerApplication");
    assert_eq!(mine["status"], "REFUSED");
    assert_eq!(mine["note"], "the channel does not mention MissionLink");
    assert_eq!(mine["channelUrl"], "https://ch.sooplive.co.kr/victor99");

    // A viewer may still propose missions only to streamers: not to victor.
    let fan = app.register("fan").await;
    app.top_up(&fan, 10_000, "f").await.data("topUp");
    let proposal = app
        .create_mission(&fan, &victor.user_id, 5_000, json!({}))
        .await;
    assert!(proposal.0.get("errors").is_some(), "{:?}", proposal.0);

    // Applying again is allowed; a channel another account has is not.
    apply(&app, &victor, "SOOP", "https://ch.sooplive.co.kr/victor99")
        .await
        .data("applyAsStreamer");
    app.gql(
        Some(&ops.access),
        &decide(true),
        json!({ "u": victor.user_id, "n": "now it does" }),
    )
    .await
    .data("approveStreamer");
    let copycat = app.register("copycat").await;
    let taken = apply(&app, &copycat, "SOOP", "https://ch.sooplive.co.kr/Victor99").await;
    assert_eq!(taken.code(), "CHANNEL_ALREADY_LINKED");
    let listed = app
        .gql(
            Some(&ops.access),
            "{ streamerApplications(first: 1) { totalCount pageInfo { hasNextPage endCursor } nodes { status } } }",
            json!({}),
        )
        .await
        .data("streamerApplications");
    assert_eq!(listed["totalCount"], 2);
    assert_eq!(listed["nodes"][0]["status"], "APPROVED", "newest first");
    assert_eq!(listed["pageInfo"]["hasNextPage"], true);
}

#[tokio::test]
async fn a_suspended_applicant_is_not_approved() {
    let app = TestApp::spawn().await;
    let ops = operator(&app, "suspender").await;
    let shady = app.register("shadyviewer").await;
    apply(&app, &shady, "TWITCH", "https://www.twitch.tv/shadyviewer")
        .await
        .data("applyAsStreamer");
    app.gql(
        Some(&ops.access),
        "mutation($u: ID!) { suspendUser(userId: $u, note: \"chargebacks\") { id } }",
        json!({ "u": shady.user_id }),
    )
    .await
    .data("suspendUser");
    let r = app
        .gql(
            Some(&ops.access),
            &decide(true),
            json!({ "u": shady.user_id, "n": "looks fine" }),
        )
        .await;
    assert_eq!(r.code(), "INVALID_STATE", "{}", r.0);
    assert!(r.message().contains("suspended"), "{}", r.0);
    // Refusing stays possible.
    let r = app
        .gql(
            Some(&ops.access),
            &decide(false),
            json!({ "u": shady.user_id, "n": "suspended for chargebacks" }),
        )
        .await;
    assert_eq!(r.data("refuseStreamer")["application"]["status"], "REFUSED");
}

#[tokio::test]
async fn applications_and_links_are_limited_per_user_at_the_default() {
    let app = TestApp::spawn().await;
    let eager = app.register("eagerviewer").await;
    let limit: usize = missionlink_config::channels::STREAMER_REQUESTS_MAX_PER_USER
        .default_text()
        .parse()
        .expect("a number");
    for _ in 0..limit {
        let r = apply(&app, &eager, "TWITCH", "https://example.com/not-a-channel").await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    }
    // Every attempt counted: even a well-formed application now waits.
    let r = apply(&app, &eager, "TWITCH", "https://www.twitch.tv/eagerviewer").await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    let r = app
        .gql(Some(&eager.access), MY_APPLICATION, json!({}))
        .await;
    assert!(r.data("myStreamerApplication").is_null(), "{}", r.0);
    // Others are not held back.
    let other = app.register("calmviewer").await;
    let r = apply(&app, &other, "TWITCH", "https://www.twitch.tv/calmviewer").await;
    assert_eq!(r.data("applyAsStreamer")["status"], "PENDING");
}

#[tokio::test]
async fn streamers_do_not_register_themselves_at_the_default_settings() {
    let app = TestApp::spawn().await;
    let register = |handle: &'static str, role: &'static str| {
        app.gql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { user { id role } } }",
            json!({ "input": { "email": format!("{handle}@example.com"),
                               "password": crate::support::PASSWORD, "handle": handle, "role": role } }),
        )
    };
    let refused = register("selfmade", "STREAMER").await;
    assert_eq!(refused.code(), "FORBIDDEN");
    assert!(
        refused.message().contains("applyAsStreamer"),
        "{}",
        refused.message()
    );
    // Nothing was made: the same email and handle register as a viewer.
    let viewer = register("selfmade", "VIEWER").await.data("register");
    assert_eq!(viewer["user"]["role"], "VIEWER");

    // A development instance says so.
    let dev = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("STREAMER_SELF_REGISTRATION", "true")],
    )
    .await;
    let streamer = dev.register_as("selfmade", "STREAMER").await;
    let me = dev
        .gql(Some(&streamer.access), ME, json!({}))
        .await
        .data("me");
    assert_eq!(me["role"], "STREAMER");
    assert!(
        me["verifiedChannel"].is_null(),
        "self-registered: not verified"
    );
}

/// Users migration 000006 on both backends: every user kept, the streamers verified by
/// migration (without a channel), nobody else; missions migration 000016 keeps every operator
/// action and takes the new kinds.
#[tokio::test]
async fn the_streamer_migrations_keep_every_user_and_action_and_verify_existing_streamers() {
    use missionlink_migration::Migrate as _;
    use sea_orm::ConnectionTrait;
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = migrations::users_at(&dbs.users_url, 4).await;
        migrations::seed_users(&db, true).await;
        let now = migrations::SEEDED_AT;
        let users = migrations::USERS;
        let before = migrations::rows(&db, users).await;
        missionlink_migration::users::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        assert_eq!(migrations::rows(&db, users).await, before);
        let verified = missionlink_identity::streamers::channels_of(
            &db,
            &["u1".into(), "u2".into(), "u3".into()],
        )
        .await
        .expect("channels");
        assert_eq!(verified.len(), 1, "only the streamer");
        let bob = &verified["u2"];
        assert_eq!(
            bob.verified_via,
            missionlink_entities::users::Verification::Migration
        );
        assert!(bob.channel_id.is_none() && bob.platform.is_none());
        assert!(bob.verified_at > chrono::Utc::now() - chrono::Duration::hours(1));

        // One channel, one account: the database refuses a second, whatever code checked.
        let dup = format!(
            "INSERT INTO streamer_channels (user_id, platform, channel_id, verified_at, verified_via) \
             VALUES ('u1', 'SOOP', 'bob', {now}, 'OAUTH'), ('u3', 'SOOP', 'bob', {now}, 'OAUTH')"
        );
        assert!(db.execute_unprepared(&dup).await.is_err(), "{dup}");

        let missions = missionlink_api::db::connect(&dbs.missions_url)
            .await
            .expect("connect");
        missionlink_migration::missions::Migrator::up(&missions, Some(15))
            .await
            .expect("migrate to 15");
        missions
            .execute_unprepared(&format!(
                "INSERT INTO operator_actions (id, operator_id, action, user_id, note, created_at) \
                 VALUES ('a1', 'u3', 'SUSPEND_USER', 'u2', 'fraud', {now}), \
                        ('a2', 'u3', 'UNSUSPEND_USER', 'u2', 'sorted', {now})"
            ))
            .await
            .expect("seed actions");
        let actions =
            "SELECT id, operator_id, action, user_id, note FROM operator_actions ORDER BY id";
        let before = migrations::rows(&missions, actions).await;
        missionlink_migration::missions::Migrator::up(&missions, None)
            .await
            .expect("migrate forward");
        assert_eq!(migrations::rows(&missions, actions).await, before);
        let decision = |id: &str| {
            format!(
                "INSERT INTO operator_actions (id, operator_id, action, user_id, application_id, \
                 note, created_at) VALUES ('{id}', 'u3', 'APPROVE_STREAMER', 'u1', 'app1', 'ok', {now})"
            )
        };
        missions
            .execute_unprepared(&decision("a3"))
            .await
            .expect("a decision");
        assert!(
            missions.execute_unprepared(&decision("a4")).await.is_err(),
            "one decision per application"
        );
        let bare = format!(
            "INSERT INTO operator_actions (id, operator_id, action, user_id, note, created_at) \
             VALUES ('a5', 'u3', 'REFUSE_STREAMER', 'u1', 'no app', {now})"
        );
        assert!(
            missions.execute_unprepared(&bare).await.is_err(),
            "a decision names its application"
        );
    }
}
