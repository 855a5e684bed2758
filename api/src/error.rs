//! The API's one error type and its mapping to GraphQL errors with `extensions.code`.
//!
//! Every variant but `Internal` is the client's to see. `Internal` is logged with a reference id
//! and the client sees only that id: no SQL, no stack, no internal message.

use async_graphql::ErrorExtensions;
use missionlink_identity::IdentityError;
use missionlink_ledger::LedgerError;
use missionlink_ledger::input::{Invalid, MaybeInvalid};

/// Deliberately not `Display`: async-graphql turns any `Display` error into a GraphQL error
/// without a code, so an `ApiError` can only reach a client through the `From` below.
#[derive(Debug)]
pub enum ApiError {
    /// No valid access token, wrong credentials, or a dead refresh token.
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    Forbidden(String),
    /// The input is malformed or out of bounds: every refused field, named
    /// (`extensions.field`, the first; `extensions.fields`, all); nothing was changed.
    BadUserInput(Invalid),
    NotFound(String),
    InsufficientFunds(String),
    /// The object is not in a state that allows this.
    InvalidState(String),
    IdempotencyKeyReused,
    RateLimited(String),
    /// The events after the client's `seq` were pruned: it must reload the current state.
    EventsExpired(String),
    /// Refused by a streamer's channel, the proposal rules or identity (streamer applications,
    /// channel links), with its own code and, when waiting helps, `extensions.retryAt`.
    Refused {
        code: &'static str,
        message: String,
        retry_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A top-up the user's daily limit cannot take (`TOPUP_LIMIT_EXCEEDED`), with
    /// `extensions.limit`, `extensions.remainingToday` and `extensions.retryAt` (the next
    /// Asia/Seoul midnight); or a minor's month cannot (`TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED`),
    /// with `extensions.limit`, `extensions.remainingThisMonth` and `extensions.retryAt` (the
    /// first Asia/Seoul midnight of next month).
    LimitExceeded {
        code: &'static str,
        message: String,
        limit_won: i64,
        remaining_won: i64,
        resets_at: chrono::DateTime<chrono::Utc>,
    },
    /// The payment provider refused the payment (`PAYMENT_FAILED`), with its own code in
    /// `extensions.providerCode`.
    PaymentFailed {
        message: String,
        provider_code: String,
    },
    /// An overlay token that opens nothing: malformed, unknown or replaced (one answer for all).
    OverlayTokenInvalid,
    /// The account is suspended (`USER_SUSPENDED`): it cannot sign in, refresh or act, until
    /// `until` (`extensions.until`, RFC 3339) or, when `None` (`null`), until an operator lifts
    /// it.
    UserSuspended {
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A failure that is ours, not the client's; never shown to the client.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl ApiError {
    /// `field` refused for `message` (`BAD_USER_INPUT` naming the field).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadUserInput(Invalid::field(field, message))
    }

    /// The `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::InsufficientFunds(_) => "INSUFFICIENT_FUNDS",
            ApiError::InvalidState(_) => "INVALID_STATE",
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::RateLimited(_) => "RATE_LIMITED",
            ApiError::EventsExpired(_) => "EVENTS_EXPIRED",
            ApiError::Refused { code, .. } | ApiError::LimitExceeded { code, .. } => code,
            ApiError::PaymentFailed { .. } => "PAYMENT_FAILED",
            ApiError::OverlayTokenInvalid => "OVERLAY_TOKEN_INVALID",
            ApiError::UserSuspended { .. } => "USER_SUSPENDED",
            ApiError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The message a client sees. For `Internal` only a generic text; see the `From` below.
    pub fn client_message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::InsufficientFunds(m)
            | ApiError::InvalidState(m)
            | ApiError::RateLimited(m)
            | ApiError::EventsExpired(m)
            | ApiError::Refused { message: m, .. }
            | ApiError::LimitExceeded { message: m, .. }
            | ApiError::PaymentFailed { message: m, .. } => m.clone(),
            ApiError::BadUserInput(invalid) => invalid.to_string(),
            ApiError::IdempotencyKeyReused => {
                "this idempotencyKey was already used for a different request".into()
            }
            ApiError::OverlayTokenInvalid => {
                "this overlay link is not valid (it may have been replaced): copy the current one \
                 from your overlay settings"
                    .into()
            }
            ApiError::UserSuspended { until: Some(until) } => format!(
                "this account is suspended until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            ApiError::UserSuspended { until: None } => {
                "this account is suspended until an operator lifts the suspension".into()
            }
            ApiError::Internal(_) => "internal error".into(),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        let e = match e.into_invalid() {
            Ok(invalid) => return ApiError::BadUserInput(invalid),
            Err(e) => e,
        };
        match e {
            LedgerError::NotFound(m) => ApiError::NotFound(m),
            LedgerError::Forbidden(m) => ApiError::Forbidden(m),
            LedgerError::InvalidState(m) => ApiError::InvalidState(m),
            LedgerError::InsufficientFunds { .. } => {
                ApiError::InsufficientFunds("your wallet does not cover this amount".into())
            }
            LedgerError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            LedgerError::Refused {
                code,
                message,
                retry_at,
            } => ApiError::Refused {
                code,
                message,
                retry_at,
            },
            LedgerError::LimitExceeded {
                code,
                message,
                limit_won,
                remaining_won,
                resets_at,
            } => ApiError::LimitExceeded {
                code,
                message,
                limit_won,
                remaining_won,
                resets_at,
            },
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Unauthenticated(m) => ApiError::Unauthenticated(m),
            IdentityError::Forbidden(m) => ApiError::Forbidden(m),
            IdentityError::BadInput(invalid) => ApiError::BadUserInput(invalid),
            IdentityError::NotFound(m) => ApiError::NotFound(m),
            IdentityError::InvalidState(m) => ApiError::InvalidState(m),
            IdentityError::RateLimited(m) => ApiError::RateLimited(m),
            IdentityError::OverlayTokenInvalid => ApiError::OverlayTokenInvalid,
            IdentityError::Suspended { until } => ApiError::UserSuspended { until },
            IdentityError::Refused { code, message } => ApiError::Refused {
                code,
                message,
                retry_at: None,
            },
            IdentityError::Ledger(e) => e.into(),
            IdentityError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<missionlink_identity::suspension::Suspension> for ApiError {
    fn from(s: missionlink_identity::suspension::Suspension) -> Self {
        ApiError::UserSuspended { until: s.until }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::Internal(anyhow::Error::new(e))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let code = e.code();
        let retry_at = match &e {
            ApiError::Refused { retry_at, .. } => *retry_at,
            ApiError::LimitExceeded { resets_at, .. } => Some(*resets_at),
            _ => None,
        };
        let limit = match &e {
            ApiError::LimitExceeded {
                limit_won,
                remaining_won,
                ..
            } => Some((*limit_won, *remaining_won)),
            _ => None,
        };
        // `Some(None)`: a suspension without an end, `extensions.until` is `null`.
        let suspended_until = match &e {
            ApiError::UserSuspended { until } => Some(*until),
            _ => None,
        };
        let fields = match &e {
            ApiError::BadUserInput(invalid) => Some(invalid.clone()),
            _ => None,
        };
        let provider_code = match &e {
            ApiError::PaymentFailed { provider_code, .. } => Some(provider_code.clone()),
            _ => None,
        };
        let message = match &e {
            ApiError::Internal(inner) => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = ?inner, "internal error");
                format!("internal error (reference {reference})")
            }
            other => other.client_message(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(at) = retry_at {
                ext.set("retryAt", at.to_rfc3339());
            }
            if let Some((limit, remaining)) = limit {
                ext.set("limit", limit);
                if code == missionlink_ledger::topup::month::LIMIT_EXCEEDED {
                    ext.set("remainingThisMonth", remaining);
                } else {
                    ext.set("remainingToday", remaining);
                }
            }
            if let Some(code) = &provider_code {
                ext.set("providerCode", code.as_str());
            }
            if let Some(invalid) = &fields {
                ext.set("field", invalid.first_field());
                let all: Vec<async_graphql::Value> = invalid
                    .fields()
                    .iter()
                    .map(|f| {
                        async_graphql::value!({ "field": f.field.as_str(), "message": f.message.as_str() })
                    })
                    .collect();
                ext.set("fields", all);
            }
            if let Some(until) = suspended_until {
                ext.set("until", until.map(|at| at.to_rfc3339()));
            }
        })
    }
}

/// Result of domain functions called by resolvers.
pub type ApiResult<T> = Result<T, ApiError>;

/// Result of a resolver. `?` on an [`ApiResult`] converts through the `From` above, keeping the
/// code.
pub type GqlResult<T> = async_graphql::Result<T>;
