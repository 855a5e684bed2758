//! `missionlink demo`: seeds a running instance through its own GraphQL API with a streamer, two
//! viewers with cash, a mission in every state (PENDING, ACTIVE with pledges and bets,
//! VERIFYING, DISPUTED, SUCCEEDED, FAILED, REJECTED, EXPIRED) and a payout of the streamer's
//! earnings, then prints who is who and GraphiQL headers to paste. VERIFYING and DISPUTED need
//! an objection window, and the payout reaches PAID within the demo only with a short hold:
//! `scripts/run` sets both ([`stages`]).
//! It goes through the API like any client (nothing is written to a database directly), so the
//! instance's rules, ledger and workflows make every state; EXPIRED and the settlements need its
//! worker running (`missionlink all`, as `scripts/run` starts it). The three users are the
//! same every run (`demo_stella`, `demo_alice`, `demo_bob`: registered the first time, signed
//! in after); each run adds its own missions (the REJECTED one is the second viewer's, and while
//! an earlier run's rejection still holds them back, that earlier mission stands for it).
//! The streamer registers itself, which only a development instance allows
//! (`STREAMER_SELF_REGISTRATION=true`, as `scripts/run` sets it); elsewhere the demo stops
//! saying so.

mod output;
mod stages;

pub use stages::DemoPayout;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Duration;

/// The password of every demo user (they sign in with `login` once their tokens expire).
pub const DEMO_PASSWORD: &str = "demo-password-2026";

/// Longest wait for one answer of the instance.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Each demo mission: the state it is brought to, its title and the creator's first pledge.
/// The REJECTED one comes last and is the second viewer's: a rejection makes its proposer wait
/// `PROPOSAL_COOLDOWN_SECONDS` before proposing to that streamer again.
/// SUCCEEDED comes first, so its objection window is over soonest; VERIFYING is declared a
/// success last, once the others have ended, so it stays VERIFYING for a whole window after
/// the demo prints.
const MISSIONS: [(&str, &str, i64); 8] = [
    ("SUCCEEDED", "Sing the chorus in Korean", 15_000),
    ("PENDING", "Speedrun the first level blindfolded", 10_000),
    ("ACTIVE", "Win three ranked games in a row", 20_000),
    ("VERIFYING", "Finish the map without a single death", 8_000),
    ("DISPUTED", "Win the race in first place", 10_000),
    ("FAILED", "Beat the boss without healing", 12_000),
    ("EXPIRED", "Answer chat only in haiku", 3_000),
    ("REJECTED", "Eat a ghost pepper on stream", 5_000),
];

/// Won each demo viewer holds at the start of a run (more than every mission's first pledge).
const FUNDS: i64 = 200_000;

/// One demo user, signed in.
#[derive(Clone, Debug)]
pub struct DemoUser {
    pub id: String,
    pub handle: String,
    pub email: String,
    pub role: &'static str,
    pub access_token: String,
    pub refresh_token: String,
}

/// What the demo made.
#[derive(Debug)]
pub struct Demo {
    pub endpoint: String,
    pub streamer: DemoUser,
    pub viewer: DemoUser,
    pub viewer2: DemoUser,
    /// (status, mission id, title), in [`MISSIONS`] order.
    pub missions: Vec<(&'static str, String, &'static str)>,
    /// The streamer's payout of their earnings.
    pub payout: DemoPayout,
}

struct Client {
    http: reqwest::Client,
    endpoint: String,
}

