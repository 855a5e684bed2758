//! The money core driven directly, without HTTP: a pledge batch's answers, settlement pages and
//! prediction settlement, on PostgreSQL and SQLite, each ending with a clean audit; and the
//! database's agreement with the ledger's statuses and kinds.

use crate::support::{assert_audit_clean, key, new_mission, open, pledge, rules, user};
use missionlink_entities::missions::mission_event;
use missionlink_ledger::mission::{self, StreamerAction};
use missionlink_ledger::status::EventKind;
use missionlink_ledger::status::{Outcome, TransferKind};
use missionlink_ledger::transfer::{self, Transfer};
use missionlink_ledger::{AccountId, Amount, Currency, LedgerError, prediction};
use missionlink_ledger::{batch, events};
use missionlink_testdb::TestDatabases;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};

#[tokio::test]
async fn a_batch_answers_each_request_with_its_own_outcome_in_order() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let streamer = user(&db, "streamer", 0).await;
        let rich = user(&db, "rich", 100_000).await;
        let poor = user(&db, "poor", 1_500).await;
        let id = new_mission(&db, &rich, &streamer, 1_000).await;
        let requests = vec![
            pledge(&id, &poor, 1_000, "a"),
            pledge(&id, &rich, 5_000, "b"),
            pledge(&id, &poor, 1_000, "c"), // 500 left after "a": refused
            pledge(&id, &streamer, 1_000, "d"),
            pledge("no-such-mission", &rich, 1_000, "e"),
            pledge(&id, &rich, 5_000, "b"), // the same request again: replays "b"
            pledge(&id, &rich, 7_000, "b"), // the same key, another request
            pledge(&id, &rich, 1, "f"),
        ];
        let postgres = db.missions.get_database_backend() == DatabaseBackend::Postgres;
        let mut pushed = events::local_committed().subscribe();
        let reruns = batch::reruns();
        let answers = batch::commit(&db.missions, &rules(), &requests).await;
        assert_eq!(answers.len(), requests.len());
        if postgres {
            assert_eq!(
                batch::reruns(),
                reruns,
                "the set-based call answered the batch itself"
            );
            // What this process's subscribers were pushed is what the feed stored, number
            // for number.
            let mut got = Vec::new();
            while let Ok(a) = pushed.try_recv() {
                if a.streamer_id == streamer {
                    got.extend(
                        a.events
                            .iter()
                            .map(|e| (e.seq, e.kind, e.pledge_id.clone())),
                    );
                }
            }
            let stored: Vec<_> = mission_event::Entity::find()
                .filter(mission_event::Column::StreamerId.eq(&streamer))
                .filter(mission_event::Column::Kind.eq(EventKind::Pledged))
                .order_by_asc(mission_event::Column::Seq)
                .all(&db.missions)
                .await
                .expect("feed")
                .into_iter()
                .map(|e| (e.seq, e.kind, e.pledge_id))
                .collect();
            assert_eq!(got.len(), 2, "two new pledges held: {got:?}");
            assert_eq!(got, stored);
        }
        let ok = |i: usize| answers[i].as_ref().expect("pledged").get().clone();
        assert!(answers[0].as_ref().is_ok_and(|p| p.is_new()));
        assert!(
            answers[5].as_ref().is_ok_and(|p| !p.is_new()),
            "a replay is not a new pledge"
        );
        assert_eq!(
            (ok(0).backer_id.as_str(), ok(0).amount),
            (poor.as_str(), 1_000)
        );
        assert_eq!(
            (ok(1).backer_id.as_str(), ok(1).amount),
            (rich.as_str(), 5_000)
        );
        assert!(matches!(
            answers[2],
            Err(LedgerError::InsufficientFunds { .. })
        ));
        assert!(matches!(answers[3], Err(LedgerError::Forbidden(_))));
        assert!(matches!(answers[4], Err(LedgerError::NotFound(_))));
        assert_eq!(ok(5).id, ok(1).id, "a replay answers the first pledge");
        assert!(matches!(answers[6], Err(LedgerError::IdempotencyKeyReused)));
        assert!(matches!(answers[7], Err(LedgerError::InvalidAmount(_))));
        assert_eq!(
            mission::totals(&db.missions, &id)
                .await
                .expect("totals")
                .total_won,
            7_000
        );
        assert_audit_clean(&db).await;
    }
}

