//! MissionLink's integration tests: one test binary, each test with its own fresh databases,
//! the real server on port 0, and the real Temporal dev server where a test needs Temporal.
//! `scripts/test` starts what they need and exports `TEST_*` variables.

mod activity_failures;
mod audit;
mod auth;
mod batching;
mod boundary;
mod channel;
mod connections;
mod cors;
mod deployment;
mod email_delivery;
mod event_feed;
mod fake_toss;
mod findable;
mod graphiql;
mod http_get;
mod identity;
mod input;
mod introspection;
mod ledger_core;
mod limits;
mod live;
mod missions;
mod monitoring;
mod mutation_caps;
mod operators_identity;
mod ops;
mod overlay;
mod payout_core;
mod payouts;
mod prediction_scale;
mod predictions;
mod recovery;
mod replays;
mod schema;
mod ses;
mod statement;
mod support;
mod text;
mod throttle;
mod topups;
mod traces;
mod walkthrough;
mod wallet;
mod websocket;
