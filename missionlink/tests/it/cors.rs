//! `CORS_ALLOWED_ORIGINS`: a listed origin's preflight and request are allowed (never with
//! credentials); outside production, unset, every loopback origin of any port is; any other
//! origin gets no CORS headers, so the browser refuses the page the answer, and its preflight
//! is answered 403 with a message naming the variable.

use crate::support::{TestApp, TestDatabases};

const APP: &str = "https://app.example.com";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight")
}

fn allowed_origin(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().expect("ascii").to_owned())
}

#[tokio::test]
async fn a_listed_origin_may_call_the_api_from_a_browser() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[(
            "CORS_ALLOWED_ORIGINS",
            "http://localhost:3000, https://app.example.com",
        )],
    )
    .await;
    let ok = preflight(&app, APP).await;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(allowed_origin(&ok).as_deref(), Some(APP));
    let headers = ok
        .headers()
        .get("access-control-allow-headers")
        .expect("allowed headers")
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"));
    assert!(
        ok.headers()
            .get("access-control-allow-methods")
            .is_some_and(|m| m.to_str().expect("ascii").contains("POST"))
    );
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );

    let query = app
        .http
        .post(app.url("/graphql"))
        .header("Origin", APP)
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("query");
    assert_eq!(allowed_origin(&query).as_deref(), Some(APP));
    assert_eq!(
        query.json::<serde_json::Value>().await.expect("json")["data"]["__typename"],
        "Query"
    );

    let stranger = preflight(&app, "https://evil.example.com").await;
    assert_eq!(allowed_origin(&stranger), None);
    assert_eq!(stranger.status(), reqwest::StatusCode::FORBIDDEN);
    // Listed, the list is all: loopback origins are not added to it.
    let local = preflight(&app, "http://localhost:5173").await;
    assert_eq!(allowed_origin(&local), None);
}

#[tokio::test]
async fn in_development_a_web_app_on_any_loopback_port_may_call_the_api_and_no_one_else() {
    let app = TestApp::spawn().await;
    for dev_app in ["http://localhost:5173", "http://127.0.0.1:3000"] {
        let ok = preflight(&app, dev_app).await;
        assert!(ok.status().is_success(), "{dev_app}: {}", ok.status());
        assert_eq!(allowed_origin(&ok).as_deref(), Some(dev_app));
        let query = app
            .http
            .post(app.url("/graphql"))
            .header("Origin", dev_app)
            .json(&serde_json::json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("query");
        assert_eq!(allowed_origin(&query).as_deref(), Some(dev_app));
    }
    // Anyone else: a 403 that says what to set, never a bare 405.
    let refused = preflight(&app, APP).await;
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(allowed_origin(&refused), None);
    let why = refused.text().await.expect("body");
    assert!(
        why.contains("CORS_ALLOWED_ORIGINS") && why.contains(APP),
        "{why}"
    );
    let query = app
        .http
        .post(app.url("/graphql"))
        .header("Origin", APP)
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("query");
    assert_eq!(allowed_origin(&query), None);
}

#[tokio::test]
async fn set_to_none_no_origin_is_allowed() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("CORS_ALLOWED_ORIGINS", "none")],
    )
    .await;
    let refused = preflight(&app, "http://localhost:5173").await;
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(allowed_origin(&refused), None);
}
