//! Tables of the users (identity) database.

pub mod login_throttle;
pub mod overlay_token;
pub mod refresh_token;
pub mod user;
