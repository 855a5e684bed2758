use super::status::{PayoutKind, PayoutStatus};
use sea_orm::entity::prelude::*;

/// A streamer's request to be paid out, with the account snapshotted at the request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub streamer_id: String,
    /// Won taken from earnings: the bank is sent `amount - fee`.
    pub amount: i64,
    pub fee: i64,
    pub bank_code: String,
    /// Never shown; only the bank step reads it.
    pub account_number: String,
    pub account_masked: String,
    pub holder_name: String,
    pub status: PayoutStatus,
    pub failure_reason: Option<String>,
    /// The bank's idempotency key for this payout.
    pub bank_request_id: String,
    pub requested_at: DateTimeUtc,
    pub hold_until: DateTimeUtc,
    pub processing_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub workflow_started_at: Option<DateTimeUtc>,
    /// Held: the payout waits for an operator instead of leaving for the bank (`None`: not
    /// held).
    pub held_at: Option<DateTimeUtc>,
    /// The operator action that holds it: a `HOLD_PAYOUT`, or the `SUSPEND_USER` that made the
    /// workflow hold it.
    pub held_by: Option<String>,
    /// Earnings paid out, or a viewer's remaining cash refunded (missions migration 000021).
    pub kind: PayoutKind,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
