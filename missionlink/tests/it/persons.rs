//! Verified people (본인인증, issue 26, item 1) through real HTTP: `verifyIdentity` against a
//! local server that speaks PortOne's documented v1 certifications API (`fake_portone.rs`);
//! `me.identity`; one person, one verified account; top-ups waiting for a verified identity at
//! the default settings; one daily limit per person, through the sandbox `topUp` and through
//! `prepareTopUp`/`confirmTopUp` with the fake Toss server; the migrations keep every user.

use crate::fake_portone::FakePortOne;
use crate::fake_toss::FakeToss;
use crate::support::{Gql, Session, TestApp, TestDatabases, migrations};
use serde_json::{Value, json};

const VERIFY: &str = "mutation($id: String!) {
    verifyIdentity(provider: PORTONE, certificationId: $id) { provider verifiedAt adult } }";
const IDENTITY: &str = "{ me { identity { provider verifiedAt adult } } }";
const PREPARE: &str = "mutation($a: Int!) { prepareTopUp(amount: $a) { orderId amount } }";
const CONFIRM: &str = "mutation($o: String!, $k: String!, $a: Int!) {
    confirmTopUp(orderId: $o, paymentKey: $k, amount: $a) { status } }";
const LIMIT: &str = "{ wallet { cash topUpLimit { limit usedToday remainingToday }
    topUps(first: 10) { totalCount } } }";

async fn verify(app: &TestApp, who: &Session, id: &str) -> Gql {
    app.gql(Some(&who.access), VERIFY, json!({ "id": id }))
        .await
}

async fn identity(app: &TestApp, who: &Session) -> Value {
    app.gql(Some(&who.access), IDENTITY, json!({}))
        .await
        .data("me")["identity"]
        .clone()
}

async fn limit(app: &TestApp, who: &Session) -> Value {
    app.gql(Some(&who.access), LIMIT, json!({}))
        .await
        .data("wallet")
}

/// A viewer whose address is proven and whose identity is not verified yet.
async fn unverified(app: &TestApp, handle: &str) -> Session {
    let who = app.register_unverified(handle, "VIEWER").await;
    app.mark_email_verified(&who.user_id).await;
    who
}

async fn portone_app(portone: &FakePortOne, extra: &[(&str, &str)]) -> TestApp {
    let vars = portone.config();
    let mut vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    TestApp::spawn_with(TestDatabases::postgres().await, &vars).await
}

