//! Queries over `GET` (mutations refused with 405), Apollo's automatic persisted queries over
//! `POST` and `GET`, and each operation's cost in `extensions`.

use crate::support::TestApp;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const QUERY: &str = "query Hello { __typename }";

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

async fn get(app: &TestApp, params: &[(&str, &str)]) -> (reqwest::StatusCode, Value) {
    let r = app
        .http
        .get(app.url("/graphql"))
        .query(params)
        .send()
        .await
        .expect("GET /graphql");
    let status = r.status();
    (status, r.json().await.expect("json"))
}

#[tokio::test]
async fn a_query_runs_over_get_and_a_mutation_does_not() {
    let app = TestApp::spawn().await;
    let (status, body) = get(&app, &[("query", QUERY)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query");
    let (_, listed) = get(
        &app,
        &[("query", "{ missions(first: 2) { nodes { id title } } }")],
    )
    .await;
    assert!(listed["data"]["missions"]["nodes"].is_array(), "{listed}");

    let r = app
        .http
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            "mutation { register(input: { email: \"get@example.com\", password: \"correct horse battery\", handle: \"getter\" }) { accessToken } }",
        )])
        .send()
        .await
        .expect("GET mutation");
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "METHOD_NOT_ALLOWED"
    );
    assert!(body["data"].is_null(), "nothing ran: {body}");
    let registered = app
        .db
        .users
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM users WHERE handle = 'getter'",
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n");
    assert_eq!(registered, 0, "the mutation did not run");

    // Without a query, GET /graphql is still the GraphiQL page.
    let page = app
        .http
        .get(app.url("/graphql"))
        .send()
        .await
        .expect("page");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn a_persisted_query_is_sent_by_its_hash_once_the_server_knows_it() {
    let app = TestApp::spawn().await;
    let hash = sha256(QUERY);
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .http
                .post(app.url("/graphql"))
                .json(&body)
                .send()
                .await
                .expect("POST");
            r.json::<Value>().await.expect("json")
        }
    };

    // Unknown hash: the client is told to send the text.
    let miss = post(json!({ "extensions": persisted })).await;
    assert_eq!(
        miss["errors"][0]["message"], "PersistedQueryNotFound",
        "{miss}"
    );
    // A hash that does not match the text is refused.
    let wrong = post(json!({ "query": QUERY, "extensions": {
        "persistedQuery": { "version": 1, "sha256Hash": sha256("{ me { id } }") } } }))
    .await;
    assert!(wrong["data"].is_null(), "{wrong}");
    // Text and hash: answered and remembered.
    let first = post(json!({ "query": QUERY, "extensions": persisted })).await;
    assert_eq!(first["data"]["__typename"], "Query", "{first}");
    // The hash alone, over POST and over GET.
    let again = post(json!({ "extensions": persisted })).await;
    assert_eq!(again["data"], first["data"], "{again}");
    let (status, over_get) = get(&app, &[("extensions", &persisted.to_string())]).await;
    assert_eq!(status, 200, "{over_get}");
    assert_eq!(over_get["data"], first["data"]);
}
