//! Minors and their guardians (issue 26, item 2). A verified person under
//! [`ADULT_AGE_YEARS`](super::verify::ADULT_AGE_YEARS) (Korea's age of majority, counted on the
//! Asia/Seoul calendar at the moment of asking) needs a legal representative's consent before
//! they may top up (Civil Act art. 5): [`record_consent`] (`recordGuardianConsent`) reads the
//! guardian's own identity check through the same [`IdentityVerifier`] as `verifyIdentity`,
//! and keeps it when the guardian is an adult and another person than the minor.
//! [`require_for_top_up`] is the gate the API puts before a minor's top-up
//! (`GUARDIAN_CONSENT_REQUIRED`, nothing written, the payment provider not asked); the
//! ledger's minors' monthly limit (`TOPUP_MINOR_MONTHLY_LIMIT_WON`, `topup::month`) does the
//! rest, keyed by the person's [`LimitKey`].
//!
//! Kept of the guardian (`guardian_consents`, one row per minor's account): a keyed hash of
//! the CI ([`HashKey::ci_hash`]), the verified name, the provider and when; never the CI or the
//! birth date. The provider certifies who the guardian is, not that they are the minor's parent
//! (no provider here certifies family relations): the record is the evidence of who consented,
//! as Korean games keep it.
//!
//! A person who turns 19 is an adult from that Asia/Seoul midnight: no consent or monthly limit
//! applies to them any longer, whatever was recorded.

use super::verify::{ATTEMPT_WINDOW_SECONDS, MAX_ATTEMPTS_PER_USER, MAX_CERTIFICATION_ID_CHARS};
use super::verify::{IdentityStatus, LimitKey, MAX_NAME_CHARS, is_adult, refusal, row_of};
use super::{HashKey, IdentityVerifier, VerifyError};
use crate::error::{IdentityError, IdentityResult};
use crate::throttle;
use chrono::{DateTime, Utc};
use missionlink_entities::users::IdentityProvider;
use missionlink_entities::users::guardian_consent as consent;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

/// The refusal of a minor's top-up without a guardian's consent.
pub const CONSENT_REQUIRED: &str = "GUARDIAN_CONSENT_REQUIRED";

/// The refusal of a guardian who is not an adult.
pub const GUARDIAN_NOT_ADULT: &str = "GUARDIAN_NOT_ADULT";

/// The refusal of a minor's own identity check given as their guardian's.
pub const GUARDIAN_IS_SELF: &str = "GUARDIAN_IS_SELF";

/// A guardian's consent, as the minor reads it: who certified the guardian, and when it was
/// recorded. The guardian's name and key never leave identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    pub provider: IdentityProvider,
    pub consented_at: DateTime<Utc>,
}

impl Consent {
    fn of(row: &consent::Model) -> Self {
        Self {
            provider: row.provider,
            consented_at: row.consented_at,
        }
    }
}

/// `user_id`'s guardian's consent, if one was recorded.
pub async fn consent_of(db: &DatabaseConnection, user_id: &str) -> IdentityResult<Option<Consent>> {
    Ok(consent::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .as_ref()
        .map(Consent::of))
}

/// The gate before a top-up of `user_id`, whose limit key identity read as `limit`: a minor
/// without a guardian's consent is refused [`CONSENT_REQUIRED`]; anyone else passes.
pub async fn require_for_top_up(
    db: &DatabaseConnection,
    user_id: &str,
    limit: &LimitKey,
) -> IdentityResult<()> {
    if !limit.minor || consent_of(db, user_id).await?.is_some() {
        return Ok(());
    }
    Err(IdentityError::Refused {
        code: CONSENT_REQUIRED,
        message: "you are under 19: top-ups need your legal guardian's consent first (your \
                  guardian completes an identity check, then recordGuardianConsent)"
            .into(),
    })
}

