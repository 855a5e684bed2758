//! Registration, login and refresh: the identity rules, callable without HTTP.

use super::active_users::ActiveUsers;
use super::input::{DisplayName, Email, Handle, Locale, Password};
use super::role::Role;
use super::suspension::suspended;
use super::tokens::{self, REFRESH_TOKEN_DAYS, TokenKeys};
use super::{password, throttle};
use crate::config::{LoginThrottle, RegisterThrottle};
use crate::error::{ApiError, ApiResult};
use anyhow::Context;
use chrono::{Duration, Utc};
use missionlink_entities::users::{refresh_token, user};
use missionlink_ledger::wallet;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use std::net::IpAddr;

/// A signed-in session: what `register`, `login` and `refresh` return.
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub user: user::Model,
}

/// What `register` receives, unvalidated.
pub struct Registration {
    pub email: String,
    pub password: String,
    pub handle: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub locale: Option<String>,
}

pub struct AuthService {
    pub users_db: DatabaseConnection,
    pub missions_db: DatabaseConnection,
    pub keys: TokenKeys,
    pub signup_points: i64,
    pub throttle: LoginThrottle,
    pub register_throttle: RegisterThrottle,
    /// Who may act now, for every authenticated request.
    pub active_users: ActiveUsers,
}

impl AuthService {
    /// Creates the user, then its ledger accounts with the signup points. Validates everything
    /// before writing anything; each valid attempt counts against the client address's
    /// registration limit before any work is done, and is given back if it is refused for its
    /// input (a taken email or handle), so a refusal changes nothing. `OPERATOR` is refused
    /// (`FORBIDDEN`) before anything else: operators are created from the command line.
    pub async fn register(&self, r: Registration, client: IpAddr) -> ApiResult<Session> {
        if r.role == Role::Operator {
            return Err(ApiError::Forbidden(
                "operators are created with `missionlink operator create`".into(),
            ));
        }
        let email = Email::parse(&r.email)?;
        let password = Password::parse(&r.password)?;
        let handle = Handle::parse(&r.handle)?;
        let display_name =
            DisplayName::parse(r.display_name.as_deref().unwrap_or(handle.as_str()))?;
        let locale = Locale::parse(r.locale.as_deref())?;

        let limit = &self.register_throttle;
        let bucket = format!("register:{client}");
        let Some(attempt) = throttle::acquire(
            &self.users_db,
            &bucket,
            limit.max_per_address,
            limit.window_seconds,
        )
        .await?
        else {
            return Err(ApiError::RateLimited(
                "too many registrations from this address; try again later".into(),
            ));
        };
        let created = self
            .create(&email, &password, &handle, &display_name, locale, r.role)
            .await;
        if let Err(ApiError::BadUserInput(_)) = &created {
            self.give_back(&[attempt]).await?;
        }
        created
    }

