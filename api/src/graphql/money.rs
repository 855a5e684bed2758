//! The money scalars every amount the API returns is typed with. GraphQL `Int` is 32-bit, and a
//! popular streamer's earnings pass 2,147,483,647 won; these are integers up to 2^53 − 1, the
//! largest a JSON number carries exactly in every client (JavaScript included). Inputs stay
//! `Int`: no single top-up, pledge or bet comes near 2^31.

use crate::error::ApiError;
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// The largest amount a money scalar carries: 2^53 − 1 (the ledger refuses a top-up past it).
pub const MAX_EXACT: i64 = missionlink_ledger::money::MAX_BALANCE;

/// An amount of won (KRW), a whole number from 0 to 2^53 − 1, sent as a JSON number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Won(pub i64);

/// An amount of game points (never cash), a whole number from 0 to 2^53 − 1, sent as a JSON
/// number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Points(pub i64);

/// An amount of won (KRW): a whole number from 0 to 2^53 − 1 (exact in every JSON client),
/// sent as a JSON number.
#[Scalar(name = "Won")]
impl ScalarType for Won {
    fn parse(value: Value) -> InputValueResult<Self> {
        amount(&value)
            .map(Won)
            .ok_or_else(|| InputValueError::expected_type(value))
    }

    fn to_value(&self) -> Value {
        Value::from(self.0)
    }
}

/// An amount of game points (never convertible to cash): a whole number from 0 to 2^53 − 1,
/// sent as a JSON number.
#[Scalar(name = "Points")]
impl ScalarType for Points {
    fn parse(value: Value) -> InputValueResult<Self> {
        amount(&value)
            .map(Points)
            .ok_or_else(|| InputValueError::expected_type(value))
    }

    fn to_value(&self) -> Value {
        Value::from(self.0)
    }
}

/// A JSON number that is a whole amount in range.
fn amount(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().filter(|v| (0..=MAX_EXACT).contains(v)),
        _ => None,
    }
}

impl Won {
    /// `value` as a scalar, or an internal error if it is outside 0..=2^53 − 1 (no balance,
    /// total or payout can get there: top-ups are refused before a wallet would).
    pub fn of(value: i64, what: &str) -> Result<Self, ApiError> {
        exact(value, what).map(Won)
    }
}

impl Points {
    /// Like [`Won::of`].
    pub fn of(value: i64, what: &str) -> Result<Self, ApiError> {
        exact(value, what).map(Points)
    }
}

fn exact(value: i64, what: &str) -> Result<i64, ApiError> {
    if (0..=MAX_EXACT).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::Internal(anyhow::anyhow!(
            "{what} {value} is outside the money scalars' range"
        )))
    }
}

/// A signed amount of won or points (its field says which): a whole number from −(2^53 − 1)
/// to 2^53 − 1, sent as a JSON number. Output only: a statement entry's movement, positive into
/// the account and negative out of it, and the balance after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedAmount(pub i64);

/// A signed whole amount of won or points (the field says which): from −(2^53 − 1) to
/// 2^53 − 1, sent as a JSON number; positive into an account, negative out of it.
#[Scalar(name = "SignedAmount")]
impl ScalarType for SignedAmount {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n
                .as_i64()
                .filter(|v| (-MAX_EXACT..=MAX_EXACT).contains(v))
                .map(SignedAmount)
                .ok_or_else(|| InputValueError::expected_type(value)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::from(self.0)
    }
}

impl SignedAmount {
    /// Like [`Won::of`], for either sign.
    pub fn of(value: i64, what: &str) -> Result<Self, ApiError> {
        exact(value.checked_abs().unwrap_or(i64::MAX), what).map(|_| SignedAmount(value))
    }
}
