//! The streamers' event feeds: every change of a streamer's missions (created, pledged,
//! accepted, rejected, decided, expired, settled) is an event appended inside the transaction
//! that makes the change, numbered by a `seq` that strictly increases per streamer.
//!
//! The number comes from the streamer's `streamer_feeds` row, incremented once per commit (not
//! per pledge: a batch of a hundred pledges takes a hundred numbers in one update) as the
//! transaction's last write. Its lock is held until the commit, so a later commit gets later
//! numbers and a reader that has seen `seq` n can never later find an event numbered below n:
//! reading "everything after n" has no gaps and no repeats, whichever process wrote or reads.
//! Events older than the retention are pruned; `pruned_through` says up to which `seq`.

use crate::LedgerError;
use crate::mission::Totals;
use crate::status::EventKind;
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{mission, mission_event, pledge, streamer_feed};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use tokio::sync::{broadcast, mpsc};

/// The Postgres notification channel: the payload is the streamer whose feed grew.
pub const CHANNEL: &str = "mission_events";

/// Committed events not yet taken by a slow in-process listener before it is told it lagged
/// (and reads from the database instead).
const LOCAL_CAPACITY: usize = 1_024;

/// An event to append.
#[derive(Clone, Debug)]
pub struct NewEvent<'a> {
    /// The mission it is about; `None` for a streamer's prediction about no mission (which
    /// then names its streamer).
    pub mission_id: Option<&'a str>,
    /// The streamer's prediction a `PREDICTION_*` event is about.
    pub prediction_id: Option<&'a str>,
    /// The mission's streamer when the caller has the mission at hand; otherwise [`append`]
    /// reads it.
    pub streamer_id: Option<&'a str>,
    pub kind: EventKind,
    /// The pledge of a CREATED or PLEDGED event.
    pub pledge_id: Option<&'a str>,
    /// The tier (its level) of a TIER_REACHED event.
    pub tier: Option<i32>,
    /// A test event's made-up objects (JSON): it names no stored mission or pledge.
    pub test_payload: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    /// An event about mission `m` itself, naming no pledge: what a goal reached (with its
    /// tier), for one.
    pub fn about(m: &'a mission::Model, kind: EventKind, tier: Option<i32>) -> Self {
        Self {
            mission_id: Some(&m.id),
            prediction_id: None,
            streamer_id: Some(&m.streamer_id),
            kind,
            pledge_id: None,
            tier,
            test_payload: None,
        }
    }

    /// An event about pledge `pledge_id` to mission `m`: its creation's first pledge, or a
    /// pledge added to it.
    pub fn of_pledge(m: &'a mission::Model, kind: EventKind, pledge_id: &'a str) -> Self {
        Self {
            pledge_id: Some(pledge_id),
            ..Self::about(m, kind, None)
        }
    }
}

