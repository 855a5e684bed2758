//! The backers' objection window in GraphQL: `objectToVerdict`, the `Objection` type and the
//! mission's objections (`Mission.objections`, `objectedPledged`, `objectionCount`).

use super::background::hand_to_workflow;
use super::connection::{List, PageArgs, list};
use super::context::{caller, state};
use super::mission::Mission;
use super::mission::load_mission;
use super::money::Won;
use super::user::User;
use super::user::load_user;
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::objection;
use missionlink_identity::Role;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::listing::Order;
use missionlink_ledger::mission::objection as domain;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// A backer's objection to a mission's SUCCESS verdict.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Objection {
    /// What the backer says went wrong.
    pub reason: String,
    /// What the backer had pledged to the mission when they objected: the objection's weight.
    pub pledged: Won,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub mission_id: String,
    #[graphql(skip)]
    pub backer_id: String,
}

impl TryFrom<objection::Model> for Objection {
    type Error = ApiError;

    fn try_from(o: objection::Model) -> Result<Self, ApiError> {
        Ok(Self {
            reason: o.reason,
            pledged: Won::of(o.pledged_won, "pledged")?,
            created_at: o.created_at,
            mission_id: o.mission_id,
            backer_id: o.backer_id,
        })
    }
}

#[ComplexObject]
impl Objection {
    /// The mission, as it is now: `DISPUTED` once the objections reached the threshold.
    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<Mission> {
        Ok(load_mission(ctx, &self.mission_id).await?)
    }

    async fn backer(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.backer_id, Role::Viewer).await?)
    }
}

/// The objections to mission `mission_id` the caller may read, oldest first: every one for an
/// operator, otherwise only the caller's own (none when signed out).
pub(crate) async fn of_mission(
    ctx: &Context<'_>,
    mission_id: &str,
    args: &PageArgs,
) -> GqlResult<List<Objection>> {
    let mut select = objection::Entity::find().filter(objection::Column::MissionId.eq(mission_id));
    select = match caller(ctx) {
        Ok(claims) if claims.role == Role::Operator => select,
        Ok(claims) => select.filter(objection::Column::BackerId.eq(claims.sub.as_str())),
        // Signed out: none (a backer id is never null), rather than failing the mission.
        Err(_) => select.filter(objection::Column::BackerId.is_null()),
    };
    let order = Order {
        tag: "objections:created",
        sort: Some((
            Expr::col((objection::Entity, objection::Column::CreatedAt)),
            missionlink_ledger::listing::SortKind::Time,
        )),
        id: Expr::col((objection::Entity, objection::Column::BackerId)),
        descending: false,
    };
    Ok(list(&state(ctx).db.missions, select, &order, args).await?)
}

#[derive(Default)]
pub struct DisputeMutation;

#[Object]
impl DisputeMutation {
    /// Objects to the SUCCESS verdict of a mission you backed, while it is `VERIFYING` (once
    /// per backer; `reason` at most 500 characters). When the objecting backers together
    /// pledged at least `OBJECTION_THRESHOLD_BPS` of its total, the mission becomes `DISPUTED`
    /// and waits for an operator; otherwise it succeeds when the window ends. Refused with
    /// `NOT_A_BACKER`, `OBJECTION_WINDOW_CLOSED` or `ALREADY_OBJECTED`; the same
    /// `idempotencyKey` answers the first objection again.
    async fn object_to_verdict(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        reason: String,
        idempotency_key: String,
    ) -> GqlResult<Objection> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let objected = domain::object(
            &app.db.missions,
            &app.settings.missions.rules,
            mission_id.as_str(),
            &claims.sub,
            &reason,
            &key,
        )
        .await
        .map_err(ApiError::from)?;
        if objected.is_new() {
            if objected.get().disputed {
                missionlink_telemetry::metrics().dispute_opened();
            }
            hand_to_workflow(app, mission_id.as_str());
        }
        Ok(Objection::try_from(objected.into_inner().objection)?)
    }
}
