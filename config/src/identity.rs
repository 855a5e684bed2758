//! Identity: access tokens' key, a new account's points, the login and registration
//! throttles, how long a user's standing is believed, and whether streamers register themselves
//! (with `crate::channels`, who verifies their channels). The section is
//! `missionlink_identity::Settings` itself.

use crate::var::{Env, Var};
use crate::{AppEnv, ConfigError, err};
use missionlink_identity::Settings;
use missionlink_identity::accounts::{LoginThrottle, RegisterThrottle};

/// Shortest accepted `JWT_SECRET`, in bytes (HS256 wants at least its 256-bit output size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Required in production: see [`crate::Config::validate`].
pub const JWT_SECRET: Var = Var::optional(
    "JWT_SECRET",
    "generated when APP_ENV=dev",
    "access-token signing key, >= 32 bytes",
);

pub const SIGNUP_POINTS: Var = Var::int(
    "SIGNUP_POINTS",
    1_000,
    0..=1_000_000_000,
    "game points granted at registration",
);

pub const LOGIN_MAX_FAILURES_PER_EMAIL: Var = Var::int(
    "LOGIN_MAX_FAILURES_PER_EMAIL",
    5,
    1..=1_000_000,
    "failed logins per email from one client address per window; then that address is \
     refused for that email (others are not)",
);

pub const LOGIN_MAX_FAILURES_PER_EMAIL_TOTAL: Var = Var::int(
    "LOGIN_MAX_FAILURES_PER_EMAIL_TOTAL",
    100,
    1..=1_000_000,
    "failed logins per email from all client addresses together per window: the ceiling on \
     guessing spread over many addresses, far above the per-address limit so a stranger \
     cannot lock the owner out",
);

pub const LOGIN_MAX_FAILURES_PER_ADDRESS: Var = Var::int(
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    50,
    1..=1_000_000,
    "failed logins per client address per window",
);

pub const LOGIN_THROTTLE_WINDOW_SECONDS: Var = Var::int(
    "LOGIN_THROTTLE_WINDOW_SECONDS",
    900,
    1..=86_400,
    "login throttle window",
);

pub const REGISTER_MAX_PER_ADDRESS: Var = Var::int(
    "REGISTER_MAX_PER_ADDRESS",
    10,
    1..=1_000_000_000,
    "registrations per client address per window, counted before any work",
);

pub const REGISTER_WINDOW_SECONDS: Var = Var::int(
    "REGISTER_WINDOW_SECONDS",
    3_600,
    1..=86_400,
    "registration throttle window",
);

pub const USER_CACHE_SECONDS: Var = Var::int(
    "USER_CACHE_SECONDS",
    5,
    0..=300,
    "how long a token's user row is believed without asking the users database again; \
     a deleted or suspended user stops acting within it",
);

pub const STREAMER_SELF_REGISTRATION: Var = Var::text(
    "STREAMER_SELF_REGISTRATION",
    "false",
    "`true` lets `register` take role STREAMER (development: scripts/run sets it); `false` \
     refuses it with FORBIDDEN, and viewers become streamers by applyAsStreamer and an \
     operator's approval, or linkChannel",
);

pub const VARIABLES: &[Var] = &[
    JWT_SECRET,
    SIGNUP_POINTS,
    LOGIN_MAX_FAILURES_PER_EMAIL,
    LOGIN_MAX_FAILURES_PER_EMAIL_TOTAL,
    LOGIN_MAX_FAILURES_PER_ADDRESS,
    LOGIN_THROTTLE_WINDOW_SECONDS,
    REGISTER_MAX_PER_ADDRESS,
    REGISTER_WINDOW_SECONDS,
    USER_CACHE_SECONDS,
    STREAMER_SELF_REGISTRATION,
];

pub(crate) fn read(env: &Env) -> Result<Settings, ConfigError> {
    Ok(Settings {
        jwt_secret: jwt_secret(env)?,
        signup_points: env.int(&SIGNUP_POINTS)?,
        login_throttle: LoginThrottle {
            max_failures_per_email: env.int(&LOGIN_MAX_FAILURES_PER_EMAIL)?,
            max_failures_per_email_total: env.int(&LOGIN_MAX_FAILURES_PER_EMAIL_TOTAL)?,
            max_failures_per_address: env.int(&LOGIN_MAX_FAILURES_PER_ADDRESS)?,
            window_seconds: env.int(&LOGIN_THROTTLE_WINDOW_SECONDS)?,
        },
        register_throttle: RegisterThrottle {
            max_per_address: env.int(&REGISTER_MAX_PER_ADDRESS)?,
            window_seconds: env.int(&REGISTER_WINDOW_SECONDS)?,
        },
        user_cache_seconds: env.int(&USER_CACHE_SECONDS)?,
        streamer_self_registration: env.parse(&STREAMER_SELF_REGISTRATION, flag)?,
        channels: crate::channels::read(env)?,
    })
}

/// `true` or `false` (any letter case).
pub(crate) fn flag(raw: String) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{raw:?} is neither true nor false")),
    }
}

/// `JWT_SECRET`, at least [`MIN_JWT_SECRET_BYTES`] long. Unset in dev, a random secret for
/// this process; unset in production, empty, which [`crate::Config::validate`] refuses.
fn jwt_secret(env: &Env) -> Result<Vec<u8>, ConfigError> {
    match env.raw(&JWT_SECRET).filter(|s| !s.is_empty()) {
        Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => Ok(secret.into_bytes()),
        Some(_) => Err(err(
            JWT_SECRET.name,
            format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
        )),
        None if env.app_env == AppEnv::Dev => {
            tracing::warn!(
                "JWT_SECRET is unset: using a random development secret; tokens will not \
                 survive a restart or work across processes"
            );
            let mut secret = vec![0u8; MIN_JWT_SECRET_BYTES];
            rand::fill(&mut secret[..]);
            Ok(secret)
        }
        None => Ok(Vec::new()),
    }
}