impl Client {
    /// Runs one operation; an answer with `errors` is an error naming its code.
    async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer: Value = request
            .send()
            .await
            .with_context(|| format!("no answer from {}: is MissionLink running?", self.endpoint))?
            .json()
            .await
            .context("the answer was not GraphQL JSON")?;
        if let Some(error) = answer["errors"].get(0) {
            let code = error["extensions"]["code"].as_str().unwrap_or("no code");
            // The demo's users cannot read their mail: the instance must let money move first.
            let hint = if code == "EMAIL_NOT_VERIFIED" {
                "; seed a development instance, which lets unproven accounts move money \
                 (scripts/run sets EMAIL_VERIFICATION_REQUIRED=false)"
            } else {
                ""
            };
            bail!(
                "{} ({code}){hint}",
                error["message"].as_str().unwrap_or("error"),
            );
        }
        Ok(answer["data"].clone())
    }

    /// Signs the demo user `handle` in, registering it on the first run (later runs sign in, so
    /// they take nothing from the per-address registration limit).
    async fn sign_in(&self, handle: &str, role: &'static str) -> anyhow::Result<DemoUser> {
        let email = format!("{handle}@example.com");
        const SESSION: &str = "accessToken refreshToken user { id handle }";
        let login = self
            .gql(
                None,
                &format!("mutation($e: String!, $p: String!) {{ login(email: $e, password: $p) {{ {SESSION} }} }}"),
                json!({ "e": email, "p": DEMO_PASSWORD }),
            )
            .await;
        let (field, data) = match login {
            Ok(data) => ("login", data),
            // Not registered yet (any other refusal, such as RATE_LIMITED, is the answer).
            Err(e) if e.to_string().ends_with("(UNAUTHENTICATED)") => (
                "register",
                self.gql(
                    None,
                    &format!("mutation($input: RegisterInput!) {{ register(input: $input) {{ {SESSION} }} }}"),
                    json!({ "input": { "email": email, "password": DEMO_PASSWORD, "handle": handle,
                                       "role": role, "locale": "en" } }),
                )
                .await
                .map_err(|e| match e.to_string().ends_with("(FORBIDDEN)") && role == "STREAMER" {
                    true => e.context(
                        "this instance refuses self-registered streamers: run it with \
                         STREAMER_SELF_REGISTRATION=true (scripts/run does; development only)",
                    ),
                    false => e,
                })
                .with_context(|| format!("registering {handle}"))?,
            ),
            Err(e) => return Err(e.context(format!("signing {handle} in"))),
        };
        let session = &data[field];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Ok(DemoUser {
            id: text(&session["user"]["id"]),
            handle: handle.to_owned(),
            email,
            role,
            access_token: text(&session["accessToken"]),
            refresh_token: text(&session["refreshToken"]),
        })
    }
}

