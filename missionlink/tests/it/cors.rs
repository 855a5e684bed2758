//! `CORS_ALLOWED_ORIGINS`: a listed origin's preflight and request are allowed (never with
//! credentials); an unlisted origin, and every origin by default, get no CORS headers, so the
//! browser refuses the page the answer.

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
}

#[tokio::test]
async fn no_origin_is_allowed_by_default() {
    let app = TestApp::spawn().await;
    assert_eq!(allowed_origin(&preflight(&app, APP).await), None);
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
