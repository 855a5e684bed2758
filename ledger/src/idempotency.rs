//! Idempotency keys for money-moving mutations (BRIEF §4.4).
//!
//! A request claims `(caller, key)` as the first statement of its transaction and stores its
//! response in the same transaction. A replay with the same request gets the stored response; a
//! different request under the same key gets [`LedgerError::IdempotencyKeyReused`]. Concurrent
//! duplicates serialise on the primary key: the loser waits for the winner's commit, then
//! replays its response, so exactly one effect happens.

use crate::LedgerError;
use chrono::Utc;
use missionlink_entities::missions::idempotency_key;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TryInsertResult};
use sha2::{Digest, Sha256};

/// Longest accepted key, in characters.
pub const MAX_KEY_CHARS: usize = 200;

/// A caller-chosen key, validated: 1 to [`MAX_KEY_CHARS`] visible characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, LedgerError> {
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(LedgerError::InvalidIdempotencyKey(format!(
                "idempotencyKey must be 1 to {MAX_KEY_CHARS} characters"
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(LedgerError::InvalidIdempotencyKey(
                "idempotencyKey must not contain control characters".into(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an idempotent operation answered: a new effect, or the first answer again for a
/// replay. Callers count and announce only new effects: a replay is not activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<T> {
    New(T),
    Replayed(T),
}

impl<T> Effect<T> {
    /// Whether this call made the effect (not a replay of it).
    pub fn is_new(&self) -> bool {
        matches!(self, Effect::New(_))
    }

    pub fn get(&self) -> &T {
        match self {
            Effect::New(v) | Effect::Replayed(v) => v,
        }
    }

    pub fn into_inner(self) -> T {
        match self {
            Effect::New(v) | Effect::Replayed(v) => v,
        }
    }
}

/// What the claim found.
#[derive(Debug)]
pub enum Claim {
    /// The key is ours: perform the effect, then [`complete`].
    Fresh,
    /// The same request ran before; here is its stored response.
    Replay(String),
}

/// A stable fingerprint of a request: operation name and its canonical arguments.
pub fn request_hash(operation: &str, canonical_args: &str) -> String {
    let mut h = Sha256::new();
    h.update(operation.as_bytes());
    h.update([0]);
    h.update(canonical_args.as_bytes());
    hex::encode(h.finalize())
}

/// Claims `key` for `user_id` inside transaction `db`. Must be the transaction's first write.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    key: &IdempotencyKey,
    operation: &str,
    request_hash: &str,
) -> Result<Claim, LedgerError> {
    let row = idempotency_key::ActiveModel {
        user_id: Set(user_id.to_owned()),
        key: Set(key.as_str().to_owned()),
        operation: Set(operation.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        response: Set(None),
        created_at: Set(Utc::now()),
    };
    // The primary key (user_id, key) is the lock: a concurrent claim of the same key blocks here
    // until the first transaction ends, then inserts nothing.
    let inserted = idempotency_key::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    if matches!(inserted, TryInsertResult::Inserted(1)) {
        return Ok(Claim::Fresh);
    }
    existing(db, user_id, key, operation, request_hash).await
}

/// The committed claim of `(user_id, key)`, seen by a request that could not claim it: a replay
/// of the same request, or [`LedgerError::IdempotencyKeyReused`] for a different one.
pub async fn existing<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    key: &IdempotencyKey,
    operation: &str,
    request_hash: &str,
) -> Result<Claim, LedgerError> {
    let existing =
        idempotency_key::Entity::find_by_id((user_id.to_owned(), key.as_str().to_owned()))
            .one(db)
            .await?
            .ok_or_else(|| LedgerError::Corrupt("idempotency record vanished".into()))?;
    if existing.operation != operation || existing.request_hash != request_hash {
        return Err(LedgerError::IdempotencyKeyReused);
    }
    existing
        .response
        .map(Claim::Replay)
        .ok_or_else(|| LedgerError::Corrupt("idempotency record committed without response".into()))
}

/// Stores the response of a [`Claim::Fresh`] request, in the same transaction as its effect.
pub async fn complete<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    key: &IdempotencyKey,
    response: &str,
) -> Result<(), LedgerError> {
    let row = idempotency_key::ActiveModel {
        user_id: sea_orm::ActiveValue::Unchanged(user_id.to_owned()),
        key: sea_orm::ActiveValue::Unchanged(key.as_str().to_owned()),
        response: Set(Some(response.to_owned())),
        ..Default::default()
    };
    idempotency_key::Entity::update(row).exec(db).await?;
    Ok(())
}

/// A response as stored in its claim (JSON).
pub(crate) fn encode_response<T: serde::Serialize>(value: &T) -> Result<String, LedgerError> {
    serde_json::to_string(value).map_err(|e| LedgerError::Corrupt(format!("encode response: {e}")))
}

/// A stored response read back.
pub(crate) fn decode_response<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, LedgerError> {
    serde_json::from_str(raw).map_err(|e| LedgerError::Corrupt(format!("stored response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_short_and_printable() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(MAX_KEY_CHARS + 1)).is_err());
        assert!(IdempotencyKey::parse("a\nb").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(MAX_KEY_CHARS)).is_ok());
    }

    #[test]
    fn request_hash_separates_operation_from_arguments() {
        assert_ne!(request_hash("topUp", "1000"), request_hash("topUp1", "000"));
        assert_eq!(request_hash("topUp", "1000"), request_hash("topUp", "1000"));
    }
}