#[tokio::test]
async fn a_person_verified_through_portone_has_one_account_and_reads_only_whether_they_are_an_adult()
 {
    let portone = FakePortOne::start().await;
    let app = portone_app(&portone, &[]).await;
    let mina = unverified(&app, "idmina").await;
    assert!(identity(&app, &mina).await.is_null(), "null until verified");

    // An id PortOne never gave, and a check the person did not complete: nothing changes.
    let unknown = verify(&app, &mina, "imp_000000000000").await;
    assert_eq!(unknown.code(), "IDENTITY_NOT_VERIFIED", "{}", unknown.0);
    let ci = format!("ci-{}", uuid::Uuid::new_v4().simple());
    let incomplete = portone.certify(&ci, "김미나", "1995-04-01", false);
    let r = verify(&app, &mina, &incomplete).await;
    assert_eq!(r.code(), "IDENTITY_NOT_VERIFIED", "{}", r.0);
    let r = verify(&app, &mina, "imp_../../users/getToken").await;
    assert_eq!(
        r.code(),
        "IDENTITY_NOT_VERIFIED",
        "never put in PortOne's URL"
    );
    assert!(identity(&app, &mina).await.is_null());

    let done = portone.certify(&ci, "김미나", "1995-04-01", true);
    let verified = verify(&app, &mina, &done).await.data("verifyIdentity");
    assert_eq!(verified["provider"], "PORTONE");
    assert_eq!(verified["adult"], true);
    let read = identity(&app, &mina).await;
    assert_eq!(read, verified);
    // Again as the same person (a new check): answered again, unchanged.
    let again = portone.certify(&ci, "김미나", "1995-04-01", true);
    assert_eq!(
        verify(&app, &mina, &again).await.data("verifyIdentity"),
        verified
    );
    // As another person: refused.
    let other = portone.certify("someone-else", "박서준", "1990-01-01", true);
    assert_eq!(verify(&app, &mina, &other).await.code(), "INVALID_STATE");

    // One person, one verified account: their second account is refused and stays unverified.
    let second = unverified(&app, "idmina2").await;
    let twice = portone.certify(&ci, "김미나", "1995-04-01", true);
    let r = verify(&app, &second, &twice).await;
    assert_eq!(r.code(), "IDENTITY_ALREADY_USED", "{}", r.0);
    assert!(identity(&app, &second).await.is_null());

    // A minor is verified, and is not an adult.
    let teen = unverified(&app, "idteen").await;
    let born = (chrono::Utc::now() - chrono::Duration::days(365 * 15))
        .format("%Y-%m-%d")
        .to_string();
    let teen_id = portone.certify("teen-ci", "이하늘", &born, true);
    assert_eq!(
        verify(&app, &teen, &teen_id).await.data("verifyIdentity")["adult"],
        false
    );
    assert_eq!(identity(&app, &teen).await["adult"], false);

    // Nobody else reads it, and nothing of the person is stored readable.
    let r = app
        .gql(
            Some(&teen.access),
            "query($h: String!) { user(handle: $h) { identity { adult } } }",
            json!({ "h": "idmina" }),
        )
        .await;
    assert_eq!(r.code(), "FORBIDDEN", "{}", r.0);
    let stored = texts(
        &app.db.users,
        "SELECT ci_hash FROM person_verifications",
        "ci_hash",
    )
    .await;
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.contains(&ci) && !h.contains("teen-ci")),
        "only a keyed hash of the CI: {stored:?}"
    );
    assert!(portone.token_requests() >= 6, "a token per look-up");
}

#[tokio::test]
async fn verify_identity_says_when_portone_is_not_configured_or_does_not_answer() {
    // Production's default verifier is PortOne; without its credentials nothing is verified.
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("IDENTITY_VERIFIER", "portone")],
    )
    .await;
    let who = unverified(&app, "idnocfg").await;
    let r = verify(&app, &who, "imp_123456789012").await;
    assert_eq!(r.code(), "IDENTITY_VERIFIER_NOT_CONFIGURED", "{}", r.0);

    // PortOne down (nothing listens there).
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[
            ("IDENTITY_VERIFIER", "portone"),
            ("PORTONE_API_URL", &url),
            ("PORTONE_IMP_KEY", "k"),
            ("PORTONE_IMP_SECRET", "s"),
            ("IDENTITY_VERIFY_TIMEOUT_SECONDS", "2"),
        ],
    )
    .await;
    let who = unverified(&app, "iddown").await;
    let r = verify(&app, &who, "imp_123456789012").await;
    assert_eq!(r.code(), "IDENTITY_VERIFIER_UNAVAILABLE", "{}", r.0);
    assert!(identity(&app, &who).await.is_null());
}

#[tokio::test]
async fn top_ups_wait_for_a_verified_identity_at_the_default_and_nothing_is_written() {
    let toss = FakeToss::start().await;
    let app = toss.app(TestDatabases::postgres().await, &[]).await;
    let who = unverified(&app, "idgate").await;
    let r = app.top_up(&who, 10_000, "g-1").await;
    assert_eq!(r.code(), "IDENTITY_REQUIRED", "{}", r.0);
    let r = app
        .gql(Some(&who.access), PREPARE, json!({ "a": 10_000 }))
        .await;
    assert_eq!(r.code(), "IDENTITY_REQUIRED", "{}", r.0);
    let w = limit(&app, &who).await;
    assert_eq!(w["cash"], 0);
    assert_eq!(w["topUps"]["totalCount"], 0, "no order written");
    assert_eq!(w["topUpLimit"]["usedToday"], 0);
    assert!(toss.requests().is_empty(), "the provider is not asked");

    // Verified (the sandbox verifier, development's default), it tops up.
    let r = verify(&app, &who, "sandbox:홍길동:1990-05-05:idgate-person").await;
    assert_eq!(r.data("verifyIdentity")["adult"], true);
    app.top_up(&who, 10_000, "g-2").await.data("topUp");
    assert_eq!(limit(&app, &who).await["cash"], 10_000);

    // Ids the provider refuses are counted per user; past ten an hour it is not asked.
    let guesser = unverified(&app, "idguess").await;
    for i in 0..10 {
        let r = verify(&app, &guesser, &format!("imp_guess{i}")).await;
        assert_eq!(r.code(), "IDENTITY_NOT_VERIFIED", "{}", r.0);
    }
    let r = verify(&app, &guesser, "sandbox:Guess:1990-05-05:guesser").await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);
    assert!(identity(&app, &guesser).await.is_null());

    // With TOPUP_REQUIRES_IDENTITY=false (scripts/run), the gate is off.
    let open = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("TOPUP_REQUIRES_IDENTITY", "false")],
    )
    .await;
    let who = unverified(&open, "idopen").await;
    open.top_up(&who, 10_000, "o-1").await.data("topUp");
}

