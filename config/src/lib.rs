//! MissionLink's configuration, from the environment (CONTRACT.md), parsed and validated once at
//! start-up. It belongs to the composition root: `missionlink` and the system tests use it, and
//! it gives each library crate only its own settings ([`Config::api`] for `missionlink-api`,
//! the `identity` section for `missionlink-identity`, the sections' `worker()` for the worker).
//!
//! Every variable is declared once, as a [`Var`] in the module of its concern (name, default,
//! range, meaning): parsing reads the declaration, and so does `--help` ([`variables_help`]).
//! Each variable's own syntax and range are checked as it is read; the checks across
//! variables are [`Config::validate`].
//!
//! Every value is read through [`Config::from_lookup`], which takes the lookup function as an
//! argument so that tests build configurations without touching the process environment.

pub mod channels;
pub mod databases;
pub mod email;
mod help;
pub mod http;
pub mod identity;
pub mod integrations;
pub mod missions;
pub mod payouts;
pub mod persons;
pub mod process;
pub mod temporal;
pub mod topups;
mod validate;
mod var;

#[cfg(test)]
mod tests;

pub use databases::DatabaseConfig;
pub use email::{EmailConfig, EmailTransport};
pub use help::{readme_table, variables, variables_help};
pub use http::HttpConfig;
pub use missions::MissionRules;
pub use payouts::PayoutConfig;
pub use process::AppEnv;
pub use temporal::WorkerConfig;
pub use topups::TopUpConfig;
pub use var::{Value, Var};

use missionlink_workflows::TemporalConfig;

#[derive(Clone, Debug)]
pub struct Config {
    /// `APP_ENV`.
    pub app_env: AppEnv,
    pub http: HttpConfig,
    pub databases: DatabaseConfig,
    pub temporal: TemporalConfig,
    /// The worker process's own: its metrics endpoints and its audit's interval.
    pub worker: WorkerConfig,
    /// Accounts and tokens: `missionlink-identity`'s settings.
    pub identity: missionlink_identity::Settings,
    pub missions: MissionRules,
    pub email: EmailConfig,
    pub payouts: PayoutConfig,
    pub topups: TopUpConfig,
    /// Streamers' webhooks, as the API sends them, and their test events.
    pub webhooks: missionlink_api::webhooks::WebhookSettings,
    /// `OVERLAY_LINKS_PER_STREAMER`.
    pub overlay_links_per_streamer: u32,
}

/// A configuration error, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn err(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (a variable's value, or `None` when unset), then
    /// [validates](Self::validate) it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = var::Env::new(&lookup)?;
        let missions = missions::read(&env)?;
        let config = Self {
            app_env: env.app_env,
            http: http::read(&env)?,
            databases: databases::read(&env),
            temporal: temporal::read(&env)?,
            worker: temporal::read_worker(&env)?,
            identity: identity::read(&env)?,
            webhooks: integrations::read(&env, missions.event_retention_hours)?,
            missions,
            email: email::read(&env)?,
            payouts: payouts::read(&env)?,
            topups: topups::read(&env)?,
            overlay_links_per_streamer: integrations::overlay_links(&env)?,
        };
        config.validate()?;
        Ok(config)
    }

    /// What the API reads: its state keeps this, never the whole configuration.
    pub fn api(&self) -> missionlink_api::Settings {
        missionlink_api::Settings {
            http_addr: self.http.addr,
            public_url: self.http.public_url.clone(),
            trusted_proxies: self.http.trusted_proxies.clone(),
            cors_allowed_origins: self.http.cors_allowed_origins.clone(),
            persisted_queries: self.http.persisted_queries,
            document_cache: self.http.document_cache,
            max_complexity: self.http.max_complexity,
            max_depth: self.http.max_depth,
            max_mutations_per_request: self.http.max_mutations_per_request,
            websocket: self.http.websocket.clone(),
            identity: self.identity.clone(),
            temporal: self.temporal.clone(),
            missions: self.missions.api(),
            sandbox_payments: self.sandbox_payments(),
            payouts: self.payouts.api(),
            topups: self.topups.api(),
            webhooks: self.webhooks.clone(),
            overlay_links_per_streamer: self.overlay_links_per_streamer,
        }
    }

    /// What the worker's account emails read: their links' base (`PUBLIC_URL`; in dev, when
    /// unset, the address the API listens on, as the API's own links) and the codes' lifetimes.
    pub fn account_emails(&self) -> missionlink_workflows::account_emails::AccountEmailSettings {
        missionlink_workflows::account_emails::AccountEmailSettings {
            public_url: self
                .http
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.http.addr)),
            lifetimes: self.identity.code_lifetimes,
            operator_contact: self.payouts.operator_contact.clone(),
        }
    }

    /// Whether `topUp`, the sandbox payment provider that credits won without taking a payment,
    /// may run. Never in production, until a real payment provider exists.
    pub fn sandbox_payments(&self) -> bool {
        self.app_env == AppEnv::Dev
    }
}
