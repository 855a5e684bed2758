//! The streamers' own tools (issue 29): webhooks (`WEBHOOKS_PER_STREAMER`, `WEBHOOK_*`, read into
//! `missionlink_api::webhooks::WebhookSettings`: the API's processes send them), test events
//! (`TEST_EVENTS_PER_MINUTE`, likewise) and overlay links (`OVERLAY_LINKS_PER_STREAMER`).

use crate::var::{Env, Var};
use crate::{AppEnv, ConfigError};
use missionlink_api::webhooks::WebhookSettings;

pub const WEBHOOKS_PER_STREAMER: Var = Var::int(
    "WEBHOOKS_PER_STREAMER",
    5,
    1..=100,
    "webhooks one streamer may register (1 to 100); the next `createWebhook` is \
     `WEBHOOK_LIMIT`",
);

pub const WEBHOOK_TIMEOUT_SECONDS: Var = Var::int(
    "WEBHOOK_TIMEOUT_SECONDS",
    10,
    1..=60,
    "the longest one webhook delivery may take, connecting included (1 to 60); past it the \
     attempt failed",
);

pub const WEBHOOK_RESPONSE_MAX_BYTES: Var = Var::int(
    "WEBHOOK_RESPONSE_MAX_BYTES",
    65_536,
    0..=1_048_576,
    "most bytes of a receiver's response read (the rest dropped unread); only its status \
     counts",
);

pub const WEBHOOK_BACKOFF_MAX_SECONDS: Var = Var::int(
    "WEBHOOK_BACKOFF_MAX_SECONDS",
    600,
    1..=86_400,
    "the longest wait between a failing webhook's attempts (1 s, doubling)",
);

pub const WEBHOOK_GIVE_UP_SECONDS: Var = Var::optional(
    "WEBHOOK_GIVE_UP_SECONDS",
    "`EVENT_RETENTION_HOURS`",
    "how long a webhook may keep failing before it is disabled and its streamer emailed, in \
     seconds; at most `EVENT_RETENTION_HOURS` (after that the events it owes are gone)",
);

pub const TEST_EVENTS_PER_MINUTE: Var = Var::int(
    "TEST_EVENTS_PER_MINUTE",
    10,
    1..=600,
    "`sendTestEvent` calls one streamer may make per minute (1 to 600); then `RATE_LIMITED` \
     with `extensions.retryAt`",
);

pub const OVERLAY_LINKS_PER_STREAMER: Var = Var::int(
    "OVERLAY_LINKS_PER_STREAMER",
    10,
    1..=100,
    "overlay links (one per device) one streamer may hold (1 to 100); then \
     `createOverlayLink` is `OVERLAY_LINK_LIMIT`",
);

pub const VARIABLES: &[Var] = &[
    WEBHOOKS_PER_STREAMER,
    WEBHOOK_TIMEOUT_SECONDS,
    WEBHOOK_RESPONSE_MAX_BYTES,
    WEBHOOK_BACKOFF_MAX_SECONDS,
    WEBHOOK_GIVE_UP_SECONDS,
    TEST_EVENTS_PER_MINUTE,
    OVERLAY_LINKS_PER_STREAMER,
];

/// `OVERLAY_LINKS_PER_STREAMER`.
pub(crate) fn overlay_links(env: &Env) -> Result<u32, ConfigError> {
    env.int(&OVERLAY_LINKS_PER_STREAMER)
}

/// `WEBHOOK_GIVE_UP_SECONDS`, or the feed's retention when unset.
fn give_up_seconds(env: &Env, event_retention_hours: u64) -> Result<u64, ConfigError> {
    match env.set(&WEBHOOK_GIVE_UP_SECONDS) {
        None => Ok(event_retention_hours.saturating_mul(3_600)),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(crate::err(
                WEBHOOK_GIVE_UP_SECONDS.name,
                format!("{raw:?} is not a whole number of seconds, 1 or more"),
            )),
        },
    }
}

pub(crate) fn read(env: &Env, event_retention_hours: u64) -> Result<WebhookSettings, ConfigError> {
    Ok(WebhookSettings {
        per_streamer: env.int(&WEBHOOKS_PER_STREAMER)?,
        timeout_seconds: env.int(&WEBHOOK_TIMEOUT_SECONDS)?,
        response_max_bytes: env.int(&WEBHOOK_RESPONSE_MAX_BYTES)?,
        backoff_max_seconds: env.int(&WEBHOOK_BACKOFF_MAX_SECONDS)?,
        give_up_seconds: give_up_seconds(env, event_retention_hours)?,
        test_events_per_minute: env.int(&TEST_EVENTS_PER_MINUTE)?,
        production: env.app_env == AppEnv::Production,
    })
}
