//! The streamers' feeds under the pledge path: batches spanning many streamers' lanes, racing,
//! leave every feed numbered without gaps or repeats (PostgreSQL and SQLite); the wake-ups of
//! many batches reach another process's listener coalesced, naming every streamer and mission
//! (PostgreSQL).

use crate::support::{assert_audit_clean, new_mission, open, pledge, rules, user};
use missionlink_entities::missions::mission_event;
use missionlink_ledger::batch;
use missionlink_ledger::changes;
use missionlink_ledger::events::{self, Announcer, Appended};
use missionlink_testdb::TestDatabases;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_batches_over_many_streamers_number_every_feed_without_gaps() {
    const STREAMERS: usize = 5;
    const TASKS: usize = 6;
    const BATCHES: usize = 8;
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let reruns = batch::reruns();
        let creator = user(&db, "creator", 100_000).await;
        let mut missions = Vec::new();
        let mut streamers = Vec::new();
        for s in 0..STREAMERS {
            let streamer = user(&db, &format!("streamer{s}"), 0).await;
            missions.push(new_mission(&db, &creator, &streamer, 1_000).await);
            streamers.push(streamer);
        }
        let mut backers = Vec::new();
        for t in 0..TASKS {
            backers.push(user(&db, &format!("backer{t}"), 500_000).await);
        }
        // Each task commits batches of one pledge to every streamer's mission: every batch
        // takes all five feed rows, and the six tasks' batches want them at once. (A deadlock
        // would fail a batch, which then runs again pledge by pledge: `reruns` says so.)
        let tasks: Vec<_> = backers
            .iter()
            .enumerate()
            .map(|(t, backer)| {
                let (db, missions, backer) =
                    (db.missions.clone(), missions.clone(), backer.clone());
                tokio::spawn(async move {
                    for b in 0..BATCHES {
                        let requests: Vec<_> = (0..STREAMERS)
                            .map(|i| {
                                pledge(&missions[i], &backer, 1_000, &format!("t{t}-b{b}-{i}"))
                            })
                            .collect();
                        for answer in batch::commit(&db, &rules(), &requests).await {
                            answer.expect("every pledge of the batch is held");
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("batches");
        }
        for (streamer, mission) in streamers.iter().zip(&missions) {
            let seqs: Vec<i64> = mission_event::Entity::find()
                .filter(mission_event::Column::StreamerId.eq(streamer))
                .order_by_asc(mission_event::Column::Seq)
                .all(&db.missions)
                .await
                .expect("feed")
                .iter()
                .map(|e| e.seq)
                .collect();
            // The creation's event, then one per pledge: 1..=n, each number once.
            let expected: Vec<i64> = (1..=i64::try_from(1 + TASKS * BATCHES).unwrap()).collect();
            assert_eq!(seqs, expected, "the feed of {streamer} ({mission})");
            let state = events::state(&db.missions, streamer).await.expect("state");
            assert_eq!(state.last_seq, *expected.last().unwrap());
        }
        assert_eq!(
            batch::reruns(),
            reruns,
            "every batch answered by its set-based call (Postgres), none run again"
        );
        assert_audit_clean(&db).await;
    }
}

#[tokio::test]
async fn many_batches_wake_other_processes_with_one_notification() {
    let dbs = TestDatabases::postgres().await;
    let db = open(&dbs).await;
    let pool = db.missions.get_postgres_connection_pool().clone();
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .expect("listener");
    listener
        .listen_all([events::CHANNEL, changes::CHANNEL])
        .await
        .expect("listen");
    let announcer = Announcer::start(db.missions.clone());
    // A hundred commits in a row, as a hundred pledge batches of two streamers would announce
    // them. This test's runtime has one thread: the announcer's task runs only once they are
    // all queued.
    for i in 0..100 {
        let streamer = if i % 2 == 0 {
            "streamer-a"
        } else {
            "streamer-b"
        };
        let appended = vec![Appended {
            streamer_id: streamer.to_owned(),
            events: Vec::new(),
            known: Default::default(),
        }];
        announcer.announce(appended, vec![format!("mission-{}", i % 10)]);
    }
    let mut heard: BTreeMap<String, usize> = BTreeMap::new();
    let want: BTreeSet<String> = ["streamer-a", "streamer-b"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..10).map(|m| format!("mission-{m}")))
        .collect();
    // Everything named, then a moment more for any repeat to arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let all = want.iter().all(|w| heard.contains_key(w));
        let wait = if all {
            Duration::from_millis(500)
        } else {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        };
        match tokio::time::timeout(wait, listener.recv()).await {
            Ok(n) => {
                let n = n.expect("notification");
                // A feed's notification names its streamer and the sending process.
                let name = n.payload().split(' ').next().unwrap_or_default().to_owned();
                *heard.entry(name).or_default() += 1;
            }
            Err(_) if all => break,
            Err(_) => panic!("not every streamer and mission was announced: {heard:?}"),
        }
    }
    // One statement for all hundred: each name once (a notification per batch would be fifty
    // for each streamer and ten for each mission).
    assert!(heard.values().all(|&n| n == 1), "{heard:?}");
    assert_eq!(heard.keys().cloned().collect::<BTreeSet<_>>(), want);
}
