//! The test harness: fresh databases, a running app, and a GraphQL client.

use missionlink_api::db::Databases;
use missionlink_api::http::Server;
use missionlink_api::state::AppState;
use missionlink_config::Config;
use sea_orm::{ConnectionTrait, Database, EntityTrait, QueryOrder};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::oneshot;

/// Secret the test apps sign tokens with.
pub const TEST_JWT_SECRET: &str = "integration-tests-secret-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery staple";

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
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

/// A users and a missions database of this test's own, removed when dropped.
pub struct TestDatabases {
    pub users_url: String,
    pub missions_url: String,
    postgres_names: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

/// How this run's test databases are named: `TEST_DB_PREFIX` (scripts/test sets one per run, and
/// drops that run's databases when it ends), else `ml_test`.
fn db_prefix() -> String {
    let prefix = std::env::var("TEST_DB_PREFIX").unwrap_or_else(|_| "ml_test".to_owned());
    assert!(
        !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "TEST_DB_PREFIX must be lowercase letters, digits and _: {prefix:?}"
    );
    prefix
}

/// The two template databases of this test process, migrated once: each test's databases are
/// copies (`CREATE DATABASE ... TEMPLATE`), which is much faster than migrating two databases
/// per test. Named under [`db_prefix`] like the rest, so scripts/test's clean-up removes them.
async fn templates() -> &'static [String; 2] {
    static TEMPLATES: tokio::sync::OnceCell<[String; 2]> = tokio::sync::OnceCell::const_new();
    TEMPLATES
        .get_or_init(|| async {
            // Built on a runtime of its own: the first test's runtime ends with that test, and
            // the pools opened here must not outlive theirs.
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(migrated_templates())
            })
            .join()
            .expect("template thread")
        })
        .await
}

async fn migrated_templates() -> [String; 2] {
    let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
        .await
        .expect("connect to the test Postgres");
    let stem = format!("{}_tpl_{}", db_prefix(), uuid::Uuid::new_v4().simple());
    let names = [format!("{stem}_users"), format!("{stem}_missions")];
    for name in &names {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create template database");
    }
    let url = |name: &str| format!("{}/{name}", postgres_admin_url());
    let db = Databases::connect(&url(&names[0]), &url(&names[1]))
        .await
        .expect("connect to the templates");
    db.migrate().await.expect("migrate the templates");
    db.users.close().await.ok();
    db.missions.close().await.ok();
    admin.close().await.ok();
    names
}

/// Serialises copies of the templates: a template being copied must have no other session.
static COPYING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl TestDatabases {
    /// Two fresh Postgres databases, migrated (copies of this process's templates).
    pub async fn postgres() -> Self {
        Self::create(Some(templates().await)).await
    }

    /// Two fresh, empty Postgres databases, for tests of migrating itself.
    pub async fn postgres_empty() -> Self {
        Self::create(None).await
    }

    async fn create(templates: Option<&[String; 2]>) -> Self {
        let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
            .await
            .expect("connect to the test Postgres");
        let stem = format!("{}_{}", db_prefix(), uuid::Uuid::new_v4().simple());
        let names = vec![format!("{stem}_users"), format!("{stem}_missions")];
        {
            let _one_at_a_time = COPYING.lock().await;
            for (i, name) in names.iter().enumerate() {
                let template = templates
                    .map(|t| format!(" TEMPLATE \"{}\"", t[i]))
                    .unwrap_or_default();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\"{template}"))
                    .await
                    .expect("create test database");
            }
        }
        admin.close().await.ok();
        Self {
            users_url: format!("{}/{}", postgres_admin_url(), names[0]),
            missions_url: format!("{}/{}", postgres_admin_url(), names[1]),
            postgres_names: names,
            _dir: None,
        }
    }

    /// The same databases, without ownership: dropping the copy removes nothing.
    pub fn shared(&self) -> Self {
        Self {
            users_url: self.users_url.clone(),
            missions_url: self.missions_url.clone(),
            postgres_names: Vec::new(),
            _dir: None,
        }
    }

    /// Two fresh SQLite files in a temporary directory, as `missionlink` uses by default.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = |name: &str| format!("sqlite://{}/{name}.db?mode=rwc", dir.path().display());
        Self {
            users_url: url("users"),
            missions_url: url("missions"),
            postgres_names: Vec::new(),
            _dir: Some(dir),
        }
    }
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        if self.postgres_names.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.postgres_names);
        // Drop runs inside the test's runtime; a separate thread with its own runtime may block.
        let dropper = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let admin = Database::connect(format!("{}/postgres", postgres_admin_url())).await?;
                for name in names {
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await?;
                }
                admin.close().await
            })
            .map_err(std::io::Error::other)
        });
        if let Ok(Err(e)) = dropper.join() {
            eprintln!("could not drop test databases: {e}");
        }
    }
}