/// Appends `events`, in order, to the feeds of their missions' streamers, inside `txn`. Call it
/// as the transaction's last write: the feed rows it locks stay locked until the commit. On
/// Postgres it also notifies [`CHANNEL`] with each streamer (delivered at the commit). The hot
/// path (a pledge batch) uses [`write`] and an [`Announcer`] instead, to keep the notification
/// out of its transaction.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    events: &[NewEvent<'_>],
) -> Result<(), LedgerError> {
    let appended = write(txn, events).await?;
    if txn.get_database_backend() == DatabaseBackend::Postgres && !appended.is_empty() {
        let streamers: Vec<&str> = appended.iter().map(|a| a.streamer_id.as_str()).collect();
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, s) FROM jsonb_array_elements_text($2::jsonb) AS g(s)",
            [
                CHANNEL.into(),
                serde_json::Value::from(streamers).to_string().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// What one transaction appended to one streamer's feed, in `seq` order.
#[derive(Clone, Debug)]
pub struct Appended {
    pub streamer_id: String,
    pub events: Vec<mission_event::Model>,
    /// What the transaction held of its events' objects as it committed, pushed with them so
    /// that a subscriber in this process need not read them back (empty unless the writer
    /// filled it in: a pledge batch does).
    pub known: Known,
}

/// Objects of appended events as their transaction committed them.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Pledges the events name.
    pub pledges: Vec<pledge::Model>,
    /// Missions the events name, each with its totals as of the commit (the transaction held
    /// their rows to it).
    pub missions: Vec<(mission::Model, Totals)>,
}

/// Appends `events` as [`append`] does, without notifying anyone: after the commit, hand what
/// it returns to [`announce_committed`] or an [`Announcer`].
pub async fn write<C: ConnectionTrait>(
    txn: &C,
    events: &[NewEvent<'_>],
) -> Result<Vec<Appended>, LedgerError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // The streamers the caller did not name, in one read.
    let unnamed: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.streamer_id.is_none())
        .filter_map(|e| e.mission_id)
        .collect();
    let streamer_of: HashMap<String, String> = if unnamed.is_empty() {
        HashMap::new()
    } else {
        mission::Entity::find()
            .select_only()
            .columns([mission::Column::Id, mission::Column::StreamerId])
            .filter(mission::Column::Id.is_in(unnamed.iter().copied()))
            .into_tuple::<(String, String)>()
            .all(txn)
            .await?
            .into_iter()
            .collect()
    };
    // By streamer, in one order for every transaction: no two wait on each other's feed rows.
    let mut by_streamer: BTreeMap<&str, Vec<&NewEvent<'_>>> = BTreeMap::new();
    for event in events {
        let streamer = match (event.streamer_id, event.mission_id) {
            (Some(named), _) => named,
            (None, Some(mission_id)) => streamer_of.get(mission_id).ok_or_else(|| {
                LedgerError::Corrupt(format!("event of unknown mission {mission_id}"))
            })?,
            (None, None) => {
                return Err(LedgerError::Corrupt(
                    "an event naming neither its mission nor its streamer".into(),
                ));
            }
        };
        by_streamer.entry(streamer).or_default().push(event);
    }
    let now = Utc::now();
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        return append_pg(txn, &by_streamer, now).await;
    }
    let mut appended = Vec::with_capacity(by_streamer.len());
    for (streamer, events) in &by_streamer {
        let n = i64::try_from(events.len())
            .map_err(|_| LedgerError::invalid("events", "too many events in one commit"))?;
        let last = take_seqs(txn, streamer, n).await?;
        let rows = numbered(streamer, events, last, now);
        mission_event::Entity::insert_many(
            rows.iter().cloned().map(mission_event::ActiveModel::from),
        )
        .exec_without_returning(txn)
        .await?;
        appended.push(Appended {
            streamer_id: (*streamer).to_owned(),
            events: rows,
            known: Known::default(),
        });
    }
    Ok(appended)
}

