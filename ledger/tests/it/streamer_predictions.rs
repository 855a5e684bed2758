//! Streamers' own predictions driven directly, on PostgreSQL and SQLite (issue 31, item 2):
//! bets racing the resolution (each bet either lands before it and is paid, or finds betting
//! closed and moves nothing), and the sweep closing betting at its window and expiring a
//! prediction nobody resolved (every stake back); the audit clean after each.

use crate::support::{assert_audit_clean, key, open};
use chrono::{Duration, Utc};
use missionlink_ledger::prediction::streamer::{self, Decision, NewPrediction, PredictionLimits};
use missionlink_ledger::status::{PredictionDecision, PredictionStatus};
use missionlink_ledger::{LedgerError, wallet};
use missionlink_testdb::TestDatabases;
use sea_orm::DatabaseConnection;

const START_POINTS: i64 = 1_000;

async fn user(db: &DatabaseConnection, name: &str) -> String {
    let id = format!("{name}-{}", uuid::Uuid::new_v4().simple());
    wallet::open_user(db, &id, START_POINTS)
        .await
        .expect("open");
    id
}

async fn points(db: &DatabaseConnection, id: &str) -> i64 {
    wallet::read(db, id).await.expect("wallet").points
}

async fn open_prediction(db: &DatabaseConnection, streamer: &str, outcomes: usize) -> String {
    let titles: Vec<String> = (1..=outcomes).map(|i| format!("Round {i}")).collect();
    streamer::open(
        db,
        &PredictionLimits::default(),
        &NewPrediction {
            streamer_id: streamer,
            actor_id: streamer,
            mission_id: None,
            title: "Which round does the boss fall?",
            outcomes: &titles,
            window_seconds: Some(600),
        },
        Utc::now(),
    )
    .await
    .expect("open")
    .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bets_racing_the_resolution_are_either_paid_or_refused() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let db = &db.missions;
        let streamer = user(db, "streamer").await;
        let id = open_prediction(db, &streamer, 3).await;
        let mut bettors = Vec::new();
        for i in 0..12 {
            bettors.push(user(db, &format!("bettor{i}")).await);
        }
        // Twelve bets and the resolution at once.
        let bets = bettors.iter().enumerate().map(|(i, b)| {
            let (db, id, b) = (db.clone(), id.clone(), b.clone());
            tokio::spawn(async move {
                let position = i32::try_from(i % 3 + 1).expect("small");
                streamer::place(&db, &id, &b, position, 100, &key("race"), Utc::now()).await
            })
        });
        let bets: Vec<_> = bets.collect();
        let resolve = {
            let (db, id, s) = (db.clone(), id.clone(), streamer.clone());
            tokio::spawn(async move {
                streamer::decide(&db, &id, &s, Decision::Resolve(1), Utc::now()).await
            })
        };
        let mut landed = 0;
        for bet in bets {
            match bet.await.expect("join") {
                Ok(_) => landed += 1,
                Err(LedgerError::InvalidState(_)) => {}
                Err(e) => panic!("a racing bet failed otherwise: {e:?}"),
            }
        }
        resolve.await.expect("join").expect("resolve");
        let settled = streamer::settle(db, &id, 5)
            .await
            .expect("settle")
            .expect("settled now");
        assert_eq!(settled.bets, landed, "every bet that landed is paid");
        let paid: i64 = {
            let mut total = 0;
            for b in &bettors {
                total += points(db, b).await;
            }
            total
        };
        assert_eq!(
            paid,
            START_POINTS * 12,
            "the pool went back to the bettors whole"
        );
        let p = streamer::find(db, &id).await.expect("find").expect("there");
        assert!(matches!(
            p.status,
            PredictionStatus::Settled | PredictionStatus::Refunded
        ));
        assert_eq!(
            streamer::settle(db, &id, 5).await.expect("again"),
            None,
            "settling twice pays nothing more"
        );
        assert_audit_clean(&open(&dbs).await).await;
    }
}

#[tokio::test]
async fn the_sweep_closes_betting_and_expires_what_nobody_resolved() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let db = &db.missions;
        let streamer = user(db, "streamer").await;
        let fan = user(db, "fan").await;
        let id = open_prediction(db, &streamer, 2).await;
        streamer::place(db, &id, &fan, 2, 250, &key("one"), Utc::now())
            .await
            .expect("bet");
        assert_eq!(points(db, &fan).await, START_POINTS - 250);

        // Past its window: the sweep locks it, and a bet then is refused.
        let later = Utc::now() + Duration::seconds(601);
        let report = streamer::sweep(db, later, 100).await.expect("sweep");
        assert!(report.locked >= 1, "{report:?}");
        let p = streamer::find(db, &id).await.expect("find").expect("there");
        assert_eq!(p.status, PredictionStatus::Locked);
        // Refused for being LOCKED: the clock of the bet is still inside the window.
        let late = streamer::place(db, &id, &fan, 2, 10, &key("two"), Utc::now()).await;
        assert!(
            matches!(late, Err(LedgerError::InvalidState(_))),
            "{late:?}"
        );

        // Nobody resolved it within PREDICTION_RESOLVE_HOURS: expired, every stake back.
        let much_later = later + Duration::hours(PredictionLimits::default().resolve_hours);
        let report = streamer::sweep(db, much_later, 100).await.expect("sweep");
        assert!(report.expired >= 1 && report.settled >= 1, "{report:?}");
        let p = streamer::find(db, &id).await.expect("find").expect("there");
        assert_eq!(p.decision, Some(PredictionDecision::Expired));
        assert_eq!(p.status, PredictionStatus::Refunded);
        assert_eq!(points(db, &fan).await, START_POINTS);
        let resolve = streamer::decide(db, &id, &streamer, Decision::Resolve(1), much_later).await;
        assert!(
            matches!(resolve, Err(LedgerError::InvalidState(_))),
            "an expired prediction is decided: {resolve:?}"
        );
        assert_audit_clean(&open(&dbs).await).await;
    }
}
