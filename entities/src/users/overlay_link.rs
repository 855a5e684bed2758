use sea_orm::entity::prelude::*;

/// One of a streamer's overlay links (one per device), its token stored as its SHA-256. The link
/// `default-<user id>` is the one `rotateOverlayToken` replaces.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "overlay_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    /// When its current token was issued.
    pub issued_at: DateTimeUtc,
    /// When a page with it was last seen (loaded, or following its feed).
    pub last_seen_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
