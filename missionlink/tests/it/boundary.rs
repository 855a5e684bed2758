//! The HTTP boundary of `/graphql`: which requests are executed at all, and what a refused or
//! malformed one answers.

use crate::support::{PASSWORD, TestApp, TestDatabases, free_port};
use serde_json::{Value, json};

const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";

fn register_body(handle: &str) -> String {
    json!({
        "query": REGISTER,
        "variables": { "input": {
            "email": format!("{handle}@example.com"), "password": PASSWORD,
            "handle": handle, "role": "VIEWER",
        } },
    })
    .to_string()
}

/// POSTs `body` to `/graphql` with `content_type` (none when `None`), optionally signed in.
async fn post(
    app: &TestApp,
    content_type: Option<&str>,
    token: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut request = app.http.post(app.url("/graphql")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("POST /graphql")
}

/// The body of a refusal: its status, JSON body and `errors[0].extensions.code`.
async fn refusal(response: reqwest::Response) -> (u16, Value, String) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("HTTP {status}: the body is not JSON: {text}"));
    let code = body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("HTTP {status}: no code in {body}"))
        .to_owned();
    (status, body, code)
}

/// A GraphQL multipart request (the form a browser posts cross-site) carrying `operations`.
fn multipart(operations: &str) -> (String, String) {
    let boundary = "----missionlink-test";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{}}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn requests_a_browser_sends_cross_site_run_nothing() {
    let app = TestApp::spawn().await;
    let fan = app.register("crosssite").await;
    let before = app.snapshot().await;

    let (form, form_body) = multipart(&register_body("viaform"));
    let cases: Vec<(Option<&str>, String)> = vec![
        (Some("text/plain"), register_body("viatext")),
        (Some("text/plain;charset=UTF-8"), register_body("viatext2")),
        (
            Some("application/x-www-form-urlencoded"),
            register_body("viaurlencoded"),
        ),
        (Some(form.as_str()), form_body),
        (None, register_body("viabare")),
    ];
    for (content_type, body) in cases {
        let (status, body, code) = refusal(post(&app, content_type, None, body).await).await;
        assert_eq!(status, 415, "{content_type:?}: {body}");
        assert_eq!(code, "UNSUPPORTED_MEDIA_TYPE", "{content_type:?}: {body}");
    }
    // A signed-in visitor's money is just as safe.
    let top_up = json!({
        "query": "mutation { topUp(amount: 5000, idempotencyKey: \"csrf\") { cash } }",
    })
    .to_string();
    let (status, body, _) =
        refusal(post(&app, Some("text/plain"), Some(&fan.access), top_up.clone()).await).await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed something"
    );

    // The same request as JSON, with a charset, runs.
    let r = post(
        &app,
        Some("application/json; charset=utf-8"),
        Some(&fan.access),
        top_up,
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["data"]["topUp"]["cash"], 5_000, "{body}");
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let app = TestApp::spawn().await;
    let query = json!({ "query": "{ __typename }" }).to_string();
    let media_type = |r: &reqwest::Response| {
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    for (accept, expected) in [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            "application/graphql-response+json",
        ),
        (Some("*/*"), "application/json"),
    ] {
        let mut request = app
            .http
            .post(app.url("/graphql"))
            .header("Content-Type", "application/json")
            .body(query.clone());
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let r = request.send().await.expect("POST");
        assert_eq!(r.status(), 200);
        assert_eq!(media_type(&r), expected, "Accept: {accept:?}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["data"]["__typename"], "Query");
    }
}

/// Words that would tell a client what the server is built from.
const INTERNALS: &[&str] = &[
    "Error(",
    "::",
    "InvalidRequest",
    "BatchRequest",
    "untagged enum",
    "serde",
    "tonic",
    "transport",
    "127.0.0.1",
];

fn assert_names_no_internals(what: &str, text: &str) {
    for word in INTERNALS {
        assert!(
            !text.contains(word),
            "{what}: the answer names {word:?}: {text}"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_get_a_clear_coded_error_naming_no_internals() {
    let app = TestApp::spawn().await;
    for body in [
        "not json at all",
        "{\"nope\": 1}",
        "{\"query\": 42}",
        "[{\"query\": \"{ __typename }\"}]",
        "",
    ] {
        let r = post(&app, Some("application/json"), None, body.to_owned()).await;
        let (status, answer, code) = refusal(r).await;
        assert_eq!(status, 400, "{body:?}: {answer}");
        assert_eq!(code, "BAD_USER_INPUT", "{body:?}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("query"), "{body:?}: unclear: {message}");
        assert_names_no_internals(body, &answer.to_string());
    }

    // A query that does not parse is the client's mistake, told in GraphQL terms.
    let r = app.gql(None, "{ me { id ", json!({})).await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    assert_names_no_internals("unparsable query", &r.0.to_string());
}

#[tokio::test]
async fn readiness_names_what_is_down_and_nothing_else() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("TEMPORAL_ADDRESS", &closed)],
    )
    .await;
    let ready = async || {
        let r = app
            .http
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("readyz");
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    };
    let (status, text) = ready().await;
    assert_eq!(status, 503, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        body,
        json!({ "status": "unavailable", "problems": ["temporal"] })
    );

    // The missions database disappears as well.
    let admin = sea_orm::Database::connect(format!(
        "{}/postgres",
        std::env::var("TEST_POSTGRES_URL").expect("TEST_POSTGRES_URL")
    ))
    .await
    .expect("admin connection");
    let name = app.dbs.missions_url.rsplit('/').next().expect("name");
    sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        &format!("DROP DATABASE \"{name}\" WITH (FORCE)"),
    )
    .await
    .expect("drop the missions database");
    let (status, text) = ready().await;
    assert_eq!(status, 503, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        body,
        json!({ "status": "unavailable", "problems": ["missions database", "temporal"] })
    );
    assert_names_no_internals("readyz", &text);
    assert!(!text.contains(name), "names the database: {text}");
}