/// Where a test worker's emails end up.
pub enum Mailbox {
    /// `.eml` files in the worker's `outbox` directory.
    Files,
    /// moto's SES v2 (started by scripts/test), shared by every test of the run.
    Moto,
}

/// One email as its recipient would see it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

pub const SES_SENDER: &str = "no-reply@missionlink.local";

pub fn ses_endpoint() -> String {
    std::env::var("TEST_SES_ENDPOINT")
        .expect("TEST_SES_ENDPOINT is not set: run the tests with scripts/test")
}

/// AWS configuration pointing at moto, with the sender verified there.
pub async fn moto_ses_config() -> aws_config::SdkConfig {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(ses_endpoint())
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let client = aws_sdk_sesv2::Client::new(&config);
    for identity in [SES_SENDER, "missionlink.local"] {
        client
            .create_email_identity()
            .email_identity(identity)
            .send()
            .await
            .expect("verify the sender in moto");
    }
    config
}

/// Every message moto accepted in this run.
pub async fn moto_messages() -> Vec<Mail> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", ses_endpoint()))
        .await
        .expect("moto data")
        .json()
        .await
        .expect("json");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| Mail {
            to: m["destinations"]["ToAddresses"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            body: m["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Reads an `.eml` file the file transport wrote: `To`, the decoded `Subject` and body.
pub fn parse_eml(raw: &str) -> Mail {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers and body");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
            .unwrap_or_default()
    };
    let subject = header("Subject");
    let subject = match subject
        .strip_prefix("=?UTF-8?B?")
        .and_then(|s| s.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(b64.decode(encoded).expect("rfc2047")).expect("utf8"),
        None => subject,
    };
    let body: String = body.split_whitespace().collect();
    Mail {
        to: header("To"),
        subject,
        body: String::from_utf8(b64.decode(body).expect("base64 body")).expect("utf8"),
    }
}

/// A Temporal worker running in this test process on the app's task queue.
pub struct TestWorker {
    pub outbox: tempfile::TempDir,
    mailbox: Mailbox,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestWorker {
    /// The emails about the mission titled `title` (every subject carries the title).
    pub async fn mail_about(&self, title: &str) -> Vec<Mail> {
        let all = match self.mailbox {
            Mailbox::Moto => moto_messages().await,
            Mailbox::Files => std::fs::read_dir(self.outbox.path())
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| parse_eml(&std::fs::read_to_string(e.path()).expect("read eml")))
                .collect(),
        };
        all.into_iter()
            .filter(|m| m.subject.contains(title))
            .collect()
    }

    /// Waits until `n` emails about `title` went out (at most 30 s) and returns them all.
    pub async fn wait_for_mail(&self, title: &str, n: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mail = self.mail_about(title).await;
            if mail.len() >= n || tokio::time::Instant::now() > deadline {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(20), task).await;
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
    }
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

    /// Starts a worker in this process on this app's databases and task queue, sending email
    /// through SES v2 (moto).
    pub async fn start_worker(&self) -> TestWorker {
        let mailer = missionlink_workflows::email::Mailer::ses_with(
            &moto_ses_config().await,
            format!("MissionLink <{SES_SENDER}>"),
            100,
        );
        let dir = tempfile::tempdir().expect("dir");
        self.start_worker_with(dir, Mailbox::Moto, mailer).await
    }

    /// Like [`Self::start_worker`], writing `.eml` files instead.
    pub async fn start_file_worker(&self) -> TestWorker {
        let outbox = tempfile::tempdir().expect("outbox dir");
        let mailer = missionlink_workflows::email::Mailer::file(
            outbox.path(),
            format!("MissionLink <{SES_SENDER}>"),
        );
        self.start_worker_with(outbox, Mailbox::Files, mailer).await
    }

    pub async fn start_worker_with(
        &self,
        outbox: tempfile::TempDir,
        mailbox: Mailbox,
        mailer: missionlink_workflows::email::Mailer,
    ) -> TestWorker {
        self.start_worker_exporting(outbox, mailbox, mailer, None)
            .await
    }

    /// Like [`Self::start_worker_with`], with the Temporal SDK's metrics served on `sdk_metrics`.
    pub async fn start_worker_exporting(
        &self,
        outbox: tempfile::TempDir,
        mailbox: Mailbox,
        mailer: missionlink_workflows::email::Mailer,
        sdk_metrics: Option<std::net::SocketAddr>,
    ) -> TestWorker {
        let settlement = missionlink_workflows::mission::SettlementSettings {
            fee_bps: self.config.missions.platform_fee_bps,
            page_size: self.config.missions.settlement_page_size,
            email_page_size: 100,
        };
        let payouts = self.config.payouts.worker();
        let topups = self.config.topups.worker();
        // The worker always reaches the real Temporal, even when this app's API is configured not to.
        let mut temporal = self.config.temporal.clone();
        temporal.address = temporal_address();
        let (users_url, missions_url) = (self.dbs.users_url.clone(), self.dbs.missions_url.clone());
        let (tx, rx) = oneshot::channel();
        // The SDK's worker future is not Send: it gets a thread and a runtime of its own, with
        // its own database pools.
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let db = Databases::connect(&users_url, &missions_url).await?;
                let deps = missionlink_workflows::worker::WorkerDeps {
                    audit_interval: std::time::Duration::from_secs(300),
                    event_retention: std::time::Duration::from_secs(24 * 3600),
                    sdk_metrics_addr: sdk_metrics,
                    missions_db: db.missions.clone(),
                    users_db: db.users.clone(),
                    mailer: std::sync::Arc::new(mailer),
                    settlement,
                    payouts,
                    topups,
                    dispute_sla: std::time::Duration::from_secs(86_400),
                };
                missionlink_workflows::worker::run(&temporal, deps, async {
                    rx.await.ok();
                })
                .await
            })
        });
        let task = tokio::task::spawn_blocking(move || {
            thread
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("worker thread panicked")))
        });
        TestWorker {
            outbox,
            mailbox,
            shutdown: Some(tx),
            task: Some(task),
        }
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

    pub async fn register_as(&self, handle: &str, role: &str) -> Session {
        let email = format!("{handle}@example.com");
        let r = self
            .gql(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) {
                    accessToken refreshToken user { id handle role } } }",
                json!({ "input": { "email": email, "password": PASSWORD, "handle": handle, "role": role } }),
            )
            .await
            .data("register");
        Session {
            user_id: r["user"]["id"].as_str().expect("id").to_owned(),
            access: r["accessToken"].as_str().expect("accessToken").to_owned(),
            refresh: r["refreshToken"].as_str().expect("refreshToken").to_owned(),
            email,
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

    /// The rows of both databases that a refused request must leave alone (users, tokens,
    /// throttles, accounts, transfers, idempotency keys, top-ups, their receipts and days), in a
    /// stable order: equal snapshots mean nothing changed.
    pub async fn snapshot(&self) -> String {
        use missionlink_entities::missions::{
            account, idempotency_key, top_up, topup_receipt, transfer,
        };
        use missionlink_entities::users::{login_throttle, refresh_token, user};
        let u = &self.db.users;
        let m = &self.db.missions;
        let days: Vec<(String, String, i64)> = m
            .query_all_raw(sea_orm::Statement::from_string(
                m.get_database_backend(),
                "SELECT user_id, day, total_won FROM topup_days ORDER BY user_id, day",
            ))
            .await
            .expect("top-up days")
            .iter()
            .map(|r| {
                (
                    r.try_get("", "user_id").expect("user_id"),
                    r.try_get("", "day").expect("day"),
                    r.try_get("", "total_won").expect("total_won"),
                )
            })
            .collect();
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{days:?}",
            user::Entity::find()
                .order_by_asc(user::Column::Id)
                .all(u)
                .await
                .expect("users"),
            refresh_token::Entity::find()
                .order_by_asc(refresh_token::Column::Id)
                .all(u)
                .await
                .expect("refresh tokens"),
            login_throttle::Entity::find()
                .order_by_asc(login_throttle::Column::Bucket)
                .all(u)
                .await
                .expect("throttle"),
            account::Entity::find()
                .order_by_asc(account::Column::Id)
                .all(m)
                .await
                .expect("accounts"),
            transfer::Entity::find()
                .order_by_asc(transfer::Column::Id)
                .all(m)
                .await
                .expect("transfers"),
            idempotency_key::Entity::find()
                .order_by_asc(idempotency_key::Column::UserId)
                .order_by_asc(idempotency_key::Column::Key)
                .all(m)
                .await
                .expect("idempotency keys"),
            top_up::Entity::find()
                .order_by_asc(top_up::Column::Id)
                .all(m)
                .await
                .expect("top-ups"),
            topup_receipt::Entity::find()
                .order_by_asc(topup_receipt::Column::TopUpId)
                .order_by_asc(topup_receipt::Column::Event)
                .all(m)
                .await
                .expect("top-up receipts"),
        )
    }

    /// Starts `missionlink worker` as a process of its own on this app's databases and task
    /// queue, against the real Temporal, with `env` on top; killed when dropped.
    pub fn spawn_worker_process(&self, env: &[(&str, &str)]) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .arg("worker")
            .env_clear()
            .envs(self.binary_env())
            .env("TEMPORAL_ADDRESS", temporal_address())
            .env("TEMPORAL_TASK_QUEUE", &self.config.temporal.task_queue)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn missionlink worker")
    }

    /// Runs `missionlink audit` on this app's databases.
    pub async fn audit(&self) -> std::process::Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .arg("audit")
            .env_clear()
            .envs(self.binary_env())
            .output()
            .await
            .expect("run missionlink audit")
    }

    /// Fails the test unless `missionlink audit` finds every invariant intact.
    pub async fn assert_audit_clean(&self) {
        let out = self.audit().await;
        assert!(
            out.status.success(),
            "audit failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Environment for running the `missionlink` binary against this app's databases.
    pub fn binary_env(&self) -> HashMap<String, String> {
        HashMap::from([
            ("USERS_DATABASE_URL".into(), self.dbs.users_url.clone()),
            (
                "MISSIONS_DATABASE_URL".into(),
                self.dbs.missions_url.clone(),
            ),
            ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
            ("RUST_LOG".into(), "warn".into()),
            ("WORKER_METRICS_ADDR".into(), "127.0.0.1:0".into()),
        ])
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

/// The configuration of a test app: its databases, a fixed JWT secret, port 0, and a Temporal
/// address that answers only if the test asks for the real one.
pub fn test_config(dbs: &TestDatabases, overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("USERS_DATABASE_URL".into(), dbs.users_url.clone()),
        ("MISSIONS_DATABASE_URL".into(), dbs.missions_url.clone()),
        ("HTTP_ADDR".into(), "127.0.0.1:0".into()),
        ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("TEMPORAL_ADDRESS".into(), "http://127.0.0.1:9".into()),
        (
            "TEMPORAL_TASK_QUEUE".into(),
            format!("test-{}", uuid::Uuid::new_v4().simple()),
        ),
        // Every test registers its cast from 127.0.0.1; tests of the limit set their own.
        ("REGISTER_MAX_PER_ADDRESS".into(), "1000000".into()),
        // Tests that race many orders of one user are not about the order throttle, whose own
        // tests (topup_edges.rs) set theirs.
        ("TOPUP_PREPARE_MAX_PER_USER".into(), "10000".into()),
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

/// What a [`FaultProxy`] does to the traffic through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwards both ways.
    Pass,
    /// Forwards requests but holds every answer until the mode changes: the server did the
    /// work, the client does not hear of it.
    Stall,
    /// Cuts every open connection and refuses new ones, as a crashed server would.
    Down,
}

/// A TCP proxy on loopback in front of a real server (PostgreSQL, moto), whose faults a test
/// switches on and off.
pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: tokio::sync::watch::Sender<Fault>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (mode, _) = tokio::sync::watch::channel(Fault::Pass);
        let modes = mode.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *modes.borrow() == Fault::Down {
                    continue; // dropped: the connection is refused
                }
                tokio::spawn(Self::relay(client, upstream, modes.subscribe()));
            }
        });
        Self { addr, mode, task }
    }

    pub fn set(&self, fault: Fault) {
        self.mode.send_replace(fault);
    }

    async fn relay(
        client: tokio::net::TcpStream,
        upstream: SocketAddr,
        mode: tokio::sync::watch::Receiver<Fault>,
    ) {
        let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
            return;
        };
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let mut down = mode.clone();
        tokio::select! {
            _ = Self::pipe(client_read, server_write, mode.clone(), false) => {}
            _ = Self::pipe(server_read, client_write, mode, true) => {}
            _ = down.wait_for(|m| *m == Fault::Down) => {}
        }
    }

    /// Copies `from` to `to`; answers (`holds`) wait while the proxy stalls.
    async fn pipe(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        mut mode: tokio::sync::watch::Receiver<Fault>,
        holds: bool,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if holds && mode.wait_for(|m| *m != Fault::Stall).await.is_err() {
                return;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
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

/// A websocket to an app's `/graphql/ws`, speaking graphql-transport-ws.
pub type WsSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql/ws` on `app` with the graphql-transport-ws subprotocol.
pub async fn ws_connect(app: &TestApp) -> Result<WsSocket, tokio_tungstenite::tungstenite::Error> {
    ws_connect_at(app.addr).await
}

/// Opens `/graphql/ws` on the API at `addr`.
pub async fn ws_connect_at(
    addr: SocketAddr,
) -> Result<WsSocket, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

/// A socket that has sent an anonymous `connection_init` (its acknowledgement not read yet).
pub async fn ws_open(app: &TestApp) -> WsSocket {
    ws_open_at(app.addr).await
}

/// [`ws_open`] on the API at `addr`.
pub async fn ws_open_at(addr: SocketAddr) -> WsSocket {
    use futures::SinkExt;
    let mut ws = ws_connect_at(addr).await.expect("connect");
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({ "type": "connection_init" }).to_string(),
    ))
    .await
    .expect("init");
    ws
}

/// The socket's next text message as JSON (pings and the like skipped); fails the test after
/// 15 s of silence.
pub async fn ws_next_json(ws: &mut WsSocket) -> Value {
    use futures::StreamExt;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s")
            .expect("socket open")
            .expect("message");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = msg {
            return serde_json::from_str(&text).expect("json");
        }
    }
}

/// A `missionlink serve` process of its own on `app`'s databases (no Temporal: workflow starts
/// wait in the outbox), killed when dropped.
pub struct ServeProcess {
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    process: tokio::process::Child,
}

impl ServeProcess {
    /// On a free port.
    pub async fn start(app: &TestApp) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        Self::start_at(app, addr).await
    }

    /// On `addr` (a restart: the same address again).
    pub async fn start_at(app: &TestApp, addr: SocketAddr) -> Self {
        let process = tokio::process::Command::new(env!("CARGO_BIN_EXE_missionlink"))
            .arg("serve")
            .env_clear()
            .envs(app.binary_env())
            .env("HTTP_ADDR", addr.to_string())
            .env("TEMPORAL_ADDRESS", "http://127.0.0.1:1")
            .kill_on_drop(true)
            .spawn()
            .expect("start missionlink serve");
        let http = reqwest::Client::new();
        let base = format!("http://{addr}");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .map_or(true, |r| !r.status().is_success())
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "serve never came up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Self {
            addr,
            base,
            http,
            process,
        }
    }

    /// Posts one operation as `token`, failing the test on errors; its `data`.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("json");
        assert!(body["errors"].is_null(), "{body}");
        body["data"].clone()
    }

    /// Kills the process (SIGKILL: no graceful shutdown) and waits for it to be gone.
    pub async fn kill(mut self) {
        self.process.kill().await.expect("kill missionlink serve");
    }
}
