//! A streamer's event feed in GraphQL: `missionEvents` as a query (a page after a `seq`) and as
//! a subscription (everything after a `seq`, then live), both read from the database by `seq`
//! ([`missionlink_ledger::events`]), so neither has gaps or repeats across replicas and
//! restarts.

use super::connection::graphql_int;
use super::context::state;
use super::feed_objects::{self, FeedObjects, Wanted};
use super::mission::load_mission;
use super::mission::{Mission, Pledge};
use super::test_objects::{TestPayload, parse};
use crate::error::{ApiError, GqlResult};
use crate::event_feed::{POLL, Wake};
use crate::state::AppState;
use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use missionlink_entities::missions::{mission_event, pledge};
use missionlink_ledger::events::{self, Appended, FeedState, Known, Unreadable};
use sea_orm::EntityTrait;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most events one `missionEvents` query returns (a subscriber reads up to this many at once):
/// a page with a full selection of each event's mission and pledge stays within
/// `GRAPHQL_MAX_COMPLEXITY`.
pub const MAX_EVENTS_PAGE: i32 = 50;
/// Page size when `first` is not given.
pub const DEFAULT_EVENTS_PAGE: i32 = 50;

/// What happened to the mission.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::EventKind")]
pub enum MissionEventKind {
    /// Proposed, with its creator's first pledge (`pledge`).
    Created,
    /// Another pledge (`pledge`).
    Pledged,
    Accepted,
    Rejected,
    /// The mission succeeded: the streamer's verdict (once any objection window ended), or an
    /// operator's resolution of a dispute.
    Succeeded,
    /// The streamer's verdict: failure.
    Failed,
    /// The accept window or the deadline passed without the streamer's answer.
    Expired,
    /// Every pledge is paid or refunded.
    Settled,
    /// A pledge's message was approved (`pledge`): it shows from now on.
    MessageApproved,
    /// A pledge's message was hidden (`pledge`).
    MessageHidden,
    /// The streamer's verdict is success, open to the backers' objections until
    /// `objectionWindowEndsAt`.
    Verifying,
    /// The backers' objections reached the threshold: an operator decides.
    Disputed,
    /// An operator cancelled the mission; every backer is refunded.
    Cancelled,
    /// A backer withdrew a pledge (`pledge`) while the mission was PENDING or FUNDING: it no longer
    /// counts in `totalHeld`.
    PledgeWithdrawn,
    /// The creator withdrew the mission, or its last held pledge was withdrawn; every backer
    /// is refunded.
    Withdrawn,
    /// A goal reached its `goal`: it is ACTIVE and its deadline runs.
    GoalReached,
    /// A goal reached a stretch tier: `tier` says which (its `level`).
    TierReached,
    /// The streamer (or a moderator) opened a prediction of their own (`prediction`): betting
    /// is open until its `lockAt`.
    PredictionOpened,
    /// Betting closed on a streamer's prediction (`prediction`): its window ended, or it was
    /// locked, resolved or cancelled.
    PredictionLocked,
    /// A streamer's prediction (`prediction`) was paid out: its `decision` says whether it was
    /// resolved (`winningOutcome`), cancelled or expired (every stake back).
    PredictionResolved,
}

/// One entry of a streamer's feed.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct MissionEvent {
    /// Strictly increasing per streamer, in commit order, never reused: resume after the last
    /// one seen.
    pub seq: i32,
    pub kind: MissionEventKind,
    /// When it was committed.
    pub created_at: DateTime<Utc>,
    /// When it was committed: `createdAt`, the name every type uses.
    #[graphql(deprecation = "use createdAt, the name every type uses")]
    pub at: DateTime<Utc>,
    /// The tier a `TIER_REACHED` event is about: its `level` among the mission's `tiers`.
    pub tier: Option<i32>,
    /// A streamer's test event (`sendTestEvent`): its mission and pledge are made up, no money
    /// moved and no total changed. Show it as a test; never count it.
    pub test: bool,
    #[graphql(skip)]
    pub mission_id: Option<String>,
    #[graphql(skip)]
    pub prediction_id: Option<String>,
    #[graphql(skip)]
    pub streamer_id: String,
    #[graphql(skip)]
    pub test_payload: Option<Arc<TestPayload>>,
    #[graphql(skip)]
    pub pledge_id: Option<String>,
    /// Its mission and pledge, when loaded with the other events of a followed feed's read.
    #[graphql(skip)]
    pub objects: Option<Arc<FeedObjects>>,
}

impl TryFrom<mission_event::Model> for MissionEvent {
    type Error = ApiError;

