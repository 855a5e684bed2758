//! The load generator and seeder behind `bench/run`. Subcommands:
//!
//! - `setup API CLIENTS MISSIONS STREAMERS OUT`: registers a streamer, one viewer per client
//!   (each with enough cash), and MISSIONS missions proposed to the streamer (`missions`); with
//!   STREAMERS > 1, STREAMERS more streamers and MISSIONS more missions spread over them
//!   (`many`); writes the tokens and ids.
//! - `pledges API SETUP CLIENTS SECONDS MISSIONS [SET]`: CLIENTS concurrent clients send real
//!   `contribute` mutations for SECONDS, round-robin over the first MISSIONS missions of SET
//!   (`missions`, or `many`); prints one JSON line with the count, the rate and the latency
//!   percentiles. Meanwhile a subscriber follows the first streamer's `missionEvents` over the
//!   websocket, asking what the overlay asks (each event's mission with its totals, its pledge
//!   and backer), and measures, for each pledge's event, the time from its commit (the event's
//!   `at`, stamped just before the commit) to its arrival (`feed_p50_ms`, `feed_p95_ms`; same
//!   machine, same clock).
//! - `seed USERS_DB MISSIONS_DB API BACKERS OUT`: a mission with BACKERS pledges from BACKERS
//!   backers, seeded straight through the ledger code; writes the mission and the streamer's
//!   token.
//! - `settle API MISSIONS_DB SEEDED OUTBOX EXPECTED_EMAILS`: decides the seeded mission SUCCESS
//!   and prints the seconds until `settledAt` and until the email step is done; with an OUTBOX
//!   directory (not `-`) it also checks that every email file exists.
//! - `statement API MISSIONS_DB MOVEMENTS`: the wallet statement's page latency for a user with
//!   MOVEMENTS movements beside one with 100 (see `statement.rs`).
//! - `files DIR N`: the disk's ceiling for the file transport: N files of an email's size
//!   written as it writes them (a temporary file, then a rename), by one thread, into the new
//!   directory DIR; prints the files a second.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod pledges;
mod statement;

const PASSWORD: &str = "bench-password-123";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> anyhow::Result<&str> {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("argument {i} missing; see the crate docs"))
    };
    match arg(0)? {
        "setup" => {
            setup(
                arg(1)?,
                arg(2)?.parse()?,
                arg(3)?.parse()?,
                arg(4)?.parse()?,
                arg(5)?,
            )
            .await
        }
        "pledges" => {
            pledges::run(
                arg(1)?,
                arg(2)?,
                arg(3)?.parse()?,
                arg(4)?.parse()?,
                arg(5)?.parse()?,
                args.get(6).map_or("missions", String::as_str),
            )
            .await
        }
        "seed" => seed(arg(1)?, arg(2)?, arg(3)?, arg(4)?.parse()?, arg(5)?).await,
        "settle" => settle(arg(1)?, arg(2)?, arg(3)?, arg(4)?, arg(5)?.parse()?).await,
        "files" => files(arg(1)?, arg(2)?.parse()?),
        "statement" => statement::run(arg(1)?, arg(2)?, arg(3)?.parse()?).await,
        other => bail!("unknown subcommand {other:?}"),
    }
}

struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(1024)
                .build()
                .expect("http client"),
            url: format!("{base}/graphql"),
        }
    }

    async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let body: Value = request.send().await?.json().await?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL error: {errors}");
        }
        Ok(body["data"].clone())
    }

    async fn register(&self, handle: &str, role: &str) -> anyhow::Result<(String, String)> {
        let d = self
            .gql(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
                json!({ "i": { "email": format!("{handle}@bench.local"), "password": PASSWORD, "handle": handle, "role": role } }),
            )
            .await?;
        Ok((
            d["register"]["accessToken"]
                .as_str()
                .context("token")?
                .to_owned(),
            d["register"]["user"]["id"]
                .as_str()
                .context("id")?
                .to_owned(),
        ))
    }

    /// Ten million won into the wallet (ten top-ups at the largest amount allowed).
    async fn fund(&self, token: &str) -> anyhow::Result<()> {
        for k in 0..10 {
            self.gql(
                Some(token),
                "mutation($k: String!) { topUp(amount: 1000000, idempotencyKey: $k) { cash } }",
                json!({ "k": format!("t{k}") }),
            )
            .await?;
        }
        Ok(())
    }
}

