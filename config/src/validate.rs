//! The checks that relate variables to one another (each variable's own syntax and range are
//! checked as it is read): production's refusals, and bounds that must stay in order.

use crate::channels::{CHANNEL_VERIFIER, CHZZK_API_URL};
use crate::http::PUBLIC_URL;
use crate::identity::{EMAIL_VERIFICATION_REQUIRED, JWT_SECRET, STREAMER_SELF_REGISTRATION};
use crate::missions::{GOAL_FUNDING_MIN_SECONDS, MISSION_MIN_DURATION_SECONDS, PLEDGE_MIN};
use crate::payouts::{BANK_PROVIDER, PAYOUT_FEE_WON};
use crate::persons::{
    IDENTITY_HASH_KEY, IDENTITY_VERIFIER, PORTONE_API_URL, TOPUP_REQUIRES_IDENTITY,
};
use crate::topups::{
    MIN_WEBHOOK_SECRET_CHARS, PAYMENT_PROVIDER, TOPUP_MINOR_MONTHLY_LIMIT_WON, TOSS_API_BASE,
    TOSS_WEBHOOK_SECRET,
};
use crate::{AppEnv, Config, ConfigError, err};
use missionlink_identity::channels::VerifierChoice;
use missionlink_identity::persons::VerifierChoice as PersonVerifier;
use missionlink_workflows::bank::BankChoice;
use missionlink_workflows::payments::PaymentChoice;