    fn try_from(e: mission_event::Model) -> Result<Self, ApiError> {
        Ok(Self {
            seq: graphql_int(e.seq, "seq")?,
            kind: e.kind.into(),
            created_at: e.created_at,
            at: e.created_at,
            tier: e.tier,
            test: e.test_payload.is_some(),
            test_payload: e
                .test_payload
                .as_deref()
                .map(parse)
                .transpose()?
                .map(Arc::new),
            mission_id: e.mission_id,
            prediction_id: e.prediction_id,
            streamer_id: e.streamer_id,
            pledge_id: e.pledge_id,
            objects: None,
        })
    }
}

#[ComplexObject]
impl MissionEvent {
    /// The mission as it is now (its totals and status when this is read, not when it
    /// happened): an overlay shows it as is. Null only for a `PREDICTION_*` event whose
    /// prediction is about no mission.
    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<Option<Mission>> {
        let Some(mission_id) = &self.mission_id else {
            return Ok(None);
        };
        if let Some(test) = &self.test_payload {
            return Ok(Some(test.mission(mission_id, &self.streamer_id)?));
        }
        if let Some(known) = self.objects.as_ref().and_then(|o| o.mission(mission_id)) {
            return Ok(Some(known));
        }
        Ok(Some(load_mission(ctx, mission_id).await?))
    }

    /// The streamer's prediction a `PREDICTION_*` event is about, as it is now.
    async fn prediction(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::channel_prediction::ChannelPrediction>> {
        match &self.prediction_id {
            Some(id) => Ok(super::channel_prediction::load(ctx, id).await?),
            None => Ok(None),
        }
    }

    /// The pledge of a CREATED, PLEDGED, MESSAGE_APPROVED or MESSAGE_HIDDEN event.
    async fn pledge(&self, ctx: &Context<'_>) -> GqlResult<Option<Pledge>> {
        let Some(id) = &self.pledge_id else {
            return Ok(None);
        };
        if let Some(test) = &self.test_payload {
            let mission_id = self.mission_id.as_deref().unwrap_or_default();
            return Ok(test.pledge(id, mission_id, &self.streamer_id)?);
        }
        if let Some(known) = self.objects.as_ref().and_then(|o| o.pledge(id)) {
            return Ok(Some(known));
        }
        let found = pledge::Entity::find_by_id(id.clone())
            .one(&state(ctx).db.missions)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Pledge::try_from).transpose()?)
    }
}

/// A page of a streamer's feed.
#[derive(SimpleObject)]
pub struct MissionEventPage {
    /// Events after `afterSeq`, in `seq` order.
    pub nodes: Vec<MissionEvent>,
    /// The streamer's newest `seq` when this was read (0 before any event): load the current
    /// state, then follow the feed from here.
    pub last_seq: i32,
    /// Whether more events follow the last of `nodes`.
    pub has_more: bool,
}

/// The feed's state, with `after_seq` checked against it.
pub(super) async fn readable(
    app: &AppState,
    streamer: &str,
    after_seq: i64,
) -> Result<FeedState, ApiError> {
    let feed = events::state(&app.db.missions, streamer).await?;
    match events::check_after(feed, after_seq) {
        Ok(()) => Ok(feed),
        Err(Unreadable::Pruned { pruned_through }) => Err(ApiError::EventsExpired(format!(
            "events up to seq {pruned_through} are older than the retention \
             (EVENT_RETENTION_HOURS): reload the current state and follow from its lastSeq"
        ))),
        Err(Unreadable::Ahead { last_seq }) => Err(ApiError::invalid(
            "afterSeq",
            format!(
                "afterSeq is beyond this feed's newest seq {last_seq}: reload the current state"
            ),
        )),
    }
}

