//! Abusive requests are refused before they cost anything.

use crate::support::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_query_nested_too_deep_is_refused() {
    let app = TestApp::spawn().await;
    let mut query = String::from("name");
    for _ in 0..12 {
        query = format!("ofType {{ {query} }}");
    }
    let query = format!("{{ __schema {{ types {{ fields {{ type {{ {query} }} }} }} }} }}");
    let r = app.gql(None, &query, json!({})).await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
    assert!(
        r.message().to_lowercase().contains("nested too deep"),
        "{}",
        r.0
    );
}

#[tokio::test]
async fn a_query_too_complex_is_refused() {
    let app = TestApp::spawn().await;
    let viewer = app.register("greedy").await;
    // 2,600 fields of cost 2 each: past GRAPHQL_MAX_COMPLEXITY (5,000).
    let fields: String = (0..2_600).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let r = app
        .gql(Some(&viewer.access), &format!("{{ {fields} }}"), json!({}))
        .await;
    assert_eq!(r.code(), "QUERY_TOO_COMPLEX");
    assert!(
        r.message().contains("5000") && r.message().contains("5200"),
        "{}",
        r.0
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let padding = "x".repeat(100 * 1024);
    let r = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ __typename }", "variables": { "p": padding } }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn a_malformed_query_gets_a_code() {
    let app = TestApp::spawn().await;
    let r = app.gql(None, "{ me { ", json!({})).await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
    let r = app.gql(None, "{ noSuchField }", json!({})).await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
}