    async fn create(
        &self,
        email: &Email,
        password: &Password,
        handle: &Handle,
        display_name: &DisplayName,
        locale: Locale,
        role: Role,
    ) -> ApiResult<Session> {
        if self.email_taken(email).await? {
            return Err(ApiError::BadUserInput(
                "this email is already registered".into(),
            ));
        }
        if self.handle_taken(handle).await? {
            return Err(ApiError::BadUserInput(
                "this handle is already taken".into(),
            ));
        }
        let password_hash = password::hash(password.expose().to_owned()).await?;

        let user = user::Model {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.as_str().to_owned(),
            handle: handle.as_str().to_owned(),
            handle_key: handle.key(),
            display_name: display_name.as_str().to_owned(),
            role: role.as_str().to_owned(),
            locale: locale.as_str().to_owned(),
            password_hash,
            created_at: Utc::now(),
            suspended_at: None,
            suspended_until: None,
        };
        let txn = self.users_db.begin().await?;
        let inserted = user::Entity::insert(user::ActiveModel::from(user.clone()))
            .exec_without_returning(&txn)
            .await;
        if let Err(e) = inserted {
            // Two registrations racing for the same email or handle: the unique index decides.
            return Err(match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    ApiError::BadUserInput("this email or handle is already registered".into())
                }
                _ => e.into(),
            });
        }
        let refresh_token = self
            .issue_refresh(&txn, &user.id, &uuid::Uuid::now_v7().to_string())
            .await?;
        txn.commit().await?;

        // Second database, after the first committed. Idempotent, and repeated at every login,
        // so a failure here heals on the user's next sign-in.
        wallet::open_user(&self.missions_db, &user.id, self.signup_points).await?;

        Ok(Session {
            access_token: self.keys.issue_access(&user.id, role)?,
            refresh_token,
            user,
        })
    }

    /// Checks the password, subject to the failed-login throttle per email and per address. A
    /// suspended user with the right password is `USER_SUSPENDED` (the attempt is given back: it
    /// was no guess), with nothing issued; a wrong password says nothing of a suspension.
    pub async fn login(
        &self,
        raw_email: &str,
        raw_password: &str,
        client: IpAddr,
    ) -> ApiResult<Session> {
        let invalid = || ApiError::Unauthenticated("invalid email or password".into());
        // Oversized input is refused before any work; it can match no account anyway.
        if raw_email.len() > 4 * Email::MAX_CHARS || raw_password.len() > 4 * Password::MAX_CHARS {
            return Err(invalid());
        }
        let email = raw_email.trim().to_lowercase();
        let buckets = [
            (
                format!("email:{email}"),
                self.throttle.max_failures_per_email,
            ),
            (
                format!("addr:{client}"),
                self.throttle.max_failures_per_address,
            ),
        ];
        // Each attempt is counted before the password is checked, so guesses sent at once
        // cannot all be verified; a success gives its attempt back below.
        let mut counted = Vec::with_capacity(buckets.len());
        for (bucket, max) in &buckets {
            let Some(attempt) =
                throttle::acquire(&self.users_db, bucket, *max, self.throttle.window_seconds)
                    .await?
            else {
                self.give_back(&counted).await?;
                return Err(ApiError::RateLimited(
                    "too many failed logins; try again later".into(),
                ));
            };
            counted.push(attempt);
        }

        let found = user::Entity::find()
            .filter(user::Column::Email.eq(&email))
            .one(&self.users_db)
            .await?;
        let ok = password::verify(
            raw_password.to_owned(),
            found.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
        // A failure stays counted in every bucket.
        let user = match found {
            Some(user) if ok => user,
            _ => return Err(invalid()),
        };
        self.give_back(&counted).await?;
        if let Some(suspension) = suspended(&user, Utc::now()) {
            return Err(suspension.into());
        }

        wallet::open_user(&self.missions_db, &user.id, self.signup_points).await?;
        let refresh_token = self
            .issue_refresh(&self.users_db, &user.id, &uuid::Uuid::now_v7().to_string())
            .await?;
        self.session(user, refresh_token)
    }

    /// Exchanges a refresh token for a new session and rotates it. A token that was already
    /// rotated is being reused (stolen or replayed): its whole family is revoked. A suspended
    /// user's token is `USER_SUSPENDED` and stays as it was, usable once the suspension ends.
    pub async fn refresh(&self, presented: &str) -> ApiResult<Session> {
        let dead = || ApiError::Unauthenticated("refresh token is invalid or expired".into());
        if presented.is_empty() || presented.len() > 512 {
            return Err(dead());
        }
        let hash = tokens::hash_refresh_token(presented);
        let now = Utc::now();
        let Some(token) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(&hash))
            .one(&self.users_db)
            .await?
        else {
            return Err(dead());
        };
        if token.revoked_at.is_some() || token.expires_at <= now {
            return Err(dead());
        }
        // The conditional update below is the transaction's first statement: it takes the
        // write lock at once (SQLite) and decides any race on this token (both backends).
        let txn = self.users_db.begin().await?;
        // Rotation: only one caller can mark the token used. Losing this race, or finding it
        // already used, means the token was presented twice.
        let rotated = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(&token.id))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if rotated.rows_affected != 1 {
            refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
                .filter(refresh_token::Column::FamilyId.eq(&token.family_id))
                .filter(refresh_token::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
            txn.commit().await?;
            tracing::warn!(family = %token.family_id, user = %token.user_id,
                "refresh token reused; family revoked");
            return Err(ApiError::Unauthenticated(
                "refresh token was already used; please sign in again".into(),
            ));
        }
        let user = user::Entity::find_by_id(token.user_id.clone())
            .one(&txn)
            .await?
            .ok_or_else(dead)?;
        if let Some(suspension) = suspended(&user, now) {
            // Undoes the rotation: the token is not used up by a refusal.
            txn.rollback().await?;
            return Err(suspension.into());
        }
        let next = self.issue_refresh(&txn, &user.id, &token.family_id).await?;
        txn.commit().await?;
        self.session(user, next)
    }

    /// Gives back the attempts counted.
    async fn give_back(&self, attempts: &[throttle::Attempt]) -> ApiResult<()> {
        for attempt in attempts {
            throttle::release(&self.users_db, attempt).await?;
        }
        Ok(())
    }

    /// The user with this id.
    pub async fn user(&self, id: &str) -> ApiResult<user::Model> {
        user::Entity::find_by_id(id.to_owned())
            .one(&self.users_db)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such user".into()))
    }

    /// The user with this handle (case-insensitive), if any; a malformed handle is
    /// `BAD_USER_INPUT`.
    pub async fn user_by_handle(&self, handle: &str) -> ApiResult<Option<user::Model>> {
        let handle = Handle::parse(handle)?;
        Ok(user::Entity::find()
            .filter(user::Column::HandleKey.eq(handle.key()))
            .one(&self.users_db)
            .await?)
    }

    fn session(&self, user: user::Model, refresh_token: String) -> ApiResult<Session> {
        let role = Role::parse(&user.role)
            .with_context(|| format!("user {} has unknown role {:?}", user.id, user.role))?;
        Ok(Session {
            access_token: self.keys.issue_access(&user.id, role)?,
            refresh_token,
            user,
        })
    }

    async fn issue_refresh<C: ConnectionTrait>(
        &self,
        db: &C,
        user_id: &str,
        family_id: &str,
    ) -> ApiResult<String> {
        let (token, token_hash) = tokens::new_refresh_token();
        let now = Utc::now();
        refresh_token::Entity::insert(refresh_token::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            family_id: Set(family_id.to_owned()),
            user_id: Set(user_id.to_owned()),
            token_hash: Set(token_hash),
            created_at: Set(now),
            expires_at: Set(now + Duration::days(REFRESH_TOKEN_DAYS)),
            rotated_at: Set(None),
            revoked_at: Set(None),
        })
        .exec_without_returning(db)
        .await?;
        Ok(token)
    }

    async fn email_taken(&self, email: &Email) -> ApiResult<bool> {
        Ok(user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&self.users_db)
            .await?
            .is_some())
    }

    async fn handle_taken(&self, handle: &Handle) -> ApiResult<bool> {
        Ok(user::Entity::find()
            .filter(user::Column::HandleKey.eq(handle.key()))
            .one(&self.users_db)
            .await?
            .is_some())
    }
}
