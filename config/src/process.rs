//! The process as a whole: `APP_ENV`, which other defaults and checks follow, and the trace
//! export `missionlink-telemetry` reads itself.

use crate::var::{Env, Var};
use crate::{ConfigError, err};

/// `dev` or `production`. Production refuses development defaults for secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Dev,
    Production,
}

pub const APP_ENV: Var = Var::text(
    "APP_ENV",
    "dev",
    "`dev` or `production`; production refuses dev defaults for secrets, and refuses `topUp` \
     (the sandbox payment provider, which credits won without a payment) with `FORBIDDEN` \
     until a real provider exists",
);

/// Read by `missionlink-telemetry` when it sets up tracing, before the configuration; declared
/// here for `--help`.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: Var = Var::optional(
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "no export",
    "OTLP traces and metrics",
);

pub const VARIABLES: &[Var] = &[APP_ENV, OTEL_EXPORTER_OTLP_ENDPOINT];

pub(crate) fn app_env(env: &Env) -> Result<AppEnv, ConfigError> {
    match env.text(&APP_ENV).as_str() {
        "dev" => Ok(AppEnv::Dev),
        "production" => Ok(AppEnv::Production),
        other => Err(err(
            APP_ENV.name,
            format!("{other:?} is not dev or production"),
        )),
    }
}
