//! Relay connections, `node(id:)`, `user(handle:)` and a user's own lists, through HTTP, on
//! Postgres and on SQLite (whose timestamps compare as text).

use crate::support::{Gql, Session, TestApp, TestDatabases};
use serde_json::{Value, json};

/// Five missions to one streamer, made so that each order gives a different sequence.
struct Cast {
    streamer: Session,
    other_streamer: Session,
    alice: Session,
    bob: Session,
    /// In creation order.
    missions: Vec<String>,
}

async fn cast(app: &TestApp) -> Cast {
    let streamer = app.register_as("Stella", "STREAMER").await;
    let other_streamer = app.register_as("otto", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.top_up(&alice, 100_000, "alice-cash")
        .await
        .data("topUp");
    app.top_up(&bob, 100_000, "bob-cash").await.data("topUp");
    // (first pledge, accept window in seconds)
    let plan = [
        (1_000, 7_200),
        (5_000, 600),
        (3_000, 1_800),
        (2_000, 5_400),
        (4_000, 3_000),
    ];
    let mut missions = Vec::new();
    for (amount, window) in plan {
        let created = app
            .create_mission(
                &alice,
                &streamer.user_id,
                amount,
                json!({ "acceptWithinSeconds": window }),
            )
            .await
            .data("createMission");
        missions.push(created["id"].as_str().expect("id").to_owned());
    }
    // m0 becomes the biggest; m2 is accepted (deadline in 3,600 s), m4 rejected.
    app.contribute(&bob, &missions[0], 10_000, "bob-m0")
        .await
        .data("contribute");
    app.act(&streamer, "accept", &missions[2])
        .await
        .data("acceptMission");
    app.act(&streamer, "reject", &missions[4])
        .await
        .data("rejectMission");
    app.new_mission(&bob, &other_streamer.user_id, 1_000).await;
    Cast {
        streamer,
        other_streamer,
        alice,
        bob,
        missions,
    }
}

const PAGE: &str = "query($s: ID, $first: Int, $after: String, $last: Int, $before: String,
    $order: MissionOrder, $statuses: [MissionStatus!]) {
  missions(streamerId: $s, first: $first, after: $after, last: $last, before: $before,
           orderBy: $order, statuses: $statuses) {
    totalCount endCursor hasNextPage
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
    nodes { id } } }";

