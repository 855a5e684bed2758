//! A user's own profile: the display name and the locale of their emails and overlay, and
//! which optional emails they want.

use crate::accounts::Accounts;
use crate::error::IdentityResult;
use crate::input::{self, DisplayName};
use crate::reserved;
use missionlink_entities::users::user;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

impl Accounts {
    /// Changes `user_id`'s display name and/or locale (`None`: left as it is), under the same
    /// rules as registration (the text rule, reserved names, `ko`/`en`). Either refused input
    /// changes nothing. The new name shows at once; the new locale governs every email composed
    /// from now on.
    pub async fn update_profile(
        &self,
        user_id: &str,
        display_name: Option<&str>,
        locale: Option<&str>,
    ) -> IdentityResult<user::Model> {
        let display_name = display_name.map(DisplayName::parse).transpose()?;
        if let Some(name) = &display_name {
            reserved::refuse("displayName", name.as_str())?;
        }
        let locale = locale.map(|l| input::locale(Some(l))).transpose()?;
        let mut update = user::Entity::update_many().filter(user::Column::Id.eq(user_id));
        if let Some(name) = &display_name {
            update = update.col_expr(user::Column::DisplayName, Expr::value(name.as_str()));
        }
        if let Some(locale) = locale {
            update = update.col_expr(user::Column::Locale, Expr::value(locale.as_str()));
        }
        if display_name.is_some() || locale.is_some() {
            update.exec(&self.users_db).await?;
            self.active_users.forget(user_id).await;
        }
        self.user(user_id).await
    }

    /// Turns `user_id`'s optional emails on or off (`None`: left as it is): the notice that a
    /// mission they back was accepted, and the one that its success verdict is open to their
    /// objection. Settlement emails and receipts are never optional. A notice already being
    /// sent reads the choice as it is when its page is composed.
    pub async fn update_notification_preferences(
        &self,
        user_id: &str,
        accepted: Option<bool>,
        verifying: Option<bool>,
    ) -> IdentityResult<user::Model> {
        let mut update = user::Entity::update_many().filter(user::Column::Id.eq(user_id));
        if let Some(on) = accepted {
            update = update.col_expr(user::Column::NotifyAccepted, Expr::value(on));
        }
        if let Some(on) = verifying {
            update = update.col_expr(user::Column::NotifyVerifying, Expr::value(on));
        }
        if accepted.is_some() || verifying.is_some() {
            update.exec(&self.users_db).await?;
        }
        self.user(user_id).await
    }
}
