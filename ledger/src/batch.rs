//! Group commit for pledges: many `contribute` calls share one database commit.
//!
//! A hot mission must not cost one durable commit per pledge (BRIEF §5). Callers hand their
//! pledge to a [`PledgeBatcher`] and wait. Each of its workers takes whatever pledges are
//! queued (up to `max_batch`), runs each inside its own savepoint of one transaction — so a
//! refused pledge (insufficient funds, closed mission, reused key) rolls back alone — commits
//! once, and only then answers every caller. So:
//!
//! - an acknowledged pledge is committed: no answer leaves before the commit;
//! - a pledge whose batch failed to commit is answered with an error and nothing of it stays;
//!   the client retries with the same idempotency key;
//! - two requests with one key in one batch: the second sees the first's claim (same
//!   transaction) and replays its answer.
//!
//! Every pledge still holds the mission's gate shared, so a transition waits for a batch in
//! flight exactly as it waits for a single pledge.

use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::mission::{
    CONTRIBUTE, MissionRules, PledgeStatus, contribute_in, ensure_pledgeable, gate_shared_many,
    hold_transfer, new_pledge, pledge_request, pledged_response, replayed_pledge,
};
use crate::{AccountId, Amount, Currency, LedgerError, changes};
use chrono::Utc;
use missionlink_entities::missions::{mission, pledge};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, Statement, TransactionTrait,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Pledges waiting for a worker before callers are pushed back.
const QUEUE: usize = 16_384;

/// One `contribute` call.
#[derive(Clone, Debug)]
pub struct PledgeRequest {
    pub mission_id: String,
    pub backer_id: String,
    pub amount_won: i64,
    pub key: IdempotencyKey,
}

/// What a pledge request gets: the pledge (new or replayed) or why it was refused.
pub type Answer = Result<pledge::Model, LedgerError>;

struct Job {
    request: PledgeRequest,
    reply: oneshot::Sender<Answer>,
}

/// A handle to the batching workers; cheap to clone.
#[derive(Clone)]
pub struct PledgeBatcher {
    queue: mpsc::Sender<Job>,
}

impl PledgeBatcher {
    /// Starts `workers` batching tasks of at most `max_batch` pledges each. Must run inside a
    /// Tokio runtime.
    pub fn start(
        db: DatabaseConnection,
        rules: MissionRules,
        workers: usize,
        max_batch: usize,
    ) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let rules = Arc::new(rules);
        for _ in 0..workers.max(1) {
            tokio::spawn(work(
                db.clone(),
                rules.clone(),
                rx.clone(),
                max_batch.max(1),
            ));
        }
        Self { queue }
    }

    /// Pledges `amount_won` to the mission; answers once the pledge is committed (or refused).
    pub async fn contribute(
        &self,
        mission_id: &str,
        backer_id: &str,
        amount_won: i64,
        key: &IdempotencyKey,
    ) -> Result<pledge::Model, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                request: PledgeRequest {
                    mission_id: mission_id.to_owned(),
                    backer_id: backer_id.to_owned(),
                    amount_won,
                    key: key.clone(),
                },
                reply,
            })
            .await
            .map_err(|_| LedgerError::Corrupt("the pledge batcher stopped".into()))?;
        answer
            .await
            .map_err(|_| LedgerError::Corrupt("the pledge batcher dropped a pledge".into()))?
    }
}

async fn work(
    db: DatabaseConnection,
    rules: Arc<MissionRules>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
) {
    loop {
        let mut jobs = Vec::with_capacity(max_batch);
        {
            let mut rx = queue.lock().await;
            match rx.recv().await {
                Some(job) => jobs.push(job),
                None => return,
            }
            while jobs.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        run_batch(&db, &rules, jobs).await;
    }
}

async fn run_batch(db: &DatabaseConnection, rules: &MissionRules, jobs: Vec<Job>) {
    let (requests, replies): (Vec<_>, Vec<_>) =
        jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
    let answers = commit(db, rules, &requests).await;
    for (reply, answer) in replies.into_iter().zip(answers) {
        let _ = reply.send(answer);
    }
}

/// Commits a batch of pledges together and answers each, in the order given. Every answer is
/// final: `Ok` pledges are committed, refused ones left nothing. Exposed for tests that need
/// one batch exactly; the API goes through [`PledgeBatcher`].
pub async fn commit(
    db: &DatabaseConnection,
    rules: &MissionRules,
    requests: &[PledgeRequest],
) -> Vec<Answer> {
    // One lock order for every batch (by backer, whose wallet row each pledge updates), so two
    // batches never wait on each other in a cycle.
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&requests[a], &requests[b]);
        (&a.backer_id, a.key.as_str()).cmp(&(&b.backer_id, b.key.as_str()))
    });
    let sorted: Vec<&PledgeRequest> = order.iter().map(|&i| &requests[i]).collect();
    let answers = if db.get_database_backend() == DatabaseBackend::Postgres {
        match commit_set(db, rules, &sorted).await {
            Ok(answers) => answers,
            Err(e) => {
                // Nothing of the batch stayed. Run it again pledge by pledge, so that whatever
                // failed fails alone (the idempotency keys make the second run safe even if the
                // first commit's outcome was lost).
                tracing::warn!(error = %e, size = sorted.len(), "set-based pledge batch failed; retrying pledge by pledge");
                commit_each(db, rules, &sorted).await
            }
        }
    } else {
        commit_each(db, rules, &sorted).await
    };
    let mut in_order: Vec<Option<Answer>> = requests.iter().map(|_| None).collect();
    for (i, answer) in order.into_iter().zip(answers) {
        in_order[i] = Some(answer);
    }
    in_order.into_iter().flatten().collect()
}

