//! Operators and suspension, the identity side (issue 16): `missionlink operator create` makes an
//! operator who signs in like anyone, `register` cannot make one, and a suspended user cannot
//! sign in, refresh or act with a live token until the suspension ends or is lifted. Also the
//! users-database migration that brought both, over a database that already had users.

use crate::support::{Gql, PASSWORD, TestApp, TestDatabases};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound, Utc};
use futures::SinkExt;
use missionlink_entities::users::{refresh_token, user};
use missionlink_identity::ActiveUsers;
use missionlink_identity::Standing;
use missionlink_identity::suspension;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use std::time::Duration;

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
    accessToken refreshToken user { id handle role } } }";
const REFRESH: &str =
    "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken user { id } } }";
const ME: &str = "{ me { id role } }";

/// Runs `missionlink operator create <args>` on `app`'s databases.
async fn operator_create(app: &TestApp, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
        .args(["operator", "create"])
        .args(args)
        .env_clear()
        .envs(app.binary_env())
        .output()
        .await
        .expect("run missionlink operator create")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn login(app: &TestApp, email: &str, password: &str) -> Gql {
    app.gql(None, LOGIN, json!({ "e": email, "p": password }))
        .await
}

/// The claims of an access token (its payload, unverified: the server checked the signature).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

fn until_of(r: &Gql) -> Value {
    r.0["errors"][0]["extensions"]["until"].clone()
}

async fn operators_are_made_on_the_command_line_only(app: TestApp) {
    let out = operator_create(&app, &["Ops@Example.com", "--json"]).await;
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let made: Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    let password = made["password"].as_str().expect("password").to_owned();
    assert_eq!(password.len(), 32, "24 random bytes, base64url");
    assert_eq!(
        made["email"], "ops@example.com",
        "normalised as register does"
    );
    assert_eq!(made["created"], true);
    let handle = made["handle"].as_str().expect("handle");
    assert!(
        handle.len() == "operator_".len() + 8 && handle.starts_with("operator_"),
        "{handle}"
    );
    assert!(
        !stderr(&out).contains(&password),
        "the password is printed once, never logged"
    );

    // The operator signs in with it like anyone; the token and `me` say OPERATOR.
    let session = login(&app, "ops@example.com", &password)
        .await
        .data("login");
    assert_eq!(session["user"]["role"], "OPERATOR");
    assert_eq!(session["user"]["id"], made["id"]);
    let access = session["accessToken"].as_str().expect("token");
    assert_eq!(claims(access)["role"], "OPERATOR");
    let me = app.gql(Some(access), ME, json!({})).await.data("me");
    assert_eq!(me, json!({ "id": made["id"], "role": "OPERATOR" }));

    // Again for the same address: it exists, nothing changes, no new password.
    let before = app.snapshot().await;
    let again = operator_create(&app, &["ops@example.com"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    let text = stdout(&again);
    assert!(text.contains("already exists"), "{text}");
    assert!(
        text.contains(&format!("id: {}\n", made["id"].as_str().expect("id"))),
        "{text}"
    );
    assert!(!text.contains("password:"), "{text}");
    assert_eq!(app.snapshot().await, before);
    login(&app, "ops@example.com", &password)
        .await
        .data("login");

    // Text output, chosen handle and display name: one `key: value` a line.
    let named = operator_create(
        &app,
        &[
            "second@example.com",
            "--handle",
            "Ops_Two",
            "--display-name",
            "Ops Two",
        ],
    )
    .await;
    assert!(named.status.success(), "{}", stderr(&named));
    let lines: Vec<(String, String)> = stdout(&named)
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(": ").expect("key: value");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let keys: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["id", "email", "handle", "password"]);
    assert_eq!(lines[2].1, "Ops_Two");
    let shown = app
        .gql(
            None,
            "{ user(handle: \"ops_two\") { displayName role } }",
            json!({}),
        )
        .await
        .data("user");
    assert_eq!(
        shown,
        json!({ "displayName": "Ops Two", "role": "OPERATOR" })
    );

    // A viewer's email is not turned into an operator: exit 1, nothing written.
    let viewer = app.register("plainviewer").await;
    let before = app.snapshot().await;
    let refused = operator_create(&app, &[&viewer.email]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(stderr(&refused).contains("VIEWER"), "{}", stderr(&refused));
    assert!(stdout(&refused).is_empty());
    assert_eq!(app.snapshot().await, before);

    // Input the API would refuse: exit 2, nothing written.
    for args in [
        vec!["not-an-email"],
        vec!["a,b@example.com"],
        vec!["third@example.com", "--handle", "operator-1"],
        vec!["third@example.com", "--handle", "Ops_two"],
    ] {
        let out = operator_create(&app, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    assert_eq!(app.snapshot().await, before);

    // `register` cannot make an operator, whatever else it is sent; nothing is written (not
    // even a throttle count).
    let r = app
        .gql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            json!({ "input": { "email": "self@example.com", "password": PASSWORD,
                               "handle": "selfmade", "role": "OPERATOR" } }),
        )
        .await;
    assert_eq!(r.code(), "FORBIDDEN", "{}", r.0);
    assert!(
        r.message().contains("missionlink operator create"),
        "{}",
        r.0
    );
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn operators_are_made_on_the_command_line_only_on_postgres() {
    operators_are_made_on_the_command_line_only(TestApp::spawn().await).await;
}

#[tokio::test]
async fn operators_are_made_on_the_command_line_only_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    operators_are_made_on_the_command_line_only(app).await;
}

/// Polls `me` with `access` until it answers with an error, for at most `within`.
async fn first_refusal(app: &TestApp, access: &str, within: Duration) -> Gql {
    let started = tokio::time::Instant::now();
    loop {
        let r = app.gql(Some(access), ME, json!({})).await;
        if r.0.get("errors").is_some() || started.elapsed() > within {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn refresh_row(app: &TestApp, user_id: &str) -> Vec<refresh_token::Model> {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(user_id))
        .all(&app.db.users)
        .await
        .expect("refresh tokens")
}

/// Cached users are believed for this long in these tests.
const CACHE_SECONDS: u64 = 1;

async fn a_suspended_user_cannot_sign_in_refresh_or_act(app: TestApp) {
    let viewer = app.register("suspendee").await;
    let other = app.register("bystander").await;
    app.gql(Some(&viewer.access), ME, json!({}))
        .await
        .data("me");

    // Until lifted.
    let suspended = suspension::suspend(&app.db.users, &viewer.user_id, None)
        .await
        .expect("suspend");
    assert!(suspended.suspended_at.is_some() && suspended.suspended_until.is_none());
    let again = suspension::suspend(&app.db.users, &viewer.user_id, None)
        .await
        .expect("suspend again");
    assert_eq!(again, suspended, "suspending twice changes nothing");

    let r = login(&app, &viewer.email, PASSWORD).await;
    assert_eq!(r.code(), "USER_SUSPENDED", "{}", r.0);
    assert_eq!(until_of(&r), Value::Null, "{}", r.0);
    assert!(r.message().contains("suspended"), "{}", r.0);
    // A wrong password says nothing of the suspension.
    let r = login(&app, &viewer.email, "not the password").await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);

    let tokens_before = refresh_row(&app, &viewer.user_id).await;
    let r = app.gql(None, REFRESH, json!({ "t": viewer.refresh })).await;
    assert_eq!(r.code(), "USER_SUSPENDED", "{}", r.0);
    assert_eq!(
        refresh_row(&app, &viewer.user_id).await,
        tokens_before,
        "a refused refresh neither rotates nor issues a token"
    );

    // The live access token stops working within the cache time.
    let r = first_refusal(&app, &viewer.access, Duration::from_secs(CACHE_SECONDS + 2)).await;
    assert_eq!(r.code(), "USER_SUSPENDED", "{}", r.0);
    assert_eq!(until_of(&r), Value::Null);
    let r = app.top_up(&viewer, 1000, "while-suspended").await;
    assert_eq!(r.code(), "USER_SUSPENDED", "{}", r.0);
    // Over the websocket too: each operation is checked when it starts, and the socket itself
    // is closed as forbidden within seconds; whichever comes first answers the subscribe.
    let mut ws = crate::support::ws_connect(&app).await.expect("connect");
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({ "type": "connection_init",
                "payload": { "Authorization": format!("Bearer {}", viewer.access) } })
        .to_string(),
    ))
    .await
    .expect("init");
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": ME } }).to_string(),
    ))
    .await
    .ok();
    // Refused at `connection_init` (4403), or, had the suspension come later, per operation.
    let refused = loop {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let message = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("an answer within 15 s");
        match message {
            Some(Ok(Message::Text(text))) => {
                let answer: Value = serde_json::from_str(&text).expect("json");
                if answer["type"] == "connection_ack" {
                    continue;
                }
                break answer["payload"]["errors"][0]["extensions"]["code"].clone();
            }
            Some(Ok(Message::Close(frame))) => {
                break json!(frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended without an answer: {other:?}"),
        }
    };
    assert!(
        refused == json!("USER_SUSPENDED") || refused == json!(4403),
        "{refused}"
    );
    // Nobody else is affected.
    app.gql(Some(&other.access), ME, json!({})).await.data("me");

    // Lifted: everything works again, the refresh token it had included.
    suspension::unsuspend(&app.db.users, &viewer.user_id)
        .await
        .expect("unsuspend");
    login(&app, &viewer.email, PASSWORD).await.data("login");
    app.gql(None, REFRESH, json!({ "t": viewer.refresh }))
        .await
        .data("refresh");
    tokio::time::sleep(Duration::from_secs(CACHE_SECONDS + 1)).await;
    app.gql(Some(&viewer.access), ME, json!({}))
        .await
        .data("me");

    // Until a time: refused with that time, and over when it passes.
    let until = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(4);
    suspension::suspend(&app.db.users, &viewer.user_id, Some(until))
        .await
        .expect("suspend until");
    let r = login(&app, &viewer.email, PASSWORD).await;
    assert_eq!(r.code(), "USER_SUSPENDED", "{}", r.0);
    let said: DateTime<Utc> = until_of(&r)
        .as_str()
        .expect("until, RFC 3339")
        .parse()
        .expect("RFC 3339");
    assert_eq!(said, until);
    let r = first_refusal(&app, &viewer.access, Duration::from_secs(CACHE_SECONDS + 2)).await;
    assert_eq!(r.code(), "USER_SUSPENDED", "{}", r.0);
    let left = (until - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(200)).await;
    app.gql(Some(&viewer.access), ME, json!({}))
        .await
        .data("me");
    login(&app, &viewer.email, PASSWORD).await.data("login");

    // A suspension ending in the past would suspend no one: refused.
    let past = suspension::suspend(
        &app.db.users,
        &viewer.user_id,
        Some(Utc::now() - chrono::Duration::seconds(1)),
    )
    .await;
    assert!(past.is_err());
}

#[tokio::test]
async fn a_suspended_user_cannot_sign_in_refresh_or_act_on_postgres() {
    let cache = CACHE_SECONDS.to_string();
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("USER_CACHE_SECONDS", &cache)],
    )
    .await;
    a_suspended_user_cannot_sign_in_refresh_or_act(app).await;
}

#[tokio::test]
async fn a_suspended_user_cannot_sign_in_refresh_or_act_on_sqlite() {
    let cache = CACHE_SECONDS.to_string();
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[("USER_CACHE_SECONDS", &cache)]).await;
    a_suspended_user_cannot_sign_in_refresh_or_act(app).await;
}

