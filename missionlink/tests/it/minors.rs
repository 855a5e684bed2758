//! Minors (issue 26, item 2) through real HTTP: a verified person under 19 is refused every
//! top-up (`GUARDIAN_CONSENT_REQUIRED`) before anything is written or the payment provider
//! asked; `recordGuardianConsent` takes an adult guardian verified through the same verifier
//! (the sandbox, development's default, and PortOne's documented API on a local server), never
//! a minor or the minor themself; with consent, top-ups through the sandbox `topUp` and through
//! `prepareTopUp`/`confirmTopUp` (a local server speaking Toss's API) stop at
//! `TOPUP_MINOR_MONTHLY_LIMIT_WON` per Asia/Seoul month, racing ones too, and a refusal changes
//! nothing; someone 19 today needs neither.

use crate::fake_portone::FakePortOne;
use crate::fake_toss::FakeToss;
use crate::support::{Gql, Session, TestApp, TestDatabases};
use chrono::{Datelike, NaiveDate, Utc};
use missionlink_ledger::topup::{day, month};
use serde_json::{Value, json};

const VERIFY: &str = "mutation($id: String!) {
    verifyIdentity(provider: PORTONE, certificationId: $id) { adult } }";
const CONSENT: &str = "mutation($id: String!) {
    recordGuardianConsent(provider: PORTONE, certificationId: $id) {
        provider verifiedAt adult guardianConsentAt } }";
const IDENTITY: &str = "{ me { identity { adult guardianConsentAt } } }";
const PREPARE: &str = "mutation($a: Int!) { prepareTopUp(amount: $a) { orderId amount } }";
const CONFIRM: &str = "mutation($o: String!, $k: String!, $a: Int!) {
    confirmTopUp(orderId: $o, paymentKey: $k, amount: $a) { status } }";
const WALLET: &str = "{ wallet { cash topUps(first: 50) { totalCount }
    topUpLimit { usedToday remainingToday
        monthly { limit usedThisMonth remainingThisMonth resetsAt } } } }";

