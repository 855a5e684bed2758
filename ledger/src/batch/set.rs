//! The whole batch in one transaction and one call (Postgres): `pledge_batch` (missions
//! migration 000031) claims every key, takes the missions' gates and reads them, debits the
//! wallets and holds the pledges, gives refused pledges' claims back, adds the batch to its
//! missions' totals and appends its events, inside the database; this module prepares its
//! rows, checks its verdicts against the Rust rule, and does what only the ledger knows (a
//! replay's answer, a goal's advance).

use super::pledge::{
    Answer, CONTRIBUTE, PledgeRequest, ensure_pledgeable, hold_transfer, new_pledge,
    pledge_request, pledged_response, replayed_pledge,
};
use crate::events::{self, Announcer, NewEvent};
use crate::idempotency::{self, Claim, Effect};
use crate::mission::{self, goal};
use crate::rules::MissionRules;
use crate::sql::json_rows;
use crate::status::{EventKind, PledgeStatus};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::{DateTime, SubsecRound, Utc};
use missionlink_entities::missions::{mission as mission_entity, pledge};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, FromQueryResult,
    Statement, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio::sync::oneshot;

/// A pledge of the batch, checked and ready for `pledge_batch`.
struct Item<'a> {
    job: &'a PledgeRequest,
    amount: Amount,
    hash: String,
    wallet: AccountId,
    pledge: pledge::Model,
}

/// What `pledge_batch` answered.
#[derive(Default)]
struct Verdicts {
    /// Each pledge's outcome (by its place in the batch), with the mission it read behind its
    /// gate (none for a replay, or a mission that does not exist).
    pledges: Vec<(usize, String, Option<String>)>,
    /// Those missions, each decoded once (every pledge's row carries its mission).
    missions: HashMap<String, mission_entity::Model>,
    /// Each mission with a new pledge, and its totals as the batch left them (its row is held
    /// to the commit, so as committed).
    totals: HashMap<String, mission::Totals>,
    /// Each streamer whose feed took the batch's pledges, and its last `seq` after them.
    lasts: HashMap<String, i64>,
}

/// The whole batch in one transaction (Postgres): BEGIN, `pledge_batch`, COMMIT, and a
/// statement more only for a replay or a goal; `worked` is told once the call has answered.
/// `Err` means nothing of the batch stayed.
#[tracing::instrument(name = "db.pledge_batch", skip_all, fields(size = jobs.len()))]
pub(super) async fn commit_set(
    db: &DatabaseConnection,
    rules: &MissionRules,
    jobs: &[&PledgeRequest],
    announcer: &Announcer,
    worked: Option<oneshot::Sender<()>>,
) -> Result<Vec<Answer>, LedgerError> {
    let mut answers: Vec<Option<Answer>> = jobs.iter().map(|_| None).collect();
    // As the database keeps it (microseconds): stored, ruled on, pushed and answered alike.
    let now = Utc::now().trunc_subsecs(6);
    // By place in the batch; none where the request was refused before the call.
    let mut items: Vec<Option<Item<'_>>> = Vec::with_capacity(jobs.len());
    for (at, job) in jobs.iter().enumerate() {
        items.push(match pledge_request(rules, job) {
            Ok((amount, hash)) => Some(Item {
                job,
                amount,
                hash,
                wallet: AccountId::wallet(Currency::Cash, &job.backer_id),
                pledge: new_pledge(&job.mission_id, &job.backer_id, amount, &job.note, now),
            }),
            Err(e) => {
                answers[at] = Some(Err(e));
                None
            }
        });
    }
    let rows = item_rows(&items)?;
    let txn = db.begin().await?;
    let Verdicts {
        pledges,
        missions,
        totals,
        lasts,
    } = pledge_batch(&txn, rows, now).await?;
    // The lane may cut its next batch now: its call does its work while this one commits, and
    // waits for this one's totals and feed rows only at its end.
    if let Some(worked) = worked {
        let _ = worked.send(());
    }
    for (at, outcome, read) in pledges {
        let item = items.get_mut(at).and_then(Option::take).ok_or_else(|| {
            LedgerError::Corrupt(format!("pledge_batch answered for no pledge {at}"))
        })?;
        let mission = read.as_deref().and_then(|id| missions.get(id));
        answers[at] = Some(answer(&txn, &item, &outcome, mission, now).await?);
    }
    // Every pledge answered once; a pledge left unanswered would commit without its caller
    // hearing of it.
    assert!(
        answers.iter().all(Option::is_some),
        "a pledge of the batch went unanswered"
    );
    let mut appended = pledged_events(&answers, &missions, &lasts, now)?;
    // A goal's row may have moved since it was read (this batch's advance, or another batch's
    // in between: the gate is shared): such a mission is read back, not pushed as read. What
    // it reached is appended after the batch's pledges.
    let mut moved: HashSet<&str> = HashSet::new();
    let mut reached = Vec::new();
    for m in missions.values() {
        if totals.contains_key(&m.id) && goal::watched(m) {
            moved.insert(m.id.as_str());
            for (kind, tier) in goal::advance(&txn, rules, m).await? {
                reached.push(NewEvent::about(m, kind, tier));
            }
        }
    }
    for more in events::write(&txn, &reached).await? {
        match appended
            .iter_mut()
            .find(|a| a.streamer_id == more.streamer_id)
        {
            Some(a) => a.events.extend(more.events),
            None => appended.push(more),
        }
    }
    for a in &mut appended {
        a.known = known_objects(a, &answers, &missions, &totals, &moved);
    }
    txn.commit().await?;
    // Wake-ups after the commit, not inside it: NOTIFY holds Postgres's one cluster-wide
    // notification lock from the commit's start through its flush, which would put every
    // batch of every streamer in one line. This process's subscribers are pushed the events
    // now; other processes' notification is coalesced with other batches'.
    announcer.announce(appended, totals.into_keys().collect());
    Ok(answers
        .into_iter()
        .map(|a| a.expect("checked above"))
        .collect())
}

