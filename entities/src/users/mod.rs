//! Tables of the users (identity) database.

pub mod account_code;
pub mod account_email;
pub mod guardian_consent;
pub mod kinds;
pub mod login_throttle;
pub mod overlay_link;
pub mod overlay_setting;
pub mod person_verification;
pub mod refresh_token;
pub mod streamer_application;
pub mod streamer_channel;
pub mod user;

pub use kinds::{
    AccountEmailKind, AccountEmailStatus, ApplicationStatus, CodePurpose, IdentityProvider, Locale,
    Platform, Role, Verification,
};
