//! The game's daily points (issue 31, item 1), through HTTP on Postgres: once per Asia/Seoul
//! day, a streak's bonus across the KST midnight, `ALREADY_CLAIMED` with the next midnight as
//! `retryAt`, racing claims granting once, the statement's `DAILY_POINTS`, the switch off; and
//! the audit proving points and cash never meet.

use crate::support::{Gql, Session, TestApp};
use chrono::{DateTime, Duration, Utc};
use missionlink_ledger::prediction::daily::{self, DailyPoints};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

const CLAIM: &str = "mutation { claimDailyPoints { day streak points bonus nextClaimAt
    wallet { points cash } } }";

async fn claim(app: &TestApp, who: &Session) -> Gql {
    app.gql(Some(&who.access), CLAIM, json!({})).await
}

async fn standing(app: &TestApp, who: &Session) -> Value {
    app.gql(
        Some(&who.access),
        "{ wallet { points dailyPoints { claimedToday streak claimable nextClaimAt } } }",
        json!({}),
    )
    .await
    .data("wallet")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

/// The next Asia/Seoul midnight after now.
fn next_kst_midnight() -> DateTime<Utc> {
    let kst = Utc::now() + Duration::hours(9);
    let midnight = (kst.date_naive() + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    (midnight - Duration::hours(9)).and_utc()
}

#[tokio::test]
async fn a_claim_a_day_and_a_streak_that_crosses_the_kst_midnight() {
    let app = TestApp::spawn().await;
    let fan = app.register("dailyfan").await;
    let before = standing(&app, &fan).await;
    assert_eq!(before["points"], 1_000, "the signup points");
    assert_eq!(
        before["dailyPoints"],
        json!({ "claimedToday": false, "streak": 0, "claimable": 100,
                "nextClaimAt": before["dailyPoints"]["nextClaimAt"] })
    );

    let first = claim(&app, &fan).await.data("claimDailyPoints");
    assert_eq!(
        (
            first["streak"].clone(),
            first["points"].clone(),
            first["bonus"].clone()
        ),
        (json!(1), json!(100), json!(0))
    );
    assert_eq!(first["wallet"]["points"], 1_100);
    assert_eq!(first["wallet"]["cash"], 0, "points never become cash");
    assert_eq!(
        at(first["nextClaimAt"].as_str().expect("time")),
        next_kst_midnight()
    );

    let again = claim(&app, &fan).await;
    assert_eq!(again.code(), "ALREADY_CLAIMED", "{}", again.0);
    let retry_at = again.0["errors"][0]["extensions"]["retryAt"]
        .as_str()
        .expect("retryAt");
    assert_eq!(at(retry_at), next_kst_midnight());
    let after = standing(&app, &fan).await;
    assert_eq!(after["points"], 1_100, "the refusal changed nothing");
    assert_eq!(after["dailyPoints"]["claimedToday"], true);
    assert_eq!(after["dailyPoints"]["claimable"], 0);

    // The statement shows it as its own kind.
    let statement = app
        .gql(
            Some(&fan.access),
            "{ wallet { transactions(kind: [DAILY_POINTS]) { nodes { kind balance amount balanceAfter } } } }",
            json!({}),
        )
        .await
        .data("wallet");
    assert_eq!(
        statement["transactions"]["nodes"],
        json!([{ "kind": "DAILY_POINTS", "balance": "POINTS", "amount": 100, "balanceAfter": 1_100 }])
    );

    // Another fan claimed on each of the last four Asia/Seoul days, the second of them a second
    // before its midnight and the third a second after it: a streak of four, which today's
    // claim continues.
    let streaker = app.register("streaker").await;
    let rules = DailyPoints::default();
    let today = Utc::now();
    let midnight_3_days_ago = next_kst_midnight() - Duration::days(3);
    for (when, streak) in [
        (today - Duration::days(4), 1),
        (midnight_3_days_ago - Duration::seconds(1), 2),
        (midnight_3_days_ago, 3),
        (today - Duration::days(1), 4),
    ] {
        let made = daily::claim(&app.db.missions, &streaker.user_id, rules, when)
            .await
            .expect("an earlier day's claim");
        assert_eq!(made.streak, streak, "{when}");
    }
    let standing_now = standing(&app, &streaker).await;
    assert_eq!(standing_now["dailyPoints"]["streak"], 4);
    assert_eq!(standing_now["dailyPoints"]["claimable"], 140);
    let fifth = claim(&app, &streaker).await.data("claimDailyPoints");
    assert_eq!(
        (fifth["streak"].clone(), fifth["bonus"].clone()),
        (json!(5), json!(40))
    );
    // 1,000 + 100 + 110 + 120 + 130 + 140.
    assert_eq!(fifth["wallet"]["points"], 1_600);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn racing_claims_grant_once() {
    racing_claims(&TestApp::spawn().await).await;
}

/// On SQLite, the default: a claim racing others (and another user's) waits its turn and is
/// `ALREADY_CLAIMED`, never "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_claims_grant_once_on_sqlite() {
    let app = TestApp::spawn_with(crate::support::TestDatabases::sqlite(), &[]).await;
    let other = app.register("neighbour").await;
    let other_claim = async { claim(&app, &other).await.data("claimDailyPoints") };
    tokio::join!(racing_claims(&app), other_claim);
}

/// Eight claims of one user at once: one grant, seven `ALREADY_CLAIMED`, the audit clean.
async fn racing_claims(app: &TestApp) {
    let fan = app.register("racer").await;
    let answers = futures::future::join_all((0..8).map(|_| claim(app, &fan))).await;
    let granted = answers
        .iter()
        .filter(|r| r.0.get("errors").is_none())
        .count();
    assert_eq!(granted, 1, "{answers:?}");
    for r in answers.iter().filter(|r| r.0.get("errors").is_some()) {
        assert_eq!(r.code(), "ALREADY_CLAIMED", "{}", r.0);
    }
    assert_eq!(standing(app, &fan).await["points"], 1_100);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_server_without_the_daily_claim_refuses_it() {
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[("DAILY_POINTS", "0")],
    )
    .await;
    let fan = app.register("nodaily").await;
    let r = claim(&app, &fan).await;
    assert_eq!(r.code(), "FORBIDDEN", "{}", r.0);
    assert_eq!(standing(&app, &fan).await["dailyPoints"]["claimable"], 0);
}

/// Points bought with a cash movement's kind pass every constraint of the schema (the
/// currencies match); the audit names them.
#[tokio::test]
async fn the_audit_names_points_moved_by_a_cash_kind() {
    let app = TestApp::spawn().await;
    let fan = app.register("buyer").await;
    claim(&app, &fan).await.data("claimDailyPoints");
    app.assert_audit_clean().await;
    let sql = format!(
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, \
           created_at, debit_balance_after, credit_balance_after) \
         VALUES ('bought', 'world:POINTS', 'wallet:POINTS:{u}', 'POINTS', 500, 'TOPUP', now(), \
           0, 1600)",
        u = fan.user_id
    );
    app.db
        .missions
        .execute_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("the schema takes it");
    let out = app.audit().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("VIOLATION [points_apart] transfer bought"),
        "{stdout}"
    );
    // A grant whose claim is gone: granted without a claim of the day.
    app.db
        .missions
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("DELETE FROM daily_claims WHERE user_id = '{}'", fan.user_id),
        ))
        .await
        .expect("delete the claim");
    let stdout = String::from_utf8_lossy(&app.audit().await.stdout).into_owned();
    assert!(
        stdout.contains(&format!("VIOLATION [daily_points] daily:{}:", fan.user_id)),
        "{stdout}"
    );
}
