//! The payouts' ledger driven directly, without HTTP or Temporal, on PostgreSQL and SQLite:
//! request (idempotent, the account snapshotted), the cancel racing the start of processing
//! (one winner), finishing exactly once, and the audit's payout check — clean after each
//! step, and catching a payout whose money did not move as its status says.

use crate::support::{
    DAILY_LIMIT_WON, Databases, assert_audit_clean, key, new_mission, open, rules,
};
use missionlink_ledger::idempotency::Effect;
use missionlink_ledger::mission::{self, StreamerAction};
use missionlink_ledger::payout::{self, AccountNumber, HolderName, Outcome, PayoutRules};
use missionlink_ledger::status::{self, PayoutStatus};
use missionlink_ledger::{LedgerError, audit, wallet};
use missionlink_testdb::TestDatabases;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

const PAYOUTS: PayoutRules = PayoutRules {
    min_won: 10_000,
    fee_won: 1_000,
    hold_seconds: 3_600,
};

/// A streamer whose earnings hold `won`: a viewer's mission to them succeeded and settled.
async fn streamer_with_earnings(db: &Databases, won: i64) -> String {
    let streamer = format!("streamer-{}", uuid::Uuid::new_v4().simple());
    let viewer = format!("viewer-{}", uuid::Uuid::new_v4().simple());
    for id in [&streamer, &viewer] {
        wallet::open_user(&db.missions, id, 0).await.expect("open");
    }
    wallet::top_up(&db.missions, &viewer, won, &key("seed"), DAILY_LIMIT_WON)
        .await
        .expect("top up");
    let id = new_mission(db, &viewer, &streamer, won).await;
    let r = rules();
    let act = |a| mission::act(&db.missions, &r, &id, &streamer, a);
    act(&StreamerAction::Accept).await.expect("accept");
    act(&StreamerAction::Decide(
        status::Outcome::Success,
        Default::default(),
        None,
    ))
    .await
    .expect("decide");
    while mission::settle_page(&db.missions, &id, None, 100, 0)
        .await
        .expect("settle")
        .pledges
        > 0
    {}
    assert_eq!(earnings(db, &streamer).await, won);
    streamer
}

async fn earnings(db: &Databases, user: &str) -> i64 {
    wallet::read(&db.missions, user)
        .await
        .expect("wallet")
        .earnings_won
}

async fn set_account(db: &Databases, user: &str, number: &str) {
    payout::set_account(
        &db.missions,
        user,
        "004",
        &AccountNumber::parse(number).expect("number"),
        &HolderName::parse("김민지").expect("holder"),
    )
    .await
    .expect("set account");
}

