//! `statement API MISSIONS_DB MOVEMENTS`: how long a page of the wallet statement takes for a
//! user with MOVEMENTS movements beside one with 100, both seeded straight through the ledger
//! (top-ups, one in a hundred a pledge), read through the API over HTTP with real tokens.
//! Pages start at cursors spread evenly over each history (the newest page too), read one at a
//! time, the two users alternating, so both meet the same machine. Also pages filtered to the
//! rare kind (`PLEDGE`). Prints one JSON line.

use super::Api;
use super::pledges::percentile_ms;
use anyhow::Context;
use base64::Engine as _;
use missionlink_ledger::listing::{Key, SortValue};
use missionlink_ledger::status::TransferKind;
use missionlink_ledger::{AccountId, Amount, Currency, Transfer, account, transfer};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};
use serde_json::json;
use std::time::Instant;

/// Page reads per user and kind of read.
const SAMPLES: usize = 300;
/// Movements per seeding transaction.
const CHUNK: usize = 1_000;
/// One movement in this many is a pledge.
const PLEDGE_EVERY: usize = 100;

const PAGE: &str = "query($after: String, $kind: [TransactionKind!]) {
  wallet { transactions(first: 50, after: $after, kind: $kind) {
    edges { cursor node { id kind balance amount balanceAfter createdAt } } } } }";

/// A user of the bench with `movements` movements; their token and the cursors to read from.
struct Seeded {
    token: String,
    all: Vec<Option<String>>,
    pledges: Vec<Option<String>>,
}

pub async fn run(api: &str, missions_db: &str, movements: usize) -> anyhow::Result<()> {
    let api = Api::new(api);
    let db = Database::connect(missions_db).await?;
    let run = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let big = seed(&api, &db, &format!("ledger_big_{run}"), movements).await?;
    let small = seed(&api, &db, &format!("ledger_small_{run}"), 100).await?;
    let mut times: [Vec<u64>; 3] = Default::default();
    for i in 0..SAMPLES {
        for (n, (user, cursors, kind)) in [
            (&big, &big.all, None),
            (&small, &small.all, None),
            (&big, &big.pledges, Some(json!(["PLEDGE"]))),
        ]
        .into_iter()
        .enumerate()
        {
            let after = &cursors[i * cursors.len() / SAMPLES];
            let started = Instant::now();
            let d = api
                .gql(
                    Some(&user.token),
                    PAGE,
                    json!({ "after": after, "kind": kind }),
                )
                .await?;
            times[n].push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            let edges = d["wallet"]["transactions"]["edges"]
                .as_array()
                .context("edges")?;
            anyhow::ensure!(!edges.is_empty(), "an empty statement page");
        }
    }
    for t in &mut times {
        t.sort_unstable();
    }
    let p99 = |t: &[u64]| percentile_ms(t, 990);
    println!(
        "{}",
        json!({
            "movements": movements,
            "big_p50_ms": percentile_ms(&times[0], 500),
            "big_p99_ms": p99(&times[0]),
            "small_p50_ms": percentile_ms(&times[1], 500),
            "small_p99_ms": p99(&times[1]),
            "big_pledges_only_p99_ms": p99(&times[2]),
            "big_over_small_p99": p99(&times[0]) / p99(&times[1]).max(0.001),
        })
    );
    Ok(())
}

/// Registers `handle` and gives them `movements` movements through the ledger: top-ups, and
/// every `PLEDGE_EVERY`th a pledge into an escrow of the bench's own.
async fn seed(
    api: &Api,
    db: &DatabaseConnection,
    handle: &str,
    movements: usize,
) -> anyhow::Result<Seeded> {
    let (token, user) = api.register(handle, "VIEWER").await?;
    let wallet = AccountId::wallet(Currency::Cash, &user);
    let escrow = AccountId::escrow(&format!("bench-{handle}"));
    account::open(db, std::slice::from_ref(&escrow)).await?;
    let mut done = 1; // the signup points
    while done < movements {
        let n = CHUNK.min(movements - done);
        let txn = db.begin().await?;
        let mut top_ups = Vec::with_capacity(n);
        for i in done..done + n {
            if i % PLEDGE_EVERY == 0 {
                transfer::apply_new_batch(&txn, &top_ups).await?;
                top_ups.clear();
                transfer::apply(
                    &txn,
                    &Transfer {
                        id: format!("pledge:bench-{handle}:{i}"),
                        debit: wallet.clone(),
                        credit: escrow.clone(),
                        amount: Amount::new(1_000)?,
                        kind: TransferKind::Pledge,
                    },
                )
                .await?;
            } else {
                top_ups.push(Transfer {
                    id: format!("topup:{user}:bench-{i}"),
                    debit: AccountId::world(Currency::Cash),
                    credit: wallet.clone(),
                    amount: Amount::new(1_000 + i64::try_from(i % 1_000)?)?,
                    kind: TransferKind::Topup,
                });
            }
        }
        transfer::apply_new_batch(&txn, &top_ups).await?;
        txn.commit().await?;
        done += n;
    }
    Ok(Seeded {
        all: cursors(db, &wallet, &user, None).await?,
        pledges: cursors(db, &wallet, &user, Some(TransferKind::Pledge)).await?,
        token,
    })
}

/// Cursors at every entry of the user's statement (of `kind` only, if given), newest first,
/// the first page's (none) first: the places a client paging through would read from.
async fn cursors(
    db: &DatabaseConnection,
    wallet: &AccountId,
    user: &str,
    kind: Option<TransferKind>,
) -> anyhow::Result<Vec<Option<String>>> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id, seq FROM transfers WHERE (credit_account_id = $1 OR debit_account_id = $1 \
               OR credit_account_id = $2) AND ($3 = '' OR kind = $3) ORDER BY seq DESC",
            [
                wallet.as_str().into(),
                AccountId::wallet(Currency::Points, user).as_str().into(),
                kind.map_or("", |k| k.as_str()).into(),
            ],
        ))
        .await?;
    let mut cursors = vec![None];
    for r in rows {
        let key = Key {
            order: "statement".into(),
            sort: Some(SortValue::Int(r.try_get("", "seq")?)),
            id: r.try_get("", "id")?,
        };
        cursors.push(Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&key)?),
        ));
    }
    // The last entries open no page.
    cursors.truncate(cursors.len().saturating_sub(1).max(1));
    Ok(cursors)
}
