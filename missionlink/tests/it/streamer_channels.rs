//! `linkChannel` through HTTP against a local server that speaks CHZZK's documented Open API
//! (`fake_chzzk.rs`): a viewer links their channel and is a verified streamer at once; a wrong
//! code and a channel another account has are refused and change nothing; a server without a
//! CHZZK application says so.

use crate::fake_chzzk::FakeChzzk;
use crate::streamers::ME;
use crate::support::{Gql, Session, TestApp, TestDatabases};
use serde_json::json;

const LINK: &str = "mutation($code: String!, $r: String!, $s: String!) {
    linkChannel(platform: CHZZK, code: $code, redirectUri: $r, state: $s) {
      platform channelId name url verifiedAt verifiedBy } }";
const REDIRECT: &str = "https://app.missionlink.example/chzzk/callback";

async fn link(app: &TestApp, who: &Session, code: &str) -> Gql {
    app.gql(
        Some(&who.access),
        LINK,
        json!({ "code": code, "r": REDIRECT, "s": "state-from-the-client" }),
    )
    .await
}

async fn chzzk_app(chzzk: &FakeChzzk) -> TestApp {
    let vars = chzzk.config();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(TestDatabases::postgres().await, &vars).await
}

#[tokio::test]
async fn a_viewer_links_their_chzzk_channel_and_is_a_verified_streamer_at_once() {
    let chzzk = FakeChzzk::start().await;
    let app = chzzk_app(&chzzk).await;
    let mina = app.register("mina").await;
    app.top_up(&mina, 20_000, "t").await.data("topUp");
    let wallet = app.wallet(&mina).await;
    let channel = uuid::Uuid::new_v4().simple().to_string();

    let wrong = link(&app, &mina, "a-code-chzzk-never-gave").await;
    assert_eq!(wrong.code(), "CHANNEL_NOT_VERIFIED");
    let me = app.gql(Some(&mina.access), ME, json!({})).await.data("me");
    assert_eq!(me["role"], "VIEWER", "a refused code changes nothing");
    assert!(me["verifiedChannel"].is_null());

    let code = chzzk.consent(&channel, "미나의 방송");
    let linked = link(&app, &mina, &code).await.data("linkChannel");
    assert_eq!(linked["platform"], "CHZZK");
    assert_eq!(linked["channelId"], channel.as_str());
    assert_eq!(linked["name"], "미나의 방송");
    assert_eq!(linked["url"], format!("https://chzzk.naver.com/{channel}"));
    assert_eq!(linked["verifiedBy"], "OAUTH");
    assert_eq!(chzzk.revoked(), 1, "CHZZK's token is given back, not kept");
    assert!(chzzk.states().iter().all(|s| s == "state-from-the-client"));

    let me = app.gql(Some(&mina.access), ME, json!({})).await.data("me");
    assert_eq!(me["id"], mina.user_id.as_str());
    assert_eq!(me["role"], "STREAMER");
    assert_eq!(me["verifiedChannel"]["name"], "미나의 방송");
    assert_eq!(app.wallet(&mina).await, wallet, "the same wallet");
    let again = link(&app, &mina, &chzzk.consent(&channel, "미나의 방송")).await;
    assert_eq!(
        again.code(),
        "INVALID_STATE",
        "one channel per streamer, already linked"
    );

    // Another account proving the same channel (its owner consenting twice) is refused.
    let other = app.register("otherone").await;
    let used = link(&app, &other, &code).await;
    assert_eq!(used.code(), "CHANNEL_NOT_VERIFIED", "a code works once");
    let second = chzzk.consent(&channel, "미나의 방송");
    let taken = link(&app, &other, &second).await;
    assert_eq!(taken.code(), "CHANNEL_ALREADY_LINKED");
    let me = app.gql(Some(&other.access), ME, json!({})).await.data("me");
    assert_eq!(me["role"], "VIEWER");
    assert!(me["verifiedChannel"].is_null());

    // Its name is public where the streamer is shown.
    let fan = app.register("minafan").await;
    app.top_up(&fan, 10_000, "f").await.data("topUp");
    let id = app.new_mission(&fan, &mina.user_id, 5_000).await;
    let m = app
        .gql(
            None,
            "query($id: ID!) { mission(id: $id) { streamer { verifiedChannel { name url } } } }",
            json!({ "id": id }),
        )
        .await
        .data("mission");
    assert_eq!(m["streamer"]["verifiedChannel"]["name"], "미나의 방송");
}

#[tokio::test]
async fn linking_is_refused_clearly_where_chzzk_is_not_configured() {
    // Production's default verifier is CHZZK; without its credentials nothing can be linked.
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("CHANNEL_VERIFIER", "chzzk")],
    )
    .await;
    let viewer = app.register("unlinked").await;
    let r = link(&app, &viewer, "any-code").await;
    assert_eq!(r.code(), "CHANNEL_VERIFIER_NOT_CONFIGURED");
    let bad = app
        .gql(
            Some(&viewer.access),
            LINK,
            json!({ "code": "c", "r": "not a url", "s": "" }),
        )
        .await;
    assert_eq!(bad.code(), "BAD_USER_INPUT");

    // The development sandbox believes a code and names the channel by it.
    let dev = TestApp::spawn().await;
    let viewer = dev.register("sandboxed").await;
    let linked = link(&dev, &viewer, "sandbox_stella")
        .await
        .data("linkChannel");
    assert_eq!(linked["name"], "sandbox_stella");
    let wrong = link(&dev, &dev.register("sandboxed2").await, "wrong-code").await;
    assert_eq!(wrong.code(), "CHANNEL_NOT_VERIFIED");
}