/// The batch pledge by pledge, each in its own savepoint of one transaction: any backend, and
/// any failure stays with its pledge. Answers are final (committed or refused).
async fn commit_each(
    db: &DatabaseConnection,
    rules: &MissionRules,
    jobs: &[&PledgeRequest],
) -> Vec<Answer> {
    let txn = match db.begin().await {
        Ok(txn) => txn,
        Err(e) => return jobs.iter().map(|_| Err(failed(&e))).collect(),
    };
    let mut answers = Vec::with_capacity(jobs.len());
    let mut changed = BTreeSet::new();
    for job in jobs {
        let answer = match txn.begin().await {
            Ok(savepoint) => {
                match contribute_in(
                    &savepoint,
                    rules,
                    &job.mission_id,
                    &job.backer_id,
                    job.amount_won,
                    &job.key,
                )
                .await
                {
                    Ok(p) => savepoint
                        .commit()
                        .await
                        .map(|()| p)
                        .map_err(LedgerError::from),
                    Err(e) => {
                        let _ = savepoint.rollback().await;
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e.into()),
        };
        if answer.is_ok() {
            changed.insert(job.mission_id.as_str());
        }
        answers.push(answer);
    }
    let committed = async {
        changes::announce_in(&txn, changed.iter().copied()).await?;
        txn.commit().await
    };
    match committed.await {
        Ok(()) => {
            if db.get_database_backend() != DatabaseBackend::Postgres {
                // Only Postgres announces inside the transaction (NOTIFY on commit).
                for mission_id in changed {
                    changes::announce(db, mission_id).await;
                }
            }
            answers
        }
        // Nothing of this batch stayed: every caller hears so, none is told it pledged.
        Err(e) => answers
            .into_iter()
            .map(|answer| match answer {
                Ok(_) => Err(failed(&e)),
                refused => refused,
            })
            .collect(),
    }
}

/// The error every pledge of a failed transaction hears.
fn failed(e: &sea_orm::DbErr) -> LedgerError {
    LedgerError::Database(sea_orm::DbErr::Custom(e.to_string()))
}

/// A pledge of the batch, checked and ready for the set-based statements.
struct Item<'a> {
    at: usize,
    job: &'a PledgeRequest,
    amount: Amount,
    hash: String,
    pledge: pledge::Model,
}

/// The whole batch in one transaction with a handful of statements whatever its size
/// (Postgres). `Err` means nothing of the batch stayed.
#[tracing::instrument(name = "db.pledge_batch", skip_all, fields(size = jobs.len()))]
async fn commit_set(
    db: &DatabaseConnection,
    rules: &MissionRules,
    jobs: &[&PledgeRequest],
) -> Result<Vec<Answer>, LedgerError> {
    let mut answers: Vec<Option<Answer>> = jobs.iter().map(|_| None).collect();
    let mut items = Vec::with_capacity(jobs.len());
    let created = Utc::now();
    for (at, job) in jobs.iter().enumerate() {
        match pledge_request(rules, &job.mission_id, job.amount_won) {
            Ok((amount, hash)) => items.push(Item {
                at,
                job,
                amount,
                hash,
                pledge: new_pledge(&job.mission_id, &job.backer_id, amount, created),
            }),
            Err(e) => answers[at] = Some(Err(e)),
        }
    }
    let txn = db.begin().await?;
    let mut missions: HashMap<String, Option<mission::Model>> = HashMap::new();
    // Rounds in which no backer pledges twice: a backer's second pledge in the batch (or a
    // replay of its first key) comes in the next round and sees the first one's effects.
    for round in rounds(items) {
        pledge_round(&txn, round, &mut missions, &mut answers).await?;
    }
    // Each round announced its missions in its own statement.
    txn.commit().await?;
    answers
        .into_iter()
        .map(|a| {
            a.ok_or_else(|| LedgerError::Corrupt("a pledge of the batch went unanswered".into()))
        })
        .collect()
}

/// Splits items (sorted by backer) into rounds holding each backer at most once.
fn rounds(items: Vec<Item<'_>>) -> Vec<Vec<Item<'_>>> {
    let mut rounds: Vec<Vec<Item<'_>>> = Vec::new();
    let mut previous: Option<&str> = None;
    let mut nth = 0;
    for item in items {
        nth = if previous == Some(item.job.backer_id.as_str()) {
            nth + 1
        } else {
            0
        };
        previous = Some(item.job.backer_id.as_str());
        if rounds.len() <= nth {
            rounds.push(Vec::new());
        }
        rounds[nth].push(item);
    }
    rounds
}

/// Binds rows as one JSON array parameter, read back with `jsonb_to_recordset`: one statement
/// text whatever the number of rows, so the prepared statement is reused.
fn rows(rows: Vec<serde_json::Value>) -> sea_orm::Value {
    serde_json::Value::Array(rows).to_string().into()
}

/// The number of rows of a JSON parameter, bound as `LIMIT $n` on the rows it expands to. The
/// limit changes nothing but the planner's estimate: it otherwise assumes a function returns
/// 100 rows and joins them by scanning the whole table (accounts, idempotency keys) instead of
/// looking each up in its index.
fn count(n: usize) -> sea_orm::Value {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

fn raw(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

async fn pledge_round(
    txn: &DatabaseTransaction,
    round: Vec<Item<'_>>,
    missions: &mut HashMap<String, Option<mission::Model>>,
    answers: &mut [Option<Answer>],
) -> Result<(), LedgerError> {
    // 1. Claim every key, answer included: a pledge refused below gives its claim back.
    let claims = round
        .iter()
        .map(|i| {
            Ok(serde_json::json!({
                "user_id": i.job.backer_id,
                "key": i.job.key.as_str(),
                "request_hash": i.hash,
                "response": pledged_response(&i.pledge.id)?,
            }))
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    let claimed: HashSet<(String, String)> = txn
        .query_all_raw(raw(
            "INSERT INTO idempotency_keys (user_id, key, operation, request_hash, response, created_at) \
             SELECT c.user_id, c.key, $2, c.request_hash, c.response, $3 \
             FROM jsonb_to_recordset($1::jsonb) AS c(user_id text, key text, request_hash text, response text) \
             ON CONFLICT DO NOTHING RETURNING user_id, key",
            vec![rows(claims), CONTRIBUTE.into(), Utc::now().into()],
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String>("", "user_id")?, r.try_get::<String>("", "key")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let mut fresh = Vec::with_capacity(round.len());
    for item in round {
        if claimed.contains(&(item.job.backer_id.clone(), item.job.key.as_str().to_owned())) {
            fresh.push(item);
            continue;
        }
        // Claimed before (an earlier batch or round): the same request replays its answer.
        let answer = match idempotency::existing(
            txn,
            &item.job.backer_id,
            &item.job.key,
            CONTRIBUTE,
            &item.hash,
        )
        .await
        {
            Ok(Claim::Replay(response)) => replayed_pledge(txn, &response).await,
            Ok(Claim::Fresh) => Err(LedgerError::Corrupt(
                "an existing claim read as fresh".into(),
            )),
            Err(e) => Err(e),
        };
        answers[item.at] = Some(answer);
    }

    // 2. Each mission behind its gate (shared, held to commit), read once per batch: while
    // the gate is held its status cannot change.
    let mut unread: Vec<&str> = fresh
        .iter()
        .map(|i| i.job.mission_id.as_str())
        .filter(|id| !missions.contains_key(*id))
        .collect();
    unread.sort_unstable();
    unread.dedup();
    gate_shared_many(txn, &unread).await?;
    if !unread.is_empty() {
        let found = mission::Entity::find()
            .filter(mission::Column::Id.is_in(unread.iter().copied()))
            .all(txn)
            .await?;
        for id in &unread {
            missions.insert((*id).to_owned(), None);
        }
        for m in found {
            missions.insert(m.id.clone(), Some(m));
        }
    }
    let now = Utc::now();
    let mut refused = Vec::new();
    let mut payable = Vec::with_capacity(fresh.len());
    for item in fresh {
        let allowed = match missions.get(&item.job.mission_id) {
            Some(Some(m)) => ensure_pledgeable(m, &item.job.backer_id, now),
            _ => Err(LedgerError::NotFound("no such mission".into())),
        };
        match allowed {
            Ok(()) => payable.push(item),
            Err(e) => refused.push((item, e)),
        }
    }

    // 3. Lock the wallets in id order: one order for every batch, so two batches never wait
    // on each other in a cycle.
    let wallets: Vec<String> = payable
        .iter()
        .map(|i| {
            AccountId::wallet(Currency::Cash, &i.job.backer_id)
                .as_str()
                .to_owned()
        })
        .collect();
    let mut debited = HashSet::new();
    let mut existing = HashSet::new();
    if !payable.is_empty() {
        existing = txn
            .query_all_raw(raw(
                "SELECT id FROM accounts \
                 WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb) LIMIT $2) \
                 ORDER BY id FOR UPDATE",
                vec![
                    serde_json::Value::from(wallets.clone()).to_string().into(),
                    count(wallets.len()),
                ],
            ))
            .await?
            .iter()
            .map(|r| r.try_get::<String>("", "id"))
            .collect::<Result<_, _>>()?;
        // 4. One statement does the rest: debit each wallet that covers its pledge (the
        // conditional update), insert those pledges and their transfers into escrow, and
        // announce each changed mission (NOTIFY, delivered on commit). The inserts read the
        // debit's RETURNING, so a pledge exists exactly when its wallet was debited.
        let rows_in = payable
            .iter()
            .zip(&wallets)
            .map(|(i, wallet)| {
                let t = hold_transfer(&i.pledge, i.amount);
                serde_json::json!({
                    "wallet": wallet, "amount": i.amount.get(),
                    "pledge_id": i.pledge.id, "mission_id": i.pledge.mission_id,
                    "backer_id": i.pledge.backer_id, "transfer_id": t.id,
                    "escrow": t.credit.as_str(), "currency": t.debit.currency().as_str(),
                    "kind": t.kind,
                })
            })
            .collect();
        debited = txn
            .query_all_raw(raw(
                "WITH d AS ( \
                   SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(wallet text, amount bigint, \
                     pledge_id text, mission_id text, backer_id text, transfer_id text, escrow text, \
                     currency text, kind text) LIMIT $5 \
                 ), debited AS ( \
                   UPDATE accounts AS a SET balance = a.balance - d.amount FROM d \
                   WHERE a.id = d.wallet AND a.balance >= d.amount RETURNING a.id \
                 ), pledged AS ( \
                   INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at, settled_at) \
                   SELECT d.pledge_id, d.mission_id, d.backer_id, d.amount, $2, $3, NULL \
                   FROM d JOIN debited ON debited.id = d.wallet RETURNING mission_id \
                 ), moved AS ( \
                   INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at) \
                   SELECT d.transfer_id, d.wallet, d.escrow, d.currency, d.amount, d.kind, $3 \
                   FROM d JOIN debited ON debited.id = d.wallet \
                 ), announced AS ( \
                   SELECT pg_notify($4, m) FROM (SELECT DISTINCT mission_id AS m FROM pledged) x \
                 ) \
                 SELECT id, (SELECT count(*) FROM announced) AS announced FROM debited",
                vec![
                    rows(rows_in),
                    PledgeStatus::Held.as_str().into(),
                    payable[0].pledge.created_at.into(),
                    changes::CHANNEL.into(),
                    count(payable.len()),
                ],
            ))
            .await?
            .iter()
            .map(|r| r.try_get::<String>("", "id"))
            .collect::<Result<HashSet<_>, _>>()?;
    }
    let mut held = Vec::with_capacity(payable.len());
    for (item, wallet) in payable.into_iter().zip(wallets) {
        if debited.contains(&wallet) {
            held.push(item);
        } else if existing.contains(&wallet) {
            refused.push((item, LedgerError::InsufficientFunds { account: wallet }));
        } else {
            refused.push((item, LedgerError::UnknownAccount(wallet)));
        }
    }

    // 5. Refused pledges give their claims back: nothing of them stays.
    if !refused.is_empty() {
        let keys = refused
            .iter()
            .map(|(i, _)| serde_json::json!({ "user_id": i.job.backer_id, "key": i.job.key.as_str() }))
            .collect();
        txn.execute_raw(raw(
            "DELETE FROM idempotency_keys AS k \
             USING (SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(user_id text, key text) LIMIT $2) AS d \
             WHERE k.user_id = d.user_id AND k.key = d.key",
            vec![rows(keys), count(refused.len())],
        ))
        .await?;
    }
    for item in held {
        answers[item.at] = Some(Ok(item.pledge));
    }
    for (item, e) in refused {
        answers[item.at] = Some(Err(e));
    }
    Ok(())
}