fn page_size(first: Option<i32>) -> Result<u64, ApiError> {
    let first = first.unwrap_or(DEFAULT_EVENTS_PAGE);
    if (1..=MAX_EVENTS_PAGE).contains(&first) {
        Ok(u64::from(first.unsigned_abs()))
    } else {
        Err(ApiError::invalid(
            "first",
            format!("first must be between 1 and {MAX_EVENTS_PAGE}"),
        ))
    }
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The streamer's events after `afterSeq` (by default 0: from the first, which answers
    /// `EVENTS_EXPIRED` once any was pruned; a client that loaded the current state follows from
    /// its `lastSeq`), oldest first. `EVENTS_EXPIRED` when events after it were already pruned.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_EVENTS_PAGE).clamp(0, MAX_EVENTS_PAGE) as usize * child_complexity"
    )]
    async fn mission_events(
        &self,
        ctx: &Context<'_>,
        streamer_id: ID,
        after_seq: Option<i32>,
        first: Option<i32>,
    ) -> GqlResult<MissionEventPage> {
        let app = state(ctx);
        let after_seq = after_seq.unwrap_or(0);
        let limit = page_size(first)?;
        let feed = readable(app, streamer_id.as_str(), i64::from(after_seq)).await?;
        let mut rows = events::after(
            &app.db.missions,
            streamer_id.as_str(),
            i64::from(after_seq),
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        if let Some(first) = rows.first() {
            no_pruned_gap(app, streamer_id.as_str(), i64::from(after_seq), first.seq).await?;
        }
        let has_more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(MissionEventPage {
            nodes: rows
                .into_iter()
                .map(MissionEvent::try_from)
                .collect::<Result<_, _>>()?,
            last_seq: graphql_int(feed.last_seq.max(i64::from(after_seq)), "lastSeq")?,
            has_more,
        })
    }
}

#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// The streamer's events after `afterSeq`, then each new one as it commits, in `seq` order,
    /// each exactly once (without `afterSeq`: only new ones). Resume after a lost connection
    /// with the last `seq` received. `EVENTS_EXPIRED` when events after it were already pruned.
    async fn mission_events(
        &self,
        ctx: &Context<'_>,
        streamer_id: ID,
        after_seq: Option<i32>,
    ) -> Result<
        impl Stream<Item = Result<MissionEvent, async_graphql::Error>> + use<>,
        async_graphql::Error,
    > {
        let app = state(ctx).clone();
        let streamer = streamer_id.to_string();
        let after = match after_seq {
            Some(seq) => {
                readable(&app, &streamer, i64::from(seq)).await?;
                i64::from(seq)
            }
            None => {
                events::state(&app.db.missions, &streamer)
                    .await
                    .map_err(ApiError::from)?
                    .last_seq
            }
        };
        // Unguarded: nothing ends it but the client, or a pruning that left it behind.
        let wanted = Wanted::of(ctx);
        Ok(follow(app, streamer, after, None, wanted)
            .map(|e| e.map_err(async_graphql::Error::from)))
    }
}

/// `EVENTS_EXPIRED` if the events between `after` and the first one read (`first_seq`) were
/// pruned between checking the feed and reading it.
async fn no_pruned_gap(
    app: &AppState,
    streamer: &str,
    after: i64,
    first_seq: i64,
) -> Result<(), ApiError> {
    if first_seq == after + 1 {
        return Ok(());
    }
    readable(app, streamer, after).await.map(|_| ())
}

/// What a [`Guard`] says about delivering what the feed's last read returned.
pub(super) enum Admission {
    /// Deliver it.
    Go,
    /// Deliver this error instead, and end the stream.
    Stop(ApiError),
    /// The guard could not tell: deliver nothing now, read again at the next wake-up or poll.
    Unknown,
}

/// A check made after every read of a followed feed, before anything it returned is delivered:
/// whatever is delivered was committed while the check still held (the overlay's token, say).
pub(super) type Guard = Box<dyn FnMut() -> BoxFuture<'static, Admission> + Send>;

/// Every event of `streamer` after `after`, read from the database whenever the feed may have
/// grown (a wake-up, or every [`POLL`]), or taken as pushed when this process committed them
/// and they follow the last one delivered. With a `guard`, each read (or push) is followed by
/// its check: the stream ends with the guard's error as soon as it refuses, and so within one
/// [`POLL`] even when the feed is quiet.
pub(super) fn follow(
    app: AppState,
    streamer: String,
    after: i64,
    guard: Option<Guard>,
    wanted: Wanted,
) -> impl Stream<Item = Result<MissionEvent, ApiError>> {
    let wake = app.event_wakeups.subscribe();
    let start = Follow {
        app,
        streamer,
        after,
        ready: VecDeque::new(),
        wake,
        guard,
        ended: false,
        up_to_date: false,
        wanted,
    };
    futures::stream::unfold(start, move |mut f| async move {
        loop {
            if let Some(event) = f.ready.pop_front() {
                return Some((Ok(event), f));
            }
            if f.ended {
                return None;
            }
            if !f.up_to_date {
                if let Some(e) = f.read().await {
                    f.ended = true;
                    return Some((Err(e), f));
                }
                if !f.ready.is_empty() {
                    continue;
                }
            }
            // Nothing new: wait to be told (or pushed), or poll.
            f.up_to_date = false;
            match f.wait().await {
                Woken::Closed => return None,
                Woken::Read => {}
                Woken::Pushed(appended) => {
                    if let Some(e) = f.take(&appended).await {
                        f.ended = true;
                        return Some((Err(e), f));
                    }
                }
            }
        }
    })
}

