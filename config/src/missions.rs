//! Missions, pledges and the prediction game: durations, amounts, the platform's fee,
//! settlement and group commit, proposals' cooldown, objections and disputes, the event feed.

use crate::ConfigError;
use crate::var::{Env, Var};

/// The largest `PLEDGE_MIN` and `PLEDGE_MAX`, won: `i32::MAX`, the largest GraphQL `Int`.
#[allow(clippy::as_conversions)] // i32 to i64: lossless, and `From` is not callable in a const.
const MAX_PLEDGE_WON: i64 = i32::MAX as i64;

pub const PLATFORM_FEE_BPS: Var = Var::int(
    "PLATFORM_FEE_BPS",
    0,
    0..=10_000,
    "fee on successful missions, basis points, floor-rounded",
);

pub const MISSION_MIN_DURATION_SECONDS: Var = Var::int(
    "MISSION_MIN_DURATION_SECONDS",
    60,
    1..=31_536_000,
    "bounds of `durationSeconds`",
);

pub const MISSION_MAX_DURATION_SECONDS: Var = Var::int(
    "MISSION_MAX_DURATION_SECONDS",
    604_800,
    1..=31_536_000,
    "bounds of `durationSeconds`",
);

pub const MISSION_DEFAULT_ACCEPT_SECONDS: Var = Var::int(
    "MISSION_DEFAULT_ACCEPT_SECONDS",
    3_600,
    1..=31_536_000,
    "accept window when none is given",
);

pub const PLEDGE_MIN: Var = Var::int("PLEDGE_MIN", 1_000, 1..=MAX_PLEDGE_WON, "won per pledge");

pub const PLEDGE_MAX: Var = Var::int(
    "PLEDGE_MAX",
    3_000_000,
    1..=MAX_PLEDGE_WON,
    "won per pledge",
);

pub const PREDICTION_WINDOW_SECONDS: Var = Var::int(
    "PREDICTION_WINDOW_SECONDS",
    300,
    1..=31_536_000,
    "betting window after acceptance",
);

pub const DAILY_POINTS: Var = Var::int(
    "DAILY_POINTS",
    100,
    0..=1_000_000,
    "game points `claimDailyPoints` grants once per Asia/Seoul day (0: no daily claim, \
     `FORBIDDEN`); points are never bought and never become cash",
);

pub const DAILY_POINTS_STREAK_MAX: Var = Var::int(
    "DAILY_POINTS_STREAK_MAX",
    100,
    0..=1_000_000,
    "the most a streak of consecutive daily claims adds to one: each day before today adds a \
     tenth of `DAILY_POINTS`, up to this",
);

pub const PREDICTIONS_OPEN_PER_STREAMER: Var = Var::int(
    "PREDICTIONS_OPEN_PER_STREAMER",
    1,
    1..=20,
    "predictions of their own (`createPrediction`) a streamer may have undecided at once; one \
     more is `PREDICTION_LIMIT`",
);

pub const PREDICTION_RESOLVE_HOURS: Var = Var::int(
    "PREDICTION_RESOLVE_HOURS",
    24,
    1..=720,
    "how long after its betting window ends a streamer's prediction waits to be resolved; \
     then it expires and every stake goes back",
);

pub const CALIBRATION_MIN_PREDICTIONS: Var = Var::int(
    "CALIBRATION_MIN_PREDICTIONS",
    10,
    1..=1_000,
    "settled predictions of a streamer's own a viewer must have picked on to be ranked on the \
     streamer's calibration board (`calibrationBoard`)",
);

pub const OBJECTION_WINDOW_SECONDS: Var = Var::int(
    "OBJECTION_WINDOW_SECONDS",
    600,
    0..=2_592_000,
    "after a success verdict, how long backers may object before it settles; they are \
     emailed when it opens (0: off, the verdict settles at once; at most 2592000; \
     `scripts/run` sets 60)",
);

pub const OBJECTION_THRESHOLD_BPS: Var = Var::int(
    "OBJECTION_THRESHOLD_BPS",
    3_000,
    1..=10_000,
    "objecting backers holding this share of the mission's pledged won (basis points, 1 to \
     10000) open a dispute",
);

pub const OBJECTION_MIN_BACKERS: Var = Var::int(
    "OBJECTION_MIN_BACKERS",
    2,
    1..=1_000,
    "objecting backers a dispute needs besides `OBJECTION_THRESHOLD_BPS`, 1 to 1000: one \
     backer holding the threshold alone does not open one",
);

