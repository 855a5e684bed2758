//! The wallet statement (issue 14): `wallet { transactions }` lists every movement of the
//! caller's cash, points and earnings from the ledger's journal, newest first, each with the
//! balance after it; pages both ways, filters by kind, stays chained under racing movements
//! on both backends; and the audit checks that every statement sums to its balance.

use crate::support::{Session, TestApp, TestDatabases};
use missionlink_ledger::audit;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const STATEMENT: &str = "query($kind: [TransactionKind!], $first: Int, $after: String,
      $last: Int, $before: String) {
    wallet { cash points earnings
      transactions(kind: $kind, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id kind balance amount balanceAfter createdAt mission { id } } }
      } } }";

/// One page of `who`'s statement.
async fn page(app: &TestApp, who: &Session, vars: Value) -> Value {
    app.gql(Some(&who.access), STATEMENT, vars)
        .await
        .data("wallet")
}

fn nodes(page: &Value) -> Vec<Value> {
    page["transactions"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Every entry of `who`'s statement, newest first, read a page of `size` at a time forward.
async fn whole(app: &TestApp, who: &Session, size: i64) -> (Value, Vec<Value>) {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let p = page(app, who, json!({ "first": size, "after": after })).await;
        all.extend(nodes(&p));
        let info = &p["transactions"]["pageInfo"];
        if info["hasNextPage"] != true {
            return (p, all);
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
}

/// Each balance's entries chain: the newest one's balance-after is the wallet's, and each
/// entry's balance-after less its amount is the next older one's (zero before the first).
fn assert_chained(wallet: &Value, entries: &[Value]) {
    for (balance, field) in [
        ("CASH", "cash"),
        ("POINTS", "points"),
        ("EARNINGS", "earnings"),
    ] {
        let mut expected = wallet[field].as_i64().expect("balance");
        for e in entries.iter().filter(|e| e["balance"] == balance) {
            assert_eq!(
                e["balanceAfter"].as_i64(),
                Some(expected),
                "{balance} entry {e} does not follow from the one after it"
            );
            expected -= e["amount"].as_i64().expect("amount");
        }
        assert_eq!(expected, 0, "{balance} entries do not sum to the balance");
    }
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_shows_every_movement_newest_first_with_the_balance_after_it() {
    let app = TestApp::with_temporal(&[]).await;
    let _worker = app.start_file_worker().await;
    let streamer = app.register_as("stmt_streamer", "STREAMER").await;
    let viewer = app.register("stmt_viewer").await;
    let other = app.register("stmt_other").await;
    app.top_up(&viewer, 50_000, "t1").await.data("topUp");
    app.top_up(&viewer, 7_000, "t2").await.data("topUp");
    app.top_up(&other, 20_000, "t1").await.data("topUp");
    // A rejected mission refunds the viewer; a successful one pays the streamer.
    let rejected = app.new_mission(&viewer, &streamer.user_id, 12_000).await;
    let paid = app.new_mission(&viewer, &streamer.user_id, 5_000).await;
    app.contribute(&other, &paid, 15_000, "c1")
        .await
        .data("contribute");
    app.act(&streamer, "reject", &rejected)
        .await
        .data("rejectMission");
    app.wait_for_mission(&rejected, 60, |m| !m["settledAt"].is_null())
        .await;
    app.act(&streamer, "accept", &paid)
        .await
        .data("acceptMission");
    app.gql(
        Some(&viewer.access),
        "mutation($m: ID!) { placeBet(missionId: $m, outcome: SUCCESS, points: 300, idempotencyKey: \"b1\") { id } }",
        json!({ "m": paid }),
    )
    .await
    .data("placeBet");
    app.act(&streamer, "SUCCESS", &paid)
        .await
        .data("decideMission");
    app.wait_for_mission(&paid, 60, |m| !m["settledAt"].is_null())
        .await;
    // The bettor won the whole pool back once the prediction settles.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while kinds(&whole(&app, &viewer, 40).await.1)[0] != "BET_PAYOUT" {
        assert!(tokio::time::Instant::now() < deadline, "no bet payout");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let (wallet, entries) = whole(&app, &viewer, 40).await;
    assert_eq!(
        kinds(&entries),
        [
            "BET_PAYOUT",
            "BET",
            "REFUND",
            "PLEDGE",
            "PLEDGE",
            "TOP_UP",
            "TOP_UP",
            "SIGNUP_POINTS"
        ]
    );
    let amounts: Vec<i64> = entries
        .iter()
        .map(|e| e["amount"].as_i64().expect("amount"))
        .collect();
    let signup = entries[7]["amount"].as_i64().expect("signup points");
    assert_eq!(
        amounts,
        [300, -300, 12_000, -5_000, -12_000, 7_000, 50_000, signup]
    );
    assert_eq!(entries[2]["mission"]["id"], rejected.as_str());
    assert_eq!(entries[3]["mission"]["id"], paid.as_str());
    assert!(
        entries[5]["mission"].is_null(),
        "a top-up concerns no mission"
    );
    assert_eq!(entries[1]["balance"], "POINTS");
    assert_eq!(wallet["cash"], 52_000);
    assert_chained(&wallet, &entries);
    assert_eq!(wallet["transactions"]["totalCount"], 8);

    // The streamer received both pledges less the fee; the statement says so.
    let (streamer_wallet, received) = whole(&app, &streamer, 40).await;
    let payout: Vec<&Value> = received
        .iter()
        .filter(|e| e["kind"] == "PAYOUT_RECEIVED")
        .collect();
    assert_eq!(payout.len(), 2, "one payout per pledge: {received:?}");
    assert!(payout.iter().all(|e| e["balance"] == "EARNINGS"));
    assert_eq!(
        payout
            .iter()
            .map(|e| e["amount"].as_i64().expect("amount"))
            .sum::<i64>(),
        streamer_wallet["earnings"].as_i64().expect("earnings")
    );
    assert_chained(&streamer_wallet, &received);

    // Each pledge says when it was settled.
    let pledges = app
        .gql(
            Some(&viewer.access),
            "{ me { pledges { nodes { status settledAt mission { id } } } } }",
            json!({}),
        )
        .await
        .data("me");
    for p in pledges["pledges"]["nodes"].as_array().expect("pledges") {
        assert!(
            !p["settledAt"].is_null(),
            "settled pledge without settledAt: {p}"
        );
    }
    // Another user's movements never appear.
    assert!(
        entries.iter().all(|e| e["amount"] != 15_000),
        "another backer's pledge is in the viewer's statement"
    );
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn the_statement_pages_both_ways_and_filters_by_kind() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("page_streamer", "STREAMER").await;
    let viewer = app.register("page_viewer").await;
    for i in 0..12 {
        app.top_up(&viewer, 10_000 + i, &format!("t{i}"))
            .await
            .data("topUp");
    }
    for _ in 0..5 {
        app.new_mission(&viewer, &streamer.user_id, 1_000).await;
    }
    let (wallet, all) = whole(&app, &viewer, 40).await;
    assert_eq!(all.len(), 18, "12 top-ups, 5 pledges, the signup points");
    assert_chained(&wallet, &all);

    // Forward by 5 and backward by 4 give the same list.
    let (_, forward) = whole(&app, &viewer, 5).await;
    assert_eq!(forward, all);
    let mut backward = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let p = page(&app, &viewer, json!({ "last": 4, "before": before })).await;
        let mut n = nodes(&p);
        n.extend(backward);
        backward = n;
        let info = &p["transactions"]["pageInfo"];
        if info["hasPreviousPage"] != true {
            assert_eq!(info["hasNextPage"], before.is_some());
            break;
        }
        before = info["startCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(backward, all);

    // A middle page knows both its neighbours.
    let first = page(&app, &viewer, json!({ "first": 5 })).await;
    let cursor = first["transactions"]["pageInfo"]["endCursor"].clone();
    let middle = page(&app, &viewer, json!({ "first": 5, "after": cursor })).await;
    let info = &middle["transactions"]["pageInfo"];
    assert_eq!(
        (info["hasPreviousPage"].clone(), info["hasNextPage"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(nodes(&middle), all[5..10]);

    // Only top-ups, and a single kind given without brackets.
    let top_ups = page(&app, &viewer, json!({ "kind": ["TOP_UP"], "first": 40 })).await;
    assert_eq!(nodes(&top_ups).len(), 12);
    assert_eq!(top_ups["transactions"]["totalCount"], 12);
    let expected: Vec<Value> = all
        .iter()
        .filter(|e| e["kind"] == "TOP_UP")
        .cloned()
        .collect();
    assert_eq!(
        nodes(&top_ups),
        expected,
        "filtered entries keep their balances after"
    );
    let two = page(
        &app,
        &viewer,
        json!({ "kind": ["PLEDGE", "SIGNUP_POINTS"], "first": 3 }),
    )
    .await;
    assert_eq!(kinds(&nodes(&two)), ["PLEDGE", "PLEDGE", "PLEDGE"]);
    assert_eq!(two["transactions"]["totalCount"], 6);
    let inline = app
        .gql(
            Some(&viewer.access),
            "{ wallet { transactions(kind: PLEDGE, first: 2) { totalCount } } }",
            json!({}),
        )
        .await
        .data("wallet");
    assert_eq!(inline["transactions"]["totalCount"], 5);

    // An empty list of kinds is refused rather than read as "every kind".
    let r = app
        .gql(
            Some(&viewer.access),
            STATEMENT,
            json!({ "kind": [], "first": 2 }),
        )
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT");

    // Refusals: another list's cursor, a made-up one, a page too large.
    let missions = app
        .gql(
            Some(&viewer.access),
            "{ missions(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await
        .data("missions");
    for after in [
        missions["pageInfo"]["endCursor"].clone(),
        json!("bm90LWEtY3Vyc29y"),
    ] {
        let r = app
            .gql(
                Some(&viewer.access),
                STATEMENT,
                json!({ "first": 2, "after": after }),
            )
            .await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{after}");
    }
    let r = app
        .gql(Some(&viewer.access), STATEMENT, json!({ "first": 101 }))
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
    app.assert_audit_clean().await;
}

/// Racing top-ups and pledges on one wallet: each movement's `seq` is taken after its wallet
/// was locked, so the statement's balances chain however the requests interleaved.
async fn racing_movements_stay_chained(app: &TestApp) {
    let streamer = app.register_as("race_streamer", "STREAMER").await;
    let viewer = app.register("race_viewer").await;
    app.top_up(&viewer, 100_000, "seed").await.data("topUp");
    let missions: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(app.new_mission(&viewer, &streamer.user_id, 1_000).await);
        }
        v
    };
    let mut tasks = Vec::new();
    for i in 0..40_i64 {
        let app_http = app.http.clone();
        let url = app.url("/graphql");
        let token = viewer.access.clone();
        let (query, vars) = if i % 2 == 0 {
            (
                "mutation($a: Int!, $k: String!) { topUp(amount: $a, idempotencyKey: $k) { cash } }",
                json!({ "a": 1_000 + i, "k": format!("race{i}") }),
            )
        } else {
            (
                "mutation($m: ID!, $a: Int!, $k: String!) { contribute(missionId: $m, amount: $a, idempotencyKey: $k) { id } }",
                json!({ "m": missions[usize::try_from(i).expect("small") % 4], "a": 1_000 + i, "k": format!("race{i}") }),
            )
        };
        tasks.push(tokio::spawn(async move {
            app_http
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": query, "variables": vars }))
                .send()
                .await
                .expect("send")
                .json::<Value>()
                .await
                .expect("json")
        }));
    }
    for t in tasks {
        let body = t.await.expect("task");
        assert!(body.get("errors").is_none(), "{body}");
    }
    let (wallet, entries) = whole(app, &viewer, 50).await;
    assert_eq!(entries.len(), 1 + 1 + 4 + 40);
    assert_eq!(
        wallet["cash"],
        100_000
            - 4_000
            - (0..40)
                .filter(|i| i % 2 == 1)
                .map(|i| 1_000 + i)
                .sum::<i64>()
            + (0..40)
                .filter(|i| i % 2 == 0)
                .map(|i| 1_000 + i)
                .sum::<i64>()
    );
    assert_chained(&wallet, &entries);
    app.assert_audit_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_movements_keep_the_statement_chained_on_postgres() {
    racing_movements_stay_chained(&TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_movements_keep_the_statement_chained_on_sqlite() {
    racing_movements_stay_chained(&TestApp::spawn_with(TestDatabases::sqlite(), &[]).await).await;
}

#[tokio::test]
async fn the_audit_finds_a_wrong_balance_after_and_a_movement_the_statement_cannot_show() {
    let app = TestApp::spawn().await;
    let viewer = app.register("audited").await;
    app.top_up(&viewer, 5_000, "k").await.data("topUp");
    app.assert_audit_clean().await;
    let wallet = format!("wallet:CASH:{}", viewer.user_id);
    let run = |sql: String| {
        let db = app.db.missions.clone();
        async move {
            db.execute_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql))
                .await
                .expect("plant");
        }
    };
    // A credit recording the wrong balance after it (the stored balance itself is right).
    run(format!(
        "UPDATE accounts SET balance = balance + 100 WHERE id = '{wallet}'"
    ))
    .await;
    run(format!(
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at, credit_balance_after) \
         VALUES ('planted-1', 'world:CASH', '{wallet}', 'CASH', 100, 'TOPUP', now(), 999)"
    ))
    .await;
    let violations = audit::run(&app.db.missions).await.expect("audit");
    assert!(
        violations
            .iter()
            .any(|v| v.check == "balance_after" && v.detail.contains("planted-1")),
        "{violations:?}"
    );
    assert!(
        violations.iter().all(|v| v.check == "balance_after"),
        "{violations:?}"
    );

    // A movement of a kind the statement does not show for a wallet: balances agree, the
    // statement does not add up.
    let app = TestApp::spawn().await;
    let viewer = app.register("audited2").await;
    let wallet = format!("wallet:CASH:{}", viewer.user_id);
    let db = app.db.missions.clone();
    for sql in [
        format!("UPDATE accounts SET balance = balance + 100 WHERE id = '{wallet}'"),
        format!(
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at, credit_balance_after) \
             VALUES ('planted-2', 'world:CASH', '{wallet}', 'CASH', 100, 'FEE', now(), 100)"
        ),
    ] {
        db.execute_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql))
            .await
            .expect("plant");
    }
    let violations = audit::run(&app.db.missions).await.expect("audit");
    assert_eq!(violations.len(), 1, "{violations:?}");
    // A writer that records no balance after (a binary from before the statement, during a
    // rolling deploy) is refused by the database itself.
    let refused = db
        .execute_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at) \
                 VALUES ('old-binary', 'world:CASH', '{wallet}', 'CASH', 100, 'TOPUP', now())"
            ),
        ))
        .await;
    assert!(
        refused.is_err_and(|e| e.to_string().contains("records no balance after it")),
        "a transfer without its balance after was accepted"
    );
    assert_eq!(violations[0].check, "statement");
    assert!(violations[0].detail.contains(&wallet), "{violations:?}");
}