/// The batch's pledges as `pledge_batch_item` rows, each with its round: items come sorted by
/// backer, and a backer's `n`th pledge of the batch (or a replay of its first key) goes in
/// round `n`, after the earlier ones' effects.
fn item_rows(items: &[Option<Item<'_>>]) -> Result<Vec<serde_json::Value>, LedgerError> {
    let mut rows = Vec::with_capacity(items.len());
    let mut previous: Option<&str> = None;
    let mut round = 0;
    for (at, i) in items.iter().enumerate() {
        let Some(i) = i else { continue };
        round = if previous == Some(i.job.backer_id.as_str()) {
            round + 1
        } else {
            0
        };
        previous = Some(i.job.backer_id.as_str());
        let p = &i.pledge;
        let t = hold_transfer(p, i.amount);
        rows.push(serde_json::json!({
            "at": at, "round": round, "backer_id": p.backer_id, "key": i.job.key.as_str(),
            "request_hash": i.hash, "response": pledged_response(&p.id)?,
            "mission_id": p.mission_id, "wallet": i.wallet.as_str(), "amount": p.amount,
            "pledge_id": p.id, "transfer_id": t.id, "escrow": t.credit.as_str(),
            "currency": t.debit.currency().as_str(), "transfer_kind": t.kind.as_str(),
            "message": p.message, "message_status": p.message_status.map(|s| s.as_str()),
            "anonymous": p.anonymous,
        }));
    }
    Ok(rows)
}

/// Calls `pledge_batch` with the batch's rows and reads its three kinds of answer.
async fn pledge_batch(
    txn: &DatabaseTransaction,
    rows: Vec<serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<Verdicts, LedgerError> {
    let mut verdicts = Verdicts::default();
    if rows.is_empty() {
        return Ok(verdicts);
    }
    let answered = txn
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT b.row_kind, b.pledge_at, b.outcome, b.totals_mission, b.totals_won, \
               b.totals_backers, b.feed_streamer, b.feed_last_seq, (b.m).* \
             FROM pledge_batch($1::jsonb, $2, $3, $4) AS b",
            [
                json_rows(rows),
                CONTRIBUTE.into(),
                now.into(),
                PledgeStatus::Held.as_str().into(),
            ],
        ))
        .await?;
    for row in &answered {
        let kind: String = row.try_get("", "row_kind")?;
        match kind.as_str() {
            "pledge" => {
                let at: i32 = row.try_get("", "pledge_at")?;
                let at = usize::try_from(at)
                    .map_err(|_| LedgerError::Corrupt(format!("pledge_batch's pledge {at}")))?;
                // A pledge's row carries its mission's columns, all NULL when it read none.
                let id: Option<String> = row.try_get("", "id")?;
                if let Some(id) = &id
                    && !verdicts.missions.contains_key(id)
                {
                    let m = mission_entity::Model::from_query_result(row, "")?;
                    verdicts.missions.insert(id.clone(), m);
                }
                verdicts.pledges.push((at, row.try_get("", "outcome")?, id));
            }
            "totals" => {
                verdicts.totals.insert(
                    row.try_get("", "totals_mission")?,
                    mission::Totals {
                        total_won: row.try_get("", "totals_won")?,
                        backers: row.try_get("", "totals_backers")?,
                    },
                );
            }
            "feed" => {
                verdicts.lasts.insert(
                    row.try_get("", "feed_streamer")?,
                    row.try_get("", "feed_last_seq")?,
                );
            }
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "pledge_batch answered a row of kind {other}"
                )));
            }
        }
    }
    Ok(verdicts)
}

