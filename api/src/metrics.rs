//! Instrumentation of the API's requests: a trace span per GraphQL operation, and metrics fed
//! into `missionlink_telemetry`'s registry (which owns every metric): GraphQL operations by
//! outcome code, and HTTP responses by status class.

use async_graphql::parser::types::{ExecutableDocument, Selection};
use async_graphql::{PathSegment, Response, Value};
use axum::extract::{MatchedPath, Request as HttpRequest};
use axum::middleware::Next;
use axum::response::Response as HttpResponse;
use missionlink_telemetry::metrics;
use std::future::Future;
use std::time::Instant;
use tracing::Instrument;

/// Times an operation, once, and counts it under each of its root fields (`register`, `topUp`,
/// ...) with that field's outcome code: `roots` are the operation's `(response key, field
/// name)` ([`root_fields`]). Labels come from the schema's own field names (the document passed
/// validation before it runs), never from other client input, so their number is bounded.
/// Nothing runs per field.
pub(crate) async fn observe(
    roots: Vec<(String, String)>,
    operation: impl Future<Output = Response>,
) -> Response {
    let names: Vec<&str> = roots.iter().map(|(_, field)| field.as_str()).collect();
    let label = names.join(",");
    let started = Instant::now();
    // One span per operation: the root of the request's trace (database calls and the
    // workflow it starts hang below it).
    let span = tracing::info_span!(
        "graphql",
        otel.name = %format!("graphql {label}"),
        graphql.operation = %label,
    );
    let response = operation.instrument(span).await;
    let seconds = started.elapsed().as_secs_f64();
    for (key, field) in &roots {
        metrics().graphql_operation(field, &code_of(&response, key), seconds);
    }
    response
}

/// The root fields (response key, field name) of the operation a request runs: the named one,
/// or the only one. Introspection (`__schema`, `__type`, `__typename`) is not counted.
pub(crate) fn root_fields(
    document: &ExecutableDocument,
    operation: Option<&str>,
) -> Vec<(String, String)> {
    let chosen = document
        .operations
        .iter()
        .find(|(name, _)| match operation {
            Some(wanted) => name.is_some_and(|n| n.as_str() == wanted),
            None => true,
        });
    let Some((_, op)) = chosen else {
        return Vec::new();
    };
    op.node
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                (!name.starts_with("__"))
                    .then(|| (f.node.response_key().node.to_string(), name.to_owned()))
            }
            _ => None,
        })
        .collect()
}

/// The code of the first error under the root field answered as `key` (`OK` without one; an
/// error without a code is the client's).
fn code_of(response: &Response, key: &str) -> String {
    let error = response.errors.iter().find(|e| match e.path.first() {
        Some(PathSegment::Field(first)) => first == key,
        // An error before anything ran (validation) concerns every root field.
        _ => e.path.is_empty(),
    });
    let Some(error) = error else {
        return "OK".to_owned();
    };
    error
        .extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "BAD_USER_INPUT".to_owned())
}

/// Counts every HTTP response by route (the matched route pattern, never the raw path) and
/// status class.
pub async fn count_responses(request: HttpRequest, next: Next) -> HttpResponse {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics().http_response(&route, response.status().as_u16());
    response
}
