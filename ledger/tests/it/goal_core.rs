//! Streamer goals driven directly, on PostgreSQL and SQLite: one pledge batch crossing the goal
//! and both tiers (the set-based path on Postgres, pledge by pledge on SQLite), then a tiered
//! verdict settled by settlers side by side; every backer's refund is the stated rule's, to the
//! won, and the audit is clean.

use crate::support::{DAILY_LIMIT_WON, assert_audit_clean, key, open, rules};
use chrono::{Duration, Utc};
use missionlink_ledger::batch::{self, PledgeRequest};
use missionlink_ledger::mission::{self, NewGoal, NewTier, StreamerAction};
use missionlink_ledger::status::{MissionStatus, Outcome};
use missionlink_ledger::wallet;
use missionlink_testdb::TestDatabases;
use sea_orm::{ConnectionTrait, DatabaseBackend};

#[tokio::test]
async fn a_batch_across_the_goal_and_a_tiered_verdict_settled_side_by_side_refund_by_the_rule() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let backend = db.missions.get_database_backend();
        let streamer = format!("streamer-{}", uuid::Uuid::new_v4().simple());
        wallet::open_user(&db.missions, &streamer, 0)
            .await
            .expect("open");
        let goal = mission::create_goal(
            &db.missions,
            &rules(),
            &NewGoal {
                streamer_id: streamer.clone(),
                title: "Diamond by Sunday".into(),
                description: None,
                goal_won: 10_000,
                tiers: vec![
                    NewTier {
                        amount_won: 20_000,
                        title: "No deaths".into(),
                    },
                    NewTier {
                        amount_won: 40_000,
                        title: "Blindfolded".into(),
                    },
                ],
                funding_ends_at: Utc::now() + Duration::hours(1),
                duration_seconds: 3600,
            },
            &key("goal"),
        )
        .await
        .expect("create")
        .into_inner();
        assert_eq!(goal.status, MissionStatus::Funding);
        // 37 backers with awkward amounts, in one batch: 41,662 won, past the goal and both
        // tiers.
        let mut requests = Vec::new();
        for i in 0..37 {
            let backer = format!("backer-{i}-{}", uuid::Uuid::new_v4().simple());
            wallet::open_user(&db.missions, &backer, 0)
                .await
                .expect("open");
            wallet::top_up(&db.missions, &backer, 50_000, &key("seed"), DAILY_LIMIT_WON)
                .await
                .expect("top up");
            requests.push(PledgeRequest {
                mission_id: goal.id.clone(),
                backer_id: backer,
                amount_won: 1_000 + 7 * i,
                key: key("p"),
                note: Default::default(),
            });
        }
        let mut pledges: Vec<(String, String, i64)> =
            batch::commit(&db.missions, &rules(), &requests)
                .await
                .into_iter()
                .map(|a| {
                    let p = a.expect("pledged").into_inner();
                    (p.id, p.backer_id, p.amount)
                })
                .collect();
        let active = mission::find(&db.missions, &goal.id).await.expect("find");
        assert_eq!(active.status, MissionStatus::Active, "{backend:?}");
        assert!(active.deadline.is_some());
        let tiers = mission::tiers(&db.missions, &goal.id).await.expect("tiers");
        assert!(tiers.iter().all(|t| t.reached_at.is_some()), "{tiers:?}");

        let r = rules();
        mission::act(
            &db.missions,
            &r,
            &goal.id,
            &streamer,
            &StreamerAction::Decide(Outcome::Success, Default::default(), Some(1)),
        )
        .await
        .expect("decide");
        let settler = || async {
            let mut after = None::<String>;
            loop {
                let page = mission::settle_page(&db.missions, &goal.id, after.as_deref(), 4, 250)
                    .await
                    .expect("page");
                if page.pledges == 0 {
                    return;
                }
                after = page.last_pledge_id;
            }
        };
        if backend == DatabaseBackend::Postgres {
            tokio::join!(settler(), settler(), settler(), settler());
        } else {
            settler().await;
        }
        assert!(
            mission::mark_settled(&db.missions, &goal.id)
                .await
                .expect("mark")
                .settled_at
                .is_some()
        );

        // The rule, computed here on its own: H = 41,662, P = 20,000, R = 21,662; each pledge
        // gets floor(R × a ÷ H), the remainder one won each to the earliest pledges.
        pledges.sort();
        let held: i64 = pledges.iter().map(|p| p.2).sum();
        let refund = held - 20_000;
        let shares: Vec<i64> = pledges.iter().map(|p| refund * p.2 / held).collect();
        let remainder = refund - shares.iter().sum::<i64>();
        assert!(
            remainder > 0 && remainder < 37,
            "an awkward remainder: {remainder}"
        );
        let mut fee = 0;
        for (i, ((_, backer, amount), share)) in pledges.iter().zip(&shares).enumerate() {
            let back = share + i64::from(i64::try_from(i).expect("i") < remainder);
            let cash = wallet::read(&db.missions, backer)
                .await
                .expect("wallet")
                .cash_won;
            assert_eq!(cash, 50_000 - amount + back, "{backend:?}: pledge {i}");
            fee += (amount - back) * 250 / 10_000;
        }
        let out = mission::outflows(&db.missions, &goal.id)
            .await
            .expect("outflows");
        assert_eq!(out.refunded_won, refund, "{backend:?}");
        assert_eq!(out.paid_won + out.fee_won, 20_000, "{backend:?}");
        assert_eq!(
            out.fee_won, fee,
            "{backend:?}: each paid part's fee, rounded down"
        );
        assert_audit_clean(&db).await;
        // The audit holds settlement to the split the verdict fixed.
        db.missions
            .execute_unprepared(&format!(
                "UPDATE missions SET tier_refund_won = tier_refund_won + 1 WHERE id = '{}'",
                goal.id
            ))
            .await
            .expect("corrupt");
        let found = missionlink_ledger::audit::run(&db.missions)
            .await
            .expect("audit");
        assert!(
            found.len() == 1 && found[0].check == "tiered_split",
            "{backend:?}: {found:?}"
        );
    }
}
