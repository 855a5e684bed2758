//! The overlay as a streamer tunes it (issue 29, items 2 to 4), in Debian's headless chromium
//! as in `overlay.rs`: the proposer's message on the new-mission alert; a test event shown as a
//! test without touching the board; settings applied live to every open page (scale 2.0 in
//! the bottom-left corner, a screenshot kept by the test run; an alert threshold); and two
//! links, one per device, where revoking one stops only that page.

use crate::overlay::{Browser, alert, first_token};
use crate::support::{TestApp, artifacts_dir};
use serde_json::{Value, json};

fn text(snapshot: &Value, seq: i64) -> String {
    alert(snapshot, seq)["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

fn near(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 2.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_overlay_follows_its_settings_live_shows_tests_and_messages_and_each_link_stops_alone()
{
    let app = TestApp::spawn().await;
    // Korean, the default locale.
    let streamer = app.register_as("toolstar", "STREAMER").await;
    let mut fans = Vec::new();
    for name in ["Alice", "Bora"] {
        let fan = app.register(name).await;
        app.top_up(&fan, 100_000, "cash").await.data("topUp");
        fans.push(fan);
    }
    let studio_token = first_token(&app, &streamer).await;
    let laptop = app
        .gql(
            Some(&streamer.access),
            "mutation { createOverlayLink(label: \"laptop\") { id label url token connected } }",
            json!({}),
        )
        .await
        .data("createOverlayLink");
    assert_eq!(laptop["label"], "laptop");
    assert_eq!(laptop["connected"], false);
    let mut browser = Browser::launch().await;
    let studio = browser
        .open(
            "studio",
            &format!("http://{}/overlay/{studio_token}", app.addr),
        )
        .await;
    browser
        .open("laptop", laptop["url"].as_str().expect("the laptop's url"))
        .await;
    // The defaults: readable on a 1080p canvas (1.5), the cards top right, the alerts bottom
    // left.
    assert_eq!(studio["hooks"]["settings"]["scale"], 1.5, "{studio:#}");
    assert_eq!(studio["hooks"]["settings"]["position"], "TOP_RIGHT");
    assert!(
        near(&studio["layout"]["missions"]["right"], 1256.0),
        "{studio:#}"
    );
    assert!(
        near(&studio["layout"]["alerts"]["left"], 24.0),
        "{studio:#}"
    );

    // (1) A new mission's alert shows its proposer's message.
    let mission = app
        .create_mission(
            &fans[0],
            &streamer.user_id,
            10_000,
            json!({ "message": "보스 꼭 잡아주세요" }),
        )
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let shown = browser.wait_seq("studio", 1, 5_000).await;
    let created = text(&shown, 1);
    assert!(
        created.contains("새 미션 도착!") && created.contains("보스 꼭 잡아주세요"),
        "{created}"
    );

    // (2) A test event: an alert marked as a test; the board keeps only the real mission.
    app.gql(
        Some(&streamer.access),
        "mutation { sendTestEvent(kind: PLEDGED) { seq } }",
        json!({}),
    )
    .await
    .data("sendTestEvent");
    let shown = browser.wait_seq("studio", 2, 5_000).await;
    let test = alert(&shown, 2);
    assert!(
        test["className"].as_str().expect("class").contains("test"),
        "{test}"
    );
    assert!(text(&shown, 2).contains("테스트 알림"), "{test}");
    let cards: Vec<&Value> = shown["missions"]
        .as_array()
        .expect("cards")
        .iter()
        .collect();
    assert_eq!(cards.len(), 1, "{shown:#}");
    assert_eq!(cards[0]["id"], mission.as_str());
    assert!(cards[0]["meta"].as_str().expect("meta").contains("10,000"));
    assert_eq!(shown["hooks"]["shown"][1]["test"], true);

    // (3) Settings change while both pages are open: each applies them within seconds.
    let set = app
        .gql(
            Some(&streamer.access),
            "mutation { updateOverlaySettings(input: { scale: 2.0, position: BOTTOM_LEFT,
                minAlertAmount: 5000, alertSeconds: 30, maxCards: 3 }) {
                scale position minAlertAmount alertSeconds maxCards showMessages updatedAt } }",
            json!({}),
        )
        .await
        .data("updateOverlaySettings");
    assert_eq!(set["scale"], 2.0);
    assert!(set["updatedAt"].is_string());
    let mut applied = Value::Null;
    for tab in ["studio", "laptop"] {
        applied = browser
            .call(json!({ "cmd": "waitScale", "name": tab, "scale": 2.0, "timeoutMs": 10_000 }))
            .await["snapshot"]
            .clone();
        assert_eq!(applied["hooks"]["settings"]["position"], "BOTTOM_LEFT");
    }
    // On the 1280×720 canvas: the card column twice its 440 px, in the bottom-left corner;
    // the alerts in the opposite corner.
    let board = &applied["layout"]["missions"];
    assert!(near(&board["width"], 880.0), "{board}");
    assert!(near(&board["left"], 24.0), "{board}");
    assert!(near(&board["bottom"], 696.0), "{board}");
    assert!(
        near(&applied["layout"]["alerts"]["top"], 24.0),
        "{applied:#}"
    );
    let shot = artifacts_dir().join("overlay-scale-2.0-bottom-left.png");
    browser
        .call(json!({ "cmd": "screenshot", "name": "laptop", "path": shot }))
        .await;
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1_000),
        "{shot:?}"
    );

    // Below the threshold a pledge counts on the card without an alert; at it, it alerts.
    app.contribute(&fans[1], &mission, 1_000, "small")
        .await
        .data("contribute");
    let shown = browser.wait_seq("studio", 3, 5_000).await;
    assert_eq!(shown["hooks"]["shown"][2]["alert"], false, "{shown:#}");
    assert!(
        shown["missions"][0]["meta"]
            .as_str()
            .expect("meta")
            .contains("11,000"),
        "{shown:#}"
    );
    app.contribute(&fans[1], &mission, 5_000, "big")
        .await
        .data("contribute");
    let shown = browser.wait_seq("studio", 4, 5_000).await;
    assert!(text(&shown, 4).contains("5,000원"), "{shown:#}");

    // (4) Revoking the laptop's link stops that page only.
    let links = app
        .gql(
            Some(&streamer.access),
            "{ overlayLinks { id label connected lastSeenAt token } }",
            json!({}),
        )
        .await
        .data("overlayLinks");
    assert_eq!(links.as_array().expect("links").len(), 2, "{links}");
    assert!(
        links
            .as_array()
            .expect("links")
            .iter()
            .all(|l| l["connected"] == true && l["lastSeenAt"].is_string() && l["token"].is_null()),
        "both pages are showing: {links}"
    );
    app.gql(
        Some(&streamer.access),
        "mutation($id: ID!) { revokeOverlayLink(id: $id) }",
        json!({ "id": laptop["id"] }),
    )
    .await
    .data("revokeOverlayLink");
    let revoked = browser
        .call(json!({ "cmd": "waitStatus", "name": "laptop", "status": "revoked", "timeoutMs": 5_000 }))
        .await["snapshot"]
        .clone();
    assert_eq!(revoked["missions"], json!([]), "{revoked:#}");
    assert_eq!(
        revoked["notice"]["hidden"], true,
        "nothing addressed to viewers"
    );
    app.contribute(&fans[0], &mission, 7_000, "after")
        .await
        .data("contribute");
    let shown = browser.wait_seq("studio", 5, 5_000).await;
    assert_eq!(shown["hooks"]["status"], "live");
    assert!(text(&shown, 5).contains("7,000원"), "{shown:#}");
    let links = app
        .gql(
            Some(&streamer.access),
            "{ overlayLinks { label } }",
            json!({}),
        )
        .await
        .data("overlayLinks");
    assert_eq!(links, json!([{ "label": "OBS" }]));

    // Offline: nothing left loopback; no script error, no Content-Security-Policy violation.
    let report = browser.call(json!({ "cmd": "report" })).await["report"].clone();
    assert_eq!(report["blocked"], json!([]), "{report:#}");
    assert_eq!(report["pageErrors"], json!([]), "{report:#}");
    assert_eq!(report["consoleErrors"], json!([]), "{report:#}");
    browser.close().await;
}

