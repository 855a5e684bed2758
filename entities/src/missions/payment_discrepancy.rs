use sea_orm::entity::prelude::*;

/// The payment provider's word about a top-up's payment that disagrees with our order (another
/// amount, another order, or a payment taken for an order we had failed): nothing was credited
/// for it, and an operator must settle it at the provider.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_discrepancies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The top-up and its order (the top-up row may be gone: an expired order is swept).
    pub top_up_id: String,
    pub order_id: String,
    pub payment_key: String,
    /// The order the provider says the payment belongs to.
    pub provider_order_id: String,
    pub provider_status: String,
    pub provider_amount: i64,
    pub found_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
