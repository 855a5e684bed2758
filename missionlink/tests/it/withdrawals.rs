//! Backers who change their mind and honest totals (issue 28, items 3 and 4), end to end through
//! HTTP, the Temporal dev server and a worker sending through moto's SES: a pledge withdrawn
//! while PENDING (its won back at once, the totals and the feed told, the settlement mail not
//! sent for it), a creator's withdrawal (every backer refunded and emailed, no cooldown), the
//! last pledge's withdrawal closing the mission, the daily limit, withdrawals racing the
//! acceptance, and the migration on both backends. The money is checked to the won and the
//! audit run after each.

use crate::support::{Gql, Session, TestApp};
use serde_json::{Value, json};

fn settled(m: &Value) -> bool {
    !m["settledAt"].is_null()
}

async fn withdraw_pledge(app: &TestApp, who: &Session, pledge_id: &str, key: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($p: ID!, $k: String!) { withdrawPledge(pledgeId: $p, idempotencyKey: $k) {
           id status amount settledAt mission { id status } } }",
        json!({ "p": pledge_id, "k": key }),
    )
    .await
}

async fn withdraw_mission(app: &TestApp, who: &Session, mission_id: &str, key: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($m: ID!, $k: String!) { withdrawMission(missionId: $m, idempotencyKey: $k) {
           id status } }",
        json!({ "m": mission_id, "k": key }),
    )
    .await
}

/// The mission's money as a backer would read it.
async fn money(app: &TestApp, mission_id: &str) -> Value {
    app.gql(
        None,
        "query($id: ID!) { mission(id: $id) { status settledAt totalPledged totalHeld backerCount
           totalRefunded fee streamerNet } }",
        json!({ "id": mission_id }),
    )
    .await
    .data("mission")
}

/// A pledge by `who`, answering its id.
async fn pledge(app: &TestApp, who: &Session, mission_id: &str, amount: i64, key: &str) -> String {
    app.contribute(who, mission_id, amount, key)
        .await
        .data("contribute")["id"]
        .as_str()
        .expect("pledge id")
        .to_owned()
}