/// `events` numbered up to `last`, as stored.
fn numbered(
    streamer: &str,
    events: &[&NewEvent<'_>],
    last: i64,
    now: DateTime<Utc>,
) -> Vec<mission_event::Model> {
    let first = last - i64::try_from(events.len()).unwrap_or(i64::MAX) + 1;
    events
        .iter()
        .zip(first..)
        .map(|(e, seq)| mission_event::Model {
            streamer_id: streamer.to_owned(),
            seq,
            mission_id: e.mission_id.map(str::to_owned),
            prediction_id: e.prediction_id.map(str::to_owned),
            kind: e.kind,
            pledge_id: e.pledge_id.map(str::to_owned),
            tier: e.tier,
            created_at: now,
            test_payload: e.test_payload.map(str::to_owned),
        })
        .collect()
}

/// Takes each streamer's numbers (locking the streamers' feed rows, in streamer order) and
/// inserts every event, in one statement whose text never changes whatever the number of
/// streamers and events (Postgres): a batch spanning many streamers' lanes costs one round trip
/// here, not one per streamer.
async fn append_pg<C: ConnectionTrait>(
    txn: &C,
    by_streamer: &BTreeMap<&str, Vec<&NewEvent<'_>>>,
    now: DateTime<Utc>,
) -> Result<Vec<Appended>, LedgerError> {
    let mut rows: Vec<serde_json::Value> = Vec::new();
    for (streamer, events) in by_streamer {
        rows.extend(events.iter().zip(1_i64..).map(|(e, i)| {
            serde_json::json!({
                "streamer_id": streamer, "n": i, "mission_id": e.mission_id,
                "prediction_id": e.prediction_id, "kind": e.kind.as_str(),
                "pledge_id": e.pledge_id, "tier": e.tier, "test_payload": e.test_payload,
            })
        }));
    }
    // The feed's one statement, `append_feed` (missions migration 000031): `pledge_batch`
    // appends a batch's events with it too.
    let lasts: HashMap<String, i64> = txn
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT feed_streamer, feed_last_seq FROM append_feed($1::jsonb, $2)",
            [crate::sql::json_rows(rows), now.into()],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("", "feed_streamer")?,
                r.try_get("", "feed_last_seq")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?;
    appended_through(by_streamer, &lasts, now)
}

/// What appending `by_streamer`'s events left, given each streamer's last `seq` after it
/// (Postgres: as `append_feed` numbers them, each streamer's events in their order, ending at
/// its last).
pub(crate) fn appended_through(
    by_streamer: &BTreeMap<&str, Vec<&NewEvent<'_>>>,
    lasts: &HashMap<String, i64>,
    now: DateTime<Utc>,
) -> Result<Vec<Appended>, LedgerError> {
    by_streamer
        .iter()
        .map(|(streamer, events)| {
            let last = *lasts.get(*streamer).ok_or_else(|| {
                LedgerError::Corrupt(format!("the feed row of {streamer} was not written"))
            })?;
            Ok(Appended {
                streamer_id: (*streamer).to_owned(),
                events: numbered(streamer, events, last, now),
                known: Known::default(),
            })
        })
        .collect()
}

/// This process's events as their transactions commit (see [`announce_committed`]).
pub fn local_committed() -> &'static broadcast::Sender<Arc<Appended>> {
    static LOCAL: OnceLock<broadcast::Sender<Arc<Appended>>> = OnceLock::new();
    LOCAL.get_or_init(|| broadcast::channel(LOCAL_CAPACITY).0)
}

/// Tells this process's listeners apart from others': the tail of the Postgres notifications
/// [`announce_committed`] sends, which this process's own listener ignores (it was pushed
/// what they announce).
pub fn instance() -> &'static str {
    static INSTANCE: OnceLock<String> = OnceLock::new();
    INSTANCE.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
}

/// The streamer a notification on [`CHANNEL`] names, unless this process sent it after a
/// commit (and so already pushed its events to its own subscribers).
pub fn notified_streamer(payload: &str) -> Option<&str> {
    match payload.split_once(' ') {
        Some((_, from)) if from == instance() => None,
        Some((streamer, _)) => Some(streamer),
        None => Some(payload),
    }
}

/// After the commit of a transaction that [`write`] `appended` to and that changed
/// `mission_ids`: pushes the events to this process's subscribers ([`local_committed`]), then
/// on Postgres notifies every other process in one statement outside any money transaction
/// ([`CHANNEL`] with `"<streamer> <instance>"`, and [`crate::changes::CHANNEL`] with each
/// mission). Best effort: the events are committed, and a subscriber that misses a wake-up
/// reads them at its next poll. The pledge path coalesces its wake-ups with an [`Announcer`].
pub async fn announce_committed<C: ConnectionTrait>(
    db: &C,
    appended: Vec<Appended>,
    mission_ids: Vec<String>,
) {
    let streamers = push_local(appended);
    if db.get_database_backend() != DatabaseBackend::Postgres {
        crate::changes::committed(
            db.get_database_backend(),
            mission_ids.iter().map(String::as_str),
        );
        return;
    }
    notify_others(db, streamers, mission_ids).await;
}