#[tokio::test]
async fn payouts_move_money_exactly_once_on_both_backends() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let streamer = streamer_with_earnings(&db, 50_000).await;
        let refused = payout::request(&db.missions, &streamer, 20_000, &key("a"), &PAYOUTS).await;
        assert!(
            matches!(
                refused,
                Err(LedgerError::Refused {
                    code: "PAYOUT_ACCOUNT_REQUIRED",
                    ..
                })
            ),
            "{refused:?}"
        );
        set_account(&db, &streamer, "110-123-456789").await;

        let made = payout::request(&db.missions, &streamer, 20_000, &key("a"), &PAYOUTS)
            .await
            .expect("request");
        let Effect::New(p) = made else {
            panic!("a new payout: {made:?}")
        };
        assert_eq!(
            (p.status, p.amount, p.fee),
            (PayoutStatus::Requested, 20_000, 1_000)
        );
        assert_eq!(earnings(&db, &streamer).await, 30_000);
        let again = payout::request(&db.missions, &streamer, 20_000, &key("a"), &PAYOUTS)
            .await
            .expect("replay");
        assert!(
            matches!(&again, Effect::Replayed(r) if r.id == p.id),
            "{again:?}"
        );
        assert!(matches!(
            payout::request(&db.missions, &streamer, 15_000, &key("a"), &PAYOUTS).await,
            Err(LedgerError::IdempotencyKeyReused)
        ));
        assert!(matches!(
            payout::request(&db.missions, &streamer, 40_000, &key("b"), &PAYOUTS).await,
            Err(LedgerError::InsufficientFunds { .. })
        ));
        assert_eq!(earnings(&db, &streamer).await, 30_000, "charged once");
        assert_audit_clean(&db).await;

        // A new account never redirects a payout already requested.
        set_account(&db, &streamer, "9999-8888-7777").await;
        let kept = payout::find(&db.missions, &p.id).await.expect("find");
        assert_eq!(kept.account_number, "110123456789");
        assert_eq!(kept.account_masked, "********6789");

        // The cancel and the end of the hold, at once: exactly one of them wins.
        let cancel_key = key("cancel-p");
        let (cancelled, started) = tokio::join!(
            payout::cancel(&db.missions, &streamer, &p.id, &cancel_key),
            payout::start_processing(&db.missions, &p.id)
        );
        let started = started.expect("start");
        match cancelled {
            Ok((row, true)) => {
                assert_eq!(row.status, PayoutStatus::Cancelled);
                assert_eq!(started.status, PayoutStatus::Cancelled);
                assert_eq!(earnings(&db, &streamer).await, 50_000);
            }
            Err(LedgerError::InvalidState(_)) => {
                assert_eq!(started.status, PayoutStatus::Processing);
                let (paid, changed) = payout::finish(&db.missions, &p.id, &Outcome::Paid)
                    .await
                    .expect("paid");
                assert!(changed && paid.status == PayoutStatus::Paid);
                let (again, changed) = payout::finish(&db.missions, &p.id, &Outcome::Paid)
                    .await
                    .expect("paid again");
                assert!(!changed && again.status == PayoutStatus::Paid, "once");
                assert!(matches!(
                    payout::finish(&db.missions, &p.id, &Outcome::Failed("late".into())).await,
                    Err(LedgerError::InvalidState(_))
                ));
                assert_eq!(earnings(&db, &streamer).await, 30_000);
            }
            other => panic!("neither won cleanly: {other:?}"),
        }
        assert_audit_clean(&db).await;

        // A payout the bank refuses gives everything back, once.
        let before = earnings(&db, &streamer).await;
        let q = payout::request(&db.missions, &streamer, 10_000, &key("c"), &PAYOUTS)
            .await
            .expect("request")
            .into_inner();
        assert_eq!(
            payout::start_processing(&db.missions, &q.id)
                .await
                .expect("start")
                .status,
            PayoutStatus::Processing
        );
        assert!(matches!(
            payout::cancel(&db.missions, &streamer, &q.id, &key("cancel-q")).await,
            Err(LedgerError::InvalidState(_))
        ));
        for _ in 0..2 {
            let (failed, _) =
                payout::finish(&db.missions, &q.id, &Outcome::Failed("closed".into()))
                    .await
                    .expect("failed");
            assert_eq!(failed.failure_reason.as_deref(), Some("closed"));
        }
        assert_eq!(earnings(&db, &streamer).await, before);
        assert_audit_clean(&db).await;
    }
}

#[tokio::test]
async fn the_audit_catches_a_payout_whose_money_did_not_move_as_its_status_says() {
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let streamer = streamer_with_earnings(&db, 20_000).await;
        set_account(&db, &streamer, "110-123-456789").await;
        let p = payout::request(&db.missions, &streamer, 20_000, &key("a"), &PAYOUTS)
            .await
            .expect("request")
            .into_inner();
        assert_audit_clean(&db).await;
        // PAID by hand, the hold never emptied: the audit must say so.
        let sql = match db.missions.get_database_backend() {
            DatabaseBackend::Postgres => {
                "UPDATE payouts SET status = 'PAID', processing_at = now(), finished_at = now() WHERE id = $1"
            }
            _ => {
                "UPDATE payouts SET status = 'PAID', processing_at = '2026-01-01T00:00:00Z', finished_at = '2026-01-01T00:00:00Z' WHERE id = ?"
            }
        };
        db.missions
            .execute_raw(Statement::from_sql_and_values(
                db.missions.get_database_backend(),
                sql,
                [p.id.clone().into()],
            ))
            .await
            .expect("tamper");
        let violations = audit::run(&db.missions).await.expect("audit");
        assert!(
            violations
                .iter()
                .any(|v| v.check == "payout" && v.detail.contains(&p.id)),
            "{violations:?}"
        );
    }
}