/// The kinds of the streamer's feed, oldest first.
async fn feed(app: &TestApp, streamer: &Session) -> Vec<(String, Option<String>)> {
    let page = app
        .gql(
            Some(&streamer.access),
            "query($s: ID!) { missionEvents(streamerId: $s, first: 50) { nodes { kind pledge { id } } } }",
            json!({ "s": streamer.user_id }),
        )
        .await
        .data("missionEvents");
    page["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().expect("kind").to_owned(),
                n["pledge"]["id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backer_withdraws_while_pending_and_has_the_won_back_at_once() {
    let app = TestApp::with_temporal(&[("PLATFORM_FEE_BPS", "1000")]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    for v in [&alice, &bob, &carol] {
        app.top_up(v, 100_000, "t").await.data("topUp");
    }
    let platform = app
        .gql(
            None,
            "{ platform { feeBps pledgeMin pledgeMax pledgeWithdrawalsPerDay } }",
            json!({}),
        )
        .await
        .data("platform");
    assert_eq!(platform["feeBps"], 1000);
    assert_eq!(platform["pledgeWithdrawalsPerDay"], 5);
    assert!(platform["pledgeMin"].as_i64() <= Some(1_000), "{platform}");

    // Amounts whose fees round down one by one: 1,000.5 and 400.9 pay 1,000 and 400.
    let id = app.new_mission(&alice, &streamer.user_id, 10_005).await;
    let bobs = pledge(&app, &bob, &id, 6_000, "b").await;
    pledge(&app, &carol, &id, 4_009, "c").await;
    let before = money(&app, &id).await;
    assert_eq!(before["totalPledged"], 20_014);
    assert_eq!(before["totalHeld"], 20_014);
    assert_eq!(before["totalRefunded"], 0);
    assert_eq!(before["backerCount"], 3);
    assert_eq!(
        before["fee"],
        1_000 + 600 + 400,
        "the fee, pledge by pledge"
    );
    assert_eq!(before["streamerNet"], 20_014 - 2_000);

    // Nobody withdraws another's pledge; the backer does, and has it back at once.
    assert_eq!(
        withdraw_pledge(&app, &carol, &bobs, "w").await.code(),
        "NOT_FOUND"
    );
    let w = withdraw_pledge(&app, &bob, &bobs, "w")
        .await
        .data("withdrawPledge");
    assert_eq!(w["status"], "WITHDRAWN");
    assert!(!w["settledAt"].is_null());
    assert_eq!(w["mission"]["status"], "PENDING");
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    // The same key answers the same withdrawal; another is refused and changes nothing.
    let again = withdraw_pledge(&app, &bob, &bobs, "w")
        .await
        .data("withdrawPledge");
    assert_eq!(again["id"], w["id"]);
    assert_eq!(
        withdraw_pledge(&app, &bob, &bobs, "w2").await.code(),
        "INVALID_STATE"
    );
    assert_eq!(app.wallet(&bob).await["cash"], 100_000, "paid back once");
    let statement = app
        .gql(
            Some(&bob.access),
            "{ wallet { transactions(first: 10) { nodes { kind amount mission { id } } } } }",
            json!({}),
        )
        .await
        .data("wallet");
    let back = &statement["transactions"]["nodes"][0];
    assert_eq!(back["kind"], "PLEDGE_WITHDRAWN", "{statement}");
    assert_eq!(back["amount"], 6_000);
    assert_eq!(back["mission"]["id"], id.as_str());

    let after = money(&app, &id).await;
    assert_eq!(after["totalPledged"], 20_014, "ever pledged");
    assert_eq!(after["totalHeld"], 14_014);
    assert_eq!(after["totalRefunded"], 6_000);
    assert_eq!(after["backerCount"], 2, "Bob withdrew his only pledge");
    assert_eq!(after["fee"], 1_400);
    assert_eq!(after["streamerNet"], 12_614);
    let events = feed(&app, &streamer).await;
    assert!(
        events.contains(&("PLEDGE_WITHDRAWN".to_owned(), Some(bobs.clone()))),
        "{events:?}"
    );

    // Once accepted, pledges stay.
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    let carols = app.mission(&id).await["pledges"]["nodes"]
        .as_array()
        .expect("pledges")
        .iter()
        .find(|p| p["backer"]["id"] == carol.user_id.as_str())
        .expect("carol's pledge")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        withdraw_pledge(&app, &carol, &carols, "w").await.code(),
        "INVALID_STATE"
    );
    app.act(&streamer, "SUCCESS", &id)
        .await
        .data("decideMission");
    let done = app.wait_for_mission(&id, 60, settled).await;
    assert_eq!(done["status"], "SUCCEEDED");
    let exact = money(&app, &id).await;
    assert_eq!(exact["totalHeld"], 0);
    assert_eq!(exact["totalRefunded"], 6_000);
    assert_eq!(exact["fee"], 1_400, "the preview was exact");
    assert_eq!(exact["streamerNet"], 12_614);
    assert_eq!(app.wallet(&streamer).await["earnings"], 12_614);
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    assert_eq!(app.wallet(&carol).await["cash"], 100_000 - 4_009);

    // The two who still backed it hear of the success, and the streamer; Bob, who withdrew, is
    // not told he paid.
    app.wait_until_notified(&id, 60).await;
    let title = done["title"].as_str().expect("title").to_owned();
    let mail = worker.wait_for_mail(&title, 3).await;
    assert_eq!(mail.len(), 3, "{mail:#?}");
    let to: Vec<&str> = mail.iter().map(|m| m.to.as_str()).collect();
    assert!(to.contains(&alice.email.as_str()), "{to:?}");
    assert!(to.contains(&carol.email.as_str()), "{to:?}");
    assert!(!to.contains(&bob.email.as_str()), "{to:?}");
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_withdraws_the_mission_and_every_backer_is_refunded_without_a_cooldown() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for v in [&alice, &bob] {
        app.top_up(v, 100_000, "t").await.data("topUp");
    }
    let id = app.new_mission(&alice, &streamer.user_id, 10_000).await;
    pledge(&app, &bob, &id, 5_000, "b").await;
    assert_eq!(
        withdraw_mission(&app, &bob, &id, "w").await.code(),
        "FORBIDDEN"
    );
    let w = withdraw_mission(&app, &alice, &id, "w")
        .await
        .data("withdrawMission");
    assert_eq!(w["status"], "WITHDRAWN");
    assert_eq!(
        withdraw_mission(&app, &alice, &id, "w")
            .await
            .data("withdrawMission")["status"],
        "WITHDRAWN",
        "a replay answers the same"
    );
    assert_eq!(
        withdraw_mission(&app, &alice, &id, "w2").await.code(),
        "INVALID_STATE"
    );
    assert_eq!(
        app.act(&streamer, "accept", &id).await.code(),
        "INVALID_STATE",
        "a withdrawn mission is not accepted"
    );
    let done = app.wait_for_mission(&id, 60, settled).await;
    for p in done["pledges"]["nodes"].as_array().expect("pledges") {
        assert_eq!(p["status"], "REFUNDED");
    }
    assert_eq!(money(&app, &id).await["totalRefunded"], 15_000);
    assert_eq!(app.wallet(&alice).await["cash"], 100_000);
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    app.wait_until_notified(&id, 60).await;
    let title = done["title"].as_str().expect("title").to_owned();
    let mail = worker.wait_for_mail(&title, 3).await;
    assert_eq!(mail.len(), 3, "both backers and the streamer: {mail:#?}");
    assert!(
        mail.iter()
            .all(|m| m.subject.contains("철회") || m.subject.contains("withdrawn")),
        "{mail:#?}"
    );
    assert!(
        feed(&app, &streamer)
            .await
            .contains(&("WITHDRAWN".to_owned(), None))
    );
    // Not a rejection: the creator may propose to the streamer again at once.
    app.new_mission(&alice, &streamer.user_id, 1_000).await;

    // A mission whose last held pledge is withdrawn closes by itself, and settles.
    let lone = app.new_mission(&bob, &streamer.user_id, 2_000).await;
    let only = app.mission(&lone).await["pledges"]["nodes"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let w = withdraw_pledge(&app, &bob, &only, "lone")
        .await
        .data("withdrawPledge");
    assert_eq!(w["mission"]["status"], "WITHDRAWN");
    let closed = app.wait_for_mission(&lone, 60, settled).await;
    assert_eq!(closed["pledges"]["nodes"][0]["status"], "WITHDRAWN");
    assert_eq!(app.wallet(&bob).await["cash"], 100_000);
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawals_past_the_daily_limit_are_refused_and_change_nothing() {
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[("PLEDGE_WITHDRAWALS_PER_DAY", "2")],
    )
    .await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for v in [&alice, &bob] {
        app.top_up(v, 100_000, "t").await.data("topUp");
    }
    let mut pledges = Vec::new();
    for i in 0..3 {
        let id = app.new_mission(&alice, &streamer.user_id, 1_000).await;
        pledges.push(pledge(&app, &bob, &id, 1_000, &format!("p{i}")).await);
    }
    for (i, p) in pledges.iter().take(2).enumerate() {
        withdraw_pledge(&app, &bob, p, &format!("w{i}"))
            .await
            .data("withdrawPledge");
    }
    let refused = withdraw_pledge(&app, &bob, &pledges[2], "w2").await;
    assert_eq!(refused.code(), "WITHDRAWAL_LIMIT");
    let retry_at = refused.0["errors"][0]["extensions"]["retryAt"]
        .as_str()
        .expect("retryAt")
        .to_owned();
    let retry_at = chrono::DateTime::parse_from_rfc3339(&retry_at).expect("a time");
    let wait = retry_at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::hours(23) && wait <= chrono::Duration::hours(24),
        "retry in {wait}"
    );
    assert_eq!(app.wallet(&bob).await["cash"], 100_000 - 1_000);
    let third = app
        .gql(
            Some(&bob.access),
            "query($id: ID!) { node(id: $id) { ... on Pledge { status } } }",
            json!({ "id": pledges[2] }),
        )
        .await
        .data("node");
    assert_eq!(third["status"], "HELD");
    app.assert_audit_clean().await;
}

/// Every backer withdraws at the moment the streamer accepts. Each withdrawal either committed
/// first (its won back, the pledge out of the accepted mission) or was refused with
/// `INVALID_STATE` and the pledge is in the accepted mission: never both, never neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn withdrawals_racing_the_acceptance_either_withdraw_or_land_in_the_accepted_mission() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    app.top_up(&alice, 100_000, "t").await.data("topUp");
    let id = app.new_mission(&alice, &streamer.user_id, 1_000).await;
    let mut backers = Vec::new();
    for i in 0..12 {
        let b = app.register_owned(format!("backer{i}")).await;
        app.top_up(&b, 10_000, "t").await.data("topUp");
        let p = pledge(&app, &b, &id, 2_000, "p").await;
        backers.push((b, p));
    }
    let withdrawals = futures::future::join_all(
        backers
            .iter()
            .map(|(b, p)| withdraw_pledge(&app, b, p, "race")),
    );
    let (answers, accepted) = tokio::join!(withdrawals, app.act(&streamer, "accept", &id));
    assert_eq!(accepted.data("acceptMission")["status"], "ACTIVE");
    let m = app.mission(&id).await;
    let mut withdrawn = 0;
    for ((b, p), answer) in backers.iter().zip(&answers) {
        let status = m["pledges"]["nodes"]
            .as_array()
            .expect("pledges")
            .iter()
            .find(|n| n["id"] == p.as_str())
            .expect("the pledge")["status"]
            .clone();
        let cash = app.wallet(b).await["cash"].clone();
        if answer.0.get("errors").is_none() {
            withdrawn += 1;
            assert_eq!(status, "WITHDRAWN");
            assert_eq!(cash, 10_000);
        } else {
            assert_eq!(answer.code(), "INVALID_STATE");
            assert_eq!(status, "HELD", "refused, so still in the mission");
            assert_eq!(cash, 8_000);
        }
    }
    println!("race: {withdrawn} of 12 withdrew before the acceptance");
    let held = money(&app, &id).await["totalHeld"].clone();
    assert_eq!(
        held,
        1_000 + 2_000 * (12 - withdrawn),
        "{withdrawn} withdrew"
    );
    app.act(&streamer, "FAILURE", &id)
        .await
        .data("decideMission");
    app.wait_for_mission(&id, 60, settled).await;
    for (b, _) in &backers {
        assert_eq!(app.wallet(b).await["cash"], 10_000);
    }
    app.assert_audit_clean().await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_withdrawal_and_notice_migrations_keep_every_row_index_and_reference() {
    use missionlink_migration::Migrate as _;
    use sea_orm::{ConnectionTrait, DbBackend};
    for dbs in [
        crate::support::TestDatabases::postgres_empty().await,
        crate::support::TestDatabases::sqlite(),
    ] {
        let db = sea_orm::Database::connect(&dbs.missions_url)
            .await
            .expect("connect");
        let backend = db.get_database_backend();
        missionlink_migration::missions::Migrator::up(&db, Some(24))
            .await
            .expect("migrate to 24");
        let now = if backend == DbBackend::Postgres {
            "now()"
        } else {
            "'2026-12-06T10:00:00+00:00'"
        };
        for sql in [
            format!(
                "INSERT INTO missions (id, streamer_id, creator_id, title, status, duration_seconds, \
                 accept_by, created_at) VALUES ('m1', 's', 'c', 'open one', 'PENDING', 60, {now}, {now})"
            ),
            format!(
                "INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at, message, \
                 message_status, anonymous) VALUES \
                 ('p1', 'm1', 'c', 1000, 'HELD', {now}, 'go', 'APPROVED', FALSE), \
                 ('p2', 'm1', 'b', 2000, 'HELD', {now}, NULL, NULL, TRUE)"
            ),
            format!(
                "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at) \
                 VALUES ('s', 1, 'm1', 'CREATED', 'p1', {now}), ('s', 2, 'm1', 'PLEDGED', 'p2', {now})"
            ),
        ] {
            db.execute_unprepared(&sql).await.expect(&sql);
        }
        let read = |sql: &'static str| {
            let db = db.clone();
            async move { crate::support::migrations::rows(&db, sql).await }
        };
        const PLEDGES: &str = "SELECT id, mission_id, backer_id, amount, status, message, \
                               message_status, anonymous FROM pledges ORDER BY id";
        const EVENTS: &str = "SELECT seq, kind, pledge_id FROM mission_events ORDER BY seq";
        let (pledges, events) = (read(PLEDGES).await, read(EVENTS).await);
        let index_sql = if backend == DbBackend::Postgres {
            "SELECT indexname FROM pg_indexes \
             WHERE tablename IN ('missions', 'pledges', 'mission_events') ORDER BY indexname"
        } else {
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') \
             AND tbl_name IN ('missions', 'pledges', 'mission_events') ORDER BY name"
        };
        let indexes = read(index_sql).await;
        missionlink_migration::missions::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        assert_eq!(read(PLEDGES).await, pledges, "{backend:?}");
        assert_eq!(read(EVENTS).await, events, "{backend:?}");
        assert_eq!(read(index_sql).await, indexes, "{backend:?}: indexes kept");
        if backend == DbBackend::Sqlite {
            assert!(
                read("PRAGMA foreign_key_check").await.is_empty(),
                "foreign keys broken by the rebuild"
            );
            assert!(
                db.execute_unprepared(&format!(
                    "INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at) \
                     VALUES ('p3', 'nope', 'c', 1, 'HELD', {now})"
                ))
                .await
                .is_err(),
                "still enforced against the rebuilt table"
            );
        }
        // The new values are allowed, and the rules around them still hold.
        for sql in [
            format!("UPDATE pledges SET status = 'WITHDRAWN', settled_at = {now} WHERE id = 'p2'"),
            format!(
                "UPDATE missions SET status = 'WITHDRAWN', closed_at = {now}, settled_at = {now} \
                 WHERE id = 'm1'"
            ),
            format!(
                "INSERT INTO mission_events (streamer_id, seq, mission_id, kind, pledge_id, created_at) \
                 VALUES ('s', 3, 'm1', 'PLEDGE_WITHDRAWN', 'p2', {now}), \
                        ('s', 4, 'm1', 'WITHDRAWN', NULL, {now})"
            ),
        ] {
            db.execute_unprepared(&sql).await.expect(&sql);
        }
        // Migration 000026, rebuilt the same way on SQLite: the backers' notices are recorded.
        db.execute_unprepared(&format!(
            "INSERT INTO email_deliveries (mission_id, recipient_id, role, address, subject, \
             sent_at) VALUES ('m1', 'b', 'ACCEPTED', 'b@example.com', 'accepted', {now}), \
             ('m1', 'b', 'VERIFYING', 'b@example.com', 'verdict', {now})"
        ))
        .await
        .expect("the notices' roles");
        assert!(
            db.execute_unprepared(&format!(
                "INSERT INTO email_deliveries (mission_id, recipient_id, role, address, subject, \
                 sent_at) VALUES ('m1', 'b', 'OTHER', 'b@example.com', 'x', {now})"
            ))
            .await
            .is_err(),
            "{backend:?}: roles are still checked"
        );
        for bad in [
            "UPDATE pledges SET status = 'WITHDRAWN', settled_at = NULL WHERE id = 'p1'",
            "UPDATE pledges SET status = 'LOST' WHERE id = 'p1'",
            "UPDATE missions SET status = 'LOST' WHERE id = 'm1'",
        ] {
            assert!(
                db.execute_unprepared(bad).await.is_err(),
                "{backend:?} took {bad}"
            );
        }
    }
}

/// Backers' pledges committing in batches to two missions while the same backers withdraw a
/// pledge: a batch may hold a backer's wallet while it waits for the gate a withdrawal holds,
/// so the withdrawal never waits for that wallet (it starts over). Every request is answered,
/// none with an internal error, and the money adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn withdrawals_beside_the_same_backers_pledges_are_all_answered() {
    let app = TestApp::spawn_with(crate::support::TestDatabases::postgres().await, &[]).await;
    let first = app.register_as("streamer", "STREAMER").await;
    let second = app.register_as("other", "STREAMER").await;
    let alice = app.register("alice").await;
    app.top_up(&alice, 100_000, "t").await.data("topUp");
    let m1 = app.new_mission(&alice, &first.user_id, 1_000).await;
    let m2 = app.new_mission(&alice, &second.user_id, 1_000).await;
    let mut backers = Vec::new();
    for i in 0..6 {
        let b = app.register_owned(format!("racer{i}")).await;
        app.top_up(&b, 100_000, "t").await.data("topUp");
        let p = pledge(&app, &b, &m2, 1_000, "first").await;
        backers.push((b, p));
    }
    let more: Vec<(&Session, &String, String)> = backers
        .iter()
        .flat_map(|(b, _)| {
            let (m1, m2) = (&m1, &m2);
            (0..6).map(move |k| (b, if k % 2 == 0 { m1 } else { m2 }, format!("more-{k}")))
        })
        .collect();
    let pledges = futures::future::join_all(
        more.iter()
            .map(|(b, mission, key)| app.contribute(b, mission, 1_000, key)),
    );
    let withdrawals = futures::future::join_all(
        backers
            .iter()
            .map(|(b, p)| withdraw_pledge(&app, b, p, "w")),
    );
    let (pledged, withdrawn) = tokio::join!(pledges, withdrawals);
    for answer in &pledged {
        answer.data("contribute");
    }
    for answer in &withdrawn {
        assert_eq!(answer.data("withdrawPledge")["status"], "WITHDRAWN");
    }
    for (b, _) in &backers {
        // Six pledges of 1,000 held; the first one back.
        assert_eq!(app.wallet(b).await["cash"], 100_000 - 6_000);
    }
    app.assert_audit_clean().await;
}

