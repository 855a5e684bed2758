//! Tables of the users (identity) database.

pub mod kinds;
pub mod login_throttle;
pub mod overlay_token;
pub mod refresh_token;
pub mod streamer_application;
pub mod streamer_channel;
pub mod user;

pub use kinds::{ApplicationStatus, Locale, Platform, Role, Verification};
