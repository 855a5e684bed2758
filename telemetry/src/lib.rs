//! MissionLink's telemetry: every Prometheus metric of the system, defined here and updated
//! only through the methods of [`Metrics`], plus the small `/metrics` server of a standalone
//! worker.
//!
//! This crate must never decide anything: it counts and measures what other crates did.

pub mod metrics;
pub mod tracing;

pub use metrics::{Metrics, metrics};
