//! A streamer's goal (issue 28): a mission they post for their own channel, with no first
//! pledge, a goal and up to five stretch tiers. It is FUNDING (taking pledges) until what it
//! holds reaches its goal, which makes it ACTIVE with its deadline counted from then, or until
//! its funding ends (`accept_by`), which expires it and refunds every backer. A tier is reached,
//! once and for good, when what the mission holds first comes to its amount.
//!
//! Both happen inside the pledge batch that got there ([`advance`]), behind the mission's gate
//! held shared: the batch holds the mission's totals row, so batches to one mission reach a goal
//! or a tier one at a time, and a withdrawal or the funding's end (the gate exclusive) waits.

use super::create::{Claimed, claim_creation, complete_creation};
use super::read::holdings;
use super::transition::request_signal;
use crate::events::{self, NewEvent};
use crate::idempotency::{self, Effect, IdempotencyKey};
use crate::input::Checks;
use crate::prediction::game::{lock_at, open as open_prediction};
use crate::rules::{MAX_GOAL_TIERS, MAX_TITLE_CHARS, MissionRules, invalid, mission_texts};
use crate::status::{EventKind, MissionKind, MissionStatus};
use crate::text::{self, Lines};
use crate::{AccountId, Amount, LedgerError, account, changes};
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::{mission, mission_tier};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// The idempotency operation name of a goal's creation.
const CREATE_GOAL: &str = "createGoalMission";

/// A stretch tier as asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTier {
    pub amount_won: i64,
    pub title: String,
}

/// `createGoalMission`'s input, unvalidated.
#[derive(Clone, Debug)]
pub struct NewGoal {
    /// The streamer posting it: the mission's streamer and creator.
    pub streamer_id: String,
    pub title: String,
    pub description: Option<String>,
    pub goal_won: i64,
    pub tiers: Vec<NewTier>,
    pub funding_ends_at: DateTime<Utc>,
    /// Time to complete, counted from the moment the goal is reached.
    pub duration_seconds: i64,
}

/// A [`NewGoal`] that passed [`NewGoal::validate`].
struct ValidGoal {
    title: String,
    description: Option<String>,
    goal: Amount,
    tiers: Vec<(Amount, String)>,
}

impl NewGoal {
    /// The rules a goal keeps: titles as a mission's, the goal within the pledge bounds, at
    /// most [`MAX_GOAL_TIERS`] tiers each above the last (the first above the goal), funding
    /// ending `GOAL_FUNDING_MIN_SECONDS` to `GOAL_FUNDING_MAX_SECONDS` after `now`, the
    /// duration within the missions' bounds.
    fn validate(&self, rules: &MissionRules, now: DateTime<Utc>) -> Result<ValidGoal, LedgerError> {
        let mut checks = Checks::default();
        let (title, description) = mission_texts(
            &mut checks,
            rules,
            &self.title,
            self.description.as_deref(),
            self.duration_seconds,
        );
        let goal = checks.value(
            Amount::within(self.goal_won, rules.pledge_min_won, rules.pledge_max_won).map_err(
                |_| {
                    invalid(
                        "goal",
                        format!(
                            "goal must be between {} and {} won",
                            rules.pledge_min_won, rules.pledge_max_won
                        ),
                    )
                },
            ),
        );
        let g = rules.goals;
        let lead = (self.funding_ends_at - now).num_seconds();
        checks.require(
            (g.funding_min_seconds..=g.funding_max_seconds).contains(&lead),
            "fundingEndsAt",
            || {
                format!(
                    "fundingEndsAt must be between {} and {} seconds from now",
                    g.funding_min_seconds, g.funding_max_seconds
                )
            },
        );
        checks.require(self.tiers.len() <= MAX_GOAL_TIERS, "tiers", || {
            format!("a goal has at most {MAX_GOAL_TIERS} tiers")
        });
        let mut below = self.goal_won;
        let mut tiers = Vec::with_capacity(MAX_GOAL_TIERS);
        // Past the limit the tiers are not looked at one by one: one refusal says it all.
        let each = if self.tiers.len() <= MAX_GOAL_TIERS {
            self.tiers.as_slice()
        } else {
            &[]
        };
        for (i, t) in each.iter().enumerate() {
            checks.require(t.amount_won > below, &format!("tiers[{i}].amount"), || {
                format!(
                    "tier {} must be above {below} won: tiers ascend from the goal",
                    i + 1
                )
            });
            below = below.max(t.amount_won);
            let field = format!("tiers[{i}].title");
            let title = checks.check(text::required(
                &field,
                &t.title,
                MAX_TITLE_CHARS,
                Lines::One,
            ));
            let amount = checks.value(
                Amount::new(t.amount_won)
                    .map_err(|e| invalid(&format!("tiers[{i}].amount"), e.to_string())),
            );
            tiers.push((amount, title));
        }
        checks.done()?;
        let goal = goal.ok_or_else(|| LedgerError::Corrupt("goal checked".into()))?;
        let tiers = tiers
            .into_iter()
            .map(|(amount, title)| {
                amount
                    .map(|a| (a, title))
                    .ok_or_else(|| LedgerError::Corrupt("tier checked".into()))
            })
            .collect::<Result<_, _>>()?;
        Ok(ValidGoal {
            title,
            description,
            goal,
            tiers,
        })
    }
}