#[tokio::test]
async fn settlement_pages_pay_every_pledge_once() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let streamer = user(&db, "streamer", 0).await;
        let creator = user(&db, "creator", 10_000).await;
        let id = new_mission(&db, &creator, &streamer, 1_000).await;
        let mut requests = Vec::new();
        for i in 0..7 {
            let backer = user(&db, "backer", 5_000).await;
            requests.push(pledge(&id, &backer, 1_039 + i, "p"));
        }
        for answer in batch::commit(&db.missions, &rules(), &requests).await {
            answer.expect("pledged");
        }
        let r = rules();
        let act = |a| mission::act(&db.missions, &r, &id, &streamer, a);
        act(&StreamerAction::Accept).await.expect("accept");
        act(&StreamerAction::Decide(
            Outcome::Success,
            Default::default(),
            None,
        ))
        .await
        .expect("decide");

        let (mut after, mut pledges, mut won) = (None::<String>, 0, 0);
        loop {
            let page = mission::settle_page(&db.missions, &id, after.as_deref(), 3, 250)
                .await
                .expect("page");
            if page.pledges == 0 {
                break;
            }
            assert!(page.pledges <= 3);
            pledges += page.pledges;
            won += page.amount_won;
            after = page.last_pledge_id;
        }
        assert_eq!(pledges, 8);
        assert_eq!(won, 1_000 + (0..7).map(|i| 1_039 + i).sum::<i64>());
        let again = mission::settle_page(&db.missions, &id, None, 3, 250)
            .await
            .expect("again");
        assert_eq!(again.pledges, 0, "a settled pledge is never settled twice");
        let settled = mission::mark_settled(&db.missions, &id)
            .await
            .expect("mark");
        assert!(settled.settled_at.is_some());
        let out = mission::outflows(&db.missions, &id)
            .await
            .expect("outflows");
        // The fee is floored per pledge: 25 on 1,000..=1,039, 26 on 1,040..=1,045.
        assert_eq!(out.fee_won, 25 + 25 + 6 * 26);
        assert_eq!(out.paid_won + out.fee_won, won);
        assert_eq!(out.refunded_won, 0);
        assert_audit_clean(&db).await;
    }
}

/// Settlers running side by side (`SETTLEMENT_PAGES_IN_FLIGHT`, Postgres) on both outcomes:
/// each page's first statement takes its pledges, so together they settle every pledge exactly
/// once, and the audit (escrow zero, each pledge paid or refunded once) is clean.
#[tokio::test]
async fn settlers_side_by_side_settle_every_pledge_once() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        for outcome in [Outcome::Success, Outcome::Failure] {
            let streamer = user(&db, "streamer", 0).await;
            let creator = user(&db, "creator", 10_000).await;
            let id = new_mission(&db, &creator, &streamer, 1_000).await;
            let mut requests = Vec::new();
            for i in 0..60 {
                let backer = user(&db, "backer", 5_000).await;
                requests.push(pledge(&id, &backer, 1_000 + i, "p"));
            }
            for answer in batch::commit(&db.missions, &rules(), &requests).await {
                answer.expect("pledged");
            }
            let r = rules();
            let act = |a| mission::act(&db.missions, &r, &id, &streamer, a);
            act(&StreamerAction::Accept).await.expect("accept");
            act(&StreamerAction::Decide(outcome, Default::default(), None))
                .await
                .expect("decide");

            let settler = || async {
                let (mut after, mut pledges, mut won) = (None::<String>, 0u64, 0i64);
                loop {
                    let page = mission::settle_page(&db.missions, &id, after.as_deref(), 4, 250)
                        .await
                        .expect("page");
                    if page.pledges == 0 {
                        return (pledges, won);
                    }
                    pledges += page.pledges;
                    won += page.amount_won;
                    after = page.last_pledge_id;
                }
            };
            // SQLite has one writer: the product settles it one page at a time, so its four
            // settlers run one after another (the later ones find nothing left).
            let done = if db.missions.get_database_backend() == DatabaseBackend::Postgres {
                let (a, b, c, d) = tokio::join!(settler(), settler(), settler(), settler());
                vec![a, b, c, d]
            } else {
                let mut done = Vec::new();
                for _ in 0..4 {
                    done.push(settler().await);
                }
                done
            };
            let pledges: u64 = done.iter().map(|d| d.0).sum();
            let won: i64 = done.iter().map(|d| d.1).sum();
            assert_eq!(
                pledges, 61,
                "{outcome:?}: each pledge settled by exactly one settler"
            );
            assert_eq!(won, 1_000 + (0..60).map(|i| 1_000 + i).sum::<i64>());
            let settled = mission::mark_settled(&db.missions, &id)
                .await
                .expect("mark");
            assert!(settled.settled_at.is_some(), "{outcome:?}: none left held");
            let out = mission::outflows(&db.missions, &id)
                .await
                .expect("outflows");
            match outcome {
                Outcome::Success => assert_eq!(out.paid_won + out.fee_won, won),
                Outcome::Failure => assert_eq!(out.refunded_won, won),
            }
        }
        assert_audit_clean(&db).await;
    }
}