impl Config {
    /// Every check across variables, in one place; the first failure names its variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let production = self.app_env == AppEnv::Production;
        // Unset, the secret is empty only in production (dev generates one).
        if production && self.identity.jwt_secret.is_empty() {
            return Err(err(JWT_SECRET.name, "required when APP_ENV=production"));
        }
        let missions = &self.missions;
        if missions.min_duration_seconds > missions.max_duration_seconds {
            return Err(err(
                MISSION_MIN_DURATION_SECONDS.name,
                "must not exceed MISSION_MAX_DURATION_SECONDS",
            ));
        }
        if self.webhooks.give_up_seconds > missions.event_retention_hours.saturating_mul(3_600) {
            return Err(err(
                crate::integrations::WEBHOOK_GIVE_UP_SECONDS.name,
                "must not exceed EVENT_RETENTION_HOURS: a webhook retried longer would owe events \
                 the feed no longer keeps",
            ));
        }
        if missions.pledge_min_won > missions.pledge_max_won {
            return Err(err(PLEDGE_MIN.name, "must not exceed PLEDGE_MAX"));
        }
        if missions.goals.funding_min_seconds > missions.goals.funding_max_seconds {
            return Err(err(
                GOAL_FUNDING_MIN_SECONDS.name,
                "must not exceed GOAL_FUNDING_MAX_SECONDS, or no goal could be posted",
            ));
        }
        if production && matches!(self.payouts.bank, BankChoice::Sandbox(_)) {
            return Err(err(
                BANK_PROVIDER.name,
                "sandbox pays no one and is refused when APP_ENV=production; no real bank \
                 provider exists yet (set BANK_PROVIDER=none to run without payouts)",
            ));
        }
        if self.payouts.fee_won >= self.payouts.min_won {
            return Err(err(
                PAYOUT_FEE_WON.name,
                "must be less than PAYOUT_MIN, or no payout could pay anything",
            ));
        }
        let rules = &self.topups.rules;
        if rules.minor_monthly_limit_won > rules.daily_limit_won.saturating_mul(31) {
            return Err(err(
                TOPUP_MINOR_MONTHLY_LIMIT_WON.name,
                "must not exceed 31 times TOPUP_DAILY_LIMIT_WON: a month of daily limits \
                 would reach it first, and it would never bind",
            ));
        }
        match &self.topups.provider {
            Some(PaymentChoice::Sandbox) if production => {
                return Err(err(
                    PAYMENT_PROVIDER.name,
                    "sandbox takes no money and is refused when APP_ENV=production: set \
                     PAYMENT_PROVIDER=toss with TOSS_SECRET_KEY and TOSS_WEBHOOK_SECRET (or none)",
                ));
            }
            Some(PaymentChoice::Toss(toss)) if production => {
                if !https_or_loopback(&toss.api_base) {
                    return Err(err(
                        TOSS_API_BASE.name,
                        format!(
                            "{:?} is not https: required when APP_ENV=production",
                            toss.api_base
                        ),
                    ));
                }
                let secret = self.topups.webhook_secret.as_deref().unwrap_or_default();
                if secret.chars().count() < MIN_WEBHOOK_SECRET_CHARS {
                    return Err(err(
                        TOSS_WEBHOOK_SECRET.name,
                        format!(
                            "must be at least {MIN_WEBHOOK_SECRET_CHARS} characters when \
                             APP_ENV=production (a random key, such as `openssl rand -hex 32`)"
                        ),
                    ));
                }
            }
            _ => {}
        }
        // The development conveniences `scripts/run` sets undo who is who: never in production.
        if production && self.identity.streamer_self_registration {
            return Err(err(
                STREAMER_SELF_REGISTRATION.name,
                "true lets anyone register as a streamer and collect escrow; refused when \
                 APP_ENV=production (streamers apply or link their channel)",
            ));
        }
        if production && !self.identity.email_verification_required {
            return Err(err(
                EMAIL_VERIFICATION_REQUIRED.name,
                "false lets money move for unproven addresses; refused when APP_ENV=production",
            ));
        }
        if production && !self.identity.persons.topup_requires_identity {
            return Err(err(
                TOPUP_REQUIRES_IDENTITY.name,
                "false lets unverified people top up, past the per-person limit; refused when \
                 APP_ENV=production",
            ));
        }
        match &self.identity.channels.verifier {
            VerifierChoice::Sandbox if production => {
                return Err(err(
                    CHANNEL_VERIFIER.name,
                    "sandbox believes any code and is refused when APP_ENV=production: set \
                     CHANNEL_VERIFIER=chzzk with CHZZK_CLIENT_ID and CHZZK_CLIENT_SECRET",
                ));
            }
            VerifierChoice::Chzzk(chzzk) if production && !https_or_loopback(&chzzk.api_url) => {
                return Err(err(
                    CHZZK_API_URL.name,
                    format!(
                        "{:?} is not https: required when APP_ENV=production",
                        chzzk.api_url
                    ),
                ));
            }
            _ => {}
        }
        let persons = &self.identity.persons;
        if production && persons.hash_key.is_empty() {
            return Err(err(
                IDENTITY_HASH_KEY.name,
                "required when APP_ENV=production: a random key of at least 32 bytes from a \
                 secret store (such as `openssl rand -hex 32`), kept for good",
            ));
        }
        match &persons.verifier {
            PersonVerifier::Sandbox if production => {
                return Err(err(
                    IDENTITY_VERIFIER.name,
                    "sandbox certifies anyone and is refused when APP_ENV=production: set \
                     IDENTITY_VERIFIER=portone with PORTONE_IMP_KEY and PORTONE_IMP_SECRET",
                ));
            }
            PersonVerifier::PortOne(portone)
                if production && !https_or_loopback(&portone.api_url) =>
            {
                return Err(err(
                    PORTONE_API_URL.name,
                    format!(
                        "{:?} is not https: required when APP_ENV=production",
                        portone.api_url
                    ),
                ));
            }
            _ => {}
        }
        if production && self.http.public_url.is_none() {
            return Err(err(
                PUBLIC_URL.name,
                "required when APP_ENV=production: where users reach this API (the base of \
                 the overlay links rotateOverlayToken gives), such as https://api.example.com",
            ));
        }
        Ok(())
    }
}

/// Whether a payment provider's base URL keeps our secret key (in every request's
/// `Authorization`) off the network: https, or plain http only to a loopback address (a local
/// egress proxy, a test server). The URL's syntax was checked when it was read.
fn https_or_loopback(base: &str) -> bool {
    let Ok(url) = url::Url::parse(base) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    url.scheme() != "http" || loopback
}
