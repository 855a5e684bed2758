//! A streamer's payout account: validated, stored with its full number, shown masked only.

use super::banks::bank_name;
use crate::LedgerError;
use chrono::{DateTime, Utc};
use missionlink_entities::missions::payout_account;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

/// Fewest and most digits of an account number (Korean banks use 10 to 14; 16 leaves room).
pub const ACCOUNT_DIGITS: std::ops::RangeInclusive<usize> = 10..=16;
/// Longest holder name, in characters.
pub const MAX_HOLDER_CHARS: usize = 40;

/// An account number: digits only, hyphens and spaces removed. Deliberately not `Display`:
/// the full number is written to the database and handed to the bank, nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountNumber(String);

impl std::fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccountNumber({})", self.masked())
    }
}

impl AccountNumber {
    pub fn parse(raw: &str) -> Result<Self, LedgerError> {
        let digits: String = raw.chars().filter(|c| *c != '-' && *c != ' ').collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(LedgerError::invalid(
                "accountNumber",
                "accountNumber must be digits (hyphens and spaces are ignored)",
            ));
        }
        if !ACCOUNT_DIGITS.contains(&digits.len()) {
            return Err(LedgerError::invalid(
                "accountNumber",
                format!(
                    "accountNumber must have {} to {} digits",
                    ACCOUNT_DIGITS.start(),
                    ACCOUNT_DIGITS.end()
                ),
            ));
        }
        Ok(Self(digits))
    }

    /// Every digit but the last four replaced by `*`: `*******5678`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// The full number, for the database and the bank only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Every character but the last four replaced by `*`.
pub fn mask(number: &str) -> String {
    let n = number.chars().count();
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '*' } else { c })
        .collect()
}

/// The account holder's name as the bank knows it, under [`crate::text`]'s rule: 1 to
/// [`MAX_HOLDER_CHARS`] visible characters on one line (it is printed on receipts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderName(String);

impl HolderName {
    pub fn parse(raw: &str) -> Result<Self, LedgerError> {
        crate::text::required("holderName", raw, MAX_HOLDER_CHARS, crate::text::Lines::One)
            .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A payout account as it may be shown: no full number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutAccount {
    pub bank_code: String,
    pub bank_name: &'static str,
    pub account_masked: String,
    pub holder_name: String,
    pub updated_at: DateTime<Utc>,
}

impl PayoutAccount {
    fn from_row(row: payout_account::Model) -> Result<Self, LedgerError> {
        let bank_name = bank_name(&row.bank_code).ok_or_else(|| {
            LedgerError::Corrupt(format!(
                "payout account of {} has an unknown bank",
                row.user_id
            ))
        })?;
        Ok(Self {
            bank_code: row.bank_code,
            bank_name,
            account_masked: row.account_masked,
            holder_name: row.holder_name,
            updated_at: row.updated_at,
        })
    }
}

/// Sets (or replaces) the user's payout account. Payouts already requested keep the account
/// they were requested with.
pub async fn set_account<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    bank_code: &str,
    number: &AccountNumber,
    holder: &HolderName,
) -> Result<PayoutAccount, LedgerError> {
    if bank_name(bank_code).is_none() {
        return Err(LedgerError::invalid(
            "bankCode",
            format!(
                "bankCode {bank_code:?} is not a bank we pay to: give its 3-digit KFTC code, e.g. 004"
            ),
        ));
    }
    let row = payout_account::ActiveModel {
        user_id: Set(user_id.to_owned()),
        bank_code: Set(bank_code.to_owned()),
        account_number: Set(number.expose().to_owned()),
        account_masked: Set(number.masked()),
        holder_name: Set(holder.as_str().to_owned()),
        updated_at: Set(Utc::now()),
    };
    payout_account::Entity::insert(row)
        .on_conflict(
            OnConflict::column(payout_account::Column::UserId)
                .update_columns([
                    payout_account::Column::BankCode,
                    payout_account::Column::AccountNumber,
                    payout_account::Column::AccountMasked,
                    payout_account::Column::HolderName,
                    payout_account::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    account(db, user_id)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("payout account vanished".into()))
}

/// The user's payout account, if set.
pub async fn account<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Option<PayoutAccount>, LedgerError> {
    payout_account::Entity::find_by_id(user_id.to_owned())
        .one(db)
        .await?
        .map(PayoutAccount::from_row)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_digits_shown_masked() {
        let n = AccountNumber::parse("123-456 789012").expect("valid");
        assert_eq!(n.expose(), "123456789012");
        assert_eq!(n.masked(), "********9012");
        assert!(!format!("{n:?}").contains("123456"));
        assert!(AccountNumber::parse("123456789").is_err());
        assert!(AccountNumber::parse(&"1".repeat(17)).is_err());
        assert!(AccountNumber::parse("12345678901a").is_err());
        assert!(AccountNumber::parse("１２３４５６７８９０").is_err());
    }

    #[test]
    fn holder_names_are_short_and_printable() {
        assert_eq!(
            HolderName::parse(" 김민지 ").expect("ok").as_str(),
            "김민지"
        );
        assert!(HolderName::parse("  ").is_err());
        assert!(HolderName::parse("a\nb").is_err());
        assert!(HolderName::parse(&"가".repeat(MAX_HOLDER_CHARS + 1)).is_err());
    }

    #[test]
    fn holder_names_of_invisible_characters_or_direction_controls_are_refused() {
        for raw in ["\u{200B}", "\u{200B}\u{200B}\u{200B}", " \u{FEFF}\u{3164} "] {
            assert!(
                matches!(HolderName::parse(raw), Err(LedgerError::InvalidInput(m)) if m.mentions("invisible")),
                "{raw:?}"
            );
        }
        assert!(HolderName::parse("김\u{202E}지민").is_err());
        assert_eq!(
            HolderName::parse("김\u{200B}민지").expect("ok").as_str(),
            "김민지"
        );
    }
}