/// Today in Asia/Seoul, `years` years back (28 February for a 29th that year lacks).
fn years_ago(years: i32) -> NaiveDate {
    let today = day::kst_day(Utc::now());
    today
        .with_year(today.year() - years)
        .or_else(|| NaiveDate::from_ymd_opt(today.year() - years, 2, 28))
        .expect("a date")
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A viewer, address proven, verified over HTTP as `person` born `birth` (the sandbox).
async fn person(app: &TestApp, handle: &str, birth: NaiveDate) -> Session {
    let who = app.register_unverified(handle, "VIEWER").await;
    app.mark_email_verified(&who.user_id).await;
    let id = format!("sandbox:{handle}:{}:{handle}-person", ymd(birth));
    app.gql(Some(&who.access), VERIFY, json!({ "id": id }))
        .await
        .data("verifyIdentity");
    who
}

/// A minor of fifteen.
async fn minor(app: &TestApp, handle: &str) -> Session {
    let who = person(app, handle, years_ago(15)).await;
    assert_eq!(identity(app, &who).await["adult"], false);
    who
}

async fn consent(app: &TestApp, who: &Session, id: &str) -> Gql {
    app.gql(Some(&who.access), CONSENT, json!({ "id": id }))
        .await
}

/// `who`'s guardian, an adult born in 1975, consents.
async fn consented(app: &TestApp, who: &Session) {
    let id = format!("sandbox:보호자:1975-03-03:guardian-of-{}", who.user_id);
    let c = consent(app, who, &id).await.data("recordGuardianConsent");
    assert!(c["guardianConsentAt"].is_string(), "{c}");
}

async fn identity(app: &TestApp, who: &Session) -> Value {
    app.gql(Some(&who.access), IDENTITY, json!({}))
        .await
        .data("me")["identity"]
        .clone()
}

async fn wallet(app: &TestApp, who: &Session) -> Value {
    app.gql(Some(&who.access), WALLET, json!({}))
        .await
        .data("wallet")
}

async fn prepare(app: &TestApp, who: &Session, amount: i64) -> Gql {
    app.gql(Some(&who.access), PREPARE, json!({ "a": amount }))
        .await
}

async fn order(app: &TestApp, who: &Session, amount: i64) -> String {
    prepare(app, who, amount).await.data("prepareTopUp")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned()
}

async fn confirm(app: &TestApp, who: &Session, order_id: &str, key: &str, amount: i64) -> Gql {
    app.gql(
        Some(&who.access),
        CONFIRM,
        json!({ "o": order_id, "k": key, "a": amount }),
    )
    .await
}

/// A refusal of the month: its code, what remains, and the first Seoul midnight of next month.
fn assert_month_full(r: &Gql, remaining: i64) {
    assert_eq!(r.code(), "TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED", "{}", r.0);
    let ext = &r.0["errors"][0]["extensions"];
    assert_eq!(ext["limit"], 70_000, "{ext}");
    assert_eq!(ext["remainingThisMonth"], remaining, "{ext}");
    let retry_at = chrono::DateTime::parse_from_rfc3339(ext["retryAt"].as_str().expect("retryAt"))
        .expect("rfc3339");
    assert_eq!(retry_at, month::next_kst_month(Utc::now()));
}

#[tokio::test]
async fn a_minor_is_refused_without_consent_before_any_payment_and_capped_monthly_with_it() {
    let toss = FakeToss::start().await;
    let app = toss.app(TestDatabases::postgres().await, &[]).await;
    let teen = minor(&app, "teen").await;
    assert!(identity(&app, &teen).await["guardianConsentAt"].is_null());
    let w = wallet(&app, &teen).await;
    assert_eq!(w["topUpLimit"]["monthly"]["limit"], 70_000, "{w}");
    assert_eq!(w["topUpLimit"]["monthly"]["usedThisMonth"], 0);

    // Without a guardian's consent: refused before anything is written or Toss is asked.
    let before = app.snapshot().await;
    let r = prepare(&app, &teen, 10_000).await;
    assert_eq!(r.code(), "GUARDIAN_CONSENT_REQUIRED", "{}", r.0);
    assert!(r.message().contains("guardian"), "{}", r.0);
    let r = app.top_up(&teen, 10_000, "t-1").await;
    assert_eq!(r.code(), "GUARDIAN_CONSENT_REQUIRED", "{}", r.0);
    assert_eq!(app.snapshot().await, before, "nothing written");
    assert_eq!(wallet(&app, &teen).await["topUps"]["totalCount"], 0);
    assert!(toss.requests().is_empty(), "the provider is not asked");

    // A guardian who is a minor, and the minor's own check: refused, nothing recorded.
    let young = format!("sandbox:동생:{}:teen-sibling", ymd(years_ago(17)));
    let r = consent(&app, &teen, &young).await;
    assert_eq!(r.code(), "GUARDIAN_NOT_ADULT", "{}", r.0);
    let own = format!("sandbox:teen:{}:teen-person", ymd(years_ago(15)));
    let r = consent(&app, &teen, &own).await;
    assert_eq!(r.code(), "GUARDIAN_IS_SELF", "{}", r.0);
    // Whatever name and birth date the check gives, the same person's key is the minor.
    let r = consent(&app, &teen, "sandbox:Other Name:1970-01-01:teen-person").await;
    assert_eq!(r.code(), "GUARDIAN_IS_SELF", "{}", r.0);
    let r = consent(&app, &teen, "imp_unknown").await;
    assert_eq!(r.code(), "IDENTITY_NOT_VERIFIED", "{}", r.0);
    assert!(identity(&app, &teen).await["guardianConsentAt"].is_null());
    assert_eq!(
        prepare(&app, &teen, 10_000).await.code(),
        "GUARDIAN_CONSENT_REQUIRED"
    );

    // Consent needs a verified caller, and an adult needs none.
    let nobody = app.register_unverified("teennobody", "VIEWER").await;
    app.mark_email_verified(&nobody.user_id).await;
    let r = consent(&app, &nobody, "sandbox:보호자:1975-03-03:g").await;
    assert_eq!(r.code(), "IDENTITY_REQUIRED", "{}", r.0);
    let adult = app.register("teenadult").await;
    let r = consent(&app, &adult, "sandbox:보호자:1975-03-03:g").await;
    assert_eq!(r.code(), "INVALID_STATE", "{}", r.0);
    assert!(wallet(&app, &adult).await["topUpLimit"]["monthly"].is_null());

    // An adult guardian consents; the minor reads when, nothing of the guardian.
    let c = consent(&app, &teen, "sandbox:보호자:1975-03-03:teen-parent")
        .await
        .data("recordGuardianConsent");
    assert_eq!(c["adult"], false);
    assert_eq!(c["provider"], "PORTONE");
    let at = c["guardianConsentAt"].as_str().expect("guardianConsentAt");
    assert_eq!(identity(&app, &teen).await["guardianConsentAt"], at);

    // Up to the month's 70,000 won, through both doors.
    app.top_up(&teen, 30_000, "t-2").await.data("topUp");
    let o = order(&app, &teen, 20_000).await;
    let key = toss.pay(&o, 20_000);
    assert_eq!(
        confirm(&app, &teen, &o, &key, 20_000)
            .await
            .data("confirmTopUp")["status"],
        "CONFIRMED"
    );
    // A declined payment gives its reservation back, to the day and to the month.
    let o = order(&app, &teen, 10_000).await;
    let key = toss.pay(&o, 10_000);
    toss.decline(&key);
    let r = confirm(&app, &teen, &o, &key, 10_000).await;
    assert_eq!(r.code(), "PAYMENT_FAILED", "{}", r.0);
    let w = wallet(&app, &teen).await;
    assert_eq!(w["topUpLimit"]["monthly"]["usedThisMonth"], 50_000, "{w}");
    assert_eq!(w["topUpLimit"]["usedToday"], 50_000, "{w}");

    // An order that fits when prepared is refused at its confirm once the month filled,
    // before the provider takes it.
    let late = order(&app, &teen, 20_000).await;
    let late_key = toss.pay(&late, 20_000);
    app.top_up(&teen, 20_000, "t-3").await.data("topUp");
    let w = wallet(&app, &teen).await;
    assert_eq!(w["cash"], 70_000);
    assert_eq!(w["topUpLimit"]["monthly"]["usedThisMonth"], 70_000);
    assert_eq!(w["topUpLimit"]["monthly"]["remainingThisMonth"], 0);
    let taken = toss.taken();
    let before = app.snapshot().await;
    let r = confirm(&app, &teen, &late, &late_key, 20_000).await;
    assert_month_full(&r, 0);
    assert_eq!(toss.taken(), taken, "a refused top-up is never charged");

    // The month is full: refused early, through both doors, nothing changed.
    let r = prepare(&app, &teen, 1_000).await;
    assert_month_full(&r, 0);
    let r = app.top_up(&teen, 1_000, "t-4").await;
    assert_month_full(&r, 0);
    assert_eq!(app.snapshot().await, before, "a refusal changes nothing");
    let w = wallet(&app, &teen).await;
    assert_eq!(w["cash"], 70_000);
    assert_eq!(
        w["topUpLimit"]["remainingToday"], 930_000,
        "the day has room"
    );
    assert_eq!(toss.taken(), taken);
    // The adult next door is not capped by the month.
    app.top_up(&adult, 100_000, "a-1").await.data("topUp");
    app.assert_audit_clean().await;
}

/// `who`, a consented minor, fires `n` top-ups of 10,000 won at once against the 70,000-won
/// month, through the sandbox `topUp` or, with `toss`, through confirms of paid orders: exactly
/// seven land, the rest are refused with nothing remaining, and only seven are charged.
async fn racing_top_ups_stop_at_the_month(app: &TestApp, toss: Option<&FakeToss>, who: &Session) {
    let n = 16;
    let answers: Vec<Gql> = match toss {
        None => {
            let calls =
                (0..n).map(|i| async move { app.top_up(who, 10_000, &format!("race-{i}")).await });
            futures::future::join_all(calls).await
        }
        Some(toss) => {
            let mut orders = Vec::new();
            for _ in 0..n {
                let o = order(app, who, 10_000).await;
                let key = toss.pay(&o, 10_000);
                orders.push((o, key));
            }
            let calls = orders.iter().map(|(o, k)| confirm(app, who, o, k, 10_000));
            futures::future::join_all(calls).await
        }
    };
    let refused: Vec<&Gql> = answers
        .iter()
        .filter(|a| a.0.get("errors").is_some())
        .collect();
    assert_eq!(refused.len(), n - 7, "{answers:?}");
    for r in refused {
        assert_month_full(r, 0);
    }
    let w = wallet(app, who).await;
    assert_eq!(w["cash"], 70_000, "{w}");
    assert_eq!(w["topUpLimit"]["monthly"]["usedThisMonth"], 70_000);
    assert_eq!(w["topUpLimit"]["usedToday"], 70_000);
    if let Some(toss) = toss {
        assert_eq!(toss.taken(), 7, "a refused top-up is never charged");
    }
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn racing_top_ups_of_a_minor_never_pass_the_month_on_postgres() {
    let toss = FakeToss::start().await;
    let app = toss.app(TestDatabases::postgres().await, &[]).await;
    let teen = minor(&app, "racingteen").await;
    consented(&app, &teen).await;
    racing_top_ups_stop_at_the_month(&app, Some(&toss), &teen).await;

    let app = TestApp::spawn().await;
    let teen = minor(&app, "racingteen2").await;
    consented(&app, &teen).await;
    racing_top_ups_stop_at_the_month(&app, None, &teen).await;
}

#[tokio::test]
async fn racing_top_ups_of_a_minor_never_pass_the_month_on_sqlite() {
    let toss = FakeToss::start().await;
    let app = toss.app(TestDatabases::sqlite(), &[]).await;
    let teen = minor(&app, "liteteen").await;
    consented(&app, &teen).await;
    racing_top_ups_stop_at_the_month(&app, Some(&toss), &teen).await;
}

#[tokio::test]
async fn someone_nineteen_today_needs_no_consent_and_has_no_monthly_limit() {
    let app = TestApp::spawn().await;
    // 19 full years today in Seoul: an adult since this midnight.
    let birthday = person(&app, "nineteen", years_ago(19)).await;
    assert_eq!(identity(&app, &birthday).await["adult"], true);
    app.top_up(&birthday, 100_000, "b-1").await.data("topUp");
    assert!(wallet(&app, &birthday).await["topUpLimit"]["monthly"].is_null());
    let r = consent(&app, &birthday, "sandbox:보호자:1975-03-03:nineteen-parent").await;
    assert_eq!(r.code(), "INVALID_STATE", "{}", r.0);

    // Nineteen tomorrow: still a minor today.
    let tomorrow = years_ago(19).succ_opt().expect("a day");
    let eve = person(&app, "eighteen", tomorrow).await;
    assert_eq!(identity(&app, &eve).await["adult"], false);
    let r = app.top_up(&eve, 10_000, "e-1").await;
    assert_eq!(r.code(), "GUARDIAN_CONSENT_REQUIRED", "{}", r.0);
    // A guardian who turns 19 today may consent; one who turns 19 tomorrow may not.
    let r = consent(
        &app,
        &eve,
        &format!("sandbox:형:{}:eve-sibling", ymd(tomorrow)),
    )
    .await;
    assert_eq!(r.code(), "GUARDIAN_NOT_ADULT", "{}", r.0);
    consent(
        &app,
        &eve,
        &format!("sandbox:누나:{}:eve-elder", ymd(years_ago(19))),
    )
    .await
    .data("recordGuardianConsent");
    app.top_up(&eve, 10_000, "e-2").await.data("topUp");
    let r = app.top_up(&eve, 61_000, "e-3").await;
    assert_month_full(&r, 60_000);

    // With TOPUP_REQUIRES_IDENTITY=false (scripts/run) an unverified user tops up, but a
    // verified minor still waits for a guardian: their age is known.
    let open = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("TOPUP_REQUIRES_IDENTITY", "false")],
    )
    .await;
    let anyone = open.register_unverified("openanyone", "VIEWER").await;
    open.mark_email_verified(&anyone.user_id).await;
    open.top_up(&anyone, 10_000, "o-1").await.data("topUp");
    let teen = minor(&open, "openteen").await;
    let r = open.top_up(&teen, 10_000, "o-2").await;
    assert_eq!(r.code(), "GUARDIAN_CONSENT_REQUIRED", "{}", r.0);
}