pub const PLEDGE_WITHDRAWALS_PER_DAY: Var = Var::int(
    "PLEDGE_WITHDRAWALS_PER_DAY",
    5,
    1..=1_000,
    "pledges one user may withdraw (`withdrawPledge`, while the mission is `PENDING` or a \
     goal `FUNDING`) within 24 hours, 1 to 1000; more are refused with `WITHDRAWAL_LIMIT` \
     and `extensions.retryAt`, changing nothing",
);

pub const MAX_OPEN_GOALS: Var = Var::int(
    "MAX_OPEN_GOALS",
    3,
    1..=100,
    "goals (`createGoalMission`) one streamer may have not yet settled, 1 to 100; more are \
     refused with `OPEN_GOALS_LIMIT`",
);

pub const GOAL_FUNDING_MIN_SECONDS: Var = Var::int(
    "GOAL_FUNDING_MIN_SECONDS",
    600,
    1..=604_800,
    "how soon a goal's `fundingEndsAt` may be, at the earliest, from its creation (1 to \
     604800)",
);

pub const GOAL_FUNDING_MAX_SECONDS: Var = Var::int(
    "GOAL_FUNDING_MAX_SECONDS",
    604_800,
    1..=2_592_000,
    "how late a goal's `fundingEndsAt` may be, at the latest (1 to 2592000)",
);

pub const DISPUTE_SLA_SECONDS: Var = Var::int(
    "DISPUTE_SLA_SECONDS",
    86_400,
    1..=2_592_000,
    "a dispute waiting longer for an operator counts in `missionlink_disputes_overdue` and \
     raises `MissionLinkDisputeOverdue`",
);

pub const RECONCILIATION_SLA_SECONDS: Var = Var::int(
    "RECONCILIATION_SLA_SECONDS",
    86_400,
    1..=2_592_000,
    "a reconciliation case (a disagreement with the payment provider or bank) open longer \
     counts in `missionlink_reconciliation_cases_overdue` and raises \
     `MissionLinkReconciliationOverdue`",
);

pub const PLEDGE_BATCH_MAX: Var = Var::int(
    "PLEDGE_BATCH_MAX",
    256,
    1..=10_000,
    "most pledges sharing one commit (group commit)",
);

pub const PLEDGE_BATCH_WORKERS: Var = Var::int(
    "PLEDGE_BATCH_WORKERS",
    4,
    1..=64,
    "pledge batches in flight at once, over all streamers (each streamer's lane keeps at \
     most two: one committing, the next being prepared)",
);

pub const SETTLEMENT_PAGE_SIZE: Var = Var::int(
    "SETTLEMENT_PAGE_SIZE",
    500,
    1..=10_000,
    "pledges (and prediction stakes) paid or refunded per database transaction",
);

pub const SETTLEMENT_PAGES_IN_FLIGHT: Var = Var::int(
    "SETTLEMENT_PAGES_IN_FLIGHT",
    2,
    1..=16,
    "settlement pages of one mission in flight at once, each its own transaction \
     (PostgreSQL; SQLite settles one at a time)",
);

pub const PROPOSAL_COOLDOWN_SECONDS: Var = Var::int(
    "PROPOSAL_COOLDOWN_SECONDS",
    300,
    0..=604_800,
    "after a streamer rejects a viewer's mission, how long before that viewer may propose to \
     them again (`PROPOSAL_COOLDOWN`, with `extensions.retryAt`)",
);

pub const REJECTIONS_BAN: Var = Var::int(
    "REJECTIONS_BAN",
    5,
    0..=1_000,
    "rejections within 24 hours that suspend a viewer from proposing anywhere for 24 hours \
     (`PROPOSALS_SUSPENDED`, with `extensions.retryAt`); expiries do not count; 0 = never",
);

pub const EVENT_RETENTION_HOURS: Var = Var::int(
    "EVENT_RETENTION_HOURS",
    24,
    1..=24 * 90,
    "how long a streamer's event feed (`missionEvents`) keeps events (1 to 2160); the worker \
     prunes older ones every 10 minutes, and a client resuming from a pruned `seq` gets \
     `EVENTS_EXPIRED` (reload the current state, then follow from its `lastSeq`)",
);

