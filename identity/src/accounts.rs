//! Registration, login and refresh: the identity rules, callable without HTTP.

use crate::error::{IdentityError, IdentityResult};
use crate::input::{self, DisplayName, Email, Handle, Password};
use crate::standing::ActiveUsers;
use crate::suspension::suspended;
use crate::tokens::{self, REFRESH_TOKEN_DAYS, TokenKeys};
use crate::{password, reserved, throttle};
use chrono::{Duration, Utc};
use missionlink_entities::users::{Locale, Role};
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

/// Failed-login limits, per email address and per client address, over a fixed window.
#[derive(Clone, Debug)]
pub struct LoginThrottle {
    pub max_failures_per_email: i64,
    pub max_failures_per_address: i64,
    pub window_seconds: i64,
}

/// Registrations per client address, over a fixed window.
#[derive(Clone, Debug)]
pub struct RegisterThrottle {
    pub max_per_address: i64,
    pub window_seconds: i64,
}

/// The identity settings (the configuration's identity section).
#[derive(Clone, Debug)]
pub struct Settings {
    /// `JWT_SECRET`: the HS256 signing key of access tokens.
    pub jwt_secret: Vec<u8>,
    /// `SIGNUP_POINTS`: the free points a new account starts with.
    pub signup_points: i64,
    pub login_throttle: LoginThrottle,
    pub register_throttle: RegisterThrottle,
    /// `USER_CACHE_SECONDS`: how long a user found is believed without asking again.
    pub user_cache_seconds: u64,
}

/// The accounts: registration, login, refresh, and who may act now.
pub struct Accounts {
    pub users_db: DatabaseConnection,
    pub missions_db: DatabaseConnection,
    pub keys: TokenKeys,
    pub signup_points: i64,
    pub throttle: LoginThrottle,
    pub register_throttle: RegisterThrottle,
    /// Who may act now, for every authenticated request.
    pub active_users: ActiveUsers,
}

impl Accounts {
    pub fn new(
        settings: &Settings,
        users_db: DatabaseConnection,
        missions_db: DatabaseConnection,
    ) -> Self {
        Self {
            keys: TokenKeys::new(&settings.jwt_secret),
            signup_points: settings.signup_points,
            throttle: settings.login_throttle.clone(),
            register_throttle: settings.register_throttle.clone(),
            active_users: ActiveUsers::new(
                users_db.clone(),
                std::time::Duration::from_secs(settings.user_cache_seconds),
            ),
            users_db,
            missions_db,
        }
    }

    /// Creates the user, then its ledger accounts with the signup points. Validates everything
    /// before writing anything; each valid attempt counts against the client address's
    /// registration limit before any work is done, and is given back if it is refused for its
    /// input (a taken email or handle), so a refusal changes nothing. `OPERATOR` is refused
    /// (`FORBIDDEN`) before anything else: operators are created from the command line.
    pub async fn register(&self, r: Registration, client: IpAddr) -> IdentityResult<Session> {
        if r.role == Role::Operator {
            return Err(IdentityError::Forbidden(
                "operators are created with `missionlink operator create`".into(),
            ));
        }
        let email = Email::parse(&r.email)?;
        let password = Password::parse(&r.password)?;
        let handle = Handle::parse(&r.handle)?;
        let display_name =
            DisplayName::parse(r.display_name.as_deref().unwrap_or(handle.as_str()))?;
        let locale = input::locale(r.locale.as_deref())?;
        reserved::refuse("handle", handle.as_str())?;
        reserved::refuse("displayName", display_name.as_str())?;

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
            return Err(IdentityError::RateLimited(
                "too many registrations from this address; try again later".into(),
            ));
        };
        let created = self
            .create(&email, &password, &handle, &display_name, locale, r.role)
            .await;
        if let Err(IdentityError::BadInput(_)) = &created {
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
    ) -> IdentityResult<Session> {
        if self.email_taken(email).await? {
            return Err(IdentityError::BadInput(
                "this email is already registered".into(),
            ));
        }
        if self.handle_taken(handle).await? {
            return Err(IdentityError::BadInput(
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
            role,
            locale,
            password_hash,
            created_at: Utc::now(),
            suspended_at: None,
            suspended_until: None,
            sessions_valid_after: None,
        };
        let txn = self.users_db.begin().await?;
        let inserted = user::Entity::insert(user::ActiveModel::from(user.clone()))
            .exec_without_returning(&txn)
            .await;
        if let Err(e) = inserted {
            // Two registrations racing for the same email or handle: the unique index decides.
            return Err(match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    IdentityError::BadInput("this email or handle is already registered".into())
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
    ) -> IdentityResult<Session> {
        let invalid = || IdentityError::Unauthenticated("invalid email or password".into());
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
                return Err(IdentityError::RateLimited(
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
    pub async fn refresh(&self, presented: &str) -> IdentityResult<Session> {
        let dead = || IdentityError::Unauthenticated("refresh token is invalid or expired".into());
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
            return Err(IdentityError::Unauthenticated(
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
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(refresh_token::Column::FamilyId.eq(&token.family_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.users_db)
            .await?;
        Ok(())
    }

    /// Signs `user_id` out everywhere: every refresh-token family revoked and every access token
    /// issued until now refused (`sessions_valid_after`), in one transaction. This process
    /// refuses them at once; other API processes within `USER_CACHE_SECONDS`, and a live
    /// websocket is closed within `STANDING_CHECK` after that.
    pub async fn logout_everywhere(&self, user_id: &str) -> IdentityResult<()> {
        let now = Utc::now();
        let txn = self.users_db.begin().await?;
        let updated = user::Entity::update_many()
            .col_expr(user::Column::SessionsValidAfter, Expr::value(now))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(IdentityError::NotFound("no such user".into()));
        }
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.active_users.forget(user_id).await;
        Ok(())
    }

    /// Gives back the attempts counted.
    async fn give_back(&self, attempts: &[throttle::Attempt]) -> IdentityResult<()> {
        for attempt in attempts {
            throttle::release(&self.users_db, attempt).await?;
        }
        Ok(())
    }

    /// The user with this id.
    pub async fn user(&self, id: &str) -> IdentityResult<user::Model> {
        crate::users::get(&self.users_db, id).await
    }

    /// The user with this handle (case-insensitive), if any; a malformed handle is
    /// `BAD_USER_INPUT`.
    pub async fn user_by_handle(&self, handle: &str) -> IdentityResult<Option<user::Model>> {
        crate::users::by_handle(&self.users_db, handle).await
    }

    fn session(&self, user: user::Model, refresh_token: String) -> IdentityResult<Session> {
        Ok(Session {
            access_token: self.keys.issue_access(&user.id, user.role)?,
            refresh_token,
            user,
        })
    }

    async fn issue_refresh<C: ConnectionTrait>(
        &self,
        db: &C,
        user_id: &str,
        family_id: &str,
    ) -> IdentityResult<String> {
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

    async fn email_taken(&self, email: &Email) -> IdentityResult<bool> {
        Ok(user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&self.users_db)
            .await?
            .is_some())
    }

    async fn handle_taken(&self, handle: &Handle) -> IdentityResult<bool> {
        Ok(user::Entity::find()
            .filter(user::Column::HandleKey.eq(handle.key()))
            .one(&self.users_db)
            .await?
            .is_some())
    }
}
