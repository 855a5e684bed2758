//! Streamers' overlay links: the read-only credential in the URL of an OBS overlay
//! (`GET /overlay/<token>`, `http/overlay.rs`), one per device (issue 29, item 4).
//!
//! A token is 32 random bytes (base64url, 43 characters), kept in the users database as its
//! SHA-256 only, like refresh tokens. So a token is shown exactly once: to the mutation that
//! issued it (`createOverlayLink`, or `rotateOverlayToken` for the streamer's default link,
//! `default-<user id>`, the one link each streamer had before links). Rotating replaces the
//! stored hash in one statement and revoking deletes the row: from that commit the old token
//! matches nothing, and a page open with it stops at its next check (`graphql/overlay.rs`).
//! Each check of an open page records when it was last seen (`lastSeenAt`, `connected`).
//!
//! A token grants reading the streamer's overlay (their display name and locale, their open
//! missions, their event feed, the overlay's settings) and nothing else: it is not an access
//! token and never makes a `Caller`.

use crate::error::IdentityError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use missionlink_entities::users::Role;
use missionlink_entities::users::{overlay_link, user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};

/// Length of a token as handed out (32 bytes, base64url without padding).
const TOKEN_CHARS: usize = 43;
/// Most characters of a link's label.
pub const LABEL_MAX_CHARS: usize = 40;
/// A page seen this recently is `connected` (an open page is checked every two seconds, and
/// records it at most every [`SEEN_EVERY_SECONDS`]).
pub const CONNECTED_SECONDS: i64 = 45;
/// How often an open page's checks write `last_seen_at`.
const SEEN_EVERY_SECONDS: i64 = 15;
/// The label of a streamer's default link (their first, and the one `rotateOverlayToken` makes).
const DEFAULT_LABEL: &str = "OBS";

/// The refusal of a token that is malformed, unknown, or replaced: one answer for all three, so
/// it says nothing about which.
pub fn invalid() -> IdentityError {
    IdentityError::OverlayTokenInvalid
}

/// One of a streamer's overlay links as the users database knows it.
#[derive(Clone, Debug)]
pub struct Issued {
    pub id: String,
    pub label: String,
    /// The token itself: only when this call issued it (it is stored hashed).
    pub token: Option<String>,
    pub created_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl Issued {
    fn of(row: overlay_link::Model, token: Option<String>) -> Self {
        Self {
            id: row.id,
            label: row.label,
            token,
            created_at: row.created_at,
            issued_at: row.issued_at,
            last_seen_at: row.last_seen_at,
        }
    }

    /// Whether a page with it was seen within [`CONNECTED_SECONDS`].
    pub fn connected(&self, now: DateTime<Utc>) -> bool {
        self.last_seen_at
            .is_some_and(|seen| now - seen < Duration::seconds(CONNECTED_SECONDS))
    }
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

fn default_id(user_id: &str) -> String {
    format!("default-{user_id}")
}

/// The streamer's default link, if they have one (reads only: a token is issued by [`rotate`]
/// or [`create`], mutations).
pub async fn default_link<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    role: Role,
) -> Result<Option<Issued>, IdentityError> {
    streamer_only(role)?;
    Ok(overlay_link::Entity::find_by_id(default_id(user_id))
        .one(db)
        .await?
        .map(|row| Issued::of(row, None)))
}

/// The streamer's links, oldest first (their tokens are not shown).
pub async fn links<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    role: Role,
) -> Result<Vec<Issued>, IdentityError> {
    streamer_only(role)?;
    Ok(overlay_link::Entity::find()
        .filter(overlay_link::Column::UserId.eq(user_id))
        .order_by_asc(overlay_link::Column::CreatedAt)
        .order_by_asc(overlay_link::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| Issued::of(row, None))
        .collect())
}