/// Seeds the instance answering GraphQL at `endpoint`, waiting at most `wait` for its worker to
/// expire and settle the missions that end.
async fn seed(endpoint: &str, wait: Duration) -> anyhow::Result<Demo> {
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the HTTP client")?,
        endpoint: endpoint.to_owned(),
    };
    // The same three users every run; each run's missions, top-ups and bets are its own.
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let key = |what: &str| format!("demo-{run_id}-{what}");
    let streamer = client.sign_in("demo_stella", "STREAMER").await?;
    let viewer = client.sign_in("demo_alice", "VIEWER").await?;
    let viewer2 = client.sign_in("demo_bob", "VIEWER").await?;
    // Each viewer holds at least FUNDS before the run: only what is missing is topped up, so
    // reruns take little of the day's top-up limit (`TOPUP_DAILY_LIMIT_WON`).
    for who in [&viewer, &viewer2] {
        let wallet = client
            .gql(Some(&who.access_token), "{ wallet { cash } }", json!({}))
            .await
            .with_context(|| format!("reading {}'s wallet", who.handle))?;
        let cash = wallet["wallet"]["cash"].as_i64().unwrap_or(0);
        if cash >= FUNDS {
            continue;
        }
        let missing = (FUNDS - cash).max(missionlink_ledger::wallet::TOP_UP_MIN_WON);
        client
            .gql(
                Some(&who.access_token),
                "mutation($a: Int!, $k: String!) { topUp(amount: $a, idempotencyKey: $k) { cash } }",
                json!({ "a": missing, "k": key(&format!("topup-{}", who.handle)) }),
            )
            .await
            .with_context(|| format!("topping up {}", who.handle))?;
    }

    let mut missions = Vec::new();
    for (status, title, amount) in MISSIONS {
        let accept_within = if status == "EXPIRED" { 1 } else { 3_600 };
        let creator = if status == "REJECTED" {
            &viewer2
        } else {
            &viewer
        };
        let input = json!({
            "streamerId": streamer.id, "title": title, "amount": amount,
            "durationSeconds": 3_600, "acceptWithinSeconds": accept_within });
        let created = client
            .gql(
                Some(&creator.access_token),
                "mutation($input: CreateMissionInput!, $k: String!) {
                   createMission(input: $input, idempotencyKey: $k) { id } }",
                json!({ "k": key(status), "input": input }),
            )
            .await;
        let id = match created {
            Ok(created) => created["createMission"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            // An earlier run's rejection still holds the second viewer back: its REJECTED
            // mission stands for this run's.
            Err(e) if status == "REJECTED" && waiting(&e) => {
                missions.push((status, earlier_rejection(&client, creator).await?, title));
                continue;
            }
            Err(e) => return Err(e.context(format!("creating the {status} mission"))),
        };
        let act = |mutation: &'static str| {
            let (client, token, id) = (&client, streamer.access_token.clone(), id.clone());
            async move {
                client
                    .gql(Some(&token), mutation, json!({ "m": id }))
                    .await
                    .with_context(|| format!("bringing a mission to {status}"))
            }
        };
        const ACCEPT: &str = "mutation($m: ID!) { acceptMission(missionId: $m) { status } }";
        match status {
            "PENDING" => {
                pledge(&client, &viewer2, &id, 5_000, &key("pledge-pending")).await?;
            }
            "ACTIVE" => {
                act(ACCEPT).await?;
                pledge(&client, &viewer2, &id, 7_000, &key("pledge-active")).await?;
                bet(&client, &viewer, &id, "SUCCESS", 500, &key("bet-alice")).await?;
                bet(&client, &viewer2, &id, "FAILURE", 300, &key("bet-bob")).await?;
            }
            "SUCCEEDED" => {
                act(ACCEPT).await?;
                stages::declare_success(&client, &streamer, &id).await?;
            }
            "FAILED" => {
                act(ACCEPT).await?;
                act("mutation($m: ID!) { decideMission(missionId: $m, outcome: FAILURE) { status } }")
                    .await?;
            }
            "VERIFYING" => {
                act(ACCEPT).await?;
            }
            "DISPUTED" => {
                pledge(&client, &viewer2, &id, 10_000, &key("pledge-disputed")).await?;
                act(ACCEPT).await?;
                stages::declare_success(&client, &streamer, &id).await?;
                stages::object(&client, [&viewer, &viewer2], &id, key).await?;
            }
            "REJECTED" => {
                act("mutation($m: ID!) { rejectMission(missionId: $m, reason: \"not on stream\") { status } }")
                    .await?;
            }
            _ => {}
        }
        missions.push((status, id, title));
    }
    // One deadline for every wait: the endings, then the payout.
    let deadline = tokio::time::Instant::now() + wait;
    wait_for_endings(&client, &missions, deadline, wait).await?;
    // The SUCCEEDED mission paid the streamer: part of it goes to their bank.
    let payout = stages::payout(&client, &streamer, &key("payout"), deadline, wait).await?;
    let verifying = missions
        .iter()
        .find(|(status, _, _)| *status == "VERIFYING")
        .map(|(_, id, _)| id.clone())
        .context("the VERIFYING mission")?;
    stages::declare_success(&client, &streamer, &verifying).await?;
    Ok(Demo {
        endpoint: endpoint.to_owned(),
        streamer,
        viewer,
        viewer2,
        missions,
        payout,
    })
}

/// Whether a refusal says to wait (a cooldown or a suspension after rejections).
fn waiting(e: &anyhow::Error) -> bool {
    let e = e.to_string();
    e.ends_with("(PROPOSAL_COOLDOWN)") || e.ends_with("(PROPOSALS_SUSPENDED)")
}

