//! MissionLink's API process and the `missionlink` binary's building blocks: configuration,
//! the two database handles, identity, the GraphQL schema and the HTTP server.
//!
//! This crate never writes a balance: every money movement goes through `missionlink-ledger`.
//! Resolvers parse and authorise, call one domain function, and map the result.

pub mod auth;
pub mod config;
pub mod cors;
pub mod db;
pub mod error;
pub mod event_feed;
pub mod feed;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod overlay;
pub mod payments;
pub mod proxy;
pub mod state;
pub mod suspend;
pub mod topups;
