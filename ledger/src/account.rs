//! Accounts: who holds money, in which currency, and whether the balance is materialised.

use crate::status::AccountKind;
use crate::{Currency, LedgerError};
use chrono::Utc;
use missionlink_entities::missions::account;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use std::fmt;

/// What a mission's escrow account id starts with.
const ESCROW_PREFIX: &str = "escrow:CASH:";
/// What a mission's prediction pool account id starts with.
const POOL_PREFIX: &str = "pool:POINTS:";

/// What a streamer prediction's pool account id starts with.
const PREDICTION_PREFIX: &str = "prediction:POINTS:";

/// What a payout's hold account id starts with.
const PAYOUT_PREFIX: &str = "payout:CASH:";

/// The id of an account: readable and derived from what it is, so that any process can name an
/// account without looking it up (e.g. `wallet:CASH:<user>`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountId {
    id: String,
    kind: AccountKind,
    currency: Currency,
    owner: Option<String>,
}

impl AccountId {
    pub fn wallet(currency: Currency, user_id: &str) -> Self {
        Self {
            id: format!("wallet:{currency}:{user_id}"),
            kind: AccountKind::Wallet,
            currency,
            owner: Some(user_id.to_owned()),
        }
    }

    pub fn earnings(user_id: &str) -> Self {
        Self {
            id: format!("earnings:CASH:{user_id}"),
            kind: AccountKind::Earnings,
            currency: Currency::Cash,
            owner: Some(user_id.to_owned()),
        }
    }

    pub fn world(currency: Currency) -> Self {
        Self {
            id: format!("world:{currency}"),
            kind: AccountKind::World,
            currency,
            owner: None,
        }
    }

    /// The escrow of a mission's held pledges.
    pub fn escrow(mission_id: &str) -> Self {
        Self {
            id: format!("{ESCROW_PREFIX}{mission_id}"),
            kind: AccountKind::Escrow,
            currency: Currency::Cash,
            owner: Some(mission_id.to_owned()),
        }
    }

    /// The pool of a mission's prediction (points only).
    pub fn pool(mission_id: &str) -> Self {
        Self {
            id: format!("{POOL_PREFIX}{mission_id}"),
            kind: AccountKind::Pool,
            currency: Currency::Points,
            owner: Some(mission_id.to_owned()),
        }
    }

    /// The pool of a streamer's own prediction (points only; issue 31). Owned by the
    /// prediction, so no mission's pool check reads it.
    pub fn prediction_pool(prediction_id: &str) -> Self {
        Self {
            id: format!("{PREDICTION_PREFIX}{prediction_id}"),
            kind: AccountKind::Pool,
            currency: Currency::Points,
            owner: Some(prediction_id.to_owned()),
        }
    }

    /// A payout's hold: the streamer's earnings it took, until the bank pays them (out to the
    /// world) or they go back. Journal-only, of kind ESCROW (the accounts' kinds cannot grow on
    /// SQLite); owned by the payout, so no mission's escrow check ever reads it.
    pub fn payout_hold(payout_id: &str) -> Self {
        Self {
            id: format!("{PAYOUT_PREFIX}{payout_id}"),
            kind: AccountKind::Escrow,
            currency: Currency::Cash,
            owner: Some(payout_id.to_owned()),
        }
    }

    /// What `user_id` owes the platform: cash a provider gave back after it was spent
    /// (`receivable:CASH:<user>`, balance at most zero). Opened when first needed.
    pub fn receivable(user_id: &str) -> Self {
        Self {
            id: format!("receivable:CASH:{user_id}"),
            kind: AccountKind::Receivable,
            currency: Currency::Cash,
            owner: Some(user_id.to_owned()),
        }
    }

    pub fn platform_fee() -> Self {
        Self {
            id: "fee:CASH".to_owned(),
            kind: AccountKind::Fee,
            currency: Currency::Cash,
            owner: None,
        }
    }

    /// The mission whose escrow or pool `account_id` is, if it is one.
    pub fn mission_of(account_id: &str) -> Option<&str> {
        [ESCROW_PREFIX, POOL_PREFIX]
            .iter()
            .find_map(|prefix| account_id.strip_prefix(prefix))
    }

    /// The payout whose hold `account_id` is, if it is one.
    pub fn payout_of(account_id: &str) -> Option<&str> {
        account_id.strip_prefix(PAYOUT_PREFIX)
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> AccountKind {
        self.kind
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// Creates the accounts if they do not exist yet; existing ones are left untouched.
pub async fn open<C: ConnectionTrait>(db: &C, accounts: &[AccountId]) -> Result<(), LedgerError> {
    let now = Utc::now();
    let rows = accounts.iter().map(|a| account::ActiveModel {
        id: Set(a.id.clone()),
        kind: Set(a.kind),
        owner_id: Set(a.owner.clone()),
        currency: Set(a.currency.as_str().to_owned()),
        balance: Set(0),
        materialised: Set(a.kind.materialised()),
        created_at: Set(now),
    });
    account::Entity::insert_many(rows)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The accounts the system itself owns. Created by `missionlink migrate`.
pub fn system_accounts() -> Vec<AccountId> {
    vec![
        AccountId::world(Currency::Cash),
        AccountId::world(Currency::Points),
        AccountId::platform_fee(),
    ]
}

/// The accounts every user has: cash and points wallets, and streamer earnings.
pub fn user_accounts(user_id: &str) -> Vec<AccountId> {
    vec![
        AccountId::wallet(Currency::Cash, user_id),
        AccountId::wallet(Currency::Points, user_id),
        AccountId::earnings(user_id),
    ]
}