/// The streamer's goals that count against `MAX_OPEN_GOALS`: every one not yet settled.
async fn open_goals<C: ConnectionTrait>(db: &C, streamer_id: &str) -> Result<u64, LedgerError> {
    Ok(mission::Entity::find()
        .filter(mission::Column::StreamerId.eq(streamer_id))
        .filter(mission::Column::Kind.eq(MissionKind::Goal))
        .filter(mission::Column::SettledAt.is_null())
        .count(db)
        .await?)
}

/// Creates a streamer's goal: FUNDING, with its tiers, its (empty) escrow and the outbox
/// record that starts its workflow, in one transaction. Refused with `OPEN_GOALS_LIMIT` when
/// the streamer has `MAX_OPEN_GOALS` not yet settled, `STREAMER_SUSPENDED` while suspended.
/// Idempotent per `(streamer, key)`: a replay answers the goal it created.
#[tracing::instrument(name = "db.create_goal", skip_all)]
pub async fn create_goal(
    db: &DatabaseConnection,
    rules: &MissionRules,
    new: &NewGoal,
    key: &IdempotencyKey,
) -> Result<Effect<mission::Model>, LedgerError> {
    // The request as sent, so a retry finds its first answer before any check runs again:
    // `fundingEndsAt` is a moment, and a retry later may find it too near by then.
    let canonical = serde_json::json!([
        new.title,
        new.description,
        new.goal_won,
        new.tiers
            .iter()
            .map(|t| (t.amount_won, &t.title))
            .collect::<Vec<_>>(),
        new.funding_ends_at.timestamp_millis(),
        new.duration_seconds
    ])
    .to_string();
    let hash = idempotency::request_hash(CREATE_GOAL, &canonical);
    let txn = match claim_creation(db, &new.streamer_id, key, CREATE_GOAL, &hash).await? {
        Claimed::Fresh(txn) => txn,
        Claimed::Replayed(m) => return Ok(Effect::Replayed(*m)),
    };
    let now = Utc::now();
    let valid = match new.validate(rules, now) {
        Ok(valid) => valid,
        Err(refused) => {
            txn.rollback().await?;
            return Err(refused);
        }
    };
    let id = uuid::Uuid::now_v7().to_string();
    let row = mission::Model {
        id: id.clone(),
        streamer_id: new.streamer_id.clone(),
        creator_id: new.streamer_id.clone(),
        title: valid.title,
        description: valid.description,
        status: MissionStatus::Funding,
        duration_seconds: new.duration_seconds,
        accept_by: new.funding_ends_at,
        accepted_at: None,
        deadline: None,
        closed_at: None,
        reject_reason: None,
        settled_at: None,
        notified_at: None,
        created_at: now,
        objection_until: None,
        disputed_at: None,
        evidence_url: None,
        verdict_note: None,
        kind: MissionKind::Goal,
        goal_won: Some(valid.goal.get()),
        tier_reached: None,
        tier_held_won: None,
        tier_refund_won: None,
        tier_extra_through: None,
    };
    let created = async {
        mission::Entity::insert(mission::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
        if !valid.tiers.is_empty() {
            mission_tier::Entity::insert_many(valid.tiers.iter().zip(1..).map(
                |((amount, title), position)| mission_tier::ActiveModel {
                    mission_id: Set(id.clone()),
                    position: Set(position),
                    amount_won: Set(amount.get()),
                    title: Set(title.clone()),
                    reached_at: Set(None),
                },
            ))
            .exec_without_returning(&txn)
            .await?;
        }
        account::open(&txn, &[AccountId::escrow(&id)]).await?;
        // BRIEF §6: the intent to start the workflow commits with the mission.
        super::create::outbox_start(&txn, &id, now).await?;
        // The streamer's feed row, taken here, orders this streamer's goal creations: the
        // count below sees every goal created before this one committed.
        events::append(
            &txn,
            &[NewEvent {
                mission_id: Some(&id),
                prediction_id: None,
                streamer_id: Some(&new.streamer_id),
                kind: EventKind::Created,
                pledge_id: None,
                tier: None,
                test_payload: None,
            }],
        )
        .await?;
        let open = open_goals(&txn, &new.streamer_id).await?;
        if open > u64::from(rules.goals.max_open) {
            return Err(LedgerError::Refused {
                code: "OPEN_GOALS_LIMIT",
                message: format!(
                    "a streamer may have at most {} goals open at once",
                    rules.goals.max_open
                ),
                retry_at: None,
            });
        }
        if crate::operator::is_suspended(&txn, &new.streamer_id, now).await? {
            return Err(LedgerError::Refused {
                code: "STREAMER_SUSPENDED",
                message: "this streamer is suspended and posts no goals".into(),
                retry_at: None,
            });
        }
        complete_creation(&txn, &new.streamer_id, key, &id).await
    }
    .await;
    if let Err(refused) = created {
        // The claim goes with the rollback: the same key may be sent again once allowed.
        txn.rollback().await?;
        return Err(refused);
    }
    changes::commit(txn, [row.id.as_str()]).await?;
    Ok(Effect::New(row))
}

/// A goal mission's tiers, lowest first (none for a proposal).
pub async fn tiers<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<Vec<mission_tier::Model>, LedgerError> {
    Ok(mission_tier::Entity::find()
        .filter(mission_tier::Column::MissionId.eq(mission_id))
        .order_by_asc(mission_tier::Column::Position)
        .all(db)
        .await?)
}

/// Whether a pledge batch must look at `m` after adding its pledges: a goal that may still
/// reach its goal or a tier.
pub(crate) fn watched(m: &mission::Model) -> bool {
    m.kind == MissionKind::Goal
        && matches!(m.status, MissionStatus::Funding | MissionStatus::Active)
}

/// After a pledge batch added its pledges to goal `m`'s totals (in `txn`, which holds the
/// totals row): if what it holds reached its goal while FUNDING, it becomes ACTIVE (its
/// deadline counted from now, its prediction game open, its workflow told); every tier whose
/// amount it now holds is marked reached. Answers the feed events of what was reached (each
/// tier's with its level), goal first, for the batch to append with its pledges.
pub(crate) async fn advance(
    txn: &DatabaseTransaction,
    rules: &MissionRules,
    m: &mission::Model,
) -> Result<Vec<(EventKind, Option<i32>)>, LedgerError> {
    let Some(goal) = m.goal_won else {
        return Ok(Vec::new());
    };
    let held = holdings(txn, &m.id).await?.held_won;
    if held < goal {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let mut reached = Vec::new();
    // `m` was read before this batch waited for the totals row: another batch may have
    // reached the goal since. The update says.
    let deadline = now + Duration::seconds(m.duration_seconds);
    let started = mission::Entity::update_many()
        .col_expr(mission::Column::Status, Expr::value(MissionStatus::Active))
        .col_expr(mission::Column::AcceptedAt, Expr::value(now))
        .col_expr(mission::Column::Deadline, Expr::value(deadline))
        .filter(mission::Column::Id.eq(&m.id))
        .filter(mission::Column::Status.eq(MissionStatus::Funding))
        .exec(txn)
        .await?;
    if started.rows_affected == 1 {
        // The game opens as at an acceptance: unless the streamer turned it off, for their
        // window or the platform's.
        let settings = crate::channel::settings::read(txn, &m.streamer_id).await?;
        if let Some(window) = settings.prediction_window(rules.prediction_window_seconds) {
            open_prediction(txn, &m.id, lock_at(now, deadline, window), now).await?;
        }
        request_signal(txn, &m.id, MissionStatus::Active, None, now).await?;
        reached.push((EventKind::GoalReached, None));
    }
    // Read, then marked: no other batch to this goal runs until this one commits.
    let levels: Vec<i32> = mission_tier::Entity::find()
        .select_only()
        .column(mission_tier::Column::Position)
        .filter(mission_tier::Column::MissionId.eq(&m.id))
        .filter(mission_tier::Column::ReachedAt.is_null())
        .filter(mission_tier::Column::AmountWon.lte(held))
        .order_by_asc(mission_tier::Column::Position)
        .into_tuple()
        .all(txn)
        .await?;
    if !levels.is_empty() {
        mission_tier::Entity::update_many()
            .col_expr(mission_tier::Column::ReachedAt, Expr::value(now))
            .filter(mission_tier::Column::MissionId.eq(&m.id))
            .filter(mission_tier::Column::Position.is_in(levels.iter().copied()))
            .exec(txn)
            .await?;
    }
    reached.extend(
        levels
            .into_iter()
            .map(|l| (EventKind::TierReached, Some(l))),
    );
    Ok(reached)
}
