//! Registration, login and refresh: the identity rules, callable without HTTP.

use crate::account_mail::{self, CodeLifetimes};
use crate::error::{IdentityError, IdentityResult};
use crate::input::{self, DisplayName, Email, Handle, Password};
use crate::standing::ActiveUsers;
use crate::suspension::suspended;
use crate::tokens::{self, REFRESH_TOKEN_DAYS, TokenKeys};
use crate::verification::AccountEmailThrottle;
use crate::{password, reserved, throttle};
use chrono::{Duration, Utc};
use missionlink_entities::users::{AccountEmailKind, Locale, Role};
use missionlink_entities::users::{refresh_token, user};
use missionlink_ledger::input::Checks;
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

/// Failed-login limits over a fixed window. Failures are counted per (email, client address),
/// per client address, and per email from all addresses together with a much higher ceiling:
/// a stranger failing against someone's email locks out only their own address, and the
/// owner's right password from an address that has not been failing still signs in.
#[derive(Clone, Debug)]
pub struct LoginThrottle {
    /// For one email from one client address.
    pub max_failures_per_email: i64,
    /// For one email from every address together (guessing spread over many addresses).
    pub max_failures_per_email_total: i64,
    /// From one client address, whatever the email.
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
    /// `EMAIL_VERIFICATION_REQUIRED`: money actions wait for a proven address.
    pub email_verification_required: bool,
    /// `EMAIL_VERIFICATION_TTL_SECONDS`, `PASSWORD_RESET_TTL_SECONDS`.
    pub code_lifetimes: CodeLifetimes,
    pub account_email_throttle: AccountEmailThrottle,
    /// `STREAMER_SELF_REGISTRATION`: whether `register` takes `role: STREAMER` (development);
    /// otherwise streamers are verified ([`crate::streamers`]).
    pub streamer_self_registration: bool,
    /// `CHANNEL_VERIFIER`, `CHZZK_*`: who verifies `linkChannel`.
    pub channels: crate::channels::ChannelSettings,
    /// `IDENTITY_VERIFIER`, `PORTONE_*`, `IDENTITY_HASH_KEY`, `TOPUP_REQUIRES_IDENTITY`: who
    /// verifies `verifyIdentity`, and whether top-ups wait for it.
    pub persons: crate::persons::PersonSettings,
}

/// The accounts: registration, login, refresh, and who may act now.
pub struct Accounts {
    pub users_db: DatabaseConnection,
    pub missions_db: DatabaseConnection,
    pub keys: TokenKeys,
    pub signup_points: i64,
    pub throttle: LoginThrottle,
    pub register_throttle: RegisterThrottle,
    pub account_email_throttle: AccountEmailThrottle,
    /// Money actions wait for a proven address ([`Accounts::may_move_money`]).
    pub email_verification_required: bool,
    /// Who may act now, for every authenticated request.
    pub active_users: ActiveUsers,
    /// Whether `register` takes `role: STREAMER`.
    pub streamer_self_registration: bool,
    /// Verifies `linkChannel`'s codes.
    pub channel_verifier: std::sync::Arc<dyn crate::channels::ChannelVerifier>,
    /// Verifies people (`verifyIdentity`) and says whether top-ups wait for it.
    pub persons: crate::persons::Persons,
}

