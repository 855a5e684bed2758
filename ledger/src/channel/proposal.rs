//! Whether a viewer may propose a mission to a streamer now: the streamer's channel settings
//! (requests on, the least first pledge, the longest mission, banned words, blocks) and SOOP's
//! rule after rejections: a rejected proposer waits `PROPOSAL_COOLDOWN_SECONDS` before proposing
//! to that streamer again, and `REJECTIONS_BAN` rejections within [`BAN_HOURS`] suspend them
//! from proposing anywhere for [`BAN_HOURS`]. Expiries do not count.

use super::settings::{self, Settings};
use super::words::banned_in;
use crate::LedgerError;
use crate::status::MissionStatus;
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::mission;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// How long a suspension lasts, and the window its rejections are counted in.
pub const BAN_HOURS: i64 = 24;

/// What a blocked user hears: a plain `FORBIDDEN` that names no block.
pub const PROPOSAL_FORBIDDEN: &str = "you cannot propose missions to this streamer";

/// The platform's rules for proposals after rejections.
#[derive(Clone, Copy, Debug)]
pub struct ProposalRules {
    /// `PROPOSAL_COOLDOWN_SECONDS`: wait after a rejection before proposing to that streamer.
    pub cooldown_seconds: i64,
    /// `REJECTIONS_BAN`: rejections within [`BAN_HOURS`] that suspend a proposer.
    pub rejections_ban: usize,
}

/// A proposal as the checks see it.
pub struct Proposal<'a> {
    pub creator_id: &'a str,
    pub streamer_id: &'a str,
    /// The creator's first pledge, won.
    pub amount_won: i64,
    pub duration_seconds: i64,
    /// Title, description, message: what the streamer and their audience would read.
    pub texts: &'a [&'a str],
}

fn refused(code: &'static str, message: String, retry_at: Option<DateTime<Utc>>) -> LedgerError {
    LedgerError::Refused {
        code,
        message,
        retry_at,
    }
}

/// Refuses the proposal with its code, or returns the streamer's settings.
pub async fn check_proposal<C: ConnectionTrait>(
    db: &C,
    rules: ProposalRules,
    p: &Proposal<'_>,
    now: DateTime<Utc>,
) -> Result<Settings, LedgerError> {
    let settings = settings::read(db, p.streamer_id).await?;
    if let Some(until) = suspended_until(db, rules, p.creator_id, now).await? {
        return Err(refused(
            "PROPOSALS_SUSPENDED",
            format!(
                "{} of your missions were rejected within {BAN_HOURS} hours: you can propose again at {until}",
                rules.rejections_ban
            ),
            Some(until),
        ));
    }
    if let Some(until) = cooling_until(db, rules, p, now).await? {
        return Err(refused(
            "PROPOSAL_COOLDOWN",
            format!(
                "this streamer rejected your mission: you can propose to them again at {until}"
            ),
            Some(until),
        ));
    }
    // After the waits that are the proposer's own (a suspended proposer hears of it from every
    // channel, blocked or not), before anything the channel says about the proposal.
    if settings.blocked_users.iter().any(|u| u == p.creator_id) {
        return Err(LedgerError::Forbidden(PROPOSAL_FORBIDDEN.into()));
    }
    if !settings.accepting_requests {
        return Err(refused(
            "REQUESTS_CLOSED",
            "this streamer is not taking mission requests now".into(),
            None,
        ));
    }
    if let Some(min) = settings.min_first_pledge
        && p.amount_won < min
    {
        return Err(refused(
            "BELOW_STREAMER_MINIMUM",
            format!("this streamer takes missions from {min} won"),
            None,
        ));
    }
    if let Some(max) = settings.max_duration_seconds
        && p.duration_seconds > max
    {
        return Err(refused(
            "ABOVE_STREAMER_MAXIMUM",
            format!("this streamer takes missions of at most {max} seconds"),
            None,
        ));
    }
    if p.texts
        .iter()
        .any(|t| banned_in(t, &settings.banned_words).is_some())
    {
        return Err(refused(
            "CONTENT_BLOCKED",
            "the text contains a word this channel does not allow".into(),
            None,
        ));
    }
    Ok(settings)
}

/// When the creator's rejections of the last two windows suspend them until, if after `now`:
/// each run of `rejections_ban` rejections within [`BAN_HOURS`] suspends them for
/// [`BAN_HOURS`] from its last one.
async fn suspended_until<C: ConnectionTrait>(
    db: &C,
    rules: ProposalRules,
    creator_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, LedgerError> {
    if rules.rejections_ban == 0 {
        return Ok(None);
    }
    let window = Duration::hours(BAN_HOURS);
    let times: Vec<Option<DateTime<Utc>>> = mission::Entity::find()
        .select_only()
        .column(mission::Column::ClosedAt)
        .filter(mission::Column::CreatorId.eq(creator_id))
        .filter(mission::Column::Status.eq(MissionStatus::Rejected))
        .filter(mission::Column::ClosedAt.gt(now - window - window))
        .order_by_asc(mission::Column::ClosedAt)
        .into_tuple()
        .all(db)
        .await?;
    let times: Vec<DateTime<Utc>> = times.into_iter().flatten().collect();
    let n = rules.rejections_ban;
    let until = times
        .windows(n)
        .filter(|run| run[n - 1] - run[0] <= window)
        .map(|run| run[n - 1] + window)
        .max();
    Ok(until.filter(|u| *u > now))
}

/// When the creator may propose to this streamer again after its latest rejection, if after
/// `now`.
async fn cooling_until<C: ConnectionTrait>(
    db: &C,
    rules: ProposalRules,
    p: &Proposal<'_>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, LedgerError> {
    let latest: Option<Option<DateTime<Utc>>> = mission::Entity::find()
        .select_only()
        .column(mission::Column::ClosedAt)
        .filter(mission::Column::CreatorId.eq(p.creator_id))
        .filter(mission::Column::StreamerId.eq(p.streamer_id))
        .filter(mission::Column::Status.eq(MissionStatus::Rejected))
        .order_by_desc(mission::Column::ClosedAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest
        .flatten()
        .map(|at| at + Duration::seconds(rules.cooldown_seconds))
        .filter(|until| *until > now))
}