#[tokio::test]
async fn a_prediction_pays_its_pool_exactly_page_by_page() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let streamer = user(&db, "streamer", 0).await;
        let creator = user(&db, "creator", 10_000).await;
        let id = new_mission(&db, &creator, &streamer, 1_000).await;
        let r = rules();
        mission::act(&db.missions, &r, &id, &streamer, &StreamerAction::Accept)
            .await
            .expect("accept");
        // Equal stakes on the winning side leave remainders to hand out one by one.
        let stakes = [
            (Outcome::Success, 3),
            (Outcome::Failure, 1),
            (Outcome::Success, 3),
            (Outcome::Success, 3),
            (Outcome::Failure, 7),
            (Outcome::Success, 5),
        ];
        for (i, (side, points)) in stakes.iter().enumerate() {
            let bettor = user(&db, &format!("bettor{i}"), 0).await;
            prediction::place_bet(&db.missions, &id, &bettor, *side, *points, &key("bet"))
                .await
                .expect("bet");
        }
        mission::act(
            &db.missions,
            &r,
            &id,
            &streamer,
            &StreamerAction::Decide(Outcome::Success, Default::default(), None),
        )
        .await
        .expect("decide");
        prediction::lock(&db.missions, &id).await.expect("lock");
        let plan = prediction::plan(&db.missions, &id)
            .await
            .expect("plan")
            .expect("a prediction");
        assert!(!plan.refunded());
        let mut after: Option<String> = None;
        loop {
            let page = prediction::settle_page(&db.missions, &id, &plan, after.as_deref(), 4)
                .await
                .expect("page");
            if page.bets == 0 {
                break;
            }
            after = page.last_bet_id;
        }
        prediction::finish(&db.missions, &id, &plan)
            .await
            .expect("finish");
        // Parimutuel over the bets in id order, as stored.
        let rows = db
            .missions
            .query_all_raw(Statement::from_sql_and_values(
                db.missions.get_database_backend(),
                format!(
                    "SELECT outcome, points, payout FROM bets WHERE mission_id = {} ORDER BY id",
                    if db.missions.get_database_backend() == sea_orm::DbBackend::Postgres {
                        "$1"
                    } else {
                        "?"
                    }
                ),
                [id.clone().into()],
            ))
            .await
            .expect("bets");
        let payouts: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get::<i64>("", "payout").expect("paid"))
            .collect();
        let stored: Vec<(Outcome, i64)> = rows
            .iter()
            .map(|r| {
                let side = r.try_get::<String>("", "outcome").expect("outcome");
                let side = if side == Outcome::Success.as_str() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                (side, r.try_get::<i64>("", "points").expect("points"))
            })
            .collect();
        let mut sorted_stakes = stakes.to_vec();
        sorted_stakes.sort_by_key(|(o, p)| (o.as_str(), *p));
        let mut sorted_stored = stored.clone();
        sorted_stored.sort_by_key(|(o, p)| (o.as_str(), *p));
        assert_eq!(sorted_stored, sorted_stakes, "every bet stored");
        assert_eq!(
            payouts,
            prediction::parimutuel(&stored, Some(Outcome::Success))
        );
        assert_eq!(payouts.iter().sum::<i64>(), 22);
        assert_audit_clean(&db).await;
    }
}

#[tokio::test]
async fn the_database_accepts_every_kind_the_ledger_writes_and_nothing_else() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let someone = user(&db, "someone", 0).await;
        for (i, kind) in TransferKind::ALL.iter().enumerate() {
            transfer::apply(
                &db.missions,
                &Transfer {
                    id: format!("kind-test:{i}"),
                    debit: AccountId::world(Currency::Cash),
                    credit: AccountId::wallet(Currency::Cash, &someone),
                    amount: Amount::new(1).expect("amount"),
                    kind: *kind,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
        let backend = db.missions.get_database_backend();
        let refused = |sql: &str| {
            let db = db.missions.clone();
            let sql = sql.to_owned();
            async move { db.execute_raw(Statement::from_string(backend, sql)).await }
        };
        let now = if backend == sea_orm::DbBackend::Postgres {
            "now()"
        } else {
            "CURRENT_TIMESTAMP"
        };
        assert!(
            refused(&format!(
                "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at, credit_balance_after) \
                 VALUES ('odd', 'world:CASH', 'fee:CASH', 'CASH', 1, 'GIFT', {now}, 1)"
            ))
            .await
            .is_err(),
            "an unknown transfer kind"
        );
        assert!(
            refused(&format!(
                "INSERT INTO accounts (id, kind, owner_id, currency, balance, materialised, created_at) \
                 VALUES ('escrow:CASH:odd', 'ESCROW', 'odd', 'CASH', 0, TRUE, {now})"
            ))
            .await
            .is_err(),
            "a materialised escrow"
        );
        assert!(
            refused(&format!(
                "INSERT INTO accounts (id, kind, owner_id, currency, balance, materialised, created_at) \
                 VALUES ('wallet:CASH:odd', 'WALLET', 'odd', 'CASH', 0, FALSE, {now})"
            ))
            .await
            .is_err(),
            "a journal-only wallet"
        );
    }
}