/// Pushes committed events to this process's subscribers; the streamers whose feeds grew.
fn push_local(appended: Vec<Appended>) -> Vec<String> {
    let streamers = appended.iter().map(|a| a.streamer_id.clone()).collect();
    for a in appended {
        // No receiver is fine: nobody follows a feed in this process.
        let _ = local_committed().send(Arc::new(a));
    }
    streamers
}

/// Tells every other process (Postgres) that `streamers`' feeds grew and `missions` changed, in
/// one statement, as its own transaction.
async fn notify_others<C: ConnectionTrait>(
    db: &C,
    streamers: impl IntoIterator<Item = String>,
    missions: impl IntoIterator<Item = String>,
) {
    let streamers: Vec<String> = streamers
        .into_iter()
        .map(|s| format!("{s} {}", instance()))
        .collect();
    let missions: Vec<String> = missions.into_iter().collect();
    let notified = db
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, s) FROM jsonb_array_elements_text($2::jsonb) AS g(s) \
             UNION ALL SELECT pg_notify($3, m) FROM jsonb_array_elements_text($4::jsonb) AS h(m)",
            [
                CHANNEL.into(),
                serde_json::Value::from(streamers).to_string().into(),
                crate::changes::CHANNEL.into(),
                serde_json::Value::from(missions).to_string().into(),
            ],
        ))
        .await;
    if let Err(e) = notified {
        tracing::warn!(error = %e, "could not announce committed events; subscribers poll");
    }
}

/// Wake-ups waiting for one notification statement, at most.
const COALESCED: usize = 4_096;

/// Wake-ups after the commit, coalesced: [`announce_committed`] for a path that commits many
/// times a second (the pledge batches). Each commit's events are pushed to this process's
/// subscribers at once; the notifications to other processes go out as one statement for
/// everything committed while the previous one was sent (a notification is a commit of its
/// own, with its own flush, so one per batch would double the pledge path's commits). At low
/// load nothing waits; under load a notification carries many batches'. Every wake-up is sent
/// once what came before it has been: the one task sending them ends when the last handle is
/// dropped, after sending what it holds.
#[derive(Clone)]
pub struct Announcer {
    wakes: mpsc::UnboundedSender<(Vec<String>, Vec<String>)>,
    backend: DatabaseBackend,
}

impl Announcer {
    /// Starts the task that notifies through `db`. Must run inside a Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (wakes, mut queued) = mpsc::unbounded_channel::<(Vec<String>, Vec<String>)>();
        let backend = db.get_database_backend();
        if backend == DatabaseBackend::Postgres {
            tokio::spawn(async move {
                let mut taken = Vec::new();
                while queued.recv_many(&mut taken, COALESCED).await > 0 {
                    let mut streamers = BTreeSet::new();
                    let mut missions = BTreeSet::new();
                    for (s, m) in taken.drain(..) {
                        streamers.extend(s);
                        missions.extend(m);
                    }
                    notify_others(&db, streamers, missions).await;
                }
            });
        }
        Self { wakes, backend }
    }

    /// After the commit of a transaction that [`write`] `appended` to and that changed
    /// `mission_ids`: pushes its events to this process now, queues the notification.
    pub fn announce(&self, appended: Vec<Appended>, mission_ids: Vec<String>) {
        let streamers = push_local(appended);
        if self.backend != DatabaseBackend::Postgres {
            crate::changes::committed(self.backend, mission_ids.iter().map(String::as_str));
            return;
        }
        // The task ends only once every handle is dropped: it is there to take this.
        let _ = self.wakes.send((streamers, mission_ids));
    }
}

/// Locks `streamer`'s feed row (making it if need be) until the commit, taking no number: orders
/// this transaction against every append to the streamer's feed (a suspension's sweep against
/// a proposal being made, `operator::cancel_missions_of`).
pub async fn hold_feed<C: ConnectionTrait>(txn: &C, streamer: &str) -> Result<(), LedgerError> {
    take_seqs(txn, streamer, 0).await.map(|_| ())
}

