//! Documents kept parsed and validated (`GRAPHQL_DOCUMENT_CACHE`): a document seen before is
//! not parsed or validated again, but what validation reads of each request's variables still
//! decides — a wrong type or a page too costly is refused exactly as on first sight, and
//! nothing runs. And every reply's `extensions.cost`, within `GRAPHQL_MAX_COMPLEXITY`.

use crate::support::{TestApp, TestDatabases};
use serde_json::json;

const CONTRIBUTE: &str = "mutation($m: ID!, $a: Int!, $k: String!) { contribute(missionId: $m, amount: $a, idempotencyKey: $k) { id amount } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_document_still_checks_each_requests_variables() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("host", "STREAMER").await;
    let fan = app.register("fan").await;
    app.top_up(&fan, 100_000, "t").await.data("topUp");
    let mission = app.new_mission(&fan, &streamer.user_id, 1_000).await;
    let pledge = |amount: serde_json::Value, key: serde_json::Value| {
        let (app, fan, mission) = (&app, &fan, &mission);
        async move {
            app.gql(
                Some(&fan.access),
                CONTRIBUTE,
                json!({ "m": mission, "a": amount, "k": key }),
            )
            .await
        }
    };
    // Seen, kept, and used again with other strings: each a pledge of its own.
    for key in ["k1", "k2", "k3"] {
        pledge(json!(2_000), json!(key)).await.data("contribute");
    }
    let cash = app.wallet(&fan).await["cash"].clone();
    assert_eq!(cash, 100_000 - 1_000 - 3 * 2_000);
    // The same text with a number where the key's String is declared, or a string where the
    // amount's Int is: refused before anything runs, as on first sight.
    for (amount, key) in [(json!(2_000), json!(42)), (json!("2000"), json!("k4"))] {
        let refused = pledge(amount, key).await;
        assert!(
            refused.0["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Invalid value")),
            "{}",
            refused.0
        );
        assert!(refused.0["data"].is_null(), "{}", refused.0);
    }
    assert_eq!(app.wallet(&fan).await["cash"], cash, "nothing moved");

    // An Int that sets the cost counts whole: the kept verdict of a small page does not admit
    // a page past GRAPHQL_MAX_COMPLEXITY with the same text.
    let costly = "query($n: Int, $p: Int) { missions(first: $n) { nodes { id pledges(first: $p) { nodes { id backer { id } } } } } }";
    let small = app.gql(None, costly, json!({ "n": 2, "p": 2 })).await;
    small.data("missions");
    let big = app.gql(None, costly, json!({ "n": 100, "p": 100 })).await;
    assert_eq!(big.code(), "QUERY_TOO_COMPLEX", "{}", big.0);
    assert!(
        big.message().starts_with("Query is too complex"),
        "{}",
        big.0
    );
    app.gql(None, costly, json!({ "n": 2, "p": 2 }))
        .await
        .data("missions");
}

/// Every reply says what it cost against the limit; the ordinary page the issue names (20
/// missions, each with its 10 newest pledges and their backers) fits the default; one past it
/// is refused naming both numbers, and a lower limit is honoured.
#[tokio::test]
async fn every_reply_reports_its_cost_and_a_refusal_names_both_numbers() {
    let page = "{ missions(first: 20) { nodes { id title pledges(first: 10) { nodes { id amount
        createdAt backer { id displayName } } } } } }";
    let app = TestApp::spawn().await;
    let answer = app.gql(None, page, json!({})).await;
    answer.data("missions");
    let cost = &answer.0["extensions"]["cost"];
    assert_eq!(cost["limit"], 5_000, "{}", answer.0);
    let requested = cost["requested"].as_u64().expect("requested");
    assert!((1_000..5_000).contains(&requested), "{}", answer.0);

    let strict = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("GRAPHQL_MAX_COMPLEXITY", "1000")],
    )
    .await;
    let refused = strict.gql(None, page, json!({})).await;
    assert_eq!(refused.code(), "QUERY_TOO_COMPLEX", "{}", refused.0);
    let message = refused.message();
    assert!(
        message.contains(&requested.to_string()) && message.contains("1000"),
        "{message}"
    );
    assert_eq!(
        refused.0["errors"][0]["extensions"]["cost"],
        json!({ "requested": requested, "limit": 1000 })
    );
    assert!(refused.0["data"].is_null(), "{}", refused.0);
    let shallow = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("GRAPHQL_MAX_DEPTH", "3")],
    )
    .await;
    let deep = shallow
        .gql(
            None,
            "{ missions(first: 1) { nodes { streamer { id } } } }",
            json!({}),
        )
        .await;
    let message = deep.message();
    assert!(
        message.contains("4 levels") && message.contains("GRAPHQL_MAX_DEPTH"),
        "{message}"
    );
}
