//! Verified people in GraphQL (본인인증, issue 26, items 1 and 2): `verifyIdentity`,
//! `recordGuardianConsent` (a minor's guardian), and the `IdentityStatus` its own user reads on
//! `me.identity`. A leaf: `User` reads it. Thin: the rules are `missionlink_identity::persons`'.

use super::context::{caller, state};
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_identity::persons::{self, IdentityStatus as Status, guardian};

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
#[graphql(complex)]
pub struct IdentityStatus {
    pub provider: IdentityProvider,
    pub verified_at: DateTime<Utc>,
    /// Whether the person is 19 or older (Korea's age of majority, full years), computed now
    /// on the Asia/Seoul calendar from the verified birth date.
    pub adult: bool,
    #[graphql(skip)]
    user_id: String,
}

impl IdentityStatus {
    fn of(user_id: &str, s: Status) -> Self {
        Self {
            provider: s.provider.into(),
            verified_at: s.verified_at,
            adult: s.adult(Utc::now()),
            user_id: user_id.to_owned(),
        }
    }
}

#[async_graphql::ComplexObject]
impl IdentityStatus {
    /// When a guardian consented to this minor's top-ups (`recordGuardianConsent`); null if
    /// none did. A minor (not `adult`) tops up only with it; an adult needs none.
    async fn guardian_consent_at(&self, ctx: &Context<'_>) -> GqlResult<Option<DateTime<Utc>>> {
        Ok(guardian::consent_of(&state(ctx).db.users, &self.user_id)
            .await
            .map_err(ApiError::from)?
            .map(|c| c.consented_at))
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
        .map(|s| IdentityStatus::of(user_id, s)))
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
        Ok(IdentityStatus::of(&claims.sub, status))
    }

    /// Records a guardian's consent to the caller's top-ups: a verified minor (under 19) tops
    /// up only with it (else `GUARDIAN_CONSENT_REQUIRED`), and then within
    /// `TOPUP_MINOR_MONTHLY_LIMIT_WON` per Asia/Seoul month (`Wallet.topUpLimit.monthly`). The
    /// guardian (a parent or other legal representative) completes their own identity check in
    /// the client, as for `verifyIdentity`, and its `imp_uid` is `certificationId`. The server
    /// asks the provider and keeps a keyed hash of the guardian's unique key, their verified
    /// name and when; none is shown back. Answers the caller's identity, its
    /// `guardianConsentAt` set; recording again replaces the consent. Refused, changing
    /// nothing: `IDENTITY_REQUIRED` (verify yourself first), `INVALID_STATE` (you are 19 or
    /// older: adults need no consent), `GUARDIAN_NOT_ADULT` (the check certified someone under
    /// 19), `GUARDIAN_IS_SELF` (the check certified you), and as `verifyIdentity`:
    /// `IDENTITY_NOT_VERIFIED`, `IDENTITY_VERIFIER_NOT_CONFIGURED`,
    /// `IDENTITY_VERIFIER_UNAVAILABLE`, `RATE_LIMITED` (ten refused checks in an hour; the
    /// provider is not asked).
    async fn record_guardian_consent(
        &self,
        ctx: &Context<'_>,
        provider: IdentityProvider,
        certification_id: String,
    ) -> GqlResult<IdentityStatus> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let p = &app.auth.persons;
        guardian::record_consent(
            &app.db.users,
            p.verifier.as_ref(),
            &p.hash_key,
            &claims.sub,
            provider.into(),
            &certification_id,
            Utc::now(),
        )
        .await
        .map_err(ApiError::from)?;
        identity_of(ctx, &claims.sub).await?.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("a consented minor's identity is gone")).into()
        })
    }
}
