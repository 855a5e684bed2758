//! `verifyIdentity` and what it leaves: [`verify`] asks the provider, then keeps the person
//! (a keyed hash of the CI, the verified name and birth date) on the account, one account per
//! person; [`identity_of`] is `me.identity`; [`limit_key`] is what the daily top-up limit counts
//! by. A refusal changes nothing.

use super::{Certified, HashKey, IdentityVerifier, VerifyError};
use crate::error::{IdentityError, IdentityResult};
use crate::streamers::is_unique_violation;
use crate::throttle;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use missionlink_entities::users::IdentityProvider;
use missionlink_entities::users::person_verification as person;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// Longest certification id accepted, in characters (PortOne's are far shorter).
pub const MAX_CERTIFICATION_ID_CHARS: usize = 200;

/// Longest verified name kept, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Refused `verifyIdentity` calls per user per [`ATTEMPT_WINDOW_SECONDS`]: each asks the
/// provider, so a client cannot make us ask without bound. A certification, or a provider that
/// did not answer, gives its attempt back.
pub const MAX_ATTEMPTS_PER_USER: i64 = 10;

pub const ATTEMPT_WINDOW_SECONDS: i64 = 3_600;

/// The age of majority in Korea (Civil Act, art. 4: 19 full years).
pub const ADULT_AGE_YEARS: i32 = 19;

/// A verified account, as its own user reads it. The name and the CI's hash never leave
/// identity; the birth date only as [`IdentityStatus::adult`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityStatus {
    pub provider: IdentityProvider,
    pub verified_at: DateTime<Utc>,
    birth_date: NaiveDate,
}

impl IdentityStatus {
    pub(crate) fn of(row: &person::Model) -> IdentityResult<Self> {
        let birth_date = NaiveDate::parse_from_str(&row.birth_date, "%Y-%m-%d").map_err(|e| {
            IdentityError::Internal(anyhow::anyhow!(
                "person_verifications.birth_date of {}: {e}",
                row.user_id
            ))
        })?;
        Ok(Self {
            provider: row.provider,
            verified_at: row.verified_at,
            birth_date,
        })
    }

    /// Whether the person is an adult at `now`: [`ADULT_AGE_YEARS`] full years old on the
    /// Asia/Seoul calendar day of `now`. Someone born on 29 February comes of age on 1 March
    /// of a common year (the day after the period's last day, Civil Act art. 160).
    pub fn adult(&self, now: DateTime<Utc>) -> bool {
        is_adult(self.birth_date, now)
    }
}

/// Whether someone born on `birth_date` is an adult at `now`: see [`IdentityStatus::adult`].
pub(crate) fn is_adult(birth_date: NaiveDate, now: DateTime<Utc>) -> bool {
    let seoul = FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset");
    let today = now.with_timezone(&seoul).date_naive();
    let b = birth_date;
    let year = b.year() + ADULT_AGE_YEARS;
    let comes_of_age = NaiveDate::from_ymd_opt(year, b.month(), b.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(NaiveDate::MAX);
    today >= comes_of_age
}

/// What the daily top-up limit of a user counts by: the person (`person:` and the first 32 hex
/// characters of the CI's keyed hash, the same for every account of one person) when the user
/// is verified, else the user's own id. A plain string: the ledger keys `topup_days` (and a
/// minor's `topup_months`) by it and never learns more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitKey {
    pub key: String,
    pub verified: bool,
    /// A verified person under [`ADULT_AGE_YEARS`] when it was read: their top-ups wait for a
    /// guardian's consent and count against the minors' monthly limit too (`guardian`).
    pub minor: bool,
}

pub(crate) async fn row_of(
    db: &DatabaseConnection,
    user_id: &str,
) -> IdentityResult<Option<person::Model>> {
    Ok(person::Entity::find_by_id(user_id).one(db).await?)
}