#[tokio::test]
async fn a_guardian_is_read_through_portone_and_consent_is_throttled() {
    let portone = FakePortOne::start().await;
    let vars = portone.config();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(TestDatabases::postgres().await, &vars).await;
    let teen = app.register_unverified("ptteen", "VIEWER").await;
    app.mark_email_verified(&teen.user_id).await;
    let id = portone.certify("pt-teen-ci", "이하늘", &ymd(years_ago(14)), true);
    app.gql(Some(&teen.access), VERIFY, json!({ "id": id }))
        .await
        .data("verifyIdentity");

    // A check the guardian did not complete, the minor's own, a minor guardian: refused.
    let incomplete = portone.certify("pt-parent-ci", "이부모", "1978-08-08", false);
    let r = consent(&app, &teen, &incomplete).await;
    assert_eq!(r.code(), "IDENTITY_NOT_VERIFIED", "{}", r.0);
    let own = portone.certify("pt-teen-ci", "이하늘", &ymd(years_ago(14)), true);
    assert_eq!(consent(&app, &teen, &own).await.code(), "GUARDIAN_IS_SELF");
    let young = portone.certify("pt-sib-ci", "이동생", &ymd(years_ago(12)), true);
    assert_eq!(
        consent(&app, &teen, &young).await.code(),
        "GUARDIAN_NOT_ADULT"
    );
    let parent = portone.certify("pt-parent-ci", "이부모", "1978-08-08", true);
    let c = consent(&app, &teen, &parent)
        .await
        .data("recordGuardianConsent");
    assert!(c["guardianConsentAt"].is_string(), "{c}");
    // Only a keyed hash of the guardian's key is kept.
    use sea_orm::ConnectionTrait;
    let db = &app.db.users;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT guardian_ci_hash, guardian_name FROM guardian_consents",
        ))
        .await
        .expect("consents");
    assert_eq!(rows.len(), 1);
    let hash: String = rows[0].try_get("", "guardian_ci_hash").expect("hash");
    let name: String = rows[0].try_get("", "guardian_name").expect("name");
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains("pt-parent-ci"));
    assert_eq!(name, "이부모");

    // Refused checks are counted per minor (three so far); past ten an hour PortOne is not
    // asked. Recording again (the other parent) replaces the consent.
    for i in 0..7 {
        let r = consent(&app, &teen, &format!("imp_guess{i}")).await;
        assert_eq!(r.code(), "IDENTITY_NOT_VERIFIED", "{}", r.0);
    }
    let asked = portone.token_requests();
    let other = portone.certify("pt-other-parent", "김부모", "1980-01-01", true);
    let r = consent(&app, &teen, &other).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    assert_eq!(portone.token_requests(), asked, "PortOne is not asked");
    assert_eq!(
        identity(&app, &teen).await["guardianConsentAt"],
        c["guardianConsentAt"],
        "the consent stands"
    );
}

