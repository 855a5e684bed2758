//! Every read of a user by the rest of the system goes through here: the API's loaders and
//! lookups, and the worker's email recipients. Each read takes only what its caller needs; the
//! worker never sees a password hash.

use crate::error::{IdentityError, IdentityResult};
use crate::input::Handle;
use missionlink_entities::users::{Locale, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use std::collections::HashMap;

/// Whom an email goes to, in which language, and the name the emails show for them.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct Recipient {
    pub id: String,
    pub email: String,
    pub locale: Locale,
    pub display_name: String,
    /// Whether they want the notice that a mission they back was accepted.
    pub notify_accepted: bool,
    /// Whether they want the notice that a success verdict is open to their objection.
    pub notify_verifying: bool,
}

fn recipient_columns() -> sea_orm::Select<user::Entity> {
    user::Entity::find().select_only().columns([
        user::Column::Id,
        user::Column::Email,
        user::Column::Locale,
        user::Column::DisplayName,
        user::Column::NotifyAccepted,
        user::Column::NotifyVerifying,
    ])
}

/// The recipient `id`, if that user exists.
pub async fn recipient<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Recipient>, DbErr> {
    recipient_columns()
        .filter(user::Column::Id.eq(id))
        .into_model::<Recipient>()
        .one(db)
        .await
}

/// The recipients among `ids` that exist, by id.
pub async fn recipients<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<HashMap<String, Recipient>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(recipient_columns()
        .filter(user::Column::Id.is_in(ids.iter().cloned()))
        .into_model::<Recipient>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect())
}

/// The user `id`, if any.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id.to_owned()).one(db).await
}

/// The user `id`; `NOT_FOUND` if there is none.
pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> IdentityResult<user::Model> {
    find(db, id)
        .await?
        .ok_or_else(|| IdentityError::NotFound("no such user".into()))
}

/// The users among `ids` that exist, by id.
pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<HashMap<String, user::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect())
}

/// The user with this email address (trimmed, case-insensitive), if any.
pub async fn by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await
}

/// The user with this handle (case-insensitive), if any; a malformed handle is `BAD_USER_INPUT`.
pub async fn by_handle<C: ConnectionTrait>(
    db: &C,
    handle: &str,
) -> IdentityResult<Option<user::Model>> {
    let handle = Handle::parse(handle)?;
    Ok(user::Entity::find()
        .filter(user::Column::HandleKey.eq(handle.key()))
        .one(db)
        .await?)
}
