//! The test harness: fresh databases, a running app, and a GraphQL client.

mod fault;
mod mail;
pub mod migrations;
mod process;
mod snapshot;
mod worker;
mod ws;

pub use fault::{Fault, FaultProxy};
pub use mail::{
    Mail, Mailbox, SES_SENDER, is_notice, moto_messages, moto_ses_config, parse_eml, ses_endpoint,
};
pub use process::{ServeProcess, wait_for_metrics};
pub use worker::TestWorker;
pub use ws::{WsSocket, ws_connect, ws_next_json, ws_open, ws_open_at};

use missionlink_api::db::Databases;
use missionlink_api::http::Server;
use missionlink_api::state::AppState;
use missionlink_config::Config;
pub use missionlink_testdb::TestDatabases;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::oneshot;

/// Secret the test apps sign tokens with.
pub const TEST_JWT_SECRET: &str = "integration-tests-secret-0123456789abcdef";
/// The key of the CI's hash in every test app and binary, fixed so a spawned process knows the
/// people the test app verified.
pub const TEST_IDENTITY_HASH_KEY: &str = "integration-tests-identity-hash-key-0123456789";
pub const PASSWORD: &str = "correct horse battery staple";

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Serves `app` on a free loopback port for the rest of the test process (the local servers
/// that speak an outside service's API: Toss, CHZZK, PortOne, an OTLP receiver); its address.
pub async fn serve_on_loopback(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    addr
}

/// Where a test leaves what a person may want to look at (screenshots): `TEST_ARTIFACTS_DIR`
/// (scripts/test sets it under the target directory, so it outlives the run), else the system's
/// temporary directory.
pub fn artifacts_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("TEST_ARTIFACTS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    dir
}

/// The Temporal dev server `scripts/test` started.
pub fn temporal_address() -> String {
    std::env::var("TEST_TEMPORAL_ADDRESS")
        .expect("TEST_TEMPORAL_ADDRESS is not set: run the tests with scripts/test")
}

/// A running MissionLink API on a loopback port, with its own databases.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Databases,
    pub http: reqwest::Client,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub dbs: TestDatabases,
}

