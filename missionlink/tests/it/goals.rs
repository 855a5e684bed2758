//! Streamer goals and the tiered verdict (issue 28, items 1 and 2), end to end through HTTP,
//! the Temporal dev server and a worker sending through moto's SES: a goal funded (ACTIVE when
//! a pledge reaches it, its tiers reached in order), a pledge withdrawn while FUNDING, a tiered
//! verdict's exact pro-rata refund with an awkward remainder; a goal not funded in time
//! (EXPIRED, every backer refunded and emailed); `MAX_OPEN_GOALS` and the input rules; the
//! migration on both backends. The races are `goal_races`. The money is checked to the won and
//! the audit run after each.

use crate::support::{Gql, Session, TestApp};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// `createGoalMission` by `who` with `goal`, `tiers` (amount, title) and funding ending
/// `funding_seconds` from now.
pub(crate) async fn create_goal(
    app: &TestApp,
    who: &Session,
    title: &str,
    goal: i64,
    tiers: &[(i64, &str)],
    funding_seconds: i64,
) -> Gql {
    let tiers: Vec<Value> = tiers
        .iter()
        .map(|(amount, title)| json!({ "amount": amount, "title": title }))
        .collect();
    app.gql(
        Some(&who.access),
        "mutation($i: CreateGoalMissionInput!, $k: String!) {
           createGoalMission(input: $i, idempotencyKey: $k) {
             id kind status goal fundingEndsAt acceptBy deadline creator { id }
             tiers { level amount title reachedAt } } }",
        json!({
            "i": {
                "title": title,
                "goal": goal,
                "tiers": tiers,
                "fundingEndsAt": (Utc::now() + Duration::seconds(funding_seconds)).to_rfc3339(),
                "durationSeconds": 3600,
            },
            "k": uuid::Uuid::new_v4().to_string(),
        }),
    )
    .await
}

/// The goal as its backers read it.
pub(crate) async fn goal(app: &TestApp, id: &str) -> Value {
    app.gql(
        None,
        "query($id: ID!) { mission(id: $id) { id title status kind goal deadline settledAt
           tierReached totalPledged totalHeld totalRefunded fee streamerNet backerCount
           tiers { level amount title reachedAt } } }",
        json!({ "id": id }),
    )
    .await
    .data("mission")
}

async fn decide(app: &TestApp, who: &Session, id: &str, tier: Option<i64>) -> Gql {
    decide_as(app, who, id, "SUCCESS", tier).await
}

async fn decide_as(
    app: &TestApp,
    who: &Session,
    id: &str,
    outcome: &str,
    tier: Option<i64>,
) -> Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "mutation($m: ID!, $t: Int) {{ decideMission(missionId: $m, outcome: {outcome},
               tierReached: $t) {{ id status tierReached }} }}"
        ),
        json!({ "m": id, "t": tier }),
    )
    .await
}