/// The cache keeps the user's row, not a verdict: a suspension whose end passes is over at once
/// though the row stays cached, and `forget` makes a suspension in this process take effect at
/// once though the cached row predates it.
#[tokio::test]
async fn the_user_cache_judges_a_suspension_by_the_clock_and_forgets_on_request() {
    let app = TestApp::spawn().await;
    let viewer = app.register("cachedone").await;
    let active = ActiveUsers::new(app.db.users.clone(), Duration::from_secs(600));
    // A token issued now for `user`.
    let claims = |user: &str| {
        let now = Utc::now();
        missionlink_identity::AccessClaims {
            sub: user.to_owned(),
            role: missionlink_identity::Role::Viewer,
            iat: now.timestamp(),
            exp: now.timestamp() + 900,
            epoch: 0,
        }
    };
    let token = claims(&viewer.user_id);

    assert!(matches!(
        active.standing(&token, Utc::now()).await.expect("standing"),
        Standing::Active(_)
    ));
    suspension::suspend(&app.db.users, &viewer.user_id, None)
        .await
        .expect("suspend");
    assert!(
        matches!(
            active.standing(&token, Utc::now()).await.expect("standing"),
            Standing::Active(_)
        ),
        "cached before the suspension"
    );
    active.forget(&viewer.user_id).await;
    assert!(matches!(
        active.standing(&token, Utc::now()).await.expect("standing"),
        Standing::Suspended(suspension::Suspension { until: None })
    ));

    let until = Utc::now() + chrono::Duration::hours(1);
    suspension::suspend(&app.db.users, &viewer.user_id, Some(until))
        .await
        .expect("suspend until");
    active.forget(&viewer.user_id).await;
    let now = Utc::now();
    assert!(matches!(
        active.standing(&token, now).await.expect("standing"),
        Standing::Suspended(suspension::Suspension { until: Some(_) })
    ));
    // The same cached row, judged after its end.
    assert!(matches!(
        active
            .standing(&token, until + chrono::Duration::seconds(1))
            .await
            .expect("standing"),
        Standing::Active(_)
    ));
    assert!(matches!(
        active
            .standing(&claims("no-such-user"), now)
            .await
            .expect("standing"),
        Standing::Absent
    ));
}

