//! MissionLink's API process and the `missionlink` binary's building blocks: the API's own
//! settings (built from the configuration by `missionlink-config`), the two database handles,
//! the GraphQL schema and the HTTP server. Identity (the users database) is
//! `missionlink-identity`'s; money is `missionlink-ledger`'s.
//!
//! This crate never writes a balance: every money movement goes through `missionlink-ledger`.
//! Resolvers parse and authorise, call one domain function, and map the result.

pub mod card_testing;
pub mod cors;
pub mod db;
pub mod error;
pub mod event_feed;
pub mod feed;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod payments;
pub mod proxy;
pub mod reconciliation;
pub mod settings;
pub mod state;
pub mod topups;
pub mod webhooks;

pub use settings::Settings;
