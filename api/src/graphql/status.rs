//! The GraphQL enums of stored statuses and outcomes, one per `missionlink_ledger::status`
//! enum, converted both ways. Shared by the mission and prediction resolvers.

use async_graphql::Enum;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::MissionStatus")]
pub enum MissionStatus {
    Pending,
    Active,
    Succeeded,
    Failed,
    Expired,
    Rejected,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::PledgeStatus")]
pub enum PledgeStatus {
    Held,
    Paid,
    Refunded,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::Outcome")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::PredictionStatus")]
pub enum PredictionStatus {
    Open,
    Locked,
    Settled,
    Refunded,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::MessageStatus")]
pub enum MessageStatus {
    /// Shown with the pledge.
    Approved,
    /// Waits for the streamer's approval.
    Pending,
    Hidden,
}
