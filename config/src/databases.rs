//! The two databases: the users database (identity's) and the missions database (the
//! ledger's).

use crate::var::{Env, Var};

pub const USERS_DATABASE_URL: Var = Var::text(
    "USERS_DATABASE_URL",
    "sqlite://data/users.db?mode=rwc",
    "identity database",
);

pub const MISSIONS_DATABASE_URL: Var = Var::text(
    "MISSIONS_DATABASE_URL",
    "sqlite://data/missions.db?mode=rwc",
    "missions and money database",
);

pub const VARIABLES: &[Var] = &[USERS_DATABASE_URL, MISSIONS_DATABASE_URL];

/// Where the two databases are.
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// `USERS_DATABASE_URL`.
    pub users_url: String,
    /// `MISSIONS_DATABASE_URL`.
    pub missions_url: String,
}

pub(crate) fn read(env: &Env) -> DatabaseConfig {
    DatabaseConfig {
        users_url: env.text(&USERS_DATABASE_URL),
        missions_url: env.text(&MISSIONS_DATABASE_URL),
    }
}
