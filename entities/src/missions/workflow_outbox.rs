use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub mission_id: String,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    /// The status the workflow has not been told about yet.
    pub pending_signal: Option<String>,
    pub signal_requested_at: Option<DateTimeUtc>,
    /// The operator action (an `operator_actions` id) behind the pending change: delivered as
    /// the `operatorAction` signal instead of `statusChanged`.
    pub pending_action: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
