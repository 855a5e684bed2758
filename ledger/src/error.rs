//! The ledger's error type.

use sea_orm::DbErr;

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
    /// The input is malformed or out of bounds.
    #[error("{0}")]
    InvalidInput(String),
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
    #[error(transparent)]
    Database(#[from] DbErr),
}
