//! Amounts of money: integers of won or points, never floats (BRIEF §4.1).

use crate::LedgerError;
use std::fmt;

/// The two currencies of the ledger. Points can never become cash: no account holds both and
/// the transfers' foreign keys require both sides to hold the transfer's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    /// Korean won, the real money of wallets, escrow and earnings.
    Cash,
    /// Free game points of the prediction game.
    Points,
}

impl Currency {
    pub const ALL: [Currency; 2] = [Currency::Cash, Currency::Points];

    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Cash => "CASH",
            Currency::Points => "POINTS",
        }
    }

    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        match s {
            "CASH" => Ok(Currency::Cash),
            "POINTS" => Ok(Currency::Points),
            other => Err(LedgerError::Corrupt(format!("unknown currency {other:?}"))),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most a wallet may hold, and the largest figure the API reports exactly: 2^53 − 1, the
/// largest integer a JSON number carries exactly in every client. A top-up that would pass it
/// is refused before it commits.
pub const MAX_BALANCE: i64 = 9_007_199_254_740_991;

/// A strictly positive quantity of one currency's unit (won or points).
///
/// Transfers move an `Amount`; a zero or negative movement cannot be expressed. Arithmetic is
/// checked: an overflow is an error, never a wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// Accepts `value` if it is greater than zero.
    pub fn new(value: i64) -> Result<Self, LedgerError> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err(LedgerError::InvalidAmount(format!(
                "amount must be greater than zero, got {value}"
            )))
        }
    }

    /// Accepts `value` if it lies within `min..=max`.
    pub fn within(value: i64, min: i64, max: i64) -> Result<Self, LedgerError> {
        if (min..=max).contains(&value) {
            Self::new(value)
        } else {
            Err(LedgerError::InvalidAmount(format!(
                "amount must be between {min} and {max}, got {value}"
            )))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, LedgerError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or_else(|| LedgerError::InvalidAmount("amount overflows i64".into()))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_negative_amounts_are_refused() {
        assert!(Amount::new(0).is_err());
        assert!(Amount::new(-1).is_err());
        assert_eq!(Amount::new(1).map(Amount::get).ok(), Some(1));
    }

    #[test]
    fn bounds_are_inclusive() {
        assert!(Amount::within(999, 1_000, 1_000_000).is_err());
        assert!(Amount::within(1_000, 1_000, 1_000_000).is_ok());
        assert!(Amount::within(1_000_000, 1_000, 1_000_000).is_ok());
        assert!(Amount::within(1_000_001, 1_000, 1_000_000).is_err());
    }

    #[test]
    fn addition_overflow_is_an_error_not_a_wrap() {
        let big = Amount::new(i64::MAX).unwrap();
        assert!(big.checked_add(Amount::new(1).unwrap()).is_err());
    }
}
