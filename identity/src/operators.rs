//! Creating operators: `missionlink operator create EMAIL` (issue 16). `OPERATOR` is never
//! self-assigned (`register` refuses it); an operator is a separate account made here, with a
//! generated password shown once, and then signs in with `login` like anyone.
//!
//! Only the users database is touched: an operator gets no ledger accounts from this (a later
//! `login` opens them, as for every user). No one is ever promoted to operator (the one role
//! change is a verified viewer becoming a streamer, `crate::streamers`), so an email that
//! belongs to a viewer or streamer is refused.

use crate::error::{IdentityError, IdentityResult};
use crate::input::{DisplayName, Email, Handle};
use crate::password;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use missionlink_entities::users::user;
use missionlink_entities::users::{Locale, Role};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// Random bytes in a generated password: 192 bits, 32 base64url characters (within
/// `Password::MAX_CHARS`).
pub const PASSWORD_BYTES: usize = 24;

/// Random bytes in a generated handle's suffix: `operator_` and 8 lowercase hex digits.
pub const HANDLE_SUFFIX_BYTES: usize = 4;

/// Generated handles tried before giving up; a collision among 2^32 suffixes is already rare.
pub const HANDLE_ATTEMPTS: usize = 5;

/// What `operator create` was asked for, unvalidated.
pub struct NewOperator {
    pub email: String,
    /// `operator_<8 hex>` when absent.
    pub handle: Option<String>,
    /// The handle when absent.
    pub display_name: Option<String>,
}

/// What `operator create` did.
pub enum Created {
    /// A new operator and its password, which exists nowhere else (only its hash is stored).
    New { user: user::Model, password: String },
    /// The email already belonged to an operator: nothing was changed, no password made.
    Existing(user::Model),
}

/// Creates the operator `new.email`, or finds it if it already is one. `BAD_USER_INPUT` for an
/// email, handle or display name the API would refuse (or a handle already taken);
/// `INVALID_STATE` for an email that belongs to a viewer or streamer.
pub async fn create(users_db: &DatabaseConnection, new: NewOperator) -> IdentityResult<Created> {
    let email = Email::parse(&new.email)?;
    let chosen = new.handle.as_deref().map(Handle::parse).transpose()?;
    if let Some(name) = &new.display_name {
        DisplayName::parse(name)?;
    }
    if let Some(existing) = by_email(users_db, &email).await? {
        return existing_operator(existing);
    }

    let password = new_password();
    let password_hash = password::hash(password.clone()).await?;
    let attempts = if chosen.is_some() { 1 } else { HANDLE_ATTEMPTS };
    for _ in 0..attempts {
        let handle = match &chosen {
            Some(handle) => handle.clone(),
            None => generated_handle()?,
        };
        let display_name =
            DisplayName::parse(new.display_name.as_deref().unwrap_or(handle.as_str()))?;
        let user = user::Model {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.as_str().to_owned(),
            handle: handle.as_str().to_owned(),
            handle_key: handle.key(),
            display_name: display_name.as_str().to_owned(),
            role: Role::Operator,
            locale: Locale::En,
            password_hash: password_hash.clone(),
            created_at: Utc::now(),
            suspended_at: None,
            suspended_until: None,
            session_epoch: 0,
            sessions_valid_after: None,
            email_verified_at: None,
            notify_accepted: true,
            notify_verifying: true,
        };
        let inserted = user::Entity::insert(user::ActiveModel::from(user.clone()))
            .exec_without_returning(users_db)
            .await;
        match inserted {
            Ok(_) => return Ok(Created::New { user, password }),
            // The unique indexes decide: the email (a concurrent run, or a registration) or
            // the handle.
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                if let Some(existing) = by_email(users_db, &email).await? {
                    return existing_operator(existing);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(IdentityError::invalid(
        "handle",
        match chosen {
            Some(handle) => format!("the handle {} is already taken", handle.as_str()),
            None => format!("no free handle after {HANDLE_ATTEMPTS} tries; pass --handle"),
        },
    ))
}

fn existing_operator(user: user::Model) -> IdentityResult<Created> {
    if user.role == Role::Operator {
        return Ok(Created::Existing(user));
    }
    Err(IdentityError::InvalidState(format!(
        "{} belongs to a {} account; operators are separate accounts and a role is never \
         changed: use another email",
        user.email, user.role
    )))
}

async fn by_email(
    users_db: &DatabaseConnection,
    email: &Email,
) -> IdentityResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(users_db)
        .await?)
}

/// `PASSWORD_BYTES` random bytes, base64url.
fn new_password() -> String {
    let mut bytes = [0u8; PASSWORD_BYTES];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `operator_` and `HANDLE_SUFFIX_BYTES` random bytes in lowercase hex. (Handles allow letters,
/// digits and underscores only, so not a hyphen.)
fn generated_handle() -> IdentityResult<Handle> {
    let mut bytes = [0u8; HANDLE_SUFFIX_BYTES];
    rand::fill(&mut bytes);
    Handle::parse(&format!("operator_{}", hex::encode(bytes)))
}

impl Created {
    pub fn user(&self) -> &user::Model {
        match self {
            Created::New { user, .. } | Created::Existing(user) => user,
        }
    }

    /// One `key: value` a line; the password only for a new operator.
    pub fn to_text(&self) -> String {
        let u = self.user();
        let mut out = String::new();
        if let Created::Existing(_) = self {
            out.push_str("operator already exists; no new password was made\n");
        }
        out.push_str(&format!(
            "id: {}\nemail: {}\nhandle: {}\n",
            u.id, u.email, u.handle
        ));
        if let Created::New { password, .. } = self {
            out.push_str(&format!("password: {password}\n"));
        }
        out
    }

    /// One JSON object: `id`, `email`, `handle`, `created`, and `password` when created.
    pub fn to_json(&self) -> serde_json::Value {
        let u = self.user();
        let mut out = serde_json::json!({
            "id": u.id,
            "email": u.email,
            "handle": u.handle,
            "created": matches!(self, Created::New { .. }),
        });
        if let Created::New { password, .. } = self {
            out["password"] = password.as_str().into();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Password;

    #[test]
    fn generated_passwords_and_handles_pass_the_apis_rules() {
        let password = new_password();
        assert_eq!(password.len(), 32);
        assert!(Password::parse(&password).is_ok());
        assert_ne!(password, new_password());
        let handle = generated_handle().expect("valid handle");
        let suffix = handle.as_str().strip_prefix("operator_").expect("prefix");
        assert_eq!(suffix.len(), 8);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }
}
