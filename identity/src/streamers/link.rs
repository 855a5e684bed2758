//! `linkChannel`: a viewer (or a streamer without a channel, verified by migration) links the
//! channel their platform's OAuth API vouches for, and is a verified streamer at once. The code
//! is checked by the platform before anything is written; a refusal changes nothing.

use super::{Channel, already_linked, grant};
use crate::channels::{ChannelVerifier, VerifyError};
use crate::error::{IdentityError, IdentityResult};
use chrono::Utc;
use missionlink_entities::users::{Platform, Role, Verification};
use missionlink_ledger::text::{self, Lines};
use sea_orm::{DatabaseConnection, TransactionTrait};

/// Longest channel name kept, in characters.
pub const MAX_CHANNEL_NAME_CHARS: usize = 100;

/// What `linkChannel` was given, unvalidated.
pub struct LinkRequest<'a> {
    pub platform: Platform,
    pub code: &'a str,
    /// Where the platform sent the browser back; checked for form only (the platform checked
    /// it against the application's registration before giving the code).
    pub redirect_uri: &'a str,
    /// The `state` that came back with the code: checked by the client against the one it sent
    /// (this server did not issue it), and passed on to the platform.
    pub state: &'a str,
}

/// Links the channel `request.code` proves is `user_id`'s. Refused, changing nothing:
/// a platform without a verifier here or one not configured
/// (`CHANNEL_VERIFIER_NOT_CONFIGURED`), a code the platform refuses (`CHANNEL_NOT_VERIFIED`),
/// the platform not answering (`CHANNEL_VERIFIER_UNAVAILABLE`), an operator (`FORBIDDEN`), an
/// account that has another channel (`INVALID_STATE`), a channel another account has
/// (`CHANNEL_ALREADY_LINKED`). A pending application is closed: there is nothing left for an
/// operator to decide.
pub async fn link_channel(
    users_db: &DatabaseConnection,
    verifier: &dyn ChannelVerifier,
    user_id: &str,
    request: LinkRequest<'_>,
) -> IdentityResult<Channel> {
    let redirect = url::Url::parse(request.redirect_uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
    if redirect.is_none() || request.redirect_uri.len() > 2048 || request.state.len() > 512 {
        return Err(IdentityError::invalid(
            "redirectUri",
            "redirectUri must be the http(s) address the platform sent the browser back to, \
             and state at most 512 bytes",
        ));
    }
    let user = crate::users::get(users_db, user_id).await?;
    if user.role == Role::Operator {
        return Err(IdentityError::Forbidden(
            "operators cannot become streamers".into(),
        ));
    }
    if verifier.platform() != request.platform {
        return Err(IdentityError::Refused {
            code: "CHANNEL_VERIFIER_NOT_CONFIGURED",
            message: format!(
                "{} channels cannot be linked here: apply with applyAsStreamer instead",
                request.platform
            ),
        });
    }
    let mine = super::channel_of(users_db, user_id).await?;
    if mine.is_some_and(|c| c.channel_id.is_some()) {
        return Err(IdentityError::InvalidState(
            "this account already has a verified channel".into(),
        ));
    }
    let verified = verifier
        .verify(request.code, request.state)
        .await
        .map_err(|e| refusal(request.platform, e))?;
    // The platform's name for it is text others read: the one text rule applies.
    let name = text::required(
        "channelName",
        &verified.name,
        MAX_CHANNEL_NAME_CHARS,
        Lines::One,
    )
    .unwrap_or_else(|_| verified.channel_id.clone());
    let channel = Channel {
        user_id: user_id.to_owned(),
        platform: Some(verified.platform),
        channel_id: Some(verified.channel_id),
        name: Some(name),
        url: Some(verified.url),
        verified_at: Utc::now(),
        verified_via: Verification::Oauth,
        verified_by: None,
    };
    let txn = users_db.begin().await?;
    grant(&txn, &channel).await?;
    // An application still waiting for an operator has nothing left to decide.
    if let Some(pending) = super::pending_of(&txn, user_id).await? {
        super::close_pending(
            &txn,
            &pending.id,
            "the channel was verified through linkChannel",
            user_id,
        )
        .await?;
    }
    txn.commit().await?;
    super::channel_of(users_db, user_id)
        .await?
        .ok_or_else(|| already_linked(request.platform))
}

fn refusal(platform: Platform, e: VerifyError) -> IdentityError {
    match e {
        VerifyError::NotConfigured(message) => IdentityError::Refused {
            code: "CHANNEL_VERIFIER_NOT_CONFIGURED",
            message,
        },
        VerifyError::Refused(said) => {
            tracing::info!(%said, "a channel-link code was refused by its platform");
            IdentityError::Refused {
                code: "CHANNEL_NOT_VERIFIED",
                message: format!(
                    "{platform} did not accept this code (wrong, expired or already used): \
                     sign in with {platform} again for a new one"
                ),
            }
        }
        VerifyError::Unavailable(e) => {
            tracing::warn!(error = ?e, "a channel-link code could not be verified");
            IdentityError::Refused {
                code: "CHANNEL_VERIFIER_UNAVAILABLE",
                message: format!("{platform} did not answer usably; try again shortly"),
            }
        }
    }
}