impl TestApp {
    /// On fresh Postgres databases with the default configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(TestDatabases::postgres().await, &[]).await
    }

    /// On `dbs`, with `overrides` on top of the test configuration.
    pub async fn spawn_with(dbs: TestDatabases, overrides: &[(&str, &str)]) -> Self {
        let config = test_config(&dbs, overrides);
        Self::start(dbs, config).await
    }

    /// On `dbs`, with `config` as given (for a setting no variable can reach in a test, such as
    /// production's rules of one part alone).
    pub async fn start(dbs: TestDatabases, config: Config) -> Self {
        let db = Databases::connect(&config.databases.users_url, &config.databases.missions_url)
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        let state = AppState::new(config.api(), db.clone()).expect("state");
        let server = Server::bind(state, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = server.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(server.run(async {
            rx.await.ok();
        }));
        Self {
            addr,
            db,
            config,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            server: Some(server),
            dbs,
        }
    }

    /// On fresh Postgres databases, talking to the real Temporal dev server, with `overrides`.
    pub async fn with_temporal(overrides: &[(&str, &str)]) -> Self {
        let mut all = vec![("TEMPORAL_ADDRESS", temporal_address())];
        all.extend(overrides.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Self::spawn_with(TestDatabases::postgres().await, &all).await
    }

    /// The mission's fields a test usually checks.
    pub async fn mission(&self, id: &str) -> Value {
        self.gql(
            None,
            "query($id: ID!) { mission(id: $id) { id title status totalPledged backerCount acceptBy deadline settledAt
               streamer { id handle } creator { id }
               pledges(first: 100) { nodes { id amount status backer { id } } hasNextPage endCursor } } }",
            json!({ "id": id }),
        )
        .await
        .data("mission")
    }

    /// Polls the mission until `done` holds, at most `seconds`.
    pub async fn wait_for_mission(
        &self,
        id: &str,
        seconds: u64,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let m = self.mission(id).await;
            if done(&m) {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "mission never reached the expected state: {m}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Waits until the mission's workflow has made its last write, at most `seconds`: every
    /// email sent and `notified_at` set, after settling. From then on only a request changes
    /// the rows [`Self::snapshot`] covers.
    pub async fn wait_until_notified(&self, id: &str, seconds: u64) {
        use missionlink_entities::missions::mission;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let row = mission::Entity::find_by_id(id.to_owned())
                .one(&self.db.missions)
                .await
                .expect("read the mission")
                .expect("the mission");
            if row.notified_at.is_some() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the mission's workflow never finished: {row:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    pub async fn create_mission(
        &self,
        who: &Session,
        streamer_id: &str,
        amount: i64,
        extra: Value,
    ) -> Gql {
        let mut input = json!({
            "streamerId": streamer_id,
            // Unique per mission: emails are told apart by the title in their subject.
            "title": format!("Beat the boss without healing #{}", &uuid::Uuid::new_v4().simple().to_string()[..6]),
            "amount": amount,
            "durationSeconds": 3600,
        });
        if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                input.insert(k.clone(), v.clone());
            }
        }
        self.gql(
            Some(&who.access),
            "mutation($input: CreateMissionInput!, $k: String!) { createMission(input: $input, idempotencyKey: $k) {
               id status totalPledged backerCount acceptBy deadline settledAt } }",
            json!({ "input": input, "k": uuid::Uuid::new_v4().to_string() }),
        )
        .await
    }

    /// Creates a mission with default settings and returns its id.
    pub async fn new_mission(&self, who: &Session, streamer_id: &str, amount: i64) -> String {
        self.create_mission(who, streamer_id, amount, json!({}))
            .await
            .data("createMission")["id"]
            .as_str()
            .expect("mission id")
            .to_owned()
    }

    pub async fn contribute(&self, who: &Session, mission_id: &str, amount: i64, key: &str) -> Gql {
        self.gql(
            Some(&who.access),
            "mutation($m: ID!, $a: Int!, $k: String!) { contribute(missionId: $m, amount: $a, idempotencyKey: $k) {
               id amount status backer { id } } }",
            json!({ "m": mission_id, "a": amount, "k": key }),
        )
        .await
    }

    /// `acceptMission` (`"accept"`), `rejectMission` (`"reject"`) or `decideMission`
    /// (`"SUCCESS"`, `"FAILURE"`); any other word is a mistake in the test, and panics.
    pub async fn act(&self, who: &Session, action: &str, mission_id: &str) -> Gql {
        let (field, extra) = match action {
            "SUCCESS" | "FAILURE" => ("decideMission", format!(", outcome: {action}")),
            "reject" => ("rejectMission", ", reason: \"not today\"".to_owned()),
            "accept" => ("acceptMission", String::new()),
            other => panic!("act: {other:?} is not accept, reject, SUCCESS or FAILURE"),
        };
        self.gql(
            Some(&who.access),
            &format!("mutation($m: ID!) {{ {field}(missionId: $m{extra}) {{ id status deadline settledAt }} }}"),
            json!({ "m": mission_id }),
        )
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts one GraphQL operation, optionally with a bearer token.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST /graphql");
        assert!(response.status().is_success(), "HTTP {}", response.status());
        Gql(response.json().await.expect("JSON body"))
    }

    /// Registers a viewer named `handle` and returns their session.
    pub async fn register(&self, handle: &str) -> Session {
        self.register_as(handle, "VIEWER").await
    }

    pub async fn register_owned(&self, handle: String) -> Session {
        self.register(&handle).await
    }

    /// Registers `handle` as `role`, with the address proven as if the code emailed at
    /// registration had been used: the default `EMAIL_VERIFICATION_REQUIRED` stays on, and the
    /// tests of proving an address (`verification.rs`) use [`Self::register_unverified`]. Its
    /// identity is verified as a person of its own, an adult ([`Self::verify_identity`]), so
    /// the default `TOPUP_REQUIRES_IDENTITY` stays on too (`persons.rs` tests the gate). A
    /// `STREAMER` registers as a viewer and becomes a verified streamer through identity's own
    /// approval path ([`Self::make_streamer`]), as the server's default configuration
    /// (`STREAMER_SELF_REGISTRATION=false`) requires; the session is refreshed after it, so its
    /// access token says STREAMER.
    pub async fn register_as(&self, handle: &str, role: &str) -> Session {
        self.register_with(json!({ "email": format!("{handle}@example.com"),
            "password": PASSWORD, "handle": handle, "role": role }))
            .await
    }

    /// What the user's code would do: marks their address proven.
    pub async fn mark_email_verified(&self, user_id: &str) {
        mark_email_verified(&self.db.users, user_id).await;
    }

    /// Registers with `input` (a whole `RegisterInput`: a locale, a display name) as
    /// [`Self::register_as`] does: the address proven, a streamer approved.
    pub async fn register_with(&self, mut input: Value) -> Session {
        let streamer =
            input["role"] == "STREAMER" && !self.config.identity.streamer_self_registration;
        if streamer {
            input["role"] = json!("VIEWER");
        }
        let session = self.register_input(&input).await;
        self.mark_email_verified(&session.user_id).await;
        let person = format!("test-person-{}", session.user_id);
        self.verify_identity(&session.user_id, &person, "1990-01-01")
            .await;
        if streamer {
            return self.make_streamer(&session).await;
        }
        session
    }

    /// What a completed identity check would do: verifies `user_id` as `person` born on `birth`
    /// (`YYYY-MM-DD`) through identity's own path and the sandbox verifier, whatever verifier
    /// the app runs (PortOne's own tests are `persons.rs`'), under the app's hash key.
    pub async fn verify_identity(&self, user_id: &str, person: &str, birth: &str) {
        use missionlink_identity::persons;
        persons::verify(
            &self.db.users,
            &persons::sandbox::Sandbox,
            &self.config.identity.persons.hash_key,
            user_id,
            missionlink_entities::users::IdentityProvider::Portone,
            &format!("sandbox:Test Person:{birth}:{person}"),
        )
        .await
        .expect("verify the identity");
    }

    /// Registers `handle` as `role`, as given, its address not proven yet.
    pub async fn register_unverified(&self, handle: &str, role: &str) -> Session {
        self.register_input(&json!({ "email": format!("{handle}@example.com"),
            "password": PASSWORD, "handle": handle, "role": role }))
            .await
    }

    /// `register` with `input`, as given.
    async fn register_input(&self, input: &Value) -> Session {
        let r = self
            .gql(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) {
                    accessToken refreshToken user { id } } }",
                json!({ "input": input }),
            )
            .await
            .data("register");
        Session {
            user_id: r["user"]["id"].as_str().expect("id").to_owned(),
            access: r["accessToken"].as_str().expect("accessToken").to_owned(),
            refresh: r["refreshToken"].as_str().expect("refreshToken").to_owned(),
            email: input["email"].as_str().expect("email").to_owned(),
        }
    }

    /// Makes the viewer `who` a verified streamer the way an operator's approval does
    /// (`identity::streamers::apply` then `decide`, recorded as the support operator's
    /// action), with a CHZZK channel of its own; returns `who`'s refreshed session.
    pub async fn make_streamer(&self, who: &Session) -> Session {
        use missionlink_identity::streamers;
        let operator = self.support_operator().await;
        let channel = format!("https://chzzk.naver.com/{}", uuid::Uuid::new_v4().simple());
        streamers::apply(
            &self.db.users,
            &who.user_id,
            missionlink_entities::users::Platform::Chzzk,
            &channel,
        )
        .await
        .expect("apply as a streamer");
        let acting =
            missionlink_ledger::operator::Acting::new(&operator, "test support").expect("acting");
        streamers::decide(
            &self.db.users,
            &self.db.missions,
            &acting,
            &who.user_id,
            true,
        )
        .await
        .expect("approve the streamer");
        let r = self
            .gql(
                None,
                "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken user { role } } }",
                json!({ "t": who.refresh }),
            )
            .await
            .data("refresh");
        assert_eq!(r["user"]["role"], "STREAMER");
        Session {
            access: r["accessToken"].as_str().expect("accessToken").to_owned(),
            refresh: r["refreshToken"].as_str().expect("refreshToken").to_owned(),
            ..who.clone()
        }
    }

    /// The id of the operator the test support acts as (created on first use).
    pub async fn support_operator(&self) -> String {
        use missionlink_identity::operators::{Created, NewOperator, create};
        let created = create(
            &self.db.users,
            NewOperator {
                email: "support-operator@example.com".into(),
                handle: None,
                display_name: None,
            },
        )
        .await
        .expect("the support operator");
        match created {
            Created::New { user, .. } | Created::Existing(user) => user.id,
        }
    }

    pub async fn top_up(&self, who: &Session, amount: i64, key: &str) -> Gql {
        self.gql(
            Some(&who.access),
            "mutation($a: Int!, $k: String!) { topUp(amount: $a, idempotencyKey: $k) { cash points earnings } }",
            json!({ "a": amount, "k": key }),
        )
        .await
    }

    pub async fn wallet(&self, who: &Session) -> Value {
        self.gql(
            Some(&who.access),
            "{ wallet { cash points earnings } }",
            json!({}),
        )
        .await
        .data("wallet")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Marks `user_id`'s address proven in the users database `users`, as using the code emailed to
/// it would.
pub async fn mark_email_verified(users: &sea_orm::DatabaseConnection, user_id: &str) {
    use missionlink_entities::users::user;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    user::Entity::update_many()
        .col_expr(
            user::Column::EmailVerifiedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(users)
        .await
        .expect("mark the address proven");
}

/// The configuration of a test app: its databases, a fixed JWT secret, port 0, and a Temporal
/// address that answers only if the test asks for the real one.
pub fn test_config(dbs: &TestDatabases, overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("USERS_DATABASE_URL".into(), dbs.users_url.clone()),
        ("MISSIONS_DATABASE_URL".into(), dbs.missions_url.clone()),
        ("HTTP_ADDR".into(), "127.0.0.1:0".into()),
        ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("IDENTITY_HASH_KEY".into(), TEST_IDENTITY_HASH_KEY.into()),
        ("TEMPORAL_ADDRESS".into(), "http://127.0.0.1:9".into()),
        (
            "TEMPORAL_TASK_QUEUE".into(),
            format!("test-{}", uuid::Uuid::new_v4().simple()),
        ),
        // Every test registers its cast from 127.0.0.1; tests of the limit set their own.
        ("REGISTER_MAX_PER_ADDRESS".into(), "1000000".into()),
        // Not about the order throttle: its own tests (topup_edges.rs) set theirs.
        ("TOPUP_PREPARE_MAX_PER_USER".into(), "10000".into()),
        // Not about the card-testing throttle: its own test (topups.rs) runs at its default.
        ("TOPUP_FAILURES_MAX".into(), "10000".into()),
        ("TOPUP_FAILURES_MAX_PER_ADDRESS".into(), "10000".into()),
        // A success settles at once; the window's own tests (disputes, notices) set 600.
        ("OBJECTION_WINDOW_SECONDS".into(), "0".into()),
    ]);
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    // Production requires PUBLIC_URL; a test running as production gets one unless it sets it.
    if vars.get("APP_ENV").is_some_and(|e| e == "production") {
        vars.entry("PUBLIC_URL".into())
            .or_insert_with(|| "https://missionlink.test".into());
    }
    Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration")
}

/// A registered user's session.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub access: String,
    pub refresh: String,
    pub email: String,
}

/// A GraphQL response body.
#[derive(Debug)]
pub struct Gql(pub Value);

impl Gql {
    /// `data.<field>`, failing the test if the operation returned errors.
    pub fn data(&self, field: &str) -> Value {
        assert!(
            self.0.get("errors").is_none(),
            "unexpected errors: {}",
            self.0
        );
        self.0["data"][field].clone()
    }

    /// `errors[0].extensions.code`, failing the test if the operation succeeded.
    pub fn code(&self) -> String {
        self.0["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {}", self.0))
            .to_owned()
    }

    pub fn message(&self) -> String {
        self.0["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// An access token signed with the tests' secret, as the server itself would issue it, for any
/// user id, valid for `seconds` from now.
pub fn signed_token(user_id: &str, role: &str, seconds: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": user_id, "role": role, "iat": now, "exp": now + seconds }),
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .expect("sign")
}