async fn setup(
    api: &str,
    clients: usize,
    missions: usize,
    streamers: usize,
    out: &str,
) -> anyhow::Result<()> {
    let api = Arc::new(Api::new(api));
    let run = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let (_, streamer_id) = api.register(&format!("streamer_{run}"), "STREAMER").await?;
    let (creator, _) = api.register(&format!("creator_{run}"), "VIEWER").await?;
    api.fund(&creator).await?;
    let mission_ids = propose(
        &api,
        &creator,
        std::slice::from_ref(&streamer_id),
        missions,
        "m",
    )
    .await?;
    let mut many = Vec::new();
    if streamers > 1 {
        let mut others = Vec::with_capacity(streamers);
        for s in 0..streamers {
            others.push(
                api.register(&format!("streamer_{run}_{s}"), "STREAMER")
                    .await?
                    .1,
            );
        }
        many = propose(&api, &creator, &others, missions, "n").await?;
    }
    let tokens = futures::future::try_join_all((0..clients).map(|c| {
        let api = api.clone();
        async move {
            let (token, _) = api.register(&format!("viewer_{run}_{c}"), "VIEWER").await?;
            api.fund(&token).await?;
            anyhow::Ok(token)
        }
    }))
    .await?;
    std::fs::write(
        out,
        serde_json::to_string(
            &json!({ "tokens": tokens, "missions": mission_ids, "many": many, "streamer": streamer_id }),
        )?,
    )?;
    Ok(())
}

/// `count` missions proposed by `creator`, round-robin over `streamers` (keys `<prefix><n>`).
async fn propose(
    api: &Api,
    creator: &str,
    streamers: &[String],
    count: usize,
    prefix: &str,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let d = api
            .gql(
                Some(creator),
                "mutation($i: CreateMissionInput!, $k: String!) { createMission(input: $i, idempotencyKey: $k) { id } }",
                json!({ "i": { "streamerId": streamers[i % streamers.len()], "title": format!("Bench mission {prefix}{i}"), "amount": 1000, "durationSeconds": 3600 }, "k": format!("{prefix}{i}") }),
            )
            .await?;
        ids.push(d["createMission"]["id"].as_str().context("id")?.to_owned());
    }
    Ok(ids)
}

