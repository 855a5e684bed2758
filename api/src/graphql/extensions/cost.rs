//! What a query costs, as GitHub's and Shopify's APIs say it: every reply carries
//! `extensions.cost { requested limit }`, and a query costing more than `GRAPHQL_MAX_COMPLEXITY`
//! is refused before anything runs, its message naming both numbers. The cost is
//! async-graphql's complexity: each field 1, a page of `first` (or `last`) items that many
//! times its selection plus 20 for the read (`connection::list_cost`). It comes with the
//! validation verdict, which `documents` keeps per document, so reporting it costs nothing.

use async_graphql::{ErrorExtensions, Response, ServerError, ValidationResult, Value};

fn cost(requested: usize, limit: usize) -> Value {
    async_graphql::value!({ "requested": requested, "limit": limit })
}

/// Refuses a document whose validation found it costing more than `limit`
/// (`QUERY_TOO_COMPLEX`, naming both).
pub(super) fn check(verdict: &ValidationResult, limit: usize) -> Result<(), Vec<ServerError>> {
    if verdict.complexity <= limit {
        return Ok(());
    }
    let message = format!(
        "Query is too complex: it costs {}, more than the {} allowed \
         (GRAPHQL_MAX_COMPLEXITY). Ask for fewer items (first, last) or fewer fields.",
        verdict.complexity, limit
    );
    let cost = cost(verdict.complexity, limit);
    let refusal = async_graphql::Error::new(message)
        .extend_with(|_, e| {
            e.set("code", "QUERY_TOO_COMPLEX");
            e.set("cost", cost.clone());
        })
        .into_server_error(async_graphql::Pos::default());
    Err(vec![refusal])
}

/// `response` with `extensions.cost { requested limit }`.
pub(super) fn reported(response: Response, requested: usize, limit: usize) -> Response {
    response.extension("cost", cost(requested, limit))
}