/// `who`'s day total is kept under the person, not the user.
async fn day_keys(app: &TestApp) -> Vec<String> {
    texts(
        &app.db.missions,
        "SELECT user_id FROM topup_days ORDER BY user_id",
        "user_id",
    )
    .await
}

#[tokio::test]
async fn one_persons_daily_limit_is_shared_by_the_sandbox_top_up_and_the_payment_provider() {
    let toss = FakeToss::start().await;
    let app = toss.app(TestDatabases::postgres().await, &[]).await;
    let who = unverified(&app, "idlimit").await;
    verify(&app, &who, "sandbox:Lim:1990-05-05:idlimit-person")
        .await
        .data("verifyIdentity");
    app.top_up(&who, 600_000, "l-1").await.data("topUp");
    let keys = day_keys(&app).await;
    assert_eq!(keys.len(), 1);
    assert!(keys[0].contains("person:"), "{keys:?}");
    assert!(!keys[0].contains(&who.user_id), "{keys:?}");

    // Two orders fit today's remaining 400,000 when prepared; the confirm reserves under the
    // person's lock, so only one is taken.
    let mut orders = Vec::new();
    for amount in [300_000, 300_000] {
        let o = app
            .gql(Some(&who.access), PREPARE, json!({ "a": amount }))
            .await
            .data("prepareTopUp");
        orders.push(o["orderId"].as_str().expect("orderId").to_owned());
    }
    let r = app
        .gql(Some(&who.access), PREPARE, json!({ "a": 500_000 }))
        .await;
    assert_eq!(
        r.code(),
        "TOPUP_LIMIT_EXCEEDED",
        "refused at prepare: {}",
        r.0
    );
    let key = toss.pay(&orders[0], 300_000);
    let r = app
        .gql(
            Some(&who.access),
            CONFIRM,
            json!({ "o": orders[0], "k": key, "a": 300_000 }),
        )
        .await;
    assert_eq!(r.data("confirmTopUp")["status"], "CONFIRMED");
    let key = toss.pay(&orders[1], 300_000);
    let r = app
        .gql(
            Some(&who.access),
            CONFIRM,
            json!({ "o": orders[1], "k": key, "a": 300_000 }),
        )
        .await;
    assert_eq!(r.code(), "TOPUP_LIMIT_EXCEEDED", "{}", r.0);
    let r = app.top_up(&who, 200_000, "l-2").await;
    assert_eq!(r.code(), "TOPUP_LIMIT_EXCEEDED", "{}", r.0);
    app.top_up(&who, 100_000, "l-3").await.data("topUp");
    let w = limit(&app, &who).await;
    assert_eq!(w["cash"], 1_000_000);
    assert_eq!(w["topUpLimit"]["usedToday"], 1_000_000);
    assert_eq!(w["topUpLimit"]["remainingToday"], 0);

    // The same person's second account is refused as that person, so it cannot top up past
    // the person's limit either: it is not verified, and top-ups wait for that.
    let second = unverified(&app, "idlimit2").await;
    let r = verify(&app, &second, "sandbox:Lim:1990-05-05:idlimit-person").await;
    assert_eq!(r.code(), "IDENTITY_ALREADY_USED", "{}", r.0);
    assert_eq!(
        app.top_up(&second, 1_000, "l-4").await.code(),
        "IDENTITY_REQUIRED"
    );
    let r = app
        .gql(Some(&second.access), PREPARE, json!({ "a": 1_000 }))
        .await;
    assert_eq!(r.code(), "IDENTITY_REQUIRED");
    assert_eq!(day_keys(&app).await.len(), 1, "one person, one day total");

    // The first account gone (its person with it), the second may be verified as the person,
    // and starts the day where the first left it: the limit is the person's, not the account's.
    delete_user(&app, &who.user_id).await;
    verify(&app, &second, "sandbox:Lim:1990-05-05:idlimit-person")
        .await
        .data("verifyIdentity");
    let r = app.top_up(&second, 1_000, "l-5").await;
    assert_eq!(r.code(), "TOPUP_LIMIT_EXCEEDED", "{}", r.0);
    let r = app
        .gql(Some(&second.access), PREPARE, json!({ "a": 1_000 }))
        .await;
    assert_eq!(r.code(), "TOPUP_LIMIT_EXCEEDED", "{}", r.0);
    let w = limit(&app, &second).await;
    assert_eq!(w["topUpLimit"]["usedToday"], 1_000_000, "the person's day");
    assert_eq!(w["cash"], 0);
    assert_eq!(day_keys(&app).await.len(), 1);
}