/// An operator's hold, and a suspension's sweep, racing the end of the hold, on both backends:
/// the payout either left first (PROCESSING, the hold refused, the sweep passing it over) or
/// it never leaves (held, or cancelled with its money back); never both, and the audit stays
/// clean.
#[tokio::test]
async fn holds_and_suspensions_racing_the_end_of_the_hold_have_one_winner() {
    use missionlink_ledger::operator::{self, Acting};
    for dbs in [TestDatabases::postgres().await, TestDatabases::sqlite()] {
        let db = open(&dbs).await;
        let acting = Acting::new("operator-1", "account takeover").expect("acting");
        for round in 0..4 {
            let streamer = streamer_with_earnings(&db, 30_000).await;
            set_account(&db, &streamer, "110-123-456789").await;
            let p = payout::request(
                &db.missions,
                &streamer,
                20_000,
                &key(&format!("race-{round}")),
                &PAYOUTS,
            )
            .await
            .expect("request")
            .into_inner();
            let (held, started) = tokio::join!(
                operator::hold(&db.missions, &acting, &p.id),
                payout::start_processing(&db.missions, &p.id)
            );
            let started = started.expect("start");
            let now = payout::find(&db.missions, &p.id).await.expect("find");
            match held {
                Ok((row, _)) => {
                    assert!(row.held_at.is_some());
                    assert_eq!(now.status, PayoutStatus::Requested, "a held payout left");
                    assert!(now.held_at.is_some());
                    // A worker of an older release, which knows no holds, cannot send it
                    // either: the database refuses the step.
                    let backend = db.missions.get_database_backend();
                    let old_step = db
                        .missions
                        .execute_raw(Statement::from_sql_and_values(
                            backend,
                            if backend == DatabaseBackend::Postgres {
                                "UPDATE payouts SET status = 'PROCESSING', processing_at = now() \
                                 WHERE id = $1 AND status = 'REQUESTED'"
                            } else {
                                "UPDATE payouts SET status = 'PROCESSING', \
                                 processing_at = '2026-12-06T10:00:00+00:00' \
                                 WHERE id = ? AND status = 'REQUESTED'"
                            },
                            [p.id.clone().into()],
                        ))
                        .await;
                    assert!(old_step.is_err(), "{backend:?}: {old_step:?}");
                    // Nor can its streamer cancel it and ask again around the hold.
                    let cancel =
                        payout::cancel(&db.missions, &streamer, &p.id, &key(&format!("c-{round}")))
                            .await;
                    assert!(
                        matches!(cancel, Err(LedgerError::InvalidState(_))),
                        "{cancel:?}"
                    );
                }
                Err(LedgerError::InvalidState(_)) => {
                    assert_eq!(started.status, PayoutStatus::Processing);
                    assert_eq!(now.status, PayoutStatus::Processing);
                }
                Err(e) => panic!("hold: {e:?}"),
            }

            // A second payout, and its streamer suspended while its hold ends.
            let q = payout::request(
                &db.missions,
                &streamer,
                10_000,
                &key(&format!("race-s-{round}")),
                &PAYOUTS,
            )
            .await
            .expect("request")
            .into_inner();
            let suspend = async {
                let action = operator::suspend(&db.missions, &acting, &streamer, None)
                    .await
                    .expect("record");
                operator::cancel_payouts_of(&db.missions, &acting, &streamer, &action.id)
                    .await
                    .expect("sweep")
            };
            let (swept, started) =
                tokio::join!(suspend, payout::start_processing(&db.missions, &q.id));
            started.expect("start");
            let now = payout::find(&db.missions, &q.id).await.expect("find");
            match now.status {
                PayoutStatus::Cancelled => assert!(swept.contains(&q.id)),
                PayoutStatus::Processing => assert!(!swept.contains(&q.id)),
                other => panic!("payout {other} after the sweep: {now:?}"),
            }
            // Once suspended, no payout of theirs starts: it is held.
            let later = payout::request(
                &db.missions,
                &streamer,
                10_000,
                &key(&format!("after-{round}")),
                &PAYOUTS,
            )
            .await;
            if let Ok(later) = later {
                let later = later.into_inner();
                let after = payout::start_processing(&db.missions, &later.id)
                    .await
                    .expect("start");
                assert_eq!(after.status, PayoutStatus::Requested);
                assert!(
                    after.held_at.is_some(),
                    "a suspended streamer's payout left"
                );
            }
            assert_audit_clean(&db).await;
        }
    }
}
