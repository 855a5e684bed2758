//! The whole batch in one transaction with a handful of statements whatever its size
//! (Postgres): claim every key, read the missions behind their gates, debit the wallets and
//! hold the pledges in one statement, give refused pledges' claims back.

use super::pledge::{
    Answer, CONTRIBUTE, PledgeRequest, ensure_pledgeable, hold_transfer, new_pledge,
    pledge_request, pledged_response, replayed_pledge,
};
use crate::events::{self, Announcer, NewEvent};
use crate::gate::gate_shared_many;
use crate::idempotency::{self, Claim, Effect};
use crate::mission::{self, goal};
use crate::rules::MissionRules;
use crate::sql::{json_rows, row_count};
use crate::status::{EventKind, PledgeStatus};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::{SubsecRound, Utc};
use missionlink_entities::missions::{mission as mission_entity, pledge};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, Statement, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A pledge refused in a round, with its reason.
type Refused<'a> = (Item<'a>, LedgerError);

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
pub(super) async fn commit_set(
    db: &DatabaseConnection,
    rules: &MissionRules,
    jobs: &[&PledgeRequest],
    announcer: &Announcer,
) -> Result<Vec<Answer>, LedgerError> {
    let mut answers: Vec<Option<Answer>> = jobs.iter().map(|_| None).collect();
    let mut items = Vec::with_capacity(jobs.len());
    // As the database keeps it (microseconds): pushed and answered as stored.
    let created = Utc::now().trunc_subsecs(6);
    for (at, job) in jobs.iter().enumerate() {
        match pledge_request(rules, job) {
            Ok((amount, hash)) => items.push(Item {
                at,
                job,
                amount,
                hash,
                pledge: new_pledge(&job.mission_id, &job.backer_id, amount, &job.note, created),
            }),
            Err(e) => answers[at] = Some(Err(e)),
        }
    }
    let txn = db.begin().await?;
    let mut missions: HashMap<String, Option<mission_entity::Model>> = HashMap::new();
    // Rounds in which no backer pledges twice: a backer's second pledge in the batch (or a
    // replay of its first key) comes in the next round and sees the first one's effects.
    let mut totals = Totals::new();
    for round in rounds(items) {
        pledge_round(&txn, round, &mut missions, &mut answers, &mut totals).await?;
    }
    // Every round answers each of its items; a pledge left unanswered would commit without
    // its caller hearing of it.
    assert!(
        answers.iter().all(Option::is_some),
        "a pledge of the batch went unanswered"
    );
    // The missions' totals and then the feed last, each in one order for every batch (by
    // mission, by streamer): their rows are locked only for the commit, and two batches never
    // wait on each other in a cycle. A goal reached on the way is the mission's own row, behind
    // its totals row.
    let committed_totals = add_to_totals(&txn, &totals).await?;
    let mut reached = Vec::new();
    // A goal's row may have moved since it was read (this batch's advance, or another batch's
    // in between: the gate is shared): such a mission is read back, not pushed as read.
    let mut moved: HashSet<&str> = HashSet::new();
    for m in missions.values().flatten() {
        if totals.contains_key(&m.id) && goal::watched(m) {
            moved.insert(m.id.as_str());
            for (kind, tier) in goal::advance(&txn, rules, m).await? {
                reached.push((m, kind, tier));
            }
        }
    }
    // The feed takes every new pledge last, so its row is locked only for the commit.
    let mut held: Vec<NewEvent<'_>> = answers
        .iter()
        .filter_map(|a| match a {
            Some(Ok(Effect::New(p))) => Some(NewEvent {
                mission_id: Some(&p.mission_id),
                prediction_id: None,
                // Read behind its gate this batch: no second read of the missions.
                streamer_id: missions
                    .get(&p.mission_id)
                    .and_then(Option::as_ref)
                    .map(|m| m.streamer_id.as_str()),
                kind: EventKind::Pledged,
                pledge_id: Some(&p.id),
                tier: None,
                test_payload: None,
            }),
            _ => None,
        })
        .collect();
    held.extend(reached.into_iter().map(|(m, kind, tier)| NewEvent {
        mission_id: Some(&m.id),
        prediction_id: None,
        streamer_id: Some(&m.streamer_id),
        kind,
        pledge_id: None,
        tier,
        test_payload: None,
    }));
    let mut appended = events::write(&txn, &held).await?;
    for a in &mut appended {
        a.known = known_objects(a, &answers, &missions, &committed_totals, &moved);
    }
    txn.commit().await?;
    // Wake-ups after the commit, not inside it: NOTIFY holds Postgres's one cluster-wide
    // notification lock from the commit's start through its flush, which would put every
    // batch of every streamer in one line. This process's subscribers are pushed the events
    // now; other processes' notification is coalesced with other batches'.
    // The missions with a new pledge are the keys of its totals.
    announcer.announce(appended, totals.into_keys().collect());
    Ok(answers
        .into_iter()
        .map(|a| a.expect("checked above"))
        .collect())
}