/// A users database with users, refresh tokens and an overlay token, migrated before the
/// operators migration, is migrated forward on both backends with every row and reference
/// intact, and then takes operators and suspensions.
#[tokio::test]
async fn the_operators_migration_keeps_existing_users_and_their_tokens() {
    use missionlink_migration::Migrate as _;
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = missionlink_api::db::connect(&dbs.users_url)
            .await
            .expect("connect");
        let backend = db.get_database_backend();
        let sqlite = backend == sea_orm::DbBackend::Sqlite;
        missionlink_migration::users::Migrator::up(&db, Some(2))
            .await
            .expect("migrate to 2");
        let run = |sql: String| {
            let db = db.clone();
            async move {
                db.execute_unprepared(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        };
        let now = "'2026-11-01 10:00:00+00:00'";
        run(format!(
            "INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, \
             password_hash, created_at) VALUES \
             ('u1', 'a@example.com', 'Alice', 'alice', 'Alice', 'VIEWER', 'ko', 'h1', {now}), \
             ('u2', 'b@example.com', 'bob', 'bob', 'Bob', 'STREAMER', 'en', 'h2', {now})"
        ))
        .await;
        run(format!(
            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, \
             expires_at, rotated_at, revoked_at) VALUES \
             ('r1', 'f1', 'u1', 't1', {now}, {now}, NULL, NULL), \
             ('r2', 'f1', 'u1', 't2', {now}, {now}, {now}, NULL), \
             ('r3', 'f2', 'u2', 't3', {now}, {now}, NULL, {now})"
        ))
        .await;
        run(format!(
            "INSERT INTO overlay_tokens (user_id, token_hash, issued_at) VALUES ('u2', 'o2', {now})"
        ))
        .await;
        let early_operator = db
            .execute_unprepared(&format!(
                "INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, \
                 password_hash, created_at) VALUES \
                 ('u0', 'z@example.com', 'z', 'z', 'Z', 'OPERATOR', 'en', 'h0', {now})"
            ))
            .await;
        assert!(
            early_operator.is_err(),
            "{backend:?}: OPERATOR before the migration"
        );
        let users_before = rows(&db, "SELECT id, email, handle, handle_key, display_name, role, locale, password_hash FROM users ORDER BY id").await;
        let tokens_before = rows(
            &db,
            "SELECT id, family_id, user_id, token_hash FROM refresh_tokens ORDER BY id",
        )
        .await;

        assert_eq!(
            users_before,
            [
                "u1|a@example.com|Alice|alice|Alice|VIEWER|ko|h1",
                "u2|b@example.com|bob|bob|Bob|STREAMER|en|h2"
            ]
        );
        assert_eq!(tokens_before.len(), 3);
        missionlink_migration::users::Migrator::up(&db, None)
            .await
            .expect("migrate the rest");

        assert_eq!(
            rows(&db, "SELECT id, email, handle, handle_key, display_name, role, locale, password_hash FROM users ORDER BY id").await,
            users_before,
            "{backend:?}"
        );
        assert_eq!(
            rows(
                &db,
                "SELECT id, family_id, user_id, token_hash FROM refresh_tokens ORDER BY id"
            )
            .await,
            tokens_before,
            "{backend:?}"
        );
        // The overlay token became the streamer's default link (users migration 000010).
        assert_eq!(
            rows(
                &db,
                "SELECT id, user_id, label, token_hash FROM overlay_links"
            )
            .await,
            ["default-u2|u2|OBS|o2"],
            "{backend:?}"
        );
        let migrated = user::Entity::find()
            .all(&db)
            .await
            .expect("read through the entity");
        assert_eq!(migrated.len(), 2);
        assert!(
            migrated
                .iter()
                .all(|u| u.suspended_at.is_none() && u.suspended_until.is_none())
        );
        if sqlite {
            assert_eq!(
                rows(&db, "PRAGMA foreign_key_check").await,
                Vec::<String>::new()
            );
            for table in ["refresh_tokens", "overlay_links"] {
                let fks = rows(&db, &format!("SELECT \"table\" || '.' || \"to\" AS fk FROM pragma_foreign_key_list('{table}')")).await;
                assert_eq!(fks, ["users.id"], "{table}");
            }
            assert_eq!(
                rows(
                    &db,
                    "SELECT name FROM sqlite_master WHERE name LIKE 'users%' ORDER BY name"
                )
                .await,
                ["users"],
                "no table left over from the rebuild"
            );
        }

        // References still hold both ways: no token for a missing user, no user deleted from
        // under its tokens.
        let orphan = db
            .execute_unprepared(&format!(
                "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, \
                 expires_at) VALUES ('r9', 'f9', 'nobody', 't9', {now}, {now})"
            ))
            .await;
        assert!(orphan.is_err(), "{backend:?}: a token for no user");
        let deleted = db
            .execute_unprepared("DELETE FROM users WHERE id = 'u2'")
            .await;
        assert!(deleted.is_err(), "{backend:?}: a user with tokens deleted");

        // The new role and the suspension columns, with their rules.
        run(format!(
            "INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, \
             password_hash, created_at) VALUES \
             ('u3', 'o@example.com', 'ops', 'ops', 'Ops', 'OPERATOR', 'en', 'h3', {now})"
        ))
        .await;
        let bad_role = db
            .execute_unprepared(&format!(
                "INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, \
                 password_hash, created_at) VALUES \
                 ('u4', 'x@example.com', 'x', 'x', 'X', 'ADMIN', 'en', 'h4', {now})"
            ))
            .await;
        assert!(bad_role.is_err(), "{backend:?}: an unknown role");
        let end_without_start = db
            .execute_unprepared(&format!(
                "UPDATE users SET suspended_until = {now} WHERE id = 'u1'"
            ))
            .await;
        assert!(
            end_without_start.is_err(),
            "{backend:?}: an end without a start"
        );
        let suspended = suspension::suspend(&db, "u1", None).await.expect("suspend");
        assert!(suspension::suspended(&suspended, Utc::now()).is_some());
        db.close().await.ok();
    }
}

/// Every row of `sql`'s answer, its columns read as text and joined with `|`.
async fn rows(db: &sea_orm::DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| {
            let mut values = Vec::new();
            for i in 0.. {
                match row.try_get_by_index::<Option<String>>(i) {
                    Ok(v) => values.push(v.unwrap_or_else(|| "NULL".into())),
                    Err(_) => break,
                }
            }
            values.join("|")
        })
        .collect()
}
