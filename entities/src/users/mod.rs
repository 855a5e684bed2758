//! Tables of the users (identity) database.

pub mod login_throttle;
pub mod refresh_token;
pub mod user;