/// Replaces the token of the streamer's default link (makes the link if they had none): the old
/// token stops matching at this statement's commit. Their other links are untouched.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    role: Role,
) -> Result<Issued, IdentityError> {
    streamer_only(role)?;
    let (token, token_hash) = new_token();
    let now = issue_time();
    let row = overlay_link::ActiveModel {
        id: Set(default_id(user_id)),
        user_id: Set(user_id.to_owned()),
        label: Set(DEFAULT_LABEL.to_owned()),
        token_hash: Set(token_hash),
        created_at: Set(now),
        issued_at: Set(now),
        last_seen_at: Set(None),
    };
    overlay_link::Entity::insert(row)
        .on_conflict(
            OnConflict::column(overlay_link::Column::Id)
                .update_columns([
                    overlay_link::Column::TokenHash,
                    overlay_link::Column::IssuedAt,
                    // The page of the old token is no longer this link's.
                    overlay_link::Column::LastSeenAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let stored = overlay_link::Entity::find_by_id(default_id(user_id))
        .one(db)
        .await?
        .ok_or_else(|| IdentityError::Internal(anyhow::anyhow!("the default link vanished")))?;
    Ok(Issued::of(stored, Some(token)))
}

/// Makes another link, labelled `label` (1 to [`LABEL_MAX_CHARS`] characters), and shows its
/// token, once. `OVERLAY_LINK_LIMIT` when the streamer has `max_links` already.
pub async fn create(
    db: &DatabaseConnection,
    user_id: &str,
    role: Role,
    label: &str,
    max_links: u32,
) -> Result<Issued, IdentityError> {
    streamer_only(role)?;
    let label = label.trim();
    if label.is_empty()
        || label.chars().count() > LABEL_MAX_CHARS
        || label.chars().any(char::is_control)
    {
        return Err(IdentityError::invalid(
            "label",
            format!("label must be 1 to {LABEL_MAX_CHARS} characters on one line"),
        ));
    }
    let (token, token_hash) = new_token();
    let now = issue_time();
    let txn = db.begin().await?;
    // The streamer's row, locked: two links made at once are counted one after the other.
    user::Entity::update_many()
        .col_expr(user::Column::Id, Expr::col(user::Column::Id))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    let held = overlay_link::Entity::find()
        .filter(overlay_link::Column::UserId.eq(user_id))
        .count(&txn)
        .await?;
    if held >= u64::from(max_links) {
        return Err(IdentityError::Refused {
            code: "OVERLAY_LINK_LIMIT",
            message: format!(
                "at most {max_links} overlay links (OVERLAY_LINKS_PER_STREAMER): revoke one first"
            ),
        });
    }
    let row = overlay_link::Model {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        label: label.to_owned(),
        token_hash,
        created_at: now,
        issued_at: now,
        last_seen_at: None,
    };
    overlay_link::Entity::insert(overlay_link::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(Issued::of(row, Some(token)))
}

/// Revokes the streamer's link `id`: its token stops at this commit, and a page open with it
/// within two seconds. `NOT_FOUND` for a link that is not theirs.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    role: Role,
    id: &str,
) -> Result<(), IdentityError> {
    streamer_only(role)?;
    let gone = overlay_link::Entity::delete_many()
        .filter(overlay_link::Column::Id.eq(id))
        .filter(overlay_link::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if gone.rows_affected == 0 {
        return Err(IdentityError::NotFound(format!(
            "no overlay link {id} of yours"
        )));
    }
    Ok(())
}

/// What a valid token opens: its streamer and link, and the means to check later that the
/// token still holds.
#[derive(Clone, Debug)]
pub struct Access {
    pub streamer: user::Model,
    pub link_id: String,
    token_hash: String,
}

/// The streamer whose overlay `token` opens (recording the link seen); [`invalid`] for any
/// token that opens none.
pub async fn open<C: ConnectionTrait>(db: &C, token: &str) -> Result<Access, IdentityError> {
    if !well_formed(token) {
        return Err(invalid());
    }
    let token_hash = hash(token);
    let found = overlay_link::Entity::find()
        .filter(overlay_link::Column::TokenHash.eq(&token_hash))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    let streamer = user::Entity::find_by_id(found.user_id.clone())
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if streamer.role != Role::Streamer {
        return Err(invalid());
    }
    let access = Access {
        streamer,
        link_id: found.id,
        token_hash,
    };
    access.seen(db).await?;
    Ok(access)
}

impl Access {
    /// Whether the token still opens this streamer's overlay (its link was not rotated or
    /// revoked since); records the link seen while it does.
    pub async fn still_valid<C: ConnectionTrait>(&self, db: &C) -> Result<bool, IdentityError> {
        self.seen(db).await
    }

    /// Whether the link still holds this token, recording the page seen now when the last
    /// record is older than [`SEEN_EVERY_SECONDS`] (a read each check, a write at most that
    /// often).
    async fn seen<C: ConnectionTrait>(&self, db: &C) -> Result<bool, IdentityError> {
        let Some(link) = overlay_link::Entity::find_by_id(self.link_id.clone())
            .filter(overlay_link::Column::TokenHash.eq(&self.token_hash))
            .one(db)
            .await?
        else {
            return Ok(false);
        };
        let now = issue_time();
        let stale = now - Duration::seconds(SEEN_EVERY_SECONDS);
        if link.last_seen_at.is_none_or(|seen| seen < stale) {
            overlay_link::Entity::update_many()
                .col_expr(overlay_link::Column::LastSeenAt, Expr::value(now))
                .filter(overlay_link::Column::Id.eq(&self.link_id))
                .filter(overlay_link::Column::TokenHash.eq(&self.token_hash))
                .exec(db)
                .await?;
        }
        Ok(true)
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