async fn object(app: &TestApp, who: &Session, mission_id: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($m: ID!) { objectToVerdict(missionId: $m, reason: \"not done\", idempotencyKey: \"o\") {
           pledged mission { status objectedPledged } } }",
        json!({ "m": mission_id }),
    )
    .await
}

/// A backer who withdrew everything is no longer a backer when the verdict comes: they cannot
/// object, and what they took back weighs nothing against what the mission holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backer_who_withdrew_cannot_object_and_weighs_nothing() {
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[("OBJECTION_WINDOW_SECONDS", "600")],
    )
    .await;
    let streamer = app.register_as("streamer", "STREAMER").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    for v in [&alice, &bob, &carol] {
        app.top_up(v, 100_000, "t").await.data("topUp");
    }
    let id = app.new_mission(&alice, &streamer.user_id, 2_000).await;
    let bobs = pledge(&app, &bob, &id, 50_000, "b").await;
    pledge(&app, &carol, &id, 2_000, "c").await;
    withdraw_pledge(&app, &bob, &bobs, "w")
        .await
        .data("withdrawPledge");
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    assert_eq!(
        app.act(&streamer, "SUCCESS", &id)
            .await
            .data("decideMission")["status"],
        "VERIFYING"
    );
    assert_eq!(object(&app, &bob, &id).await.code(), "NOT_A_BACKER");
    // Carol holds 2,000 of the 4,000 held (50 %): past the threshold by weight, but alone.
    let carols = object(&app, &carol, &id).await.data("objectToVerdict");
    assert_eq!(carols["pledged"], 2_000);
    assert_eq!(carols["mission"]["status"], "VERIFYING");
    assert_eq!(money(&app, &id).await["totalHeld"], 4_000);
    app.assert_audit_clean().await;
}
