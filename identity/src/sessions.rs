//! Signing out: one session (`logout`, its refresh-token family), every session
//! (`logoutEverywhere`: every family revoked, and `users.session_epoch` moved on, so
//! [`crate::ActiveUsers`] refuses every access token carrying an older one), and a password
//! change, which ends every other session the same way. Refreshes and sign-outs of one user
//! take the user's row first ([`lock_user`]), so none of them slips a session past another.

use crate::accounts::{Accounts, Session};
use crate::error::{IdentityError, IdentityResult};
use crate::input::Password;
use crate::{password, tokens};
use chrono::Utc;
use missionlink_entities::users::{refresh_token, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use std::net::IpAddr;

impl Accounts {
    /// Signs out the session `presented` belongs to: its whole refresh-token family is revoked,
    /// so neither it nor any token rotated from it refreshes again. The access token the client
    /// holds lapses on its own within 15 minutes; a client discards it. An unknown, expired or
    /// already revoked token changes nothing and is no error: signing out twice is signing out.
    pub async fn logout(&self, presented: &str) -> IdentityResult<()> {
        if presented.is_empty() || presented.len() > 512 {
            return Ok(());
        }
        let hash = tokens::hash_refresh_token(presented);
        let Some(token) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(&hash))
            .one(&self.users_db)
            .await?
        else {
            return Ok(());
        };
        let txn = self.users_db.begin().await?;
        // After any refresh of this family in flight (see `refresh`), so its new token is
        // revoked too.
        lock_user(&txn, &token.user_id).await?;
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(refresh_token::Column::FamilyId.eq(&token.family_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Signs `user_id` out everywhere: every refresh-token family revoked and every access token
    /// issued until now refused (`sessions_valid_after`), in one transaction. This process
    /// refuses them at once; other API processes within `USER_CACHE_SECONDS`, and a live
    /// websocket is closed within `STANDING_CHECK` after that.
    pub async fn logout_everywhere(&self, user_id: &str) -> IdentityResult<()> {
        self.end_every_session(user_id, None, false).await?;
        Ok(())
    }

    /// Changes `user_id`'s password, proven by `current`, and ends every other session of theirs
    /// as [`Accounts::logout_everywhere`] does (in the same transaction as the new hash): the
    /// answer is the one session left, fresh. A wrong current password counts as a failed login
    /// (the same buckets, so it cannot be guessed here either) and changes nothing.
    pub async fn change_password(
        &self,
        user_id: &str,
        current: &str,
        new: &str,
        client: IpAddr,
    ) -> IdentityResult<Session> {
        let new = Password::parse(new)?;
        let user = self.user(user_id).await?;
        let counted = self.count_failure(&user.email, client).await?;
        let ok = password::verify(current.to_owned(), Some(user.password_hash.clone())).await?;
        if !ok {
            return Err(IdentityError::Unauthenticated(
                "the current password is not right".into(),
            ));
        }
        self.give_back(&counted).await?;
        let hash = password::hash(new.expose().to_owned()).await?;
        let refresh_token = self
            .end_every_session(user_id, Some(hash), true)
            .await?
            .ok_or_else(|| IdentityError::Internal(anyhow::anyhow!("no refresh token issued")))?;
        let user = self.user(user_id).await?;
        self.session(user, refresh_token)
    }

    /// In one transaction: every session ended ([`end_sessions`]) and a new session's refresh
    /// token when asked for; then this process forgets its cached row.
    async fn end_every_session(
        &self,
        user_id: &str,
        password_hash: Option<String>,
        new_session: bool,
    ) -> IdentityResult<Option<String>> {
        let txn = self.users_db.begin().await?;
        end_sessions(&txn, user_id, password_hash).await?;
        let issued = if new_session {
            Some(
                self.issue_refresh(&txn, user_id, &uuid::Uuid::now_v7().to_string())
                    .await?,
            )
        } else {
            None
        };
        txn.commit().await?;
        self.active_users.forget(user_id).await;
        Ok(issued)
    }
}

/// Inside the caller's transaction: `session_epoch` moved on and `sessions_valid_after` now,
/// every refresh token revoked, and the password hash replaced when one is given. The first
/// statement takes the user's row (see `refresh`). The caller forgets the cached row after
/// committing.
pub(crate) async fn end_sessions<C: ConnectionTrait>(
    txn: &C,
    user_id: &str,
    password_hash: Option<String>,
) -> IdentityResult<()> {
    let now = Utc::now();
    let mut update = user::Entity::update_many()
        .col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch).add(1),
        )
        .col_expr(user::Column::SessionsValidAfter, Expr::value(now))
        .filter(user::Column::Id.eq(user_id));
    if let Some(hash) = password_hash {
        update = update.col_expr(user::Column::PasswordHash, Expr::value(hash));
    }
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(IdentityError::NotFound("no such user".into()));
    }
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Takes `user_id`'s row for the rest of the transaction (on SQLite, the write lock), so that
/// refreshes and sign-outs of one user run one after the other; `false` if there is no such
/// user.
pub(crate) async fn lock_user<C: ConnectionTrait>(txn: &C, user_id: &str) -> IdentityResult<bool> {
    let locked = user::Entity::update_many()
        .col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    Ok(locked.rows_affected == 1)
}
