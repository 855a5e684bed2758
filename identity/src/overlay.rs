//! Streamers' overlay tokens: the read-only credential in the URL of an OBS overlay
//! (`GET /overlay/<token>`, `http/overlay.rs`).
//!
//! A token is 32 random bytes (base64url, 43 characters), one per streamer, kept in the users
//! database as its SHA-256 only, like refresh tokens. So the token is shown exactly once: to the
//! mutation that issued it (`rotateOverlayToken`, which issues the first one too; `myOverlay`
//! only reads when). Rotating
//! replaces the stored hash in one statement: from its commit the old token matches nothing, and
//! a stream opened with it ends at its next read (`graphql/overlay.rs`).
//!
//! A token grants reading the streamer's overlay (their display name and locale, their PENDING
//! and ACTIVE missions, their event feed) and nothing else: it is not an access token and never
//! makes a `Caller`.

use crate::error::IdentityError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound, Utc};
use missionlink_entities::users::Role;
use missionlink_entities::users::{overlay_token, user};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

/// Length of a token as handed out (32 bytes, base64url without padding).
const TOKEN_CHARS: usize = 43;

/// The refusal of a token that is malformed, unknown, or replaced: one answer for all three, so
/// it says nothing about which.
pub fn invalid() -> IdentityError {
    IdentityError::OverlayTokenInvalid
}

/// A streamer's overlay token as the users database knows it.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The token itself: only when this call issued it (it is stored hashed).
    pub token: Option<String>,
    pub issued_at: DateTime<Utc>,
}

/// A new random token and its hash.
fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    (token, hash)
}

/// Now, to the microsecond the databases keep: the `issuedAt` a later read finds is the one the
/// issuing call answered.
fn issue_time() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` could be one this module issued; anything else is refused unread.
fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn streamer_only(role: Role) -> Result<(), IdentityError> {
    match role {
        Role::Streamer => Ok(()),
        Role::Viewer | Role::Operator => Err(IdentityError::Forbidden(
            "only streamers have an overlay".into(),
        )),
    }
}

/// When the streamer's overlay token was issued, if they have one (reads only: a token is
/// issued by [`rotate`], a mutation).
pub async fn issued_at<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    role: Role,
) -> Result<Option<DateTime<Utc>>, IdentityError> {
    streamer_only(role)?;
    Ok(overlay_token::Entity::find_by_id(user_id.to_owned())
        .one(db)
        .await?
        .map(|t| t.issued_at))
}

/// Replaces the streamer's overlay token (issues one if they had none): the old one stops
/// matching at this statement's commit.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    role: Role,
) -> Result<Issued, IdentityError> {
    streamer_only(role)?;
    let (token, token_hash) = new_token();
    let now = issue_time();
    let row = overlay_token::ActiveModel {
        user_id: Set(user_id.to_owned()),
        token_hash: Set(token_hash),
        issued_at: Set(now),
    };
    overlay_token::Entity::insert(row)
        .on_conflict(
            OnConflict::column(overlay_token::Column::UserId)
                .update_columns([
                    overlay_token::Column::TokenHash,
                    overlay_token::Column::IssuedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(Issued {
        token: Some(token),
        issued_at: now,
    })
}

/// What a valid token opens: its streamer, and the means to check later that the token still
/// holds.
#[derive(Clone, Debug)]
pub struct Access {
    pub streamer: user::Model,
    token_hash: String,
}

/// The streamer whose overlay `token` opens; [`invalid`] for any token that opens none.
pub async fn open<C: ConnectionTrait>(db: &C, token: &str) -> Result<Access, IdentityError> {
    if !well_formed(token) {
        return Err(invalid());
    }
    let token_hash = hash(token);
    let found = overlay_token::Entity::find()
        .filter(overlay_token::Column::TokenHash.eq(&token_hash))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    let streamer = user::Entity::find_by_id(found.user_id)
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if streamer.role != Role::Streamer {
        return Err(invalid());
    }
    Ok(Access {
        streamer,
        token_hash,
    })
}

impl Access {
    /// Whether the token still opens this streamer's overlay (it was not rotated since).
    pub async fn still_valid<C: ConnectionTrait>(&self, db: &C) -> Result<bool, IdentityError> {
        Ok(overlay_token::Entity::find()
            .filter(overlay_token::Column::UserId.eq(&self.streamer.id))
            .filter(overlay_token::Column::TokenHash.eq(&self.token_hash))
            .one(db)
            .await?
            .is_some())
    }
}

/// The overlay page of `token` on the server at `origin` (`scheme://host[:port]`).
pub fn url(origin: &str, token: &str) -> String {
    format!("{}/overlay/{token}", origin.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_stored_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b), "{a} {b}");
        assert_eq!(hash_a, hash(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a));
    }

    #[test]
    fn anything_else_is_refused_unread() {
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}!", "a".repeat(42)),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn the_url_names_the_page() {
        assert_eq!(
            url("https://api.example/", "abc"),
            "https://api.example/overlay/abc"
        );
    }
}
