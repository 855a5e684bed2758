//! The ledger's error type.

use sea_orm::sqlx::error::ErrorKind;
use sea_orm::{DbErr, RuntimeErr};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The amount is zero, negative, out of the allowed range or overflows.
    #[error("{0}")]
    InvalidAmount(String),
    /// The debited account would go below zero.
    #[error("insufficient funds in {account}")]
    InsufficientFunds { account: String },
    /// The idempotency key was used before by this caller for a different request.
    #[error("idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// The idempotency key is empty or too long.
    #[error("{0}")]
    InvalidIdempotencyKey(String),
    /// An account named by a transfer does not exist.
    #[error("account {0} does not exist")]
    UnknownAccount(String),
    /// A transfer id was reused for a different movement: a bug in the caller.
    #[error("transfer {0} already exists with different contents")]
    TransferIdConflict(String),
    /// The input is malformed or out of bounds: every refused field, named.
    #[error("{0}")]
    InvalidInput(crate::input::Invalid),
    /// The named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this to this object.
    #[error("{0}")]
    Forbidden(String),
    /// The object's state does not allow this now.
    #[error("{0}")]
    InvalidState(String),
    /// Stored data contradicts the ledger's own rules.
    #[error("ledger data is inconsistent: {0}")]
    Corrupt(String),
    /// Another process changed what this step was changing; nothing of it stayed, and running
    /// it again continues from what the other did.
    #[error("{0}")]
    Contended(String),
    /// Refused by the streamer's channel or the proposal rules, with its own code, and when
    /// waiting helps, the moment it will be allowed.
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        retry_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A top-up the user's daily limit cannot take: how much remains today and when it resets.
    #[error("{message}")]
    LimitExceeded {
        code: &'static str,
        message: String,
        limit_won: i64,
        remaining_won: i64,
        resets_at: chrono::DateTime<chrono::Utc>,
    },
    #[error(transparent)]
    Database(#[from] DbErr),
}

impl LedgerError {
    /// `field` refused for `message` (`BAD_USER_INPUT` naming the field).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        LedgerError::InvalidInput(crate::input::Invalid::field(field, message))
    }

    /// Whether running the same step again can succeed without anyone fixing anything: the
    /// database was unreachable or a concurrent writer got in the way. Everything else (a
    /// transfer id reused for another movement, corrupt data, a state the step cannot act on,
    /// bad input) fails the same way every time, and must be seen rather than retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            LedgerError::Contended(_) => true,
            LedgerError::Database(e) => !permanent(e),
            LedgerError::InvalidAmount(_)
            | LedgerError::Refused { .. }
            | LedgerError::LimitExceeded { .. }
            | LedgerError::InsufficientFunds { .. }
            | LedgerError::IdempotencyKeyReused
            | LedgerError::InvalidIdempotencyKey(_)
            | LedgerError::UnknownAccount(_)
            | LedgerError::TransferIdConflict(_)
            | LedgerError::InvalidInput(_)
            | LedgerError::NotFound(_)
            | LedgerError::Forbidden(_)
            | LedgerError::InvalidState(_)
            | LedgerError::Corrupt(_) => false,
        }
    }
}

/// Whether a database error is the data or the statement refusing the step — a constraint, a
/// value out of range, a row that does not decode, a bug in the SQL — and so the same on every
/// attempt. Anything else (the connection, the pool, a deadlock, a serialization failure, a
/// busy SQLite file, an error not recognised) may pass on a later attempt.
fn permanent(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            match s.as_ref() {
                Sqlx::Database(d) => {
                    d.kind() != ErrorKind::Other
                        // SQLSTATE classes 22 (data exception) and 42 (syntax or access rule),
                        // and 23 (integrity) where the driver did not map it to a kind.
                        || d.code().is_some_and(|c| {
                            c.len() == 5 && ["22", "23", "42"].iter().any(|class| c.starts_with(class))
                        })
                }
                Sqlx::TypeNotFound { .. }
                | Sqlx::ColumnIndexOutOfBounds { .. }
                | Sqlx::ColumnNotFound(_)
                | Sqlx::ColumnDecode { .. }
                | Sqlx::Encode(_)
                | Sqlx::Decode(_)
                | Sqlx::InvalidArgument(_) => true,
                _ => false,
            }
        }
        DbErr::Type(_)
        | DbErr::Json(_)
        | DbErr::RecordNotFound(_)
        | DbErr::AttrNotSet(_)
        | DbErr::ConvertFromU64(_)
        | DbErr::UnpackInsertId
        | DbErr::UpdateGetPrimaryKey
        | DbErr::RecordNotInserted
        | DbErr::RecordNotUpdated
        | DbErr::TryIntoErr { .. } => true,
        _ => false,
    }
}

impl From<crate::input::Invalid> for LedgerError {
    fn from(invalid: crate::input::Invalid) -> Self {
        LedgerError::InvalidInput(invalid)
    }
}

impl crate::input::MaybeInvalid for LedgerError {
    /// A refused amount is the `amount` field's, a refused key the `idempotencyKey`'s.
    fn into_invalid(self) -> Result<crate::input::Invalid, Self> {
        use crate::input::Invalid;
        match self {
            LedgerError::InvalidInput(invalid) => Ok(invalid),
            LedgerError::InvalidAmount(m) => Ok(Invalid::field("amount", m)),
            LedgerError::InvalidIdempotencyKey(m) => Ok(Invalid::field("idempotencyKey", m)),
            other => Err(other),
        }
    }
}
