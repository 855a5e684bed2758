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
/// `AddSearchAttributes`). Returns the names this call added. An attribute already registered
/// with another type is an error: the workflows' upserts would fail their tasks. Workers starting
/// together may race to add the same attributes; the loser finds them registered and succeeds.
pub async fn register(
    client: &temporalio_client::Client,
    namespace: &str,
) -> anyhow::Result<Vec<&'static str>> {
    let missing = missing(client, namespace).await?;
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let request = AddSearchAttributesRequest {
        search_attributes: missing
            .iter()
            .map(|(name, kind)| ((*name).to_owned(), i32::from(*kind)))
            .collect(),
        namespace: namespace.to_owned(),
    };
    let added = client
        .connection()
        .operator_service()
        .add_search_attributes(tonic::Request::new(request))
        .await;
    match added {
        Ok(_) => Ok(missing.iter().map(|(name, _)| *name).collect()),
        // Another worker added them first: fine if they are all there now.
        Err(e) if e.code() == tonic::Code::AlreadyExists => {
            let still = missing_names(&self::missing(client, namespace).await?);
            anyhow::ensure!(
                still.is_empty(),
                "search attributes {still:?} are still missing on {namespace}: {e}"
            );
            Ok(Vec::new())
        }
        Err(e) => Err(anyhow::anyhow!(
            "registering search attributes on {namespace}: {e}"
        )),
    }
}

fn missing_names(missing: &[(&'static str, IndexedValueType)]) -> Vec<&'static str> {
    missing.iter().map(|(name, _)| *name).collect()
}

/// The attributes of [`ATTRIBUTES`] that `namespace` lacks; an error if one is registered with
/// another type.
async fn missing(
    client: &temporalio_client::Client,
    namespace: &str,
) -> anyhow::Result<Vec<(&'static str, IndexedValueType)>> {
    let existing = client
        .connection()
        .operator_service()
        .list_search_attributes(tonic::Request::new(ListSearchAttributesRequest {
            namespace: namespace.to_owned(),
        }))
        .await
        .map_err(|e| anyhow::anyhow!("listing the search attributes of {namespace}: {e}"))?
        .into_inner();
    let mut missing = Vec::new();
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
            None => missing.push((name, kind)),
        }
    }
    Ok(missing)
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