/// `me.identity`: the user's verified identity, or `None`.
pub async fn identity_of(
    db: &DatabaseConnection,
    user_id: &str,
) -> IdentityResult<Option<IdentityStatus>> {
    row_of(db, user_id)
        .await?
        .as_ref()
        .map(IdentityStatus::of)
        .transpose()
}

/// Whether `holder` (a bank account holder's name as the user typed it) is `user_id`'s
/// verified name: equal once spaces are ignored and letters compared without case (banks
/// print `홍 길동`, `HONG GILDONG`, `Hong Gildong` alike). `None` when the user is not verified.
/// The name itself never leaves identity.
pub async fn holder_is_verified_name(
    db: &DatabaseConnection,
    user_id: &str,
    holder: &str,
) -> IdentityResult<Option<bool>> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    Ok(row_of(db, user_id)
        .await?
        .map(|row| squash(&row.name) == squash(holder)))
}

/// The key `user_id`'s top-ups count against ([`LimitKey`]), and whether the person is a minor
/// now.
pub async fn limit_key(db: &DatabaseConnection, user_id: &str) -> IdentityResult<LimitKey> {
    Ok(match row_of(db, user_id).await? {
        Some(row) => LimitKey {
            key: format!("person:{}", &row.ci_hash[..32.min(row.ci_hash.len())]),
            verified: true,
            minor: !IdentityStatus::of(&row)?.adult(Utc::now()),
        },
        None => LimitKey {
            key: user_id.to_owned(),
            verified: false,
            minor: false,
        },
    })
}

/// Verifies `user_id` as the person `certification_id` certifies, through `verifier`. Refused,
/// changing nothing: a provider this server does not use, or not configured
/// (`IDENTITY_VERIFIER_NOT_CONFIGURED`), an id the provider does not know or that did not
/// complete (`IDENTITY_NOT_VERIFIED`), the provider not answering
/// (`IDENTITY_VERIFIER_UNAVAILABLE`), a person another account is verified as
/// (`IDENTITY_ALREADY_USED`), an account verified as another person (`INVALID_STATE`), past
/// [`MAX_ATTEMPTS_PER_USER`] failed checks in [`ATTEMPT_WINDOW_SECONDS`] (`RATE_LIMITED`, the
/// provider not asked; counted before asking, so racing calls cannot pass it together).
/// Verifying again as the same person answers the identity again.
pub async fn verify(
    db: &DatabaseConnection,
    verifier: &dyn IdentityVerifier,
    hash_key: &HashKey,
    user_id: &str,
    provider: IdentityProvider,
    certification_id: &str,
) -> IdentityResult<IdentityStatus> {
    let certification_id = certification_id.trim();
    if certification_id.is_empty() || certification_id.chars().count() > MAX_CERTIFICATION_ID_CHARS
    {
        return Err(IdentityError::invalid(
            "certificationId",
            format!(
                "certificationId must be 1 to {MAX_CERTIFICATION_ID_CHARS} characters: the id the \
             provider's identity check gave (PortOne's imp_uid)"
            ),
        ));
    }
    crate::users::get(db, user_id).await?;
    if verifier.provider() != provider {
        return Err(IdentityError::Refused {
            code: "IDENTITY_VERIFIER_NOT_CONFIGURED",
            message: format!("{provider} identity checks are not used by this server"),
        });
    }
    let bucket = format!("identity-verify:{user_id}");
    let Some(attempt) =
        throttle::acquire(db, &bucket, MAX_ATTEMPTS_PER_USER, ATTEMPT_WINDOW_SECONDS).await?
    else {
        return Err(IdentityError::RateLimited(format!(
            "at most {MAX_ATTEMPTS_PER_USER} identity checks an hour; try again later"
        )));
    };
    let answer = verifier.certification(certification_id).await;
    // Only an id the provider refused counts; a certification, or a provider that did not
    // answer, gives the attempt back.
    if !matches!(answer, Err(VerifyError::Refused(_))) {
        throttle::release(db, &attempt).await?;
    }
    let certified = answer.map_err(refusal)?;
    let ci_hash = hash_key.ci_hash(&certified.ci);
    if let Some(mine) = row_of(db, user_id).await? {
        return if mine.ci_hash == ci_hash {
            IdentityStatus::of(&mine)
        } else {
            Err(IdentityError::InvalidState(
                "this account is already verified as another person".into(),
            ))
        };
    }
    insert(db, user_id, &certified, ci_hash).await
}