pub const VARIABLES: &[Var] = &[
    PLATFORM_FEE_BPS,
    MISSION_MIN_DURATION_SECONDS,
    MISSION_MAX_DURATION_SECONDS,
    MISSION_DEFAULT_ACCEPT_SECONDS,
    PLEDGE_MIN,
    PLEDGE_MAX,
    PREDICTION_WINDOW_SECONDS,
    DAILY_POINTS,
    DAILY_POINTS_STREAK_MAX,
    PREDICTIONS_OPEN_PER_STREAMER,
    PREDICTION_RESOLVE_HOURS,
    CALIBRATION_MIN_PREDICTIONS,
    OBJECTION_WINDOW_SECONDS,
    OBJECTION_THRESHOLD_BPS,
    OBJECTION_MIN_BACKERS,
    PLEDGE_WITHDRAWALS_PER_DAY,
    MAX_OPEN_GOALS,
    GOAL_FUNDING_MIN_SECONDS,
    GOAL_FUNDING_MAX_SECONDS,
    DISPUTE_SLA_SECONDS,
    RECONCILIATION_SLA_SECONDS,
    PLEDGE_BATCH_MAX,
    PLEDGE_BATCH_WORKERS,
    SETTLEMENT_PAGE_SIZE,
    SETTLEMENT_PAGES_IN_FLIGHT,
    PROPOSAL_COOLDOWN_SECONDS,
    REJECTIONS_BAN,
    EVENT_RETENTION_HOURS,
];

/// Bounds on missions and pledges, and the worker's settlement and event-feed settings.
#[derive(Clone, Debug)]
pub struct MissionRules {
    pub platform_fee_bps: u32,
    pub min_duration_seconds: i64,
    pub max_duration_seconds: i64,
    pub default_accept_seconds: i64,
    pub pledge_min_won: i64,
    pub pledge_max_won: i64,
    pub prediction_window_seconds: i64,
    pub settlement_page_size: u64,
    pub settlement_pages_in_flight: u64,
    /// Most pledges committed together.
    pub pledge_batch_max: usize,
    /// Batches committing in parallel.
    pub pledge_batch_workers: usize,
    /// `PROPOSAL_COOLDOWN_SECONDS`: after a rejection, before proposing to that streamer again.
    pub proposal_cooldown_seconds: i64,
    /// `REJECTIONS_BAN`: rejections within 24 h that suspend a proposer for 24 h (0: never).
    pub rejections_ban: usize,
    /// `OBJECTION_WINDOW_SECONDS`: how long backers may object to a SUCCESS verdict (0: off).
    pub objection_window_seconds: i64,
    /// `OBJECTION_THRESHOLD_BPS`: the share of the pledged won whose backers' objections open
    /// a dispute.
    pub objection_threshold_bps: u32,
    /// `OBJECTION_MIN_BACKERS`: objecting backers a dispute needs besides the weight.
    pub objection_min_backers: u32,
    /// `PLEDGE_WITHDRAWALS_PER_DAY`: pledges one user may withdraw within 24 hours.
    pub pledge_withdrawals_per_day: u32,
    /// `MAX_OPEN_GOALS`, `GOAL_FUNDING_MIN_SECONDS`, `GOAL_FUNDING_MAX_SECONDS`.
    pub goals: missionlink_ledger::mission::GoalRules,
    /// `DAILY_POINTS`, `DAILY_POINTS_STREAK_MAX`: the game's daily claim.
    pub daily_points: missionlink_ledger::prediction::daily::DailyPoints,
    /// `PREDICTIONS_OPEN_PER_STREAMER`, `PREDICTION_RESOLVE_HOURS` (and the window): streamers'
    /// own predictions.
    pub predictions: missionlink_ledger::prediction::streamer::PredictionLimits,
    /// `DISPUTE_SLA_SECONDS`: a dispute waiting longer counts as overdue (alert).
    pub dispute_sla_seconds: u64,
    /// `RECONCILIATION_SLA_SECONDS`: a reconciliation case open longer counts as overdue
    /// (alert).
    pub reconciliation_sla_seconds: u64,
    /// `EVENT_RETENTION_HOURS`: how long a streamer's feed keeps its events.
    pub event_retention_hours: u64,
}

