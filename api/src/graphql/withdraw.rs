//! Backers who change their mind (issue 28): `withdrawPledge` and `withdrawMission`, while the
//! mission is PENDING. The ledger announces each to subscribers with its commit; a withdrawal
//! that closes the mission hands its workflow the outbox entry, which settles (refunds) it.

use super::background::hand_to_workflow;
use super::context::{caller, state};
use super::mission::{Mission, Pledge};
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, ID, Object};
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::mission::withdraw as domain;

#[derive(Default)]
pub struct WithdrawMutation;

#[Object]
impl WithdrawMutation {
    /// Withdraws one of your pledges while its mission is `PENDING`: it becomes `WITHDRAWN` and
    /// its won are back in your cash at once (a `PLEDGE_WITHDRAWN` statement entry; what you
    /// owe is repaid first, as from any refund). The mission's feed gets `PLEDGE_WITHDRAWN`;
    /// when it was the last held pledge the mission is `WITHDRAWN` too. At most
    /// `PLEDGE_WITHDRAWALS_PER_DAY` within 24 hours (`WITHDRAWAL_LIMIT`, with
    /// `extensions.retryAt`). `INVALID_STATE` once the streamer accepted (or the pledge is no
    /// longer held), `NOT_FOUND` for a pledge that is not yours; the same `idempotencyKey`
    /// answers the first withdrawal again.
    async fn withdraw_pledge(
        &self,
        ctx: &Context<'_>,
        pledge_id: ID,
        idempotency_key: String,
    ) -> GqlResult<Pledge> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let withdrawn = domain::withdraw_pledge(
            &app.db.missions,
            &app.settings.missions.rules,
            pledge_id.as_str(),
            &claims.sub,
            &key,
        )
        .await
        .map_err(ApiError::from)?;
        if withdrawn.is_new() && withdrawn.get().mission_closed {
            hand_to_workflow(app, &withdrawn.get().pledge.mission_id);
        }
        Ok(Pledge::try_from(withdrawn.into_inner().pledge)?)
    }

    /// Withdraws a mission you proposed while it is `PENDING`: it becomes `WITHDRAWN` and every
    /// backer is refunded and emailed, as on a rejection, but it starts no proposal cooldown.
    /// `FORBIDDEN` to anyone but its creator, `INVALID_STATE` once it is no longer `PENDING`;
    /// the same `idempotencyKey` answers the first withdrawal again.
    async fn withdraw_mission(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        idempotency_key: String,
    ) -> GqlResult<Mission> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let withdrawn =
            domain::withdraw_mission(&app.db.missions, mission_id.as_str(), &claims.sub, &key)
                .await
                .map_err(ApiError::from)?;
        if withdrawn.is_new() {
            hand_to_workflow(app, mission_id.as_str());
        }
        Ok(Mission::try_from(withdrawn.into_inner())?)
    }
}
