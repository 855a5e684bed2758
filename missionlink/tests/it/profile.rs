//! A user's own profile (issue 25, item 4): the locale read back, and display name and locale
//! changed under registration's rules, seen where users see them (the overlay's language).

use crate::support::{TestApp, TestDatabases};
use serde_json::json;

const ME: &str = "{ me { displayName locale } }";
const UPDATE: &str = "mutation($n: String, $l: String) {
    updateProfile(displayName: $n, locale: $l) { displayName locale } }";

async fn overlay_language(app: &TestApp, token: &str) -> String {
    let html = app
        .http
        .get(app.url(&format!("/overlay/{token}")))
        .send()
        .await
        .expect("GET /overlay")
        .text()
        .await
        .expect("html");
    let at = html.find("<html lang=\"").expect("a lang attribute") + "<html lang=\"".len();
    html[at..at + 2].to_owned()
}

async fn a_user_reads_and_changes_their_profile(app: TestApp) {
    let streamer = app.register_as("profiled", "STREAMER").await;
    let other = app.register("nosy").await;
    let me = app
        .gql(Some(&streamer.access), ME, json!({}))
        .await
        .data("me");
    assert_eq!(
        me,
        json!({ "displayName": "profiled", "locale": "ko" }),
        "ko by default"
    );
    // Nobody else reads it.
    let r = app
        .gql(
            Some(&other.access),
            "{ user(handle: \"profiled\") { displayName locale } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "FORBIDDEN", "{}", r.0);

    let token = app
        .gql(
            Some(&streamer.access),
            "mutation { rotateOverlayToken { token } }",
            json!({}),
        )
        .await
        .data("rotateOverlayToken")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(overlay_language(&app, &token).await, "ko");

    let updated = app
        .gql(
            Some(&streamer.access),
            UPDATE,
            json!({ "n": "  민지 Live  ", "l": "en" }),
        )
        .await
        .data("updateProfile");
    assert_eq!(
        updated,
        json!({ "displayName": "민지 Live", "locale": "en" })
    );
    assert_eq!(
        overlay_language(&app, &token).await,
        "en",
        "the overlay follows the locale"
    );
    // One field at a time; the other stays.
    let updated = app
        .gql(Some(&streamer.access), UPDATE, json!({ "l": "ko" }))
        .await
        .data("updateProfile");
    assert_eq!(
        updated,
        json!({ "displayName": "민지 Live", "locale": "ko" })
    );

    // Refusals change nothing.
    let before = app.snapshot().await;
    for (name, locale) in [
        (Some("운영자"), None),
        (Some("   "), None),
        (Some("a\u{202E}b"), None),
        (None, Some("fr")),
        (Some("fine name"), Some("jp")),
    ] {
        let r = app
            .gql(
                Some(&streamer.access),
                UPDATE,
                json!({ "n": name, "l": locale }),
            )
            .await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{name:?} {locale:?}: {}", r.0);
    }
    assert_eq!(app.snapshot().await, before);
    let r = app.gql(None, UPDATE, json!({ "l": "en" })).await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
}

#[tokio::test]
async fn a_user_reads_and_changes_their_profile_on_postgres() {
    a_user_reads_and_changes_their_profile(TestApp::spawn().await).await;
}

#[tokio::test]
async fn a_user_reads_and_changes_their_profile_on_sqlite() {
    a_user_reads_and_changes_their_profile(TestApp::spawn_with(TestDatabases::sqlite(), &[]).await)
        .await;
}