async fn missions_page(app: &TestApp, vars: Value) -> Value {
    let page = app.gql(None, PAGE, vars).await.data("missions");
    // `nodes` is `edges { node }`; the legacy fields match `pageInfo`.
    let edge_ids: Vec<&Value> = page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"]["id"])
        .collect();
    let node_ids: Vec<&Value> = page["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(edge_ids, node_ids);
    assert_eq!(page["endCursor"], page["pageInfo"]["endCursor"]);
    assert_eq!(page["hasNextPage"], page["pageInfo"]["hasNextPage"]);
    if let Some(last) = page["edges"].as_array().and_then(|e| e.last()) {
        assert_eq!(last["cursor"], page["pageInfo"]["endCursor"]);
    }
    page
}

fn ids(page: &Value) -> Vec<String> {
    page["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

fn flags(page: &Value) -> (bool, bool) {
    (
        page["pageInfo"]["hasPreviousPage"]
            .as_bool()
            .expect("hasPreviousPage"),
        page["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage"),
    )
}

/// Every mission of the order, read forward two at a time.
async fn walk(app: &TestApp, streamer: &str, order: Value) -> Vec<String> {
    let mut all = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = missions_page(
            app,
            json!({ "s": streamer, "first": 2, "after": after, "order": order }),
        )
        .await;
        all.extend(ids(&page));
        if !flags(&page).1 {
            return all;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

async fn pages_and_orders(app: &TestApp) {
    let c = cast(app).await;
    let m = |i: usize| c.missions[i].clone();
    let s = c.streamer.user_id.as_str();

    // Forward, newest first (the default order).
    let p1 = missions_page(app, json!({ "s": s, "first": 2 })).await;
    assert_eq!(ids(&p1), [m(4), m(3)]);
    assert_eq!(flags(&p1), (false, true));
    assert_eq!(p1["totalCount"], 5);
    let p2 = missions_page(
        app,
        json!({ "s": s, "first": 2, "after": p1["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&p2), [m(2), m(1)]);
    assert_eq!(flags(&p2), (true, true));
    assert_eq!(
        p2["totalCount"], 5,
        "totalCount ignores the paging arguments"
    );
    let p3 = missions_page(
        app,
        json!({ "s": s, "first": 2, "after": p2["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids(&p3), [m(0)]);
    assert_eq!(flags(&p3), (true, false));

    // Backward from the end, and back again from a page's start.
    let b1 = missions_page(app, json!({ "s": s, "last": 2 })).await;
    assert_eq!(ids(&b1), [m(1), m(0)], "last keeps the list's order");
    assert_eq!(flags(&b1), (true, false));
    let b2 = missions_page(
        app,
        json!({ "s": s, "last": 2, "before": b1["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(ids(&b2), [m(3), m(2)]);
    assert_eq!(flags(&b2), (true, true));
    let b3 = missions_page(
        app,
        json!({ "s": s, "last": 2, "before": b2["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(ids(&b3), [m(4)]);
    assert_eq!(flags(&b3), (false, true));

    // Orders: by total (m0 has 11,000 with bob's pledge), by the next time limit, oldest first.
    let by_total = json!({ "field": "TOTAL_PLEDGED", "direction": "DESC" });
    assert_eq!(
        walk(app, s, by_total.clone()).await,
        [m(0), m(1), m(4), m(2), m(3)]
    );
    let by_deadline = json!({ "field": "DEADLINE", "direction": "ASC" });
    assert_eq!(
        walk(app, s, by_deadline.clone()).await,
        [m(1), m(4), m(2), m(3), m(0)]
    );
    let oldest = json!({ "field": "CREATED_AT", "direction": "ASC" });
    assert_eq!(walk(app, s, oldest).await, [m(0), m(1), m(2), m(3), m(4)]);
    let back = missions_page(app, json!({ "s": s, "last": 3, "order": by_total })).await;
    assert_eq!(ids(&back), [m(4), m(2), m(3)]);

    // Filters: any of several statuses.
    let some = missions_page(app, json!({ "s": s, "statuses": ["ACTIVE", "REJECTED"] })).await;
    assert_eq!(ids(&some), [m(4), m(2)]);
    assert_eq!(some["totalCount"], 2);
    let everyone = missions_page(app, json!({})).await;
    assert_eq!(everyone["totalCount"], 6);

    // Bad paging input is refused with a code.
    let pledge_cursor = app
        .gql(
            None,
            "query($m: ID!) { mission(id: $m) { pledges { pageInfo { endCursor } } } }",
            json!({ "m": m(0) }),
        )
        .await
        .data("mission")["pledges"]["pageInfo"]["endCursor"]
        .clone();
    let refused = |vars: Value| async move { app.gql(None, PAGE, vars).await };
    for (vars, why) in [
        (json!({ "first": 2, "last": 2 }), "first and last"),
        (json!({ "first": 0 }), "first 0"),
        (json!({ "last": 101 }), "last above 100"),
        (json!({ "after": "not-a-cursor" }), "a made-up cursor"),
        (
            json!({ "first": 2, "after": p1["pageInfo"]["endCursor"], "order": by_deadline }),
            "a cursor of another order",
        ),
        (
            json!({ "first": 2, "after": pledge_cursor }),
            "a cursor of another list",
        ),
    ] {
        assert_eq!(refused(vars).await.code(), "BAD_USER_INPUT", "{why}");
    }
    let both = app
        .gql(
            None,
            "{ missions(status: PENDING, statuses: [ACTIVE]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(both.code(), "BAD_USER_INPUT");
    // The mission's own pledges page both ways too.
    let pledges = app
        .gql(
            None,
            "query($m: ID!) { mission(id: $m) { pledges(last: 1) { totalCount nodes { amount backer { handle } }
               pageInfo { hasPreviousPage hasNextPage } } } }",
            json!({ "m": m(0) }),
        )
        .await
        .data("mission");
    assert_eq!(pledges["pledges"]["totalCount"], 2);
    assert_eq!(pledges["pledges"]["nodes"][0]["backer"]["handle"], "bob");
    assert_eq!(pledges["pledges"]["pageInfo"]["hasPreviousPage"], true);
    let _ = (&c.other_streamer, &c.alice, &c.bob);
}

#[tokio::test]
async fn missions_page_forward_and_backward_in_every_order_on_postgres() {
    pages_and_orders(&TestApp::spawn().await).await;
}

#[tokio::test]
async fn missions_page_forward_and_backward_in_every_order_on_sqlite() {
    pages_and_orders(&TestApp::spawn_with(TestDatabases::sqlite(), &[]).await).await;
}

fn typename(g: &Gql) -> Value {
    g.data("node")["__typename"].clone()
}

#[tokio::test]
async fn lookups_by_handle_and_by_node_id() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let user = |handle: &'static str| {
        let app = &app;
        async move {
            app.gql(
                None,
                "query($h: String!) { user(handle: $h) { id handle role } }",
                json!({ "h": handle }),
            )
            .await
        }
    };
    // How a frontend finds a streamer's id: by handle, in any letter case.
    let found = user("STELLA").await.data("user");
    assert_eq!(found["id"], c.streamer.user_id.as_str());
    assert_eq!(found["handle"], "Stella");
    assert_eq!(found["role"], "STREAMER");
    assert_eq!(user("nobody_here").await.data("user"), Value::Null);
    assert_eq!(user("no spaces!").await.code(), "BAD_USER_INPUT");

    // `node(id:)` takes the ids every other field returns.
    const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id
        ... on Mission { title status } ... on Pledge { amount mission { id } }
        ... on User { handle } ... on Bet { points mission { id } } } }";
    let node = |token: Option<String>, id: String| {
        let app = &app;
        async move { app.gql(token.as_deref(), NODE, json!({ "id": id })).await }
    };
    let mission = node(None, c.missions[2].clone()).await;
    assert_eq!(typename(&mission), "Mission");
    assert_eq!(mission.data("node")["status"], "ACTIVE");
    assert_eq!(mission.data("node")["id"], c.missions[2].as_str());
    let pledge_id = app.mission(&c.missions[0]).await["pledges"]["nodes"][1]["id"].clone();
    let pledge = node(None, pledge_id.as_str().expect("pledge id").to_owned()).await;
    assert_eq!(typename(&pledge), "Pledge");
    assert_eq!(pledge.data("node")["amount"], 10_000);
    assert_eq!(pledge.data("node")["mission"]["id"], c.missions[0].as_str());
    let user_node = node(None, c.bob.user_id.clone()).await;
    assert_eq!(typename(&user_node), "User");
    assert_eq!(user_node.data("node")["handle"], "bob");
    let unknown = node(None, uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(unknown.data("node"), Value::Null);

    // A bet is private: only its bettor finds it.
    let bet = app
        .gql(
            Some(&c.alice.access),
            "mutation($m: ID!) { placeBet(missionId: $m, outcome: SUCCESS, points: 50, idempotencyKey: \"bet-1\") { id } }",
            json!({ "m": c.missions[2] }),
        )
        .await
        .data("placeBet")["id"]
        .as_str()
        .expect("bet id")
        .to_owned();
    let mine = node(Some(c.alice.access.clone()), bet.clone()).await;
    assert_eq!(typename(&mine), "Bet");
    assert_eq!(mine.data("node")["mission"]["id"], c.missions[2].as_str());
    assert_eq!(
        node(Some(c.bob.access.clone()), bet.clone())
            .await
            .data("node"),
        Value::Null
    );
    assert_eq!(node(None, bet).await.data("node"), Value::Null);
}

#[tokio::test]
async fn me_lists_my_pledges_missions_and_bets_and_nobody_else_reads_them() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    app.gql(
        Some(&c.bob.access),
        "mutation($m: ID!) { placeBet(missionId: $m, outcome: FAILURE, points: 70, idempotencyKey: \"bob-bet\") { id } }",
        json!({ "m": c.missions[2] }),
    )
    .await
    .data("placeBet");
    const ME: &str = "query($status: PledgeStatus, $as: MissionRole) { me {
        pledges(status: $status, first: 10) { totalCount nodes { amount status mission { id } } }
        missions(as: $as) { totalCount nodes { id status } }
        bets { totalCount nodes { points outcome mission { id } } } } }";
    let me = |who: &Session, vars: Value| {
        let app = &app;
        let token = who.access.clone();
        async move { app.gql(Some(&token), ME, vars).await.data("me") }
    };

    // Bob: one pledge to m0, then his own mission's first pledge.
    let bob = me(&c.bob, json!({})).await;
    assert_eq!(bob["pledges"]["totalCount"], 2);
    assert_eq!(
        bob["pledges"]["nodes"][1]["mission"]["id"],
        c.missions[0].as_str(),
        "newest first"
    );
    assert_eq!(
        bob["missions"]["totalCount"], 1,
        "a viewer's missions are the ones they proposed"
    );
    assert_eq!(bob["bets"]["nodes"][0]["points"], 70);
    assert_eq!(
        bob["bets"]["nodes"][0]["mission"]["id"],
        c.missions[2].as_str()
    );

    // Alice: five first pledges, all held (no worker settles anything here).
    let alice = me(&c.alice, json!({ "status": "HELD" })).await;
    assert_eq!(alice["pledges"]["totalCount"], 5);
    assert_eq!(
        alice["pledges"]["nodes"][0]["mission"]["id"],
        c.missions[4].as_str()
    );
    let paid = me(&c.alice, json!({ "status": "PAID" })).await;
    assert_eq!(paid["pledges"]["totalCount"], 0);
    assert_eq!(alice["missions"]["totalCount"], 5);
    assert_eq!(alice["bets"]["totalCount"], 0);

    // The streamer's missions are those proposed to them, unless asked otherwise.
    let stella = me(&c.streamer, json!({})).await;
    assert_eq!(stella["missions"]["totalCount"], 5);
    let as_creator = me(&c.streamer, json!({ "as": "CREATOR" })).await;
    assert_eq!(as_creator["missions"]["totalCount"], 0);
    let otto = me(&c.other_streamer, json!({})).await;
    assert_eq!(otto["missions"]["totalCount"], 1);

    // Another user's lists are not readable, through any path to their `User`.
    let nosy = app
        .gql(
            Some(&c.bob.access),
            "query($m: ID!) { mission(id: $m) { creator { pledges { totalCount } } } }",
            json!({ "m": c.missions[0] }),
        )
        .await;
    assert_eq!(nosy.code(), "FORBIDDEN");
    let anonymous = app
        .gql(
            None,
            "{ user(handle: \"alice\") { bets { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn many_cheap_lists_in_one_operation_are_refused_as_too_complex() {
    let app = TestApp::spawn().await;
    let many = |n: usize, order: &str| {
        let fields: Vec<String> = (0..n)
            .map(|i| format!("a{i}: missions(first: 1{order}) {{ totalCount }}"))
            .collect();
        format!("{{ {} }}", fields.join(" "))
    };
    // Every list costs its reads, however small its page.
    let ok = app.gql(None, &many(10, ""), json!({})).await;
    assert_eq!(ok.data("a9")["totalCount"], 0);
    // 300 lists of about 21 each: past GRAPHQL_MAX_COMPLEXITY (5,000).
    assert_eq!(
        app.gql(None, &many(300, ""), json!({})).await.code(),
        "QUERY_TOO_COMPLEX"
    );
    // An order computed per row costs more: 90 such lists are past it.
    let by_total = ", orderBy: { field: TOTAL_PLEDGED, direction: DESC }";
    assert_eq!(
        app.gql(None, &many(90, by_total), json!({})).await.code(),
        "QUERY_TOO_COMPLEX"
    );
}

/// The answer's keys follow the selection's order, as the GraphQL spec requires (snapshot
/// tests and humans read them so), whatever order the fields are asked in.
#[tokio::test]
async fn reply_keys_follow_the_selection_order() {
    let app = TestApp::spawn().await;
    for (query, keys) in [
        (
            "{ missions(first: 2) { totalCount edges { cursor } pageInfo { hasNextPage } nodes { id } } }",
            ["totalCount", "edges", "pageInfo", "nodes"],
        ),
        (
            "{ missions(first: 2) { pageInfo { hasNextPage } nodes { id } totalCount edges { cursor } } }",
            ["pageInfo", "nodes", "totalCount", "edges"],
        ),
        (
            "{ platform { pledgeMax feeBps } missions(first: 1) { nodes { id } totalCount } __typename }",
            ["platform", "pledgeMax", "feeBps", "missions"],
        ),
    ] {
        let text = app
            .http
            .post(app.url("/graphql"))
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .expect("POST")
            .text()
            .await
            .expect("body");
        let at: Vec<usize> = keys
            .iter()
            .map(|k| {
                text.find(&format!("\"{k}\""))
                    .unwrap_or_else(|| panic!("{k} missing: {text}"))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{query}\n{text}");
    }
}
