//! Identity: access tokens' key, a new account's points, the login and registration
//! throttles, how long a user's standing is believed, proven addresses (whether money waits for
//! one, how long codes live, how many account emails may be asked for), and whether streamers
//! register themselves (with `crate::channels`, who verifies their channels). The section is
//! `missionlink_identity::Settings` itself.

use crate::var::{Env, Var};
use crate::{AppEnv, ConfigError, err};
use missionlink_identity::Settings;
use missionlink_identity::account_mail::CodeLifetimes;
use missionlink_identity::accounts::{LoginThrottle, RegisterThrottle};
use missionlink_identity::verification::AccountEmailThrottle;

/// Shortest accepted `JWT_SECRET`, in bytes (HS256 wants at least its 256-bit output size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Required in production: see [`crate::Config::validate`].
pub const JWT_SECRET: Var = Var::optional(
    "JWT_SECRET",
    "generated per process when `APP_ENV=dev`; required (≥ 32 bytes) in production",
    "HS256 signing key",
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
    "failed logins per email from one client address per window before `RATE_LIMITED` (for \
     that address only)",
);

pub const LOGIN_MAX_FAILURES_PER_EMAIL_TOTAL: Var = Var::int(
    "LOGIN_MAX_FAILURES_PER_EMAIL_TOTAL",
    100,
    1..=1_000_000,
    "failed logins per email from all addresses together per window: the ceiling on guessing \
     spread over many addresses",
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
    "the throttle's window",
);

pub const REGISTER_MAX_PER_ADDRESS: Var = Var::int(
    "REGISTER_MAX_PER_ADDRESS",
    10,
    1..=1_000_000_000,
    "`register` attempts per client address per window before `RATE_LIMITED`, counted before \
     any work",
);

pub const REGISTER_WINDOW_SECONDS: Var = Var::int(
    "REGISTER_WINDOW_SECONDS",
    3_600,
    1..=86_400,
    "the registration throttle's window",
);

pub const USER_CACHE_SECONDS: Var = Var::int(
    "USER_CACHE_SECONDS",
    5,
    0..=300,
    "every authenticated request checks that its token's user exists and is not suspended; a \
     user found is believed for this long, so a deleted user's live tokens stop working \
     within it (`UNAUTHENTICATED`), and a suspended one's too (`USER_SUSPENDED`; a \
     suspension's end is judged by the clock on every request, cached or not)",
);

pub const EMAIL_VERIFICATION_REQUIRED: Var = Var::text(
    "EMAIL_VERIFICATION_REQUIRED",
    "true",
    "`true` or `false`: whether top-ups, proposals, pledges, payout accounts and requests, \
     and streamer applications wait until the account's address is proven \
     (`EMAIL_NOT_VERIFIED`); `scripts/run` sets `false`",
);

pub const EMAIL_VERIFICATION_TTL_SECONDS: Var = Var::int(
    "EMAIL_VERIFICATION_TTL_SECONDS",
    86_400,
    60..=2_592_000,
    "how long a code proving an address works after it is sent (60 to 2,592,000)",
);

pub const PASSWORD_RESET_TTL_SECONDS: Var = Var::int(
    "PASSWORD_RESET_TTL_SECONDS",
    3_600,
    60..=86_400,
    "how long a password-reset code works after it is sent (60 to 86,400)",
);

pub const ACCOUNT_EMAILS_MAX_PER_EMAIL: Var = Var::int(
    "ACCOUNT_EMAILS_MAX_PER_EMAIL",
    5,
    1..=1_000_000,
    "verification, change-of-address and reset emails asked for one address from one client \
     address per window, whether or not an account has it; a stranger uses up only their own \
     allowance",
);

pub const ACCOUNT_EMAILS_MAX_PER_EMAIL_TOTAL: Var = Var::int(
    "ACCOUNT_EMAILS_MAX_PER_EMAIL_TOTAL",
    30,
    1..=1_000_000,
    "the same for one address from all client addresses together: what many clients can send \
     one mailbox",
);

pub const ACCOUNT_EMAILS_MAX_PER_ADDRESS: Var = Var::int(
    "ACCOUNT_EMAILS_MAX_PER_ADDRESS",
    20,
    1..=1_000_000,
    "account emails asked from one client address per window, whatever the address",
);

pub const ACCOUNT_EMAILS_WINDOW_SECONDS: Var = Var::int(
    "ACCOUNT_EMAILS_WINDOW_SECONDS",
    3_600,
    1..=86_400,
    "the account email limits' window",
);

pub const STREAMER_SELF_REGISTRATION: Var = Var::text(
    "STREAMER_SELF_REGISTRATION",
    "false",
    "`true` lets `register` take `role: STREAMER` unverified (development; `scripts/run` \
     sets it). `false`: such a registration is `FORBIDDEN` and viewers become streamers \
     through `applyAsStreamer` and an operator's approval, or `linkChannel`",
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
    EMAIL_VERIFICATION_REQUIRED,
    EMAIL_VERIFICATION_TTL_SECONDS,
    PASSWORD_RESET_TTL_SECONDS,
    ACCOUNT_EMAILS_MAX_PER_EMAIL,
    ACCOUNT_EMAILS_MAX_PER_EMAIL_TOTAL,
    ACCOUNT_EMAILS_MAX_PER_ADDRESS,
    ACCOUNT_EMAILS_WINDOW_SECONDS,
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
        email_verification_required: env.flag(&EMAIL_VERIFICATION_REQUIRED)?,
        code_lifetimes: CodeLifetimes {
            verify_email: chrono::Duration::seconds(env.int(&EMAIL_VERIFICATION_TTL_SECONDS)?),
            reset_password: chrono::Duration::seconds(env.int(&PASSWORD_RESET_TTL_SECONDS)?),
        },
        account_email_throttle: AccountEmailThrottle {
            max_per_email: env.int(&ACCOUNT_EMAILS_MAX_PER_EMAIL)?,
            max_per_email_total: env.int(&ACCOUNT_EMAILS_MAX_PER_EMAIL_TOTAL)?,
            max_per_address: env.int(&ACCOUNT_EMAILS_MAX_PER_ADDRESS)?,
            window_seconds: env.int(&ACCOUNT_EMAILS_WINDOW_SECONDS)?,
        },
        streamer_self_registration: env.flag(&STREAMER_SELF_REGISTRATION)?,
        channels: crate::channels::read(env)?,
        persons: crate::persons::read(env)?,
    })
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
