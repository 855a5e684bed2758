//! The Relay `Node` interface and `node(id:)`: any mission, pledge, user or (the caller's own)
//! bet or payout by its id. Ids are the same UUIDs every other field takes and returns; being time-ordered
//! UUIDs drawn apart they are unique across types, so no type prefix is needed.

use super::context::{Caller, state};
use super::mission::{Mission, Pledge};
use super::payout::Payout;
use super::prediction::Bet;
use super::user::User;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, ID, Interface, Object};
use missionlink_entities::missions::{bet, mission, payout, pledge};
use sea_orm::EntityTrait;

/// An object with a globally unique id, refetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "&ID",
    desc = "The object's id, unique across types."
))]
pub enum Node {
    Mission(Mission),
    Pledge(Pledge),
    User(User),
    Bet(Bet),
    Payout(Payout),
}

/// The complexity of `node(id:)` beyond its selection: it looks in five tables.
pub const NODE_COST: usize = 5;

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this id, or null. A bet is found only by its own bettor, a payout only
    /// by its own streamer.
    #[graphql(complexity = "NODE_COST + child_complexity")]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Node>> {
        let db = &state(ctx).db;
        let id = id.to_string();
        let (m, p, b, u, po) = tokio::join!(
            mission::Entity::find_by_id(id.clone()).one(&db.missions),
            pledge::Entity::find_by_id(id.clone()).one(&db.missions),
            bet::Entity::find_by_id(id.clone()).one(&db.missions),
            missionlink_identity::users::find(&db.users, &id),
            payout::Entity::find_by_id(id.clone()).one(&db.missions),
        );
        if let Some(m) = m.map_err(ApiError::from)? {
            return Ok(Some(Node::Mission(Mission::try_from(m)?)));
        }
        if let Some(p) = p.map_err(ApiError::from)? {
            return Ok(Some(Node::Pledge(Pledge::try_from(p)?)));
        }
        if let Some(u) = u.map_err(ApiError::from)? {
            return Ok(Some(Node::User(User::from(u))));
        }
        let caller_is = |owner: &str| matches!(ctx.data_opt::<Caller>(), Some(Caller::User(c)) if c.sub == owner);
        if let Some(po) = po.map_err(ApiError::from)? {
            // Its streamer, and operators (who hold, release and cancel payouts), see a payout.
            let operator = matches!(ctx.data_opt::<Caller>(), Some(Caller::User(c)) if c.role == missionlink_identity::Role::Operator);
            return if caller_is(&po.streamer_id) || operator {
                Ok(Some(Node::Payout(Payout::try_from(po)?)))
            } else {
                Ok(None)
            };
        }
        let mine = |b: &bet::Model| caller_is(&b.bettor_id);
        match b.map_err(ApiError::from)? {
            Some(b) if mine(&b) => Ok(Some(Node::Bet(Bet::try_from(b)?))),
            _ => Ok(None),
        }
    }
}