/// Takes the next `n` numbers of `streamer`'s feed, locking its row; the last of them.
async fn take_seqs<C: ConnectionTrait>(
    txn: &C,
    streamer: &str,
    n: i64,
) -> Result<i64, LedgerError> {
    let feed = streamer_feed::ActiveModel {
        streamer_id: Set(streamer.to_owned()),
        last_seq: Set(n),
        pruned_through: Set(0),
    };
    let on_conflict = OnConflict::column(streamer_feed::Column::StreamerId)
        .value(
            streamer_feed::Column::LastSeq,
            Expr::col((streamer_feed::Entity, streamer_feed::Column::LastSeq)).add(n),
        )
        .to_owned();
    let row = streamer_feed::Entity::insert(feed)
        .on_conflict(on_conflict)
        .exec_with_returning(txn)
        .await?;
    Ok(row.last_seq)
}

/// A streamer's feed as it stands: the last `seq` handed out and how far it was pruned (both 0
/// for a streamer with no events yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedState {
    pub last_seq: i64,
    pub pruned_through: i64,
}

pub async fn state<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
) -> Result<FeedState, LedgerError> {
    Ok(streamer_feed::Entity::find_by_id(streamer_id.to_owned())
        .one(db)
        .await?
        .map(|f| FeedState {
            last_seq: f.last_seq,
            pruned_through: f.pruned_through,
        })
        .unwrap_or_default())
}

/// Why the events after a `seq` cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Events after it were pruned: the reader must reload the current state.
    Pruned { pruned_through: i64 },
    /// No event has that number yet (the feed was reset, or the number was made up).
    Ahead { last_seq: i64 },
}

/// Whether the events after `after_seq` can all still be read.
pub fn check_after(state: FeedState, after_seq: i64) -> Result<(), Unreadable> {
    if after_seq < state.pruned_through {
        Err(Unreadable::Pruned {
            pruned_through: state.pruned_through,
        })
    } else if after_seq > state.last_seq {
        Err(Unreadable::Ahead {
            last_seq: state.last_seq,
        })
    } else {
        Ok(())
    }
}

/// At most `limit` events of `streamer_id` after `after_seq`, in `seq` order.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<mission_event::Model>, LedgerError> {
    Ok(mission_event::Entity::find()
        .filter(mission_event::Column::StreamerId.eq(streamer_id))
        .filter(mission_event::Column::Seq.gt(after_seq))
        .order_by_asc(mission_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

/// Deletes events created before `cutoff`, recording per streamer how far its feed is pruned.
/// Returns how many were deleted.
pub async fn prune<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> Result<u64, LedgerError> {
    // Per streamer, everything up to its newest event older than the cutoff: seqs follow
    // commits, so nothing numbered below it is younger than the retention by more than the
    // clock skew between processes.
    let old: Vec<(String, i64)> = mission_event::Entity::find()
        .select_only()
        .column(mission_event::Column::StreamerId)
        .column_as(mission_event::Column::Seq.max(), "seq")
        .filter(mission_event::Column::CreatedAt.lt(cutoff))
        .group_by(mission_event::Column::StreamerId)
        .into_tuple()
        .all(db)
        .await?;
    let mut deleted = 0;
    for (streamer, through) in old {
        streamer_feed::Entity::update_many()
            .col_expr(streamer_feed::Column::PrunedThrough, Expr::value(through))
            .filter(streamer_feed::Column::StreamerId.eq(&streamer))
            .filter(streamer_feed::Column::PrunedThrough.lt(through))
            .exec(db)
            .await?;
        deleted += mission_event::Entity::delete_many()
            .filter(mission_event::Column::StreamerId.eq(&streamer))
            .filter(mission_event::Column::Seq.lte(through))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(deleted)
}