/// A pledge's answer from its verdict. The database's rule (`pledge_allowed`) must agree with
/// the ledger's (`ensure_pledgeable`) on every pledge it ruled on: if they ever disagree the
/// batch fails (nothing of it stays) and is run again pledge by pledge under the ledger's.
async fn answer(
    txn: &DatabaseTransaction,
    item: &Item<'_>,
    outcome: &str,
    mission: Option<&mission_entity::Model>,
    now: DateTime<Utc>,
) -> Result<Answer, LedgerError> {
    let ruled = mission.map(|m| ensure_pledgeable(m, &item.job.backer_id, now));
    let disagree = || {
        LedgerError::Corrupt(format!(
            "pledge_batch ruled {outcome} on a pledge to {}, which the ledger's rule does not",
            item.job.mission_id
        ))
    };
    let wallet = || item.wallet.as_str().to_owned();
    Ok(match (outcome, ruled) {
        ("held", Some(Ok(()))) => Ok(Effect::New(item.pledge.clone())),
        ("refused", Some(Err(e))) => Err(e),
        ("funds", Some(Ok(()))) => Err(LedgerError::InsufficientFunds { account: wallet() }),
        ("no_wallet", Some(Ok(()))) => Err(LedgerError::UnknownAccount(wallet())),
        ("missing", None) => Err(LedgerError::NotFound("no such mission".into())),
        // Claimed before (an earlier batch or round): the same request replays its answer.
        ("replay", None) => match idempotency::existing(
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
        },
        _ => return Err(disagree()),
    })
}

/// The PLEDGED events `pledge_batch` appended (each new pledge, in the batch's order, on its
/// mission's streamer's feed), numbered as it numbered them.
fn pledged_events(
    answers: &[Option<Answer>],
    missions: &HashMap<String, mission_entity::Model>,
    lasts: &HashMap<String, i64>,
    now: DateTime<Utc>,
) -> Result<Vec<events::Appended>, LedgerError> {
    let mut by_streamer: BTreeMap<&str, Vec<NewEvent<'_>>> = BTreeMap::new();
    for a in answers {
        let Some(Ok(Effect::New(p))) = a else {
            continue;
        };
        let m = missions.get(&p.mission_id).ok_or_else(|| {
            LedgerError::Corrupt(format!("a pledge held to unread mission {}", p.mission_id))
        })?;
        by_streamer
            .entry(m.streamer_id.as_str())
            .or_default()
            .push(NewEvent::of_pledge(m, EventKind::Pledged, &p.id));
    }
    let by_streamer: BTreeMap<&str, Vec<&NewEvent<'_>>> = by_streamer
        .iter()
        .map(|(s, events)| (*s, events.iter().collect()))
        .collect();
    events::appended_through(&by_streamer, lasts, now)
}

/// What the batch holds of `appended`'s objects as it commits: the new pledges its events name,
/// and their missions (read behind their gates, so unchanged since, goals aside) with their
/// totals; the missions in `moved` are left out, to be read back.
fn known_objects(
    appended: &events::Appended,
    answers: &[Option<Answer>],
    missions: &HashMap<String, mission_entity::Model>,
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
        .filter_map(|id| Some((missions.get(id)?.clone(), *totals.get(id)?)))
        .collect();
    events::Known { pledges, missions }
}