impl MissionRules {
    /// The bounds the ledger enforces on missions and pledges.
    pub fn ledger(&self) -> missionlink_ledger::mission::MissionRules {
        missionlink_ledger::mission::MissionRules {
            min_duration_seconds: self.min_duration_seconds,
            max_duration_seconds: self.max_duration_seconds,
            default_accept_seconds: self.default_accept_seconds,
            pledge_min_won: self.pledge_min_won,
            pledge_max_won: self.pledge_max_won,
            prediction_window_seconds: self.prediction_window_seconds,
            objection_window_seconds: self.objection_window_seconds,
            objection_threshold_bps: self.objection_threshold_bps,
            objection_min_backers: self.objection_min_backers,
            pledge_withdrawals_per_day: self.pledge_withdrawals_per_day,
            goals: self.goals,
            proposals: missionlink_ledger::channel::ProposalRules {
                cooldown_seconds: self.proposal_cooldown_seconds,
                rejections_ban: self.rejections_ban,
            },
        }
    }

    /// What the API's resolvers check.
    pub fn api(&self) -> missionlink_api::settings::MissionSettings {
        missionlink_api::settings::MissionSettings {
            rules: self.ledger(),
            pledge_batch_workers: self.pledge_batch_workers,
            pledge_batch_max: self.pledge_batch_max,
            platform_fee_bps: self.platform_fee_bps,
            daily_points: self.daily_points,
            predictions: self.predictions,
        }
    }
}

pub(crate) fn read(env: &Env) -> Result<MissionRules, ConfigError> {
    Ok(MissionRules {
        platform_fee_bps: env.int(&PLATFORM_FEE_BPS)?,
        min_duration_seconds: env.int(&MISSION_MIN_DURATION_SECONDS)?,
        max_duration_seconds: env.int(&MISSION_MAX_DURATION_SECONDS)?,
        default_accept_seconds: env.int(&MISSION_DEFAULT_ACCEPT_SECONDS)?,
        pledge_min_won: env.int(&PLEDGE_MIN)?,
        pledge_max_won: env.int(&PLEDGE_MAX)?,
        prediction_window_seconds: env.int(&PREDICTION_WINDOW_SECONDS)?,
        settlement_page_size: env.int(&SETTLEMENT_PAGE_SIZE)?,
        settlement_pages_in_flight: env.int(&SETTLEMENT_PAGES_IN_FLIGHT)?,
        pledge_batch_max: env.int(&PLEDGE_BATCH_MAX)?,
        pledge_batch_workers: env.int(&PLEDGE_BATCH_WORKERS)?,
        proposal_cooldown_seconds: env.int(&PROPOSAL_COOLDOWN_SECONDS)?,
        rejections_ban: env.int(&REJECTIONS_BAN)?,
        objection_window_seconds: env.int(&OBJECTION_WINDOW_SECONDS)?,
        objection_threshold_bps: env.int(&OBJECTION_THRESHOLD_BPS)?,
        objection_min_backers: env.int(&OBJECTION_MIN_BACKERS)?,
        pledge_withdrawals_per_day: env.int(&PLEDGE_WITHDRAWALS_PER_DAY)?,
        goals: missionlink_ledger::mission::GoalRules {
            max_open: env.int(&MAX_OPEN_GOALS)?,
            funding_min_seconds: env.int(&GOAL_FUNDING_MIN_SECONDS)?,
            funding_max_seconds: env.int(&GOAL_FUNDING_MAX_SECONDS)?,
        },
        daily_points: missionlink_ledger::prediction::daily::DailyPoints {
            points: env.int(&DAILY_POINTS)?,
            streak_max: env.int(&DAILY_POINTS_STREAK_MAX)?,
        },
        predictions: missionlink_ledger::prediction::streamer::PredictionLimits {
            open_per_streamer: env.int(&PREDICTIONS_OPEN_PER_STREAMER)?,
            resolve_hours: env.int(&PREDICTION_RESOLVE_HOURS)?,
            window_seconds: env.int(&PREDICTION_WINDOW_SECONDS)?,
            page_size: env.int(&SETTLEMENT_PAGE_SIZE)?,
            calibration_min_predictions: env.int(&CALIBRATION_MIN_PREDICTIONS)?,
        },
        dispute_sla_seconds: env.int(&DISPUTE_SLA_SECONDS)?,
        reconciliation_sla_seconds: env.int(&RECONCILIATION_SLA_SECONDS)?,
        event_retention_hours: env.int(&EVENT_RETENTION_HOURS)?,
    })
}