/// The streamer's feed kinds, oldest first.
pub(crate) async fn kinds(app: &TestApp, streamer: &Session) -> Vec<String> {
    let page = app
        .gql(
            Some(&streamer.access),
            "query($s: ID!) { missionEvents(streamerId: $s, first: 50) { nodes { kind } } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("missionEvents");
    page["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["kind"].as_str().expect("kind").to_owned())
        .collect()
}

/// The notices that goal `title` reached its goal sent to `to`.
async fn goal_notices(title: &str, to: &str) -> usize {
    crate::support::moto_messages()
        .await
        .iter()
        .filter(|m| m.subject.contains(title))
        .filter(|m| m.subject.contains("reached its goal") || m.subject.contains("목표 달성"))
        .filter(|m| m.to.contains(to))
        .count()
}

/// With `RECORD_WORKFLOW_HISTORY` set, writes the mission's workflow history as the replay
/// fixture `name` (`workflows/tests/replay.rs` replays it).
async fn record(app: &TestApp, id: &str, name: &str) {
    if std::env::var_os("RECORD_WORKFLOW_HISTORY").is_none() {
        return;
    }
    let client = crate::findable::temporal_client(app).await;
    let history = missionlink_workflows::mission::recorded_history(&client, id)
        .await
        .expect("history");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflows/tests/fixtures")
        .join(name);
    std::fs::write(&path, history).expect("write fixture");
}

pub(crate) fn reached(g: &Value) -> Vec<bool> {
    g["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .map(|t| !t["reachedAt"].is_null())
        .collect()
}

pub(crate) async fn pledge(
    app: &TestApp,
    who: &Session,
    id: &str,
    amount: i64,
    key: &str,
) -> String {
    app.contribute(who, id, amount, key)
        .await
        .data("contribute")["id"]
        .as_str()
        .expect("pledge id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goal_funds_reaches_its_tiers_in_order_and_a_tiered_verdict_refunds_the_rest_pro_rata() {
    let app = TestApp::with_temporal(&[("PLATFORM_FEE_BPS", "1000")]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    for v in [&alice, &bob, &carol] {
        app.top_up(v, 100_000, "t").await.data("topUp");
    }
    let title = format!("Goal {}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    // Only a streamer posts a goal.
    assert_eq!(
        create_goal(&app, &alice, &title, 10_000, &[], 3600)
            .await
            .code(),
        "FORBIDDEN"
    );
    let tiers = [
        (20_000, "Hard mode"),
        (30_000, "No deaths"),
        (40_000, "Blindfolded"),
    ];
    let g = create_goal(&app, &streamer, &title, 10_000, &tiers, 3600)
        .await
        .data("createGoalMission");
    let id = g["id"].as_str().expect("id").to_owned();
    assert_eq!(g["kind"], "GOAL");
    assert_eq!(g["status"], "FUNDING");
    assert_eq!(g["goal"], 10_000);
    assert!(g["acceptBy"].is_null() && g["deadline"].is_null(), "{g}");
    assert!(!g["fundingEndsAt"].is_null(), "{g}");
    assert_eq!(g["creator"]["id"], streamer.user_id.as_str());
    assert_eq!(reached(&g), vec![false, false, false]);
    assert_eq!(
        app.contribute(&streamer, &id, 1_000, "own").await.code(),
        "FORBIDDEN"
    );

    // While FUNDING a backer may change their mind; the goal waits for others.
    let first = pledge(&app, &alice, &id, 3_000, "a0").await;
    app.gql(
        Some(&alice.access),
        "mutation($p: ID!) { withdrawPledge(pledgeId: $p, idempotencyKey: \"w\") { status } }",
        json!({ "p": first }),
    )
    .await
    .data("withdrawPledge");
    let emptied = goal(&app, &id).await;
    assert_eq!(emptied["status"], "FUNDING");
    assert_eq!(emptied["backerCount"], 0, "{emptied}");
    pledge(&app, &alice, &id, 4_000, "a1").await;
    pledge(&app, &bob, &id, 3_000, "b1").await;
    assert_eq!(goal(&app, &id).await["status"], "FUNDING", "7,000 held");
    // 10,001 held: the goal is reached, the deadline runs from now.
    pledge(&app, &carol, &id, 3_001, "c1").await;
    let active = goal(&app, &id).await;
    assert_eq!(active["status"], "ACTIVE");
    assert!(!active["deadline"].is_null());
    // Reaching the goal opens the prediction game, as an acceptance does.
    let game = app
        .gql(
            None,
            "query($id: ID!) { mission(id: $id) { prediction { status } } }",
            json!({ "id": id }),
        )
        .await
        .data("mission");
    assert_eq!(game["prediction"]["status"], "OPEN", "{game}");
    assert_eq!(reached(&active), vec![false, false, false]);
    pledge(&app, &bob, &id, 10_000, "b2").await;
    assert_eq!(reached(&goal(&app, &id).await), vec![true, false, false]);
    pledge(&app, &carol, &id, 10_000, "c2").await;
    let funded = goal(&app, &id).await;
    assert_eq!(reached(&funded), vec![true, true, false]);
    assert_eq!(funded["totalHeld"], 30_001);
    assert_eq!(funded["backerCount"], 3, "Alice came back in");
    let feed = kinds(&app, &streamer).await;
    let milestones: Vec<&str> = feed
        .iter()
        .map(String::as_str)
        .filter(|k| k.ends_with("_REACHED"))
        .collect();
    assert_eq!(
        milestones,
        vec!["GOAL_REACHED", "TIER_REACHED", "TIER_REACHED"],
        "{feed:?}"
    );
    // The backers hear that the goal was reached, as a proposal's acceptance.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while goal_notices(&title, &alice.email).await == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // A tier not reached, a tier with FAILURE, or one on a proposal, is refused and changes
    // nothing.
    assert_eq!(
        decide_as(&app, &streamer, &id, "FAILURE", Some(1))
            .await
            .code(),
        "BAD_USER_INPUT"
    );
    let proposal = app.new_mission(&carol, &streamer.user_id, 1_000).await;
    app.act(&streamer, "accept", &proposal)
        .await
        .data("acceptMission");
    assert_eq!(
        decide(&app, &streamer, &proposal, Some(0)).await.code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(goal(&app, &proposal).await["status"], "ACTIVE");
    assert_eq!(
        decide(&app, &streamer, &id, Some(3)).await.code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        decide(&app, &streamer, &id, Some(6)).await.code(),
        "BAD_USER_INPUT"
    );
    assert_eq!(goal(&app, &id).await["status"], "ACTIVE");
    // Delivered up to tier 1 (20,000 won): 10,001 of the 30,001 held go back pro rata. Shares
    // rounded down: 1,333 + 1,000 + 1,000 + 3,333 + 3,333 = 9,999; the 2 won left over go one
    // each to the two earliest pledges (Alice's 4,000 and Bob's 3,000).
    let d = decide(&app, &streamer, &id, Some(1))
        .await
        .data("decideMission");
    assert_eq!(d["tierReached"], 1);
    // The preview counts only what the verdict pays, before settlement as after.
    let preview = goal(&app, &id).await;
    assert_eq!(preview["fee"], 1_997, "{preview}");
    assert_eq!(preview["streamerNet"], 18_003, "{preview}");
    let done = app
        .wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;
    assert_eq!(done["status"], "SUCCEEDED");
    let wallet = |w: Value| w["cash"].as_i64().expect("cash");
    assert_eq!(wallet(app.wallet(&alice).await), 100_000 - 4_000 + 1_334);
    assert_eq!(
        wallet(app.wallet(&bob).await),
        100_000 - 13_000 + 1_001 + 3_333
    );
    assert_eq!(
        wallet(app.wallet(&carol).await),
        // Her 1,000 on the proposal above is still held.
        100_000 - 13_001 - 1_000 + 1_000 + 3_333
    );
    // Paid 2,666 + 1,999 + 2,001 + 6,667 + 6,667 = 20,000; each part's fee rounded down:
    // 266 + 199 + 200 + 666 + 666 = 1,997.
    assert_eq!(app.wallet(&streamer).await["earnings"], 20_000 - 1_997);
    let exact = goal(&app, &id).await;
    assert_eq!(exact["tierReached"], 1);
    assert_eq!(exact["totalHeld"], 0);
    assert_eq!(exact["totalRefunded"], 3_000 + 10_001);
    assert_eq!(exact["fee"], 1_997);
    assert_eq!(exact["streamerNet"], 18_003);

    // Each backer's result email (in their locale, Korean by default) says what was paid and
    // what came back.
    app.wait_until_notified(&id, 60).await;
    let mail = worker.wait_for_mail(&title, 4).await;
    assert_eq!(mail.len(), 4, "three backers and the streamer: {mail:#?}");
    let to_alice = mail
        .iter()
        .find(|m| m.to.contains(&alice.email))
        .expect("alice's email");
    assert!(
        to_alice
            .body
            .contains("4,000원 중 2,666원이 지급되고 1,334원이 MissionLink 지갑으로 환불"),
        "{}",
        to_alice.body
    );
    assert_eq!(
        goal_notices(&title, &alice.email).await,
        1,
        "the goal's notice, once"
    );
    let summary = mail
        .iter()
        .find(|m| m.to.contains(&streamer.email))
        .expect("the streamer's summary");
    assert!(
        summary.body.contains(
            "1단계까지 달성하셨습니다: 18,003원을 받으셨고 (플랫폼 수수료 1,997원), 13,001원은"
        ),
        "{}",
        summary.body
    );
    record(&app, &id, "mission-goal-tiered.binpb").await;
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goal_not_funded_in_time_expires_and_refunds_every_backer() {
    let app =
        TestApp::with_temporal(&[("GOAL_FUNDING_MIN_SECONDS", "2"), ("MAX_OPEN_GOALS", "1")]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for v in [&alice, &bob] {
        app.top_up(v, 100_000, "t").await.data("topUp");
    }
    // Bad input is refused with a code and creates nothing.
    let six: Vec<(i64, &str)> = (1..=6).map(|i| (10_000 + i * 1_000, "tier")).collect();
    for (goal_won, tiers, funding) in [
        (10_000, six.as_slice(), 60),
        (10_000, &[(9_000, "below the goal")][..], 60),
        (10_000, &[(20_000, "a"), (15_000, "descending")][..], 60),
        (10_000, &[][..], 1),
        (10_000, &[][..], 8 * 24 * 3600),
        (10, &[][..], 60),
    ] {
        let refused = create_goal(&app, &streamer, "Bad", goal_won, tiers, funding).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{tiers:?} {funding}");
    }
    let title = format!("Goal {}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let id = create_goal(&app, &streamer, &title, 50_000, &[(60_000, "more")], 4)
        .await
        .data("createGoalMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // One open goal at a time here: a second is refused until the first is settled.
    assert_eq!(
        create_goal(&app, &streamer, "Second", 10_000, &[], 3600)
            .await
            .code(),
        "OPEN_GOALS_LIMIT"
    );
    pledge(&app, &alice, &id, 20_000, "a").await;
    pledge(&app, &bob, &id, 5_000, "b").await;
    let done = app
        .wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;
    assert_eq!(done["status"], "EXPIRED");
    assert_eq!(app.wallet(&alice).await["cash"], 100_000);
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    assert_eq!(app.wallet(&streamer).await["earnings"], 0);
    let g = goal(&app, &id).await;
    assert_eq!(g["totalRefunded"], 25_000);
    assert_eq!(reached(&g), vec![false]);
    app.wait_until_notified(&id, 60).await;
    let mail = worker.wait_for_mail(&title, 3).await;
    assert_eq!(mail.len(), 3, "two backers and the streamer: {mail:#?}");
    assert!(
        mail.iter()
            .filter(|m| m.to.contains(&alice.email))
            .all(|m| m.body.contains("20,000원이 MissionLink 지갑으로 환불")),
        "{mail:#?}"
    );
    record(&app, &id, "mission-goal-expired.binpb").await;
    // Settled, it no longer counts: the streamer may post another, and take it down while it
    // is FUNDING: every backer refunded, no one else may.
    let second_title = format!("Goal {}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let second = create_goal(&app, &streamer, &second_title, 10_000, &[], 3600)
        .await
        .data("createGoalMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    pledge(&app, &bob, &second, 4_000, "b2").await;
    let withdraw = "mutation($m: ID!) { withdrawMission(missionId: $m, idempotencyKey: \"w\") {
        status } }";
    let vars = json!({ "m": second });
    assert_eq!(
        app.gql(Some(&bob.access), withdraw, vars.clone())
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.gql(Some(&streamer.access), withdraw, vars)
            .await
            .data("withdrawMission")["status"],
        "WITHDRAWN"
    );
    let gone = app
        .wait_for_mission(&second, 60, |m| !m["settledAt"].is_null())
        .await;
    assert_eq!(gone["status"], "WITHDRAWN");
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    app.wait_until_notified(&second, 60).await;
    let told = worker.wait_for_mail(&second_title, 2).await;
    let to_bob = told
        .iter()
        .find(|m| m.to.contains(&bob.email))
        .expect("bob's email");
    assert!(
        to_bob
            .body
            .contains("목표 금액에 도달하기 전에 스트리머가 내렸습니다")
            && to_bob.body.contains("4,000원이 MissionLink 지갑으로 환불"),
        "{}",
        to_bob.body
    );
    app.assert_audit_clean().await;
    worker.stop().await;
}

/// Migration 000027 on both backends: every row, index and reference kept (SQLite rebuilds
/// `missions` and `mission_events`), an old mission a PROPOSAL, a goal (its streamer its creator)
/// with tiers and the new feed kinds accepted, and the rules around them still enforced.
#[tokio::test]
async fn the_goal_migration_keeps_every_row_and_index_and_checks_the_new_rules() {
    use missionlink_migration::Migrate as _;
    use sea_orm::{ConnectionTrait, DbBackend};
    for dbs in [
        crate::support::TestDatabases::postgres_empty().await,
        crate::support::TestDatabases::sqlite(),
    ] {
        let db = crate::support::migrations::missions_at(&dbs.missions_url, 26).await;
        let backend = db.get_database_backend();
        let now = crate::support::migrations::SEEDED_AT;
        let run = |sql: String| {
            let db = db.clone();
            async move { db.execute_unprepared(&sql).await.map(|_| ()) }
        };
        for sql in [
            format!(
                "INSERT INTO missions (id, streamer_id, creator_id, title, status, duration_seconds, \
                 accept_by, created_at) VALUES ('m1', 's', 'c', 'open one', 'PENDING', 60, {now}, {now})"
            ),
            format!(
                "INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at, \
                 settled_at) VALUES ('p1', 'm1', 'c', 1000, 'HELD', {now}, NULL), \
                 ('p2', 'm1', 'w', 2000, 'WITHDRAWN', {now}, {now})"
            ),
            // Counted before this migration: the backer who withdrew too.
            "INSERT INTO mission_totals (mission_id, total_won, backers) VALUES ('m1', 3000, 2)"
                .to_owned(),
            format!(
                "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at) \
                 VALUES ('s', 1, 'm1', 'CREATED', 'p1', {now})"
            ),
        ] {
            run(sql.clone()).await.expect(&sql);
        }
        let read = |sql: &'static str| {
            let db = db.clone();
            async move { crate::support::migrations::rows(&db, sql).await }
        };
        const MISSIONS: &str = "SELECT id, streamer_id, creator_id, title, status FROM missions";
        const EVENTS: &str = "SELECT seq, kind, pledge_id FROM mission_events ORDER BY seq";
        let index_sql = if backend == DbBackend::Postgres {
            "SELECT indexname FROM pg_indexes \
             WHERE tablename IN ('missions', 'mission_events') ORDER BY indexname"
        } else {
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') \
             AND tbl_name IN ('missions', 'mission_events') ORDER BY name"
        };
        let (missions, events, indexes) = (
            read(MISSIONS).await,
            read(EVENTS).await,
            read(index_sql).await,
        );
        missionlink_migration::missions::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        assert_eq!(read(MISSIONS).await, missions, "{backend:?}");
        assert_eq!(read(EVENTS).await, events, "{backend:?}");
        assert_eq!(read(index_sql).await, indexes, "{backend:?}: indexes kept");
        assert_eq!(
            read("SELECT kind FROM missions").await,
            vec![r#"{"kind":"PROPOSAL"}"#.to_owned()],
            "{backend:?}"
        );
        assert_eq!(
            read("SELECT backers FROM mission_totals").await,
            vec![r#"{"backers":1}"#.to_owned()],
            "{backend:?}: recounted without the backer who withdrew"
        );
        if backend == DbBackend::Sqlite {
            assert!(read("PRAGMA foreign_key_check").await.is_empty());
        }
        for sql in [
            format!(
                "INSERT INTO missions (id, streamer_id, creator_id, title, status, duration_seconds, \
                 accept_by, created_at, kind, goal_won) \
                 VALUES ('g1', 's', 's', 'a goal', 'FUNDING', 60, {now}, {now}, 'GOAL', 10000)"
            ),
            format!(
                "INSERT INTO mission_tiers (mission_id, position, amount_won, title, reached_at) \
                 VALUES ('g1', 1, 20000, 'more', NULL), ('g1', 2, 30000, 'most', {now})"
            ),
            format!(
                "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at) \
                 VALUES ('s', 2, 'g1', 'GOAL_REACHED', NULL, {now}), \
                        ('s', 3, 'g1', 'TIER_REACHED', NULL, {now})"
            ),
        ] {
            run(sql.clone()).await.expect(&sql);
        }
        for bad in [
            // A proposal to oneself, a goal without its goal, a proposal with one.
            format!(
                "INSERT INTO missions (id, streamer_id, creator_id, title, status, duration_seconds, \
                 accept_by, created_at) VALUES ('x1', 's', 's', 'self', 'PENDING', 60, {now}, {now})"
            ),
            format!(
                "INSERT INTO missions (id, streamer_id, creator_id, title, status, duration_seconds, \
                 accept_by, created_at, kind) \
                 VALUES ('x2', 's', 's', 'goal-less', 'FUNDING', 60, {now}, {now}, 'GOAL')"
            ),
            "UPDATE missions SET goal_won = 5 WHERE id = 'm1'".to_owned(),
            "UPDATE missions SET status = 'LOST' WHERE id = 'g1'".to_owned(),
            "UPDATE missions SET kind = 'OTHER' WHERE id = 'g1'".to_owned(),
            "UPDATE missions SET tier_held_won = 0 WHERE id = 'g1'".to_owned(),
            "UPDATE missions SET tier_reached = 6 WHERE id = 'g1'".to_owned(),
            format!(
                "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, tier, created_at) \
                 VALUES ('s', 9, 'g1', 'TIER_REACHED', 6, {now})"
            ),
            "INSERT INTO mission_tiers (mission_id, position, amount_won, title) \
             VALUES ('g1', 6, 90000, 'too many')"
                .to_owned(),
            "INSERT INTO mission_tiers (mission_id, position, amount_won, title) \
             VALUES ('nope', 1, 90000, 'no goal')"
                .to_owned(),
        ] {
            assert!(run(bad.clone()).await.is_err(), "{backend:?} took {bad}");
        }
    }
}
