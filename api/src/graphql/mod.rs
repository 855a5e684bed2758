//! The GraphQL schema. Resolvers are thin: parse and authorise, call one domain function, map
//! the result.

mod account;
mod background;
mod cash_refund;
mod channel;
mod channel_prediction;
mod channel_prediction_mutation;
mod connection;
mod context;
mod daily;
mod daily_claim;
mod dispute;
mod events;
pub mod extensions;
mod feed_objects;
mod goal;
mod goal_mutation;
mod loaders;
mod mission;
mod mission_mutation;
pub mod money;
mod mutation;
mod node;
mod operator;
mod overlay;
mod overlay_links;
mod payout;
mod person;
mod platform;
mod pledge;
mod prediction;
mod prediction_boards;
mod query;
mod reconciliation;
mod statement;
mod status;
mod streamer;
mod test_event;
mod test_objects;
mod topup;
mod types;
mod user;
mod user_money;
mod verified_channel;
mod webhook;
mod withdraw;

use crate::state::AppState;
use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::{MergedObject, MergedSubscription, Schema};

pub(crate) use background::hand_reached_goals;
pub use context::{Caller, ClientAddr, PublicOrigin};
pub use extensions::depth::{MAX_DEPTH, MAX_INTROSPECTION_DEPTH};
pub use extensions::transport::{ViaGet, WRITE_OVER_GET};
pub use loaders::{MissionLoader, UserLoader};

/// Every query: identity and wallet, then missions, then the streamers' feeds and overlays,
/// then the operators' record, then streamer applications.
#[derive(MergedObject, Default)]
pub struct Query(
    query::IdentityQuery,
    user::UserQuery,
    mission::MissionQuery,
    node::NodeQuery,
    events::EventQuery,
    channel::ChannelQuery,
    channel_prediction::ChannelPredictionQuery,
    prediction_boards::PredictionBoardQuery,
    overlay::OverlayQuery,
    overlay_links::OverlayLinkQuery,
    operator::OperatorQuery,
    streamer::StreamerQuery,
    reconciliation::ReconciliationQuery,
    user_money::UserMoneyQuery,
    platform::PlatformQuery,
    webhook::WebhookQuery,
);

/// Every mutation: identity and wallet, then missions, then the overlay's token, then payouts
/// and top-ups, then objections and the operators' actions, then becoming a verified streamer.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::IdentityMutation,
    account::AccountMutation,
    mission_mutation::MissionMutation,
    withdraw::WithdrawMutation,
    goal_mutation::GoalMutation,
    prediction::PredictionMutation,
    daily_claim::DailyMutation,
    channel_prediction_mutation::ChannelPredictionMutation,
    channel::ChannelMutation,
    overlay::OverlayMutation,
    overlay_links::OverlayLinkMutation,
    payout::PayoutMutation,
    cash_refund::CashRefundMutation,
    topup::TopUpMutation,
    dispute::DisputeMutation,
    operator::OperatorMutation,
    streamer::StreamerMutation,
    person::PersonMutation,
    reconciliation::ReconciliationMutation,
    webhook::WebhookMutation,
    test_event::TestEventMutation,
);

/// Every subscription: mission changes, then the streamers' event feeds, then the overlays'.
#[derive(MergedSubscription, Default)]
pub struct Subscription(
    mission::MissionSubscription,
    events::EventSubscription,
    overlay::OverlaySubscription,
    overlay_links::OverlaySettingsSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

pub fn build_schema(state: AppState) -> AppSchema {
    let (users, missions, totals, channels) = loaders::loaders(&state);
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    // One extension for every check: async-graphql calls each extension around every field.
    .extension(extensions::checks::RequestChecks {
        limits: extensions::checks::Limits {
            max_mutations: state.settings.max_mutations_per_request,
            max_depth: state.settings.max_depth,
            max_complexity: state.settings.max_complexity,
        },
        documents: extensions::documents::DocumentCache::new(state.settings.document_cache),
    })
    // Apollo's automatic persisted queries: a client sends a query's SHA-256 instead of its
    // text once the server has seen it (the most recent `PERSISTED_QUERIES` kept). Inside the
    // checks: they see the text it puts in place.
    .extension(ApolloPersistedQueries::new(LruCacheStorage::new(
        state.settings.persisted_queries,
    )));
    builder
        // Introspection's bound for every query; the depth check (`extensions::depth`) holds the
        // rest to `GRAPHQL_MAX_DEPTH`.
        .limit_depth(MAX_INTROSPECTION_DEPTH)
        // Without caches: they batch the loads of one moment, they never serve stale rows.
        .data(users)
        .data(missions)
        .data(totals)
        .data(channels)
        .data(state)
        .finish()
}

/// The schema in SDL, as served. `api/schema.graphql` holds the committed copy that frontends
/// read; a test fails when the two differ.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}
