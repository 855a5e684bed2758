//! The identity domain's one error type. The API maps it to GraphQL errors as it maps
//! `LedgerError`; the command line maps it to exit codes.
//!
//! Deliberately not `Display` (as the API's own error): a refusal reaches a client only through
//! an explicit mapping that gives it its code, never as a bare message.

use chrono::{DateTime, Utc};
use missionlink_ledger::LedgerError;

#[derive(Debug)]
pub enum IdentityError {
    /// No valid access token, wrong credentials, or a dead refresh token.
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    Forbidden(String),
    /// The input is malformed or taken; nothing was changed.
    BadInput(String),
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
    /// Refused by the missions database's owner (a suspension's records, a new user's wallet).
    Ledger(LedgerError),
    /// A failure that is ours, not the client's.
    Internal(anyhow::Error),
}

pub type IdentityResult<T> = Result<T, IdentityError>;

impl IdentityError {
    /// What the person on the other side may read: for `Internal` only a generic text.
    pub fn message(&self) -> String {
        match self {
            IdentityError::Unauthenticated(m)
            | IdentityError::Forbidden(m)
            | IdentityError::BadInput(m)
            | IdentityError::NotFound(m)
            | IdentityError::InvalidState(m)
            | IdentityError::RateLimited(m) => m.clone(),
            IdentityError::OverlayTokenInvalid => {
                "this overlay link is not valid (it may have been replaced): copy the current one \
                 from your overlay settings"
                    .into()
            }
            IdentityError::Suspended { until: Some(until) } => format!(
                "this account is suspended until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            IdentityError::Suspended { until: None } => {
                "this account is suspended until an operator lifts the suspension".into()
            }
            IdentityError::Ledger(e) => e.to_string(),
            IdentityError::Internal(_) => "internal error".into(),
        }
    }
}

impl From<LedgerError> for IdentityError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::InvalidInput(m) => IdentityError::BadInput(m),
            other => IdentityError::Ledger(other),
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