const SETTINGS: &str = "{ overlaySettings { scale position alertSeconds maxCards minAlertAmount
    showMessages updatedAt } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_settings_changes_at_once_both_stay_and_wrong_values_are_refused_together() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("tunestar", "STREAMER").await;
    let viewer = app.register("tunefan").await;
    let defaults = app
        .gql(Some(&streamer.access), SETTINGS, json!({}))
        .await
        .data("overlaySettings");
    assert_eq!(
        defaults,
        json!({ "scale": 1.5, "position": "TOP_RIGHT", "alertSeconds": 8, "maxCards": 5,
                "minAlertAmount": 0, "showMessages": true, "updatedAt": null })
    );
    let change = |input: &'static str| {
        let (app, token) = (&app, streamer.access.clone());
        async move {
            let query = format!("mutation {{ updateOverlaySettings(input: {input}) {{ scale }} }}");
            app.gql(Some(&token), &query, json!({})).await
        }
    };
    let (a, b) = tokio::join!(
        change("{ scale: 2.25 }"),
        change("{ position: BOTTOM_LEFT }")
    );
    a.data("updateOverlaySettings");
    b.data("updateOverlaySettings");
    let both = app
        .gql(Some(&streamer.access), SETTINGS, json!({}))
        .await
        .data("overlaySettings");
    assert_eq!(both["scale"], 2.25, "{both}");
    assert_eq!(both["position"], "BOTTOM_LEFT", "{both}");

    let refused = change("{ scale: 3.0, alertSeconds: 1, maxCards: 0 }").await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    let message = refused.message();
    for field in ["scale", "alertSeconds", "maxCards"] {
        assert!(message.contains(field), "{field} not named: {message}");
    }
    let unchanged = app
        .gql(Some(&streamer.access), SETTINGS, json!({}))
        .await
        .data("overlaySettings");
    assert_eq!(unchanged, both);
    let viewers = app.gql(Some(&viewer.access), SETTINGS, json!({})).await;
    assert_eq!(viewers.code(), "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlay_links_are_bounded_labelled_and_only_their_streamers() {
    let dbs = missionlink_testdb::TestDatabases::postgres().await;
    let app = TestApp::spawn_with(dbs, &[("OVERLAY_LINKS_PER_STREAMER", "3")]).await;
    let streamer = app.register_as("linkstar", "STREAMER").await;
    let other = app.register_as("otherstar", "STREAMER").await;
    let make = |label: &str| {
        app.gql(
            Some(&streamer.access),
            "mutation($l: String!) { createOverlayLink(label: $l) { id label token } }",
            json!({ "l": label }),
        )
    };
    for bad in ["", "   ", &"x".repeat(41)] {
        assert_eq!(make(bad).await.code(), "BAD_USER_INPUT", "{bad:?}");
    }
    // Four at once against a limit of three.
    let (a, b, c, d) = tokio::join!(make("a"), make("b"), make("c"), make("d"));
    let refused: Vec<String> = [a, b, c, d]
        .iter()
        .filter(|g| g.0.get("errors").is_some())
        .map(|g| g.code())
        .collect();
    assert_eq!(refused, ["OVERLAY_LINK_LIMIT"]);
    let links = app
        .gql(
            Some(&streamer.access),
            "{ overlayLinks { id connected } }",
            json!({}),
        )
        .await
        .data("overlayLinks");
    assert_eq!(links.as_array().expect("links").len(), 3);
    assert!(
        links
            .as_array()
            .expect("links")
            .iter()
            .all(|l| l["connected"] == false)
    );
    let theirs = app
        .gql(
            Some(&other.access),
            "mutation($id: ID!) { revokeOverlayLink(id: $id) }",
            json!({ "id": links[0]["id"] }),
        )
        .await;
    assert_eq!(theirs.code(), "NOT_FOUND");
}