/// Records the consent of the guardian `certification_id` certifies (their own identity check,
/// through `verifier`) to the top-ups of `user_id`, a verified minor, at `now`. Recording again
/// replaces it (the other parent, a new check). Refused, changing nothing:
///
/// - a caller not verified (`IDENTITY_REQUIRED`), or an adult, who needs no consent
///   (`INVALID_STATE`), both before the provider is asked;
/// - as `verifyIdentity` is: another provider than this server's, or none configured
///   (`IDENTITY_VERIFIER_NOT_CONFIGURED`), an id the provider did not certify
///   (`IDENTITY_NOT_VERIFIED`), the provider not answering (`IDENTITY_VERIFIER_UNAVAILABLE`),
///   past [`MAX_ATTEMPTS_PER_USER`] refused checks in [`ATTEMPT_WINDOW_SECONDS`]
///   (`RATE_LIMITED`, the provider not asked; its own count, apart from `verifyIdentity`'s);
/// - a guardian under 19 at `now` ([`GUARDIAN_NOT_ADULT`]), or the minor themself (the same
///   person's unique key: [`GUARDIAN_IS_SELF`]). Both count as refused checks.
pub async fn record_consent(
    db: &DatabaseConnection,
    verifier: &dyn IdentityVerifier,
    hash_key: &HashKey,
    user_id: &str,
    provider: IdentityProvider,
    certification_id: &str,
    now: DateTime<Utc>,
) -> IdentityResult<Consent> {
    let certification_id = certification_id.trim();
    if certification_id.is_empty() || certification_id.chars().count() > MAX_CERTIFICATION_ID_CHARS
    {
        return Err(IdentityError::invalid(
            "certificationId",
            format!(
                "certificationId must be 1 to {MAX_CERTIFICATION_ID_CHARS} characters: the id your \
             guardian's identity check gave (PortOne's imp_uid)"
            ),
        ));
    }
    crate::users::get(db, user_id).await?;
    let Some(minor) = row_of(db, user_id).await? else {
        return Err(IdentityError::Refused {
            code: "IDENTITY_REQUIRED",
            message: "verify who you are first (verifyIdentity): a guardian consents for a \
                      verified minor"
                .into(),
        });
    };
    if IdentityStatus::of(&minor)?.adult(now) {
        return Err(IdentityError::InvalidState(
            "you are 19 or older: your top-ups need no guardian's consent".into(),
        ));
    }
    if verifier.provider() != provider {
        return Err(IdentityError::Refused {
            code: "IDENTITY_VERIFIER_NOT_CONFIGURED",
            message: format!("{provider} identity checks are not used by this server"),
        });
    }
    let bucket = format!("guardian-consent:{user_id}");
    let Some(attempt) =
        throttle::acquire(db, &bucket, MAX_ATTEMPTS_PER_USER, ATTEMPT_WINDOW_SECONDS).await?
    else {
        return Err(IdentityError::RateLimited(format!(
            "at most {MAX_ATTEMPTS_PER_USER} refused guardian checks an hour; try again later"
        )));
    };
    let answer = verifier.certification(certification_id).await;
    // A provider not configured or not answering gives the attempt back; a refused id, or a
    // guardian refused below, keeps it; a consent recorded gives it back.
    if matches!(
        answer,
        Err(VerifyError::Unavailable(_) | VerifyError::NotConfigured(_))
    ) {
        throttle::release(db, &attempt).await?;
    }
    let guardian = answer.map_err(refusal)?;
    let ci_hash = hash_key.ci_hash(&guardian.ci);
    if ci_hash == minor.ci_hash {
        return Err(IdentityError::Refused {
            code: GUARDIAN_IS_SELF,
            message: "this identity check certified you, not your guardian: your legal \
                      guardian completes their own identity check"
                .into(),
        });
    }
    if !is_adult(guardian.birth_date, now) {
        return Err(IdentityError::Refused {
            code: GUARDIAN_NOT_ADULT,
            message: "this identity check certified someone under 19: a guardian who consents \
                      must be an adult"
                .into(),
        });
    }
    let row = consent::ActiveModel {
        user_id: Set(user_id.to_owned()),
        provider: Set(guardian.provider),
        guardian_ci_hash: Set(ci_hash),
        guardian_name: Set(guardian.name.chars().take(MAX_NAME_CHARS).collect()),
        consented_at: Set(now),
    };
    consent::Entity::insert(row)
        .on_conflict(
            OnConflict::column(consent::Column::UserId)
                .update_columns([
                    consent::Column::Provider,
                    consent::Column::GuardianCiHash,
                    consent::Column::GuardianName,
                    consent::Column::ConsentedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    throttle::release(db, &attempt).await?;
    tracing::info!(user = %user_id, "a guardian's consent was recorded");
    Ok(Consent {
        provider: guardian.provider,
        consented_at: now,
    })
}