/// Users migration 000008 and missions migration 000019 on both backends: every user and
/// top-up kept; an existing top-up is an adult's.
#[tokio::test]
async fn the_minors_migrations_keep_every_user_and_top_up() {
    use crate::support::migrations;
    use missionlink_migration::Migrate as _;
    use sea_orm::ConnectionTrait;
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = migrations::users_at(&dbs.users_url, 7).await;
        migrations::seed_users(&db, false).await;
        let before = migrations::rows(&db, migrations::USERS).await;
        missionlink_migration::users::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        assert_eq!(migrations::rows(&db, migrations::USERS).await, before);
        let consent = missionlink_identity::persons::guardian::consent_of(&db, "u1")
            .await
            .expect("consent");
        assert!(consent.is_none(), "nobody consented by the migration");

        let missions = missionlink_api::db::connect(&dbs.missions_url)
            .await
            .expect("connect");
        missionlink_migration::missions::Migrator::up(&missions, Some(18))
            .await
            .expect("migrate to 18");
        missions
            .execute_unprepared(
                "INSERT INTO top_ups (id, user_id, order_id, amount, status, provider, \
                 created_at) VALUES ('t1', 'u1', 'ml-1', 5000, 'PREPARED', 'toss', \
                 '2026-11-01T00:00:00Z')",
            )
            .await
            .expect("seed");
        missionlink_migration::missions::Migrator::up(&missions, None)
            .await
            .expect("migrate forward");
        let t = missionlink_ledger::topup::order::by_order(&missions, "ml-1")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!((t.amount, t.minor), (5_000, false));
        migrations::rows(&missions, "SELECT * FROM topup_months").await;
    }
}
