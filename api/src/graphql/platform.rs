//! The platform's rules as a frontend shows them before anyone pledges (issue 28, item 4):
//! `platform { feeBps pledgeMin pledgeMax pledgeWithdrawalsPerDay }`, from the configuration.

use super::context::state;
use super::money::Won;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Object, SimpleObject};

/// What every mission and pledge is subject to.
#[derive(SimpleObject, Clone, Debug)]
pub struct Platform {
    /// The fee a successful mission pays, in basis points of each pledge (rounded down per
    /// pledge): `PLATFORM_FEE_BPS`.
    pub fee_bps: i32,
    /// The smallest pledge (`PLEDGE_MIN`).
    pub pledge_min: Won,
    /// The largest pledge (`PLEDGE_MAX`).
    pub pledge_max: Won,
    /// How many pledges one user may withdraw within 24 hours (`PLEDGE_WITHDRAWALS_PER_DAY`).
    pub pledge_withdrawals_per_day: i32,
}

#[derive(Default)]
pub struct PlatformQuery;

#[Object]
impl PlatformQuery {
    /// The platform's rules: its fee and the bounds of a pledge. Readable signed out.
    async fn platform(&self, ctx: &Context<'_>) -> GqlResult<Platform> {
        let m = &state(ctx).settings.missions;
        let int = |v: u32, name: &str| {
            i32::try_from(v).map_err(|_| ApiError::Internal(anyhow::anyhow!("{name} overflows")))
        };
        Ok(Platform {
            fee_bps: int(m.platform_fee_bps, "feeBps")?,
            pledge_min: Won::of(m.rules.pledge_min_won, "pledgeMin")?,
            pledge_max: Won::of(m.rules.pledge_max_won, "pledgeMax")?,
            pledge_withdrawals_per_day: int(m.rules.pledge_withdrawals_per_day, "withdrawals")?,
        })
    }
}