/// The newest mission of `creator`'s that a streamer rejected.
async fn earlier_rejection(client: &Client, creator: &DemoUser) -> anyhow::Result<String> {
    let data = client
        .gql(
            Some(&creator.access_token),
            "{ me { missions(as: CREATOR, statuses: [REJECTED], first: 1) { nodes { id } } } }",
            json!({}),
        )
        .await?;
    data["me"]["missions"]["nodes"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .context("no earlier REJECTED mission to show")
}

async fn pledge(
    client: &Client,
    who: &DemoUser,
    mission: &str,
    amount: i64,
    key: &str,
) -> anyhow::Result<()> {
    client
        .gql(
            Some(&who.access_token),
            "mutation($m: ID!, $a: Int!, $k: String!) { contribute(missionId: $m, amount: $a, idempotencyKey: $k) { id } }",
            json!({ "m": mission, "a": amount, "k": key }),
        )
        .await
        .with_context(|| format!("{} pledging", who.handle))?;
    Ok(())
}

async fn bet(
    client: &Client,
    who: &DemoUser,
    mission: &str,
    outcome: &str,
    points: i64,
    key: &str,
) -> anyhow::Result<()> {
    client
        .gql(
            Some(&who.access_token),
            "mutation($m: ID!, $o: Outcome!, $p: Int!, $k: String!) {
               placeBet(missionId: $m, outcome: $o, points: $p, idempotencyKey: $k) { id } }",
            json!({ "m": mission, "o": outcome, "p": points, "k": key }),
        )
        .await
        .with_context(|| format!("{} betting", who.handle))?;
    Ok(())
}

/// Waits until the EXPIRED mission has expired, the SUCCEEDED one's objection window has
/// passed, and every ended mission is settled (paid or refunded): the instance's worker does
/// all three.
async fn wait_for_endings(
    client: &Client,
    missions: &[(&'static str, String, &'static str)],
    deadline: tokio::time::Instant,
    wait: Duration,
) -> anyhow::Result<()> {
    let ending: Vec<&(&str, String, &str)> = missions
        .iter()
        .filter(|(status, _, _)| {
            !matches!(*status, "PENDING" | "ACTIVE" | "VERIFYING" | "DISPUTED")
        })
        .collect();
    loop {
        let mut waiting = Vec::new();
        for (status, id, _) in &ending {
            let data = client
                .gql(
                    None,
                    "query($m: ID!) { mission(id: $m) { status settledAt objectionWindowEndsAt } }",
                    json!({ "m": id }),
                )
                .await?;
            let m = &data["mission"];
            stages::window_fits(m, deadline)?;
            if m["status"] != *status || m["settledAt"].is_null() {
                waiting.push(format!(
                    "{status} ({id}) is {} and {}",
                    m["status"],
                    if m["settledAt"].is_null() {
                        "unsettled"
                    } else {
                        "settled"
                    }
                ));
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "after {}s still waiting for: {}. Expiry and settlement are the worker's: is `missionlink worker` (or `all`, as scripts/run starts it) running against this instance?",
                wait.as_secs(),
                waiting.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `missionlink demo`: seeds the instance at `url` (by default the one `HTTP_ADDR` names) and
/// prints what it made.
pub async fn run(url: Option<String>, json: bool, wait_seconds: u64) -> anyhow::Result<ExitCode> {
    let endpoint = match url {
        Some(url) => url,
        None => {
            let raw = std::env::var("HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
            let addr = raw
                .parse()
                .with_context(|| format!("HTTP_ADDR {raw:?} is not host:port"))?;
            local_endpoint(addr)
        }
    };
    let wait = std::time::Duration::from_secs(wait_seconds);
    let demo = seed(&endpoint, wait).await?;
    if json {
        println!("{}", demo.to_json());
    } else {
        print!("{}", demo.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// The GraphQL endpoint of the API listening on `addr` (on loopback when it listens on every
/// address).
fn local_endpoint(addr: std::net::SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!(
        "http://{}/graphql",
        std::net::SocketAddr::new(host, addr.port())
    )
}