/// Deletes `id` from the users database as `identity.rs` does (no API deletes an account).
async fn delete_user(app: &TestApp, id: &str) {
    use missionlink_entities::users::{refresh_token, user};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::UserId.eq(id))
        .exec(&app.db.users)
        .await
        .expect("delete refresh tokens");
    let deleted = user::Entity::delete_by_id(id.to_owned())
        .exec(&app.db.users)
        .await
        .expect("delete user");
    assert_eq!(deleted.rows_affected, 1);
}

/// One text column of every row.
async fn texts(db: &sea_orm::DatabaseConnection, sql: &str, column: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .await
    .expect(sql)
    .iter()
    .map(|r| r.try_get::<String>("", column).expect(column))
    .collect()
}

/// Users migration 000007 and missions migration 000018 on both backends: every user and
/// top-up kept; an existing top-up counts against its user.
#[tokio::test]
async fn the_identity_migrations_keep_every_user_and_top_up() {
    use missionlink_migration::Migrate as _;
    use sea_orm::ConnectionTrait;
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = migrations::users_at(&dbs.users_url, 6).await;
        migrations::seed_users(&db, false).await;
        let users = migrations::USERS;
        let before = migrations::rows(&db, users).await;
        missionlink_migration::users::Migrator::up(&db, None)
            .await
            .expect("migrate forward");
        assert_eq!(migrations::rows(&db, users).await, before);
        let status = missionlink_identity::persons::identity_of(&db, "u1")
            .await
            .expect("identity");
        assert!(status.is_none(), "nobody is verified by the migration");
        let key = missionlink_identity::persons::limit_key(&db, "u2")
            .await
            .expect("key");
        assert_eq!(key.key, "u2");
        assert!(!key.verified);

        let missions = missionlink_api::db::connect(&dbs.missions_url)
            .await
            .expect("connect");
        missionlink_migration::missions::Migrator::up(&missions, Some(17))
            .await
            .expect("migrate to 17");
        missions
            .execute_unprepared(
                "INSERT INTO topup_days (user_id, day, total_won) VALUES ('u1', '2026-11-01', 5000)",
            )
            .await
            .expect("seed");
        let days = "SELECT user_id || ' ' || day || ' ' || CAST(total_won AS TEXT) AS d \
                    FROM topup_days";
        let before = texts(&missions, days, "d").await;
        assert_eq!(before, ["u1 2026-11-01 5000"]);
        missionlink_migration::missions::Migrator::up(&missions, None)
            .await
            .expect("migrate forward");
        assert_eq!(
            texts(&missions, days, "d").await,
            before,
            "a day total is a user's"
        );
        migrations::rows(&missions, "SELECT limit_key FROM top_ups").await;
    }
}
