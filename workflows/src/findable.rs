//! What makes workflows findable in the Temporal UI: the custom search attributes the Mission
//! and Payout workflows upsert (`MissionStatus = 'SUCCEEDED' AND StreamerId = '…'`), and their
//! registration on the worker's namespace.
//!
//! The attributes are a view for operators, never a source of truth: the databases decide every
//! status. They are written from workflow code, from values activities returned, so they stay
//! deterministic.

use temporalio_common::protos::temporal::api::enums::v1::IndexedValueType;
use temporalio_common::protos::temporal::api::operatorservice::v1::{
    AddSearchAttributesRequest, ListSearchAttributesRequest,
};
use temporalio_common::search_attributes::SearchAttributeKey;

/// A mission's status (`PENDING`, `ACTIVE`, `SUCCEEDED`, …).
pub const MISSION_STATUS: SearchAttributeKey<String> = SearchAttributeKey::keyword("MissionStatus");
/// The user id of the mission's (or payout's) streamer.
pub const STREAMER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("StreamerId");
/// Won pledged to the mission so far (as of its last status change).
pub const TOTAL_PLEDGED_WON: SearchAttributeKey<i64> = SearchAttributeKey::int("TotalPledgedWon");
/// A payout's status (`REQUESTED`, `PROCESSING`, `PAID`, `FAILED`, `CANCELLED`).
pub const PAYOUT_STATUS: SearchAttributeKey<String> = SearchAttributeKey::keyword("PayoutStatus");

/// The memo key of a mission's title.
pub const MEMO_TITLE: &str = "title";

/// Every custom search attribute the workflows write, with its type: what the worker
/// registers and what `scripts/lib.sh` passes to the dev server (`--search-attribute`).
pub const ATTRIBUTES: [(&str, IndexedValueType); 4] = [
    ("MissionStatus", IndexedValueType::Keyword),
    ("StreamerId", IndexedValueType::Keyword),
    ("TotalPledgedWon", IndexedValueType::Int),
    ("PayoutStatus", IndexedValueType::Keyword),
];

/// Registers on `namespace` every attribute of [`ATTRIBUTES`] it lacks (operator service
/// `AddSearchAttributes`). Returns the names it added. An attribute already registered with
/// another type is an error: the workflows' upserts would fail their tasks.
pub async fn register(
    client: &temporalio_client::Client,
    namespace: &str,
) -> anyhow::Result<Vec<&'static str>> {
    let mut operator = client.connection().operator_service();
    let existing = operator
        .list_search_attributes(tonic::Request::new(ListSearchAttributesRequest {
            namespace: namespace.to_owned(),
        }))
        .await
        .map_err(|e| anyhow::anyhow!("listing the search attributes of {namespace}: {e}"))?
        .into_inner();
    let mut missing = std::collections::HashMap::new();
    let mut added = Vec::new();
    for (name, kind) in ATTRIBUTES {
        let found = existing
            .custom_attributes
            .get(name)
            .or_else(|| existing.system_attributes.get(name));
        match found {
            Some(&t) if t == i32::from(kind) => {}
            Some(&t) => anyhow::bail!(
                "search attribute {name} is registered on {namespace} as {:?}, not {kind:?}",
                IndexedValueType::try_from(t).unwrap_or(IndexedValueType::Unspecified)
            ),
            None => {
                missing.insert(name.to_owned(), i32::from(kind));
                added.push(name);
            }
        }
    }
    if missing.is_empty() {
        return Ok(added);
    }
    operator
        .add_search_attributes(tonic::Request::new(AddSearchAttributesRequest {
            search_attributes: missing,
            namespace: namespace.to_owned(),
        }))
        .await
        .map_err(|e| anyhow::anyhow!("registering search attributes on {namespace}: {e}"))?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registered_list_names_every_key_the_workflows_write() {
        let names: Vec<&str> = ATTRIBUTES.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                MISSION_STATUS.name(),
                STREAMER_ID.name(),
                TOTAL_PLEDGED_WON.name(),
                PAYOUT_STATUS.name()
            ]
        );
        for (key_type, (_, listed)) in [
            MISSION_STATUS.indexed_value_type(),
            STREAMER_ID.indexed_value_type(),
            TOTAL_PLEDGED_WON.indexed_value_type(),
            PAYOUT_STATUS.indexed_value_type(),
        ]
        .into_iter()
        .zip(ATTRIBUTES)
        {
            assert_eq!(key_type, listed);
        }
    }
}
