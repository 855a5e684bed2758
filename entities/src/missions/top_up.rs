use super::status::TopUpStatus;
use sea_orm::entity::prelude::*;

/// A top-up through the payment provider: the order `prepareTopUp` hands the client, and what
/// became of it (issue 15).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "top_ups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// Ours, unique: the provider's `orderId`.
    pub order_id: String,
    pub amount: i64,
    pub status: TopUpStatus,
    /// `sandbox` or `toss`: who was asked to take the payment.
    pub provider: String,
    /// The provider's `paymentKey`, set when confirm begins (unique).
    pub payment_key: Option<String>,
    /// The Asia/Seoul date (`YYYY-MM-DD`) whose limit it counts against, set when confirm
    /// begins.
    pub kst_day: Option<String>,
    /// What the day's limit counts by ([`Model::limit_key`]): the person (`person:…`) or the
    /// user, as identity said when the order was prepared. `None` on top-ups from before
    /// missions migration 000018: the user.
    pub limit_key: Option<String>,
    /// Prepared by a verified minor (missions migration 000019): its confirm counts against the
    /// minors' monthly limit (`topup_months`, the Asia/Seoul month of `kst_day`) as well as the
    /// day's.
    pub minor: bool,
    pub created_at: DateTimeUtc,
    pub confirming_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub withdrawing_at: Option<DateTimeUtc>,
    pub withdrawn_at: Option<DateTimeUtc>,
    /// The provider's refusal (FAILED), or its refusal to cancel (back to CONFIRMED).
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// Won of this payment the provider has cancelled outside `cancelTopUp` (its console, the
    /// card issuer), as far as reconciliation cases record it (missions migration 000020).
    pub provider_cancelled_won: i64,
    /// Won of its withdrawal (`cancelTopUp`, all or part of it), from the time one begins;
    /// `None` on top-ups from before missions migration 000021, whose withdrawals were whole.
    pub withdrawn_won: Option<i64>,
}

impl Model {
    /// Won its withdrawal takes (the whole amount unless one was asked for part of it).
    pub fn withdrawal_won(&self) -> i64 {
        self.withdrawn_won.unwrap_or(self.amount)
    }

    /// The key of the `topup_days` row this top-up counts against.
    pub fn limit_key(&self) -> &str {
        self.limit_key.as_deref().unwrap_or(&self.user_id)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
