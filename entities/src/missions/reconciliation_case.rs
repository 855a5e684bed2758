//! A disagreement with a payment provider or bank, kept until an operator settles it.

use super::status::{CaseAction, CaseKind, CaseStatus, DeliveryStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: CaseKind,
    /// What the case is about, unique per kind: one case per provider's word (e.g.
    /// `top-up:<id>:cancelled:<won>`), however often it is delivered.
    pub subject: String,
    pub status: CaseStatus,
    /// Whose money it is.
    pub user_id: String,
    pub top_up_id: Option<String>,
    /// The provider's payment, for a refund at the provider.
    pub payment_key: Option<String>,
    pub payout_id: Option<String>,
    /// Won in question (> 0): cancelled at the provider, taken and not credited, or sent back.
    pub amount: i64,
    /// What the provider or bank said, for the operator.
    pub detail: String,
    pub opened_at: DateTimeUtc,
    pub resolution: Option<CaseAction>,
    /// The operator action that settled it.
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    /// Won the resolution took from the wallet.
    pub debited: i64,
    /// Won the resolution recorded as owed.
    pub owed: i64,
    /// Won the resolution gave back to the streamer's earnings (a payout the bank sent back;
    /// missions migration 000021).
    pub returned: i64,
    /// The notice owed to the user once resolved with a movement of theirs (missions
    /// migration 000021): claimed until, sent when, how it ended.
    pub notice_claimed_until: Option<DateTimeUtc>,
    pub notice_sent_at: Option<DateTimeUtc>,
    pub notice_status: Option<DeliveryStatus>,
    pub notice_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