/// What a batch adds to each mission's totals: won, and backers pledging to it for the first
/// time; by mission, in the order their rows are locked.
type Totals = BTreeMap<String, (i64, i64)>;

/// Adds the batch's pledges to their missions' totals, in one statement, in mission order;
/// returns each mission's totals as this transaction leaves them (its row is held to the
/// commit, so as committed).
async fn add_to_totals(
    txn: &DatabaseTransaction,
    totals: &Totals,
) -> Result<HashMap<String, mission::Totals>, LedgerError> {
    if totals.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<serde_json::Value> = totals
        .iter()
        .map(|(mission, (won, backers))| {
            serde_json::json!({ "mission_id": mission, "total_won": won, "backers": backers })
        })
        .collect();
    Ok(txn
        .query_all_raw(raw(
            "INSERT INTO mission_totals AS t (mission_id, total_won, backers) \
             SELECT m.mission_id, m.total_won, m.backers FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) \
               AS m(mission_id text, total_won bigint, backers bigint) LIMIT $2) m \
             ORDER BY m.mission_id \
             ON CONFLICT (mission_id) DO UPDATE SET total_won = t.total_won + excluded.total_won, \
               backers = t.backers + excluded.backers \
             RETURNING t.mission_id, t.total_won, t.backers",
            vec![json_rows(rows), row_count(totals.len())],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "mission_id")?,
                mission::Totals {
                    total_won: r.try_get("", "total_won")?,
                    backers: r.try_get("", "backers")?,
                },
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// What the batch holds of `appended`'s objects as it commits: the new pledges its events name,
/// and their missions (read behind their gates, so unchanged since, goals aside) with their
/// totals; the missions in `moved` are left out, to be read back.
fn known_objects(
    appended: &events::Appended,
    answers: &[Option<Answer>],
    missions: &HashMap<String, Option<mission_entity::Model>>,
    totals: &HashMap<String, mission::Totals>,
    moved: &HashSet<&str>,
) -> events::Known {
    let named: HashSet<&str> = appended
        .events
        .iter()
        .filter_map(|e| e.pledge_id.as_deref())
        .collect();
    let pledges: Vec<pledge::Model> = answers
        .iter()
        .filter_map(|a| match a {
            Some(Ok(Effect::New(p))) if named.contains(p.id.as_str()) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let mut ids: Vec<&str> = appended
        .events
        .iter()
        .filter_map(|e| e.mission_id.as_deref())
        .filter(|id| !moved.contains(id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let missions = ids
        .into_iter()
        .filter_map(|id| {
            let m = missions.get(id)?.as_ref()?;
            Some((m.clone(), *totals.get(id)?))
        })
        .collect();
    events::Known { pledges, missions }
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

fn raw(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

/// One round of a batch (no backer twice): claim the keys, check the missions, debit the
/// wallets and hold the pledges, give refused pledges' claims back; every item ends answered.
async fn pledge_round(
    txn: &DatabaseTransaction,
    round: Vec<Item<'_>>,
    missions: &mut HashMap<String, Option<mission_entity::Model>>,
    answers: &mut [Option<Answer>],
    totals: &mut Totals,
) -> Result<(), LedgerError> {
    let fresh = claim_keys(txn, round, answers).await?;
    read_missions(txn, &fresh, missions).await?;
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
    let (held, unfunded) = debit_and_hold(txn, payable).await?;
    refused.extend(unfunded);
    release_claims(txn, &refused).await?;
    for (item, first) in held {
        let t = totals.entry(item.pledge.mission_id.clone()).or_default();
        t.0 += item.amount.get();
        t.1 += i64::from(first);
        answers[item.at] = Some(Ok(Effect::New(item.pledge)));
    }
    for (item, e) in refused {
        answers[item.at] = Some(Err(e));
    }
    Ok(())
}

/// Claims every key of the round with its answer already stored (a pledge refused later gives
/// its claim back). Items whose key was claimed before (an earlier batch or round) are
/// answered here with the replay; the fresh ones are returned.
async fn claim_keys<'a>(
    txn: &DatabaseTransaction,
    round: Vec<Item<'a>>,
    answers: &mut [Option<Answer>],
) -> Result<Vec<Item<'a>>, LedgerError> {
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
            vec![json_rows(claims), CONTRIBUTE.into(), Utc::now().into()],
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
        // Claimed before: the same request replays its answer.
        let answer = match idempotency::existing(
            txn,
            &item.job.backer_id,
            &item.job.key,
            CONTRIBUTE,
            &item.hash,
        )
        .await
        {
            Ok(Claim::Replay(response)) => {
                replayed_pledge(txn, &response).await.map(Effect::Replayed)
            }
            Ok(Claim::Fresh) => Err(LedgerError::Corrupt(
                "an existing claim read as fresh".into(),
            )),
            Err(e) => Err(e),
        };
        answers[item.at] = Some(answer);
    }
    Ok(fresh)
}

/// Takes the gate of each mission the items pledge to (shared, held to commit) and reads it,
/// once per batch: while the gate is held its status cannot change. A mission that does not
/// exist is remembered as `None`.
async fn read_missions(
    txn: &DatabaseTransaction,
    items: &[Item<'_>],
    missions: &mut HashMap<String, Option<mission_entity::Model>>,
) -> Result<(), LedgerError> {
    let mut unread: Vec<&str> = items
        .iter()
        .map(|i| i.job.mission_id.as_str())
        .filter(|id| !missions.contains_key(*id))
        .collect();
    unread.sort_unstable();
    unread.dedup();
    if unread.is_empty() {
        return Ok(());
    }
    gate_shared_many(txn, &unread).await?;
    let found = mission_entity::Entity::find()
        .filter(mission_entity::Column::Id.is_in(unread.iter().copied()))
        .all(txn)
        .await?;
    for id in &unread {
        missions.insert((*id).to_owned(), None);
    }
    for m in found {
        missions.insert(m.id.clone(), Some(m));
    }
    Ok(())
}

/// Locks the payable items' wallets, then in one statement debits each wallet that covers its
/// pledge (the conditional update), inserts those pledges and their transfers into escrow (each
/// with its wallet's balance after, numbered by `transfer_seq` after the lock). The inserts read
/// the debit's RETURNING, so a pledge exists exactly when its wallet was debited. Returns the
/// held items, each with whether it is its backer's first pledge to the mission, and the
/// refused ones with their reason (funds, or no such wallet).
async fn debit_and_hold<'a>(
    txn: &DatabaseTransaction,
    payable: Vec<Item<'a>>,
) -> Result<(Vec<(Item<'a>, bool)>, Vec<Refused<'a>>), LedgerError> {
    if payable.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let wallets: Vec<String> = payable
        .iter()
        .map(|i| {
            AccountId::wallet(Currency::Cash, &i.job.backer_id)
                .as_str()
                .to_owned()
        })
        .collect();
    // In id order: one order for every batch, so two batches never wait on each other in a
    // cycle.
    let existing: HashSet<String> = txn
        .query_all_raw(raw(
            "SELECT id FROM accounts \
             WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb) LIMIT $2) \
             ORDER BY id FOR UPDATE",
            vec![
                serde_json::Value::from(wallets.clone()).to_string().into(),
                row_count(wallets.len()),
            ],
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "id"))
        .collect::<Result<_, _>>()?;
    let rows_in: Vec<serde_json::Value> = payable
        .iter()
        .zip(&wallets)
        .map(|(i, wallet)| {
            let t = hold_transfer(&i.pledge, i.amount);
            serde_json::json!({
                "wallet": wallet, "amount": i.amount.get(),
                "pledge_id": i.pledge.id, "mission_id": i.pledge.mission_id,
                "backer_id": i.pledge.backer_id, "transfer_id": t.id,
                "escrow": t.credit.as_str(), "currency": t.debit.currency().as_str(),
                "kind": t.kind.as_str(), "message": i.pledge.message,
                "message_status": i.pledge.message_status.map(|s| s.as_str()),
                "anonymous": i.pledge.anonymous,
            })
        })
        .collect();
    // Wallet → whether its pledge is the backer's first to the mission (the statement's
    // snapshot holds none of its own inserts, and the wallet's lock orders it after any earlier
    // pledge of the backer).
    let debited: HashMap<String, bool> = txn
        .query_all_raw(raw(
            "WITH d AS ( \
               SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(wallet text, amount bigint, \
                 pledge_id text, mission_id text, backer_id text, transfer_id text, escrow text, \
                 currency text, kind text, message text, message_status text, anonymous boolean) \
                 LIMIT $4 \
             ), debited AS ( \
               UPDATE accounts AS a SET balance = a.balance - d.amount FROM d \
               WHERE a.id = d.wallet AND a.balance >= d.amount RETURNING a.id, a.balance \
             ), pledged AS ( \
               INSERT INTO pledges (id, mission_id, backer_id, amount, status, created_at, settled_at, \
                 message, message_status, anonymous) \
               SELECT d.pledge_id, d.mission_id, d.backer_id, d.amount, $2, $3, NULL, \
                 d.message, d.message_status, d.anonymous \
               FROM d JOIN debited ON debited.id = d.wallet \
             ), moved AS ( \
               INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, \
                 created_at, debit_balance_after) \
               SELECT d.transfer_id, d.wallet, d.escrow, d.currency, d.amount, d.kind, $3, debited.balance \
               FROM d JOIN debited ON debited.id = d.wallet \
             ) \
             SELECT d.wallet AS id, NOT EXISTS (SELECT 1 FROM pledges p \
               WHERE p.mission_id = d.mission_id AND p.backer_id = d.backer_id \
                 AND p.status <> 'WITHDRAWN') AS first \
             FROM d JOIN debited ON debited.id = d.wallet",
            vec![
                json_rows(rows_in),
                PledgeStatus::Held.as_str().into(),
                payable[0].pledge.created_at.into(),
                row_count(payable.len()),
            ],
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String>("", "id")?, r.try_get::<bool>("", "first")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let mut held = Vec::with_capacity(payable.len());
    let mut refused = Vec::new();
    for (item, wallet) in payable.into_iter().zip(wallets) {
        if let Some(first) = debited.get(&wallet) {
            held.push((item, *first));
        } else if existing.contains(&wallet) {
            refused.push((item, LedgerError::InsufficientFunds { account: wallet }));
        } else {
            refused.push((item, LedgerError::UnknownAccount(wallet)));
        }
    }
    Ok((held, refused))
}

/// Refused pledges give their claims back: nothing of them stays.
async fn release_claims(
    txn: &DatabaseTransaction,
    refused: &[Refused<'_>],
) -> Result<(), LedgerError> {
    if refused.is_empty() {
        return Ok(());
    }
    let keys: Vec<serde_json::Value> = refused
        .iter()
        .map(|(i, _)| serde_json::json!({ "user_id": i.job.backer_id, "key": i.job.key.as_str() }))
        .collect();
    txn.execute_raw(raw(
        "DELETE FROM idempotency_keys AS k \
         USING (SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(user_id text, key text) LIMIT $2) AS d \
         WHERE k.user_id = d.user_id AND k.key = d.key",
        vec![json_rows(keys), row_count(refused.len())],
    ))
    .await?;
    Ok(())
}
