//! Verifying streamers' channels through a platform's OAuth API (`linkChannel`):
//! `CHANNEL_VERIFIER`, `CHANNEL_VERIFY_TIMEOUT_SECONDS`, `CHZZK_*`. Part of the identity
//! section (`missionlink_identity::channels::ChannelSettings`).

use crate::var::{Env, Var};
use crate::{ConfigError, err};
use missionlink_identity::channels::chzzk::{ChzzkConfig, DEFAULT_API_URL};
use missionlink_identity::channels::{ChannelSettings, VerifierChoice};

/// The sandbox believes any code: refused in production, see [`crate::Config::validate`].
pub const CHANNEL_VERIFIER: Var = Var::by_env(
    "CHANNEL_VERIFIER",
    "sandbox",
    "chzzk",
    "who verifies `linkChannel`'s codes: `chzzk` (CHZZK's Open API; without \
     `CHZZK_CLIENT_ID` and `CHZZK_CLIENT_SECRET` it answers \
     `CHANNEL_VERIFIER_NOT_CONFIGURED`) or `sandbox` (believes any code; refused at start-up \
     when `APP_ENV=production`)",
);

/// https in production (or a loopback address): see [`crate::Config::validate`].
pub const CHZZK_API_URL: Var = Var::text(
    "CHZZK_API_URL",
    DEFAULT_API_URL,
    "base URL of CHZZK's Open API (the tests point it at a local server); `https` when \
     `APP_ENV=production`, plain `http` only to a loopback address",
);

pub const CHZZK_CLIENT_ID: Var = Var::optional(
    "CHZZK_CLIENT_ID",
    "`linkChannel` not configured",
    "the CHZZK application's credentials (developers.chzzk.naver.com); the secret from a \
     secret store",
);

pub const CHZZK_CLIENT_SECRET: Var = Var::optional(
    "CHZZK_CLIENT_SECRET",
    "`linkChannel` not configured",
    "the CHZZK application's credentials (developers.chzzk.naver.com); the secret from a \
     secret store",
);

pub const CHANNEL_VERIFY_TIMEOUT_SECONDS: Var = Var::int(
    "CHANNEL_VERIFY_TIMEOUT_SECONDS",
    10,
    1..=60,
    "the longest wait for one call to a platform's OAuth API while `linkChannel` waits (1 to \
     60); past it `CHANNEL_VERIFIER_UNAVAILABLE`",
);

pub const STREAMER_REQUESTS_MAX_PER_USER: Var = Var::int(
    "STREAMER_REQUESTS_MAX_PER_USER",
    10,
    1..=10_000,
    "`applyAsStreamer` and `linkChannel` calls one user may make per window (1 to 10000), \
     every attempt counted before any work (a link calls the platform under this server's \
     application, an application takes an operator's time); then `RATE_LIMITED`",
);

pub const STREAMER_REQUESTS_WINDOW_SECONDS: Var = Var::int(
    "STREAMER_REQUESTS_WINDOW_SECONDS",
    3_600,
    1..=86_400,
    "the streamer requests throttle's window (1 to 86400)",
);

pub const VARIABLES: &[Var] = &[
    CHANNEL_VERIFIER,
    CHZZK_API_URL,
    CHZZK_CLIENT_ID,
    CHZZK_CLIENT_SECRET,
    CHANNEL_VERIFY_TIMEOUT_SECONDS,
    STREAMER_REQUESTS_MAX_PER_USER,
    STREAMER_REQUESTS_WINDOW_SECONDS,
];

pub(crate) fn read(env: &Env) -> Result<ChannelSettings, ConfigError> {
    let verifier = match env.text(&CHANNEL_VERIFIER).trim() {
        "sandbox" => VerifierChoice::Sandbox,
        "chzzk" => VerifierChoice::Chzzk(ChzzkConfig {
            api_url: env.parse(&CHZZK_API_URL, crate::var::http_url)?,
            credentials: env.set(&CHZZK_CLIENT_ID).zip(env.set(&CHZZK_CLIENT_SECRET)),
        }),
        other => {
            return Err(err(
                CHANNEL_VERIFIER.name,
                format!("{other:?} is neither chzzk nor sandbox"),
            ));
        }
    };
    Ok(ChannelSettings {
        verifier,
        timeout_seconds: env.int(&CHANNEL_VERIFY_TIMEOUT_SECONDS)?,
        requests_max_per_user: env.int(&STREAMER_REQUESTS_MAX_PER_USER)?,
        requests_window_seconds: env.int(&STREAMER_REQUESTS_WINDOW_SECONDS)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::tests::{PRODUCTION, config};
    use missionlink_identity::channels::VerifierChoice;

    #[test]
    fn streamers_do_not_register_themselves_unless_told_to() {
        assert!(!config(&[]).unwrap().identity.streamer_self_registration);
        let on = config(&[("STREAMER_SELF_REGISTRATION", "TRUE")]).unwrap();
        assert!(on.identity.streamer_self_registration);
        let e = config(&[("STREAMER_SELF_REGISTRATION", "yes")]).unwrap_err();
        assert_eq!(e.variable, "STREAMER_SELF_REGISTRATION");
    }

    #[test]
    fn production_verifies_channels_with_chzzk_only_and_never_with_the_sandbox() {
        assert!(matches!(
            config(&[]).unwrap().identity.channels.verifier,
            VerifierChoice::Sandbox
        ));
        let production = config(&PRODUCTION).unwrap();
        let VerifierChoice::Chzzk(chzzk) = &production.identity.channels.verifier else {
            panic!("production defaults to chzzk");
        };
        assert_eq!(chzzk.api_url, "https://openapi.chzzk.naver.com");
        assert!(
            chzzk.credentials.is_none(),
            "not configured until both are set"
        );

        let mut sandbox = PRODUCTION.to_vec();
        sandbox.push(("CHANNEL_VERIFIER", "sandbox"));
        assert_eq!(config(&sandbox).unwrap_err().variable, "CHANNEL_VERIFIER");
        let mut plain = PRODUCTION.to_vec();
        plain.push(("CHZZK_API_URL", "http://chzzk.example.com"));
        assert_eq!(config(&plain).unwrap_err().variable, "CHZZK_API_URL");

        let mut configured = PRODUCTION.to_vec();
        configured.extend([("CHZZK_CLIENT_ID", "id"), ("CHZZK_CLIENT_SECRET", "secret")]);
        let c = config(&configured).unwrap();
        assert!(
            !format!("{:?}", c.identity).contains("secret\""),
            "Debug hides the secret"
        );
        let e = config(&[("CHANNEL_VERIFIER", "twitch")]).unwrap_err();
        assert_eq!(e.variable, "CHANNEL_VERIFIER");
    }
}
