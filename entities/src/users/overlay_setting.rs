use sea_orm::entity::prelude::*;

/// How a streamer's overlay shows things; a streamer without a row has the defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "overlay_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// Pledges below this many won update the cards but raise no alert.
    pub min_alert_won: i64,
    pub alert_seconds: i32,
    pub show_messages: bool,
    /// 100 to 250: the page's size, in percent.
    pub scale_percent: i32,
    /// `TOP_LEFT`, `TOP_RIGHT`, `BOTTOM_LEFT` or `BOTTOM_RIGHT`: where the mission cards sit.
    pub position: String,
    pub max_cards: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