async fn insert(
    db: &DatabaseConnection,
    user_id: &str,
    certified: &Certified,
    ci_hash: String,
) -> IdentityResult<IdentityStatus> {
    let row = person::ActiveModel {
        user_id: Set(user_id.to_owned()),
        provider: Set(certified.provider),
        ci_hash: Set(ci_hash.clone()),
        name: Set(certified.name.chars().take(MAX_NAME_CHARS).collect()),
        birth_date: Set(certified.birth_date.format("%Y-%m-%d").to_string()),
        verified_at: Set(Utc::now()),
    };
    // One person, one account: `UNIQUE (ci_hash)` decides between two accounts racing for the
    // same person, and the primary key between two verifications of one account.
    match person::Entity::insert(row).exec(db).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            let holder = person::Entity::find()
                .filter(person::Column::CiHash.eq(&ci_hash))
                .one(db)
                .await?;
            return match holder {
                Some(row) if row.user_id == user_id => IdentityStatus::of(&row),
                Some(_) => Err(already_used()),
                None => Err(IdentityError::InvalidState(
                    "this account is already verified as another person".into(),
                )),
            };
        }
        Err(e) => return Err(e.into()),
    }
    let row = row_of(db, user_id).await?.ok_or_else(|| {
        IdentityError::Internal(anyhow::anyhow!("a verification just written is gone"))
    })?;
    IdentityStatus::of(&row)
}

fn already_used() -> IdentityError {
    IdentityError::Refused {
        code: "IDENTITY_ALREADY_USED",
        message: "this person is already verified on another account: one person, one \
                  verified account"
            .into(),
    }
}

pub(crate) fn refusal(e: VerifyError) -> IdentityError {
    match e {
        VerifyError::NotConfigured(message) => IdentityError::Refused {
            code: "IDENTITY_VERIFIER_NOT_CONFIGURED",
            message,
        },
        VerifyError::Refused(said) => {
            tracing::info!(%said, "an identity certification was refused");
            IdentityError::Refused {
                code: "IDENTITY_NOT_VERIFIED",
                message: "the identity check did not certify anyone with this id (unknown, or \
                          not completed): go through the identity check again"
                    .into(),
            }
        }
        VerifyError::Unavailable(e) => {
            tracing::warn!(error = ?e, "an identity certification could not be read");
            IdentityError::Refused {
                code: "IDENTITY_VERIFIER_UNAVAILABLE",
                message: "the identity provider did not answer usably; try again shortly".into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(birth: &str) -> IdentityStatus {
        IdentityStatus {
            provider: IdentityProvider::Portone,
            verified_at: Utc::now(),
            birth_date: NaiveDate::parse_from_str(birth, "%Y-%m-%d").expect("date"),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn adulthood_starts_on_the_19th_birthday_in_seoul() {
        let s = status("2007-06-15");
        // 2026-06-14T15:00Z is midnight of the 15th in Seoul.
        assert!(!s.adult(at("2026-06-14T14:59:59Z")));
        assert!(s.adult(at("2026-06-14T15:00:00Z")));
        assert!(status("1990-01-01").adult(at("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn a_leap_day_birthday_comes_of_age_on_the_first_of_march() {
        let s = status("2008-02-29");
        assert!(!s.adult(at("2027-02-28T12:00:00Z")), "28 Feb in Seoul");
        assert!(s.adult(at("2027-02-28T15:00:00Z")), "1 Mar in Seoul");
    }
}
