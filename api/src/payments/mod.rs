//! The payment provider of top-ups, as the API uses it: the providers themselves live in
//! `missionlink_workflows::payments` (the worker reconciles with them too); the webhook's
//! verification is the API's own (`webhook.rs`).

pub use missionlink_workflows::payments::*;

pub mod webhook;
