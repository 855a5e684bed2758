//! Every authenticated request proves its token is still valid and its user may act: before
//! anything runs, an expired token becomes `Caller::Invalid` (a websocket checked its token once,
//! at `connection_init`, and may outlive it), and the caller named by a valid token is looked up
//! in the users database (through `ActiveUsers`' short-lived cache). An unknown user becomes
//! `Caller::Invalid`, so every operation that needs a user answers `UNAUTHENTICATED`, exactly as
//! for an expired token; a user suspended now becomes `Caller::Suspended`, answered
//! `USER_SUSPENDED`. The caller's role is the user row's, not the token's (a viewer approved as
//! a streamer holds a token that says VIEWER). A check of the schema's, so it holds for every transport: a caller put in the
//! request's data (HTTP) or the socket's session data (websocket, checked at each operation's
//! start; a subscription already running is not stopped by a later suspension).

use crate::error::ApiError;
use crate::graphql::context::{Caller, CallerAccount};
use crate::state::AppState;
use async_graphql::extensions::ExtensionContext;
use async_graphql::{Request, ServerResult};
use missionlink_identity::Standing;
use std::any::TypeId;

/// Resolves the caller of `request` once (see the module documentation): what the request's
/// data says of its caller afterwards is what resolvers see.
pub(super) async fn resolve_caller(
    ctx: &ExtensionContext<'_>,
    mut request: Request,
) -> ServerResult<Request> {
    // The request's own data comes first, as resolvers see it.
    let caller = request
        .data
        .get(&TypeId::of::<Caller>())
        .or_else(|| ctx.session_data.get(&TypeId::of::<Caller>()))
        .and_then(|c| c.downcast_ref::<Caller>());
    if let (Some(Caller::User(claims)), Some(state)) = (caller, ctx.data_opt::<AppState>()) {
        if claims.exp <= chrono::Utc::now().timestamp() {
            request.data.insert(Caller::Invalid(
                "access token expired: refresh it and reconnect".into(),
            ));
            return Ok(request);
        }
        let now = chrono::Utc::now();
        let standing = state
            .auth
            .active_users
            .standing(claims, now)
            .await
            .map_err(|e| {
                async_graphql::Error::from(ApiError::from(e)).into_server_error(Default::default())
            })?;
        match standing {
            Standing::Active(user) => {
                // The role is the row's, not the token's: a viewer approved as a streamer
                // acts as one with the token they hold (within `USER_CACHE_SECONDS`).
                if user.role != claims.role {
                    let mut current = claims.clone();
                    current.role = user.role;
                    request.data.insert(Caller::User(current));
                }
                request.data.insert(CallerAccount(user));
            }
            Standing::Absent => {
                request.data.insert(Caller::Invalid(
                    "this account no longer exists; sign in again".into(),
                ));
            }
            Standing::SignedOut => {
                request.data.insert(Caller::Invalid(
                    "this session was signed out; sign in again".into(),
                ));
            }
            Standing::Suspended(suspension) => {
                request
                    .data
                    .insert(Caller::Suspended(claims.clone(), suspension));
            }
        }
    }
    Ok(request)
}
