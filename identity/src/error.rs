//! The identity domain's one error type. The API maps it to GraphQL errors, with the words a
//! client reads, as it maps `LedgerError`; the command line reads it through the same mapping.
//!
//! Deliberately not `Display` (as the API's own error): a refusal reaches a client only through
//! an explicit mapping that gives it its code, never as a bare message.

use chrono::{DateTime, Utc};
use missionlink_ledger::LedgerError;
use missionlink_ledger::input::{Invalid, MaybeInvalid};

#[derive(Debug)]
pub enum IdentityError {
    /// No valid access token, wrong credentials, or a dead refresh token.
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    Forbidden(String),
    /// The input is malformed or taken: every refused field, named; nothing was changed.
    BadInput(Invalid),
    NotFound(String),
    /// The account is not in a state that allows this.
    InvalidState(String),
    /// Too many attempts from this client or for this address.
    RateLimited(String),
    /// An overlay token that opens nothing: malformed, unknown or replaced (one answer for all).
    OverlayTokenInvalid,
    /// The account is suspended until `until` (`None`: until an operator lifts it).
    Suspended {
        until: Option<DateTime<Utc>>,
    },
    /// Refused for a reason with its own code (`CODE_INVALID`, `CODE_EXPIRED`,
    /// `APPLICATION_PENDING`, `CHANNEL_ALREADY_LINKED`, …), which the API passes on as
    /// `extensions.code`; nothing was changed.
    Refused {
        code: &'static str,
        message: String,
    },
    /// Refused by the missions database's owner (a suspension's records, a new user's wallet).
    Ledger(LedgerError),
    /// A failure that is ours, not the client's.
    Internal(anyhow::Error),
}

pub type IdentityResult<T> = Result<T, IdentityError>;

impl IdentityError {
    /// `field` refused for `message` (`BAD_USER_INPUT` naming the field).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        IdentityError::BadInput(Invalid::field(field, message))
    }
}

impl From<Invalid> for IdentityError {
    fn from(invalid: Invalid) -> Self {
        IdentityError::BadInput(invalid)
    }
}

impl MaybeInvalid for IdentityError {
    fn into_invalid(self) -> Result<Invalid, Self> {
        match self {
            IdentityError::BadInput(invalid) => Ok(invalid),
            other => Err(other),
        }
    }
}

impl From<LedgerError> for IdentityError {
    fn from(e: LedgerError) -> Self {
        match e.into_invalid() {
            Ok(invalid) => IdentityError::BadInput(invalid),
            Err(other) => IdentityError::Ledger(other),
        }
    }
}

impl From<sea_orm::DbErr> for IdentityError {
    fn from(e: sea_orm::DbErr) -> Self {
        IdentityError::Internal(anyhow::Error::new(e))
    }
}

impl From<anyhow::Error> for IdentityError {
    fn from(e: anyhow::Error) -> Self {
        IdentityError::Internal(e)
    }
}