impl Accounts {
    pub fn new(
        settings: &Settings,
        users_db: DatabaseConnection,
        missions_db: DatabaseConnection,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            keys: TokenKeys::new(&settings.jwt_secret),
            signup_points: settings.signup_points,
            throttle: settings.login_throttle.clone(),
            register_throttle: settings.register_throttle.clone(),
            account_email_throttle: settings.account_email_throttle.clone(),
            email_verification_required: settings.email_verification_required,
            active_users: ActiveUsers::new(
                users_db.clone(),
                std::time::Duration::from_secs(settings.user_cache_seconds),
            ),
            users_db,
            missions_db,
            streamer_self_registration: settings.streamer_self_registration,
            channel_verifier: settings.channels.verifier()?,
            persons: settings.persons.persons()?,
        })
    }

    /// Creates the user, then its ledger accounts with the signup points. Validates everything
    /// before writing anything; each valid attempt counts against the client address's
    /// registration limit before any work is done, and is given back if it is refused for its
    /// input (a taken email or handle), so a refusal changes nothing. `OPERATOR` is refused
    /// (`FORBIDDEN`) before anything else: operators are created from the command line. So is
    /// `STREAMER` unless `STREAMER_SELF_REGISTRATION` is on: streamers are verified
    /// ([`crate::streamers`]).
    pub async fn register(&self, r: Registration, client: IpAddr) -> IdentityResult<Session> {
        if r.role == Role::Operator {
            return Err(IdentityError::Forbidden(
                "operators are created with `missionlink operator create`".into(),
            ));
        }
        if r.role == Role::Streamer && !self.streamer_self_registration {
            return Err(IdentityError::Forbidden(
                "streamers are verified: register as a VIEWER, then apply with applyAsStreamer (an \
                 operator approves it) or link your CHZZK channel with linkChannel"
                    .into(),
            ));
        }
        // Every field is checked, and every wrong one named in one refusal.
        let mut checks = Checks::default();
        let email = checks.value(Email::parse(&r.email));
        let password = checks.value(Password::parse(&r.password));
        let handle = checks.value(Handle::parse(&r.handle));
        if let Some(handle) = &handle {
            checks.check(reserved::refuse("handle", handle.as_str()));
        }
        // The display name is the handle's when none is given.
        let display_name = match (r.display_name.as_deref(), &handle) {
            (Some(name), _) => checks.value(DisplayName::parse(name)),
            (None, Some(handle)) => checks.value(DisplayName::parse(handle.as_str())),
            (None, None) => None,
        };
        if let Some(name) = &display_name {
            checks.check(reserved::refuse("displayName", name.as_str()));
        }
        let locale = checks.value(input::locale(r.locale.as_deref()));
        checks.done()?;
        let (Some(email), Some(password), Some(handle), Some(display_name), Some(locale)) =
            (email, password, handle, display_name, locale)
        else {
            return Err(IdentityError::Internal(anyhow::anyhow!(
                "a registration passed its checks without a value"
            )));
        };

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
        let mut checks = Checks::<IdentityError>::default();
        checks.require(!self.email_taken(email).await?, "email", || {
            "this email is already registered".into()
        });
        checks.require(!self.handle_taken(handle).await?, "handle", || {
            "this handle is already taken".into()
        });
        checks.done()?;
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
            session_epoch: 0,
            sessions_valid_after: None,
            email_verified_at: None,
            notify_accepted: true,
            notify_verifying: true,
        };
        let txn = self.users_db.begin().await?;
        let inserted = user::Entity::insert(user::ActiveModel::from(user.clone()))
            .exec_without_returning(&txn)
            .await;
        if let Err(e) = inserted {
            // Two registrations racing for the same email or handle: the unique index decides.
            return Err(match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(index)) => {
                    let field = if index.contains("handle") {
                        "handle"
                    } else {
                        "email"
                    };
                    IdentityError::invalid(field, format!("this {field} is already registered"))
                }
                _ => e.into(),
            });
        }
        let refresh_token = self
            .issue_refresh(&txn, &user.id, &uuid::Uuid::now_v7().to_string())
            .await?;
        // The verification email, sent by the worker: asked for in the same transaction, so an
        // account never exists without it.
        account_mail::enqueue(
            &txn,
            AccountEmailKind::VerifyEmail,
            Some(&user.id),
            &user.email,
        )
        .await?;
        txn.commit().await?;

        // Second database, after the first committed. Idempotent, and repeated at every login,
        // so a failure here heals on the user's next sign-in.
        wallet::open_user(&self.missions_db, &user.id, self.signup_points).await?;

        Ok(Session {
            access_token: self.keys.issue_access(&user.id, role, 0)?,
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
        let counted = self.count_failure(&email, client).await?;

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
        let txn = self.users_db.begin().await?;
        // The user's row first (and with it SQLite's write lock): a refresh and a sign-out of
        // the same user take it in that order, so a refresh either commits before a sign-out,
        // which then revokes the token it issued and moves past the epoch its access token
        // carries, or finds its token revoked below.
        if !crate::sessions::lock_user(&txn, &token.user_id).await? {
            return Err(dead());
        }
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

    /// Counts an attempt to prove `email`'s password from `client`, before the password is
    /// checked, in each failed-login bucket (per email from this address, per address, per
    /// email from every address): guesses sent at once cannot all be verified. Past any limit,
    /// `RATE_LIMITED` and nothing stays counted. A success gives the attempts back
    /// ([`Accounts::give_back`]); a failure leaves them counted.
    pub(crate) async fn count_failure(
        &self,
        email: &str,
        client: IpAddr,
    ) -> IdentityResult<Vec<throttle::Attempt>> {
        let buckets = [
            (
                format!("email-addr:{email}|{client}"),
                self.throttle.max_failures_per_email,
            ),
            (
                format!("addr:{client}"),
                self.throttle.max_failures_per_address,
            ),
            (
                format!("email:{email}"),
                self.throttle.max_failures_per_email_total,
            ),
        ];
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

        Ok(counted)
    }

    /// Counts a failed attempt from `client` alone (a code that opens nothing), before the
    /// lookup; past `LOGIN_MAX_FAILURES_PER_ADDRESS`, `RATE_LIMITED`. A success gives it back.
    pub(crate) async fn count_failure_from(
        &self,
        client: IpAddr,
    ) -> IdentityResult<Vec<throttle::Attempt>> {
        match throttle::acquire(
            &self.users_db,
            &format!("addr:{client}"),
            self.throttle.max_failures_per_address,
            self.throttle.window_seconds,
        )
        .await?
        {
            Some(attempt) => Ok(vec![attempt]),
            None => Err(IdentityError::RateLimited(
                "too many failed attempts from this address; try again later".into(),
            )),
        }
    }

    /// Gives back the attempts counted.
    pub(crate) async fn give_back(&self, attempts: &[throttle::Attempt]) -> IdentityResult<()> {
        for attempt in attempts {
            throttle::release(&self.users_db, attempt).await?;
        }
        Ok(())
    }

    /// Whether `user` may move money now: with `EMAIL_VERIFICATION_REQUIRED`, only once its
    /// address is proven. Points bets do not ask.
    pub fn may_move_money(&self, user: &user::Model) -> bool {
        !self.email_verification_required || user.email_verified_at.is_some()
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

    pub(crate) fn session(
        &self,
        user: user::Model,
        refresh_token: String,
    ) -> IdentityResult<Session> {
        Ok(Session {
            access_token: self
                .keys
                .issue_access(&user.id, user.role, user.session_epoch)?,
            refresh_token,
            user,
        })
    }

    pub(crate) async fn issue_refresh<C: ConnectionTrait>(
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