async fn seed(
    users_db: &str,
    missions_db: &str,
    api: &str,
    backers: usize,
    out: &str,
) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let api = Api::new(api);
    let run = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let (streamer, streamer_id) = api
        .register(&format!("bigstreamer_{run}"), "STREAMER")
        .await?;
    let (creator, _) = api.register(&format!("bigcreator_{run}"), "VIEWER").await?;
    api.gql(
        Some(&creator),
        "mutation { topUp(amount: 10000, idempotencyKey: \"t\") { cash } }",
        json!({}),
    )
    .await?;
    let d = api
        .gql(
            Some(&creator),
            "mutation($i: CreateMissionInput!) { createMission(input: $i, idempotencyKey: \"big\") { id } }",
            json!({ "i": { "streamerId": streamer_id, "title": "The 100k mission", "amount": 1000, "durationSeconds": 3600 } }),
        )
        .await?;
    let mission = d["createMission"]["id"].as_str().context("id")?.to_owned();
    api.gql(
        Some(&streamer),
        "mutation($m: ID!) { acceptMission(missionId: $m) { status } }",
        json!({ "m": mission }),
    )
    .await?;

    let users = Database::connect(users_db).await?;
    let missions = Database::connect(missions_db).await?;
    // Backers' user rows in bulk (they need an address for their email); their password hash is
    // never used.
    let ids: Vec<String> = (0..backers)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    for (chunk_no, chunk) in ids.chunks(1_000).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let n = chunk_no * 1_000 + i;
                format!("('{id}', 'backer{n}_{run}@bench.local', 'backer{n}_{run}', 'backer{n}_{run}', 'backer {n}', 'VIEWER', 'en', 'x', now())")
            })
            .collect();
        users
            .execute_raw(Statement::from_string(
                users.get_database_backend(),
                format!("INSERT INTO users (id, email, handle, handle_key, display_name, role, locale, password_hash, created_at) VALUES {}", values.join(",")),
            ))
            .await?;
    }
    let rules = missionlink_ledger::mission::MissionRules {
        min_duration_seconds: 60,
        max_duration_seconds: 604_800,
        default_accept_seconds: 3_600,
        pledge_min_won: 1_000,
        pledge_max_won: 3_000_000,
        prediction_window_seconds: 300,
        objection_window_seconds: 0,
        objection_threshold_bps: 3_000,
        objection_min_backers: 2,
        pledge_withdrawals_per_day: 5,
        goals: Default::default(),
        proposals: missionlink_ledger::channel::ProposalRules {
            cooldown_seconds: 300,
            rejections_ban: 5,
        },
    };
    let started = Instant::now();
    // Wallets and top-ups in bulk: per chunk of backers, one transaction opens their accounts
    // and moves 1,000 won from the outside world into each wallet (a journal-only debit, so
    // the ledger's batched transfer applies).
    use missionlink_ledger::{AccountId, Amount, Currency, account, transfer};
    use sea_orm::TransactionTrait;
    futures::stream::iter(ids.chunks(1_000))
        .map(|chunk| {
            let missions = &missions;
            async move {
                let txn = missions.begin().await?;
                let accounts: Vec<AccountId> = chunk
                    .iter()
                    .flat_map(|id| account::user_accounts(id))
                    .collect();
                account::open(&txn, &accounts).await?;
                let top_ups = chunk
                    .iter()
                    .map(|id| {
                        Ok(transfer::Transfer {
                            id: format!("topup:{id}:seed"),
                            debit: AccountId::world(Currency::Cash),
                            credit: AccountId::wallet(Currency::Cash, id),
                            amount: Amount::new(1_000)?,
                            kind: missionlink_ledger::status::TransferKind::Topup,
                        })
                    })
                    .collect::<Result<Vec<_>, missionlink_ledger::LedgerError>>()?;
                transfer::apply_new_batch(&txn, &top_ups).await?;
                txn.commit().await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(2)
        .try_collect::<Vec<()>>()
        .await?;
    // The pledges through the API's own group commit, a batch of 500 at a time.
    let pledge_key = missionlink_ledger::idempotency::IdempotencyKey::parse("seed-pledge")?;
    futures::stream::iter(ids.chunks(500))
        .map(|chunk| {
            let (missions, rules, mission, pledge_key) = (&missions, &rules, &mission, &pledge_key);
            async move {
                let requests: Vec<_> = chunk
                    .iter()
                    .map(|id| missionlink_ledger::batch::PledgeRequest {
                        mission_id: mission.clone(),
                        backer_id: id.clone(),
                        amount_won: 1_000,
                        key: pledge_key.clone(),
                        note: Default::default(),
                    })
                    .collect();
                for answer in missionlink_ledger::batch::commit(missions, rules, &requests).await {
                    answer?;
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(2)
        .try_collect::<Vec<()>>()
        .await?;
    eprintln!(
        "seeded {backers} pledges in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    std::fs::write(
        out,
        serde_json::to_string(&json!({ "mission": mission, "streamer": streamer }))?,
    )?;
    Ok(())
}

use futures::{StreamExt, TryStreamExt};

async fn settle(
    api: &str,
    missions_db: &str,
    seeded: &str,
    outbox: &str,
    expected_emails: usize,
) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let seeded: Value = serde_json::from_str(&std::fs::read_to_string(seeded)?)?;
    let (mission, streamer) = (
        seeded["mission"].as_str().context("mission")?,
        seeded["streamer"].as_str().context("streamer")?,
    );
    let api = Api::new(api);
    let db = Database::connect(missions_db).await?;
    let started = Instant::now();
    api.gql(
        Some(streamer),
        "mutation($m: ID!) { decideMission(missionId: $m, outcome: SUCCESS) { status } }",
        json!({ "m": mission }),
    )
    .await?;
    let settled_s = loop {
        let d = api
            .gql(
                None,
                "query($m: ID!) { mission(id: $m) { settledAt } }",
                json!({ "m": mission }),
            )
            .await?;
        if !d["mission"]["settledAt"].is_null() {
            break started.elapsed().as_secs_f64();
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("not settled after 600 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The workflow stamps notified_at once every email of the mission is written. Polling that
    // one row costs the machine nothing, where listing a 100,000-file directory every few
    // hundred milliseconds would take CPU from the run being measured.
    let emails_s = loop {
        let notified = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT (notified_at IS NOT NULL) AS done FROM missions WHERE id = $1",
                [mission.into()],
            ))
            .await?
            .context("the mission vanished")?
            .try_get::<bool>("", "done")?;
        if notified {
            break started.elapsed().as_secs_f64();
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!("emails not all written after 900 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if outbox != "-" {
        let written = std::fs::read_dir(outbox)?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count();
        if written < expected_emails {
            bail!(
                "the mission is marked notified but only {written} of {expected_emails} emails are in {outbox}"
            );
        }
    }
    println!(
        "{}",
        json!({ "settled_s": settled_s, "emails_s": emails_s })
    );
    Ok(())
}

/// Writes `n` email-sized files into the new directory `dir` the way the file transport does
/// (a temporary name, then a rename) and prints how many a second.
fn files(dir: &str, n: usize) -> anyhow::Result<()> {
    let dir = std::path::Path::new(dir);
    std::fs::create_dir(dir)?;
    let body = vec![b'x'; 640];
    let started = Instant::now();
    for i in 0..n {
        let temp = dir.join(format!(".bench-{i}.eml.tmp"));
        std::fs::write(&temp, &body)?;
        std::fs::rename(&temp, dir.join(format!("bench-{i}.eml")))?;
    }
    let s = started.elapsed().as_secs_f64();
    let per_s = f64::from(u32::try_from(n)?) / s;
    println!("{}", json!({ "files": n, "seconds": s, "per_s": per_s }));
    Ok(())
}