/// What ended a follower's wait.
enum Woken {
    /// The feed may have grown (or the poll is due): read it.
    Read,
    /// This process committed these events of the followed feed.
    Pushed(Arc<Appended>),
    /// The wake-ups ended with the process.
    Closed,
}

impl Follow {
    /// Reads what follows `after` into `ready`, if the guard admits it; the guard's (or a
    /// pruning's) refusal, which ends the stream.
    async fn read(&mut self) -> Option<ApiError> {
        let limit = u64::from(MAX_EVENTS_PAGE.unsigned_abs());
        let rows =
            match events::after(&self.app.db.missions, &self.streamer, self.after, limit).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read a streamer's feed; retrying");
                    return None;
                }
            };
        let admission = self.admit().await;
        // Events after `after` pruned before this read: the follower is left behind.
        let admission = match rows.first() {
            Some(first) if matches!(admission, Admission::Go) => {
                match no_pruned_gap(&self.app, &self.streamer, self.after, first.seq).await {
                    Ok(()) => admission,
                    Err(e) => Admission::Stop(e),
                }
            }
            _ => admission,
        };
        match admission {
            Admission::Go => {
                self.deliver(&rows, &Known::default()).await;
                None
            }
            Admission::Unknown => None,
            Admission::Stop(e) => Some(e),
        }
    }

    /// Queues `rows` for delivery with their objects (those `known` as their transaction
    /// committed them, the rest loaded together); moves `after` past them.
    async fn deliver(&mut self, rows: &[mission_event::Model], known: &Known) {
        let Some(last) = rows.last() else {
            return;
        };
        self.after = last.seq;
        let objects = match feed_objects::load(&self.app, self.wanted, rows, known).await {
            Ok(objects) => Some(Arc::new(objects)),
            Err(e) => {
                tracing::warn!(error = ?e, "could not load a feed's objects together; each event loads its own");
                None
            }
        };
        for row in rows {
            match MissionEvent::try_from(row.clone()) {
                Ok(mut event) => {
                    event.objects = objects.clone();
                    self.ready.push_back(event);
                }
                Err(e) => tracing::error!(error = ?e, "a feed event does not convert"),
            }
        }
    }

    /// Takes pushed events that follow `after` as they are (no read), if the guard admits
    /// them; pushed events past a gap leave the follower to read the gap.
    async fn take(&mut self, appended: &Appended) -> Option<ApiError> {
        if appended.events.first().map(|e| e.seq) != Some(self.after + 1) {
            return None;
        }
        match self.admit().await {
            Admission::Go => {
                self.deliver(&appended.events, &appended.known).await;
                self.up_to_date = true;
                None
            }
            // Read again at the next wake-up or poll.
            Admission::Unknown => {
                self.up_to_date = true;
                None
            }
            Admission::Stop(e) => Some(e),
        }
    }

    async fn admit(&mut self) -> Admission {
        match &mut self.guard {
            Some(guard) => guard().await,
            None => Admission::Go,
        }
    }

    /// Waits for a wake-up concerning this feed (pushed events already delivered are
    /// skipped), at most [`POLL`].
    async fn wait(&mut self) -> Woken {
        let (streamer, after) = (self.streamer.as_str(), self.after);
        let wake = &mut self.wake;
        tokio::time::timeout(POLL, async {
            loop {
                match wake.recv().await {
                    Ok(Wake::Events(a)) if a.streamer_id == streamer => {
                        if a.events.last().is_some_and(|e| e.seq > after) {
                            return Woken::Pushed(a);
                        }
                    }
                    Ok(w) if w.concerns(streamer) => return Woken::Read,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return Woken::Read;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        return Woken::Closed;
                    }
                }
            }
        })
        .await
        .unwrap_or(Woken::Read)
    }
}

/// A followed feed between two events.
struct Follow {
    app: AppState,
    streamer: String,
    /// The last `seq` delivered or queued for delivery (or read past).
    after: i64,
    /// Read, not yet delivered.
    ready: VecDeque<MissionEvent>,
    wake: tokio::sync::broadcast::Receiver<Wake>,
    guard: Option<Guard>,
    /// The guard refused: nothing more is read.
    ended: bool,
    /// Took pushed events up to the feed's newest: wait before reading again.
    up_to_date: bool,
    /// What the subscriber selects of each event's objects.
    wanted: Wanted,
}
