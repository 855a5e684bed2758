//! Identity: registration, login, refresh-token rotation and access tokens; operators (created
//! from the command line) and suspension.
//!
//! Everything here lives in the users database, except the one idempotent call that opens a
//! new user's ledger accounts in the missions database.

pub mod active_users;
pub mod input;
pub mod operators;
pub mod password;
pub mod role;
pub mod service;
pub mod suspension;
pub mod throttle;
pub mod tokens;

pub use active_users::ActiveUsers;
pub use role::Role;
pub use service::{AuthService, Session};
pub use tokens::{AccessClaims, TokenKeys};
