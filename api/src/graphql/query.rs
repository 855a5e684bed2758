use super::context::{caller, state};
use super::types::Wallet;
use super::user::User;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Object};
use missionlink_ledger::wallet;

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<User> {
        let claims = caller(ctx)?;
        let user = state(ctx)
            .auth
            .user(&claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(User::from(user))
    }

    /// The signed-in user's balances.
    async fn wallet(&self, ctx: &Context<'_>) -> GqlResult<Wallet> {
        let claims = caller(ctx)?;
        let wallet = wallet::read(&state(ctx).db.missions, &claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(Wallet::of(&claims.sub, wallet)?)
    }
}
