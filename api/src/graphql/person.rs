//! Verified people in GraphQL (본인인증, issue 26, item 1): `verifyIdentity`, and the
//! `IdentityStatus` its own user reads on `me.identity`. A leaf: `User` reads it. Thin: the
//! rules are `missionlink_identity::persons`'.

use super::context::{caller, state};
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_identity::persons::{self, IdentityStatus as Status};

/// Who checks a person's identity.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_identity::IdentityProvider")]
pub enum IdentityProvider {
    /// PortOne (formerly I'mport) v1 identity certification (휴대폰 본인인증): its widget
    /// gives the client an `imp_uid`, which is `verifyIdentity`'s `certificationId`.
    Portone,
}

/// The caller's verified identity. Nothing of the person (name, birth date, unique key) is
/// shown, only when they were verified and whether they are an adult.
#[derive(SimpleObject, Clone, Debug)]
pub struct IdentityStatus {
    pub provider: IdentityProvider,
    pub verified_at: DateTime<Utc>,
    /// Whether the person is 19 or older (Korea's age of majority, full years), computed now
    /// on the Asia/Seoul calendar from the verified birth date.
    pub adult: bool,
}

impl From<Status> for IdentityStatus {
    fn from(s: Status) -> Self {
        Self {
            provider: s.provider.into(),
            verified_at: s.verified_at,
            adult: s.adult(Utc::now()),
        }
    }
}

/// `User.identity`: `user_id`'s verified identity, or null.
pub(super) async fn identity_of(
    ctx: &Context<'_>,
    user_id: &str,
) -> GqlResult<Option<IdentityStatus>> {
    Ok(persons::identity_of(&state(ctx).db.users, user_id)
        .await
        .map_err(ApiError::from)?
        .map(Into::into))
}

#[derive(Default)]
pub struct PersonMutation;

#[Object]
impl PersonMutation {
    /// Verifies who the caller is (본인인증): run the provider's identity check in the client
    /// (PortOne's `IMP.certification`), then pass the `imp_uid` it gives as `certificationId`.
    /// The server asks the provider for the certification and keeps only a keyed hash of the
    /// person's unique key (CI), the verified name and the birth date; none is shown back. One
    /// person, one verified account. With `TOPUP_REQUIRES_IDENTITY` (the default), top-ups wait
    /// for this (`IDENTITY_REQUIRED`), and every account of one person shares one daily top-up
    /// limit. Refused, changing nothing: `IDENTITY_NOT_VERIFIED` (the provider does not know
    /// the id, or the check did not complete), `IDENTITY_ALREADY_USED` (this person is verified
    /// on another account), `IDENTITY_VERIFIER_NOT_CONFIGURED` (this server has no provider
    /// account), `IDENTITY_VERIFIER_UNAVAILABLE` (the provider did not answer: try again),
    /// `INVALID_STATE` (this account is verified as another person), `RATE_LIMITED` (ten ids
    /// the provider refused in an hour; the provider is not asked). Verifying again as the
    /// same person answers it again. (In development, `IDENTITY_VERIFIER=sandbox` certifies
    /// `sandbox:<name>:<YYYY-MM-DD>:<person>`.)
    async fn verify_identity(
        &self,
        ctx: &Context<'_>,
        provider: IdentityProvider,
        certification_id: String,
    ) -> GqlResult<IdentityStatus> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let p = &app.auth.persons;
        let status = persons::verify(
            &app.db.users,
            p.verifier.as_ref(),
            &p.hash_key,
            &claims.sub,
            provider.into(),
            &certification_id,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(status.into())
    }
}
