//! Instrumentation of the API's requests: a trace span per GraphQL operation, and metrics fed
//! into `missionlink_telemetry`'s registry (which owns every metric): GraphQL operations by
//! outcome code, and HTTP responses by status class.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value};
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use missionlink_telemetry::metrics;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Times each root field (`register`, `topUp`, ...). Labels come from the schema's own field
/// names, never from client input, so their number is bounded.
pub struct GraphqlMetrics;

impl ExtensionFactory for GraphqlMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GraphqlMetricsExtension)
    }
}

struct GraphqlMetricsExtension;

#[async_trait::async_trait]
impl Extension for GraphqlMetricsExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let is_root = info.path_node.parent.is_none() && !info.is_for_introspection;
        if !is_root {
            return next.run(ctx, info).await;
        }
        let field = info.name.to_owned();
        let started = Instant::now();
        // One span per operation: the root of the request's trace (database calls and the
        // workflow it starts hang below it).
        let span = tracing::info_span!(
            "graphql",
            otel.name = %format!("graphql {field}"),
            graphql.operation = %field,
        );
        let result = next.run(ctx, info).instrument(span).await;
        let code = match &result {
            Ok(_) => "OK".to_owned(),
            Err(e) => e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "BAD_USER_INPUT".to_owned()),
        };
        metrics().graphql_operation(&field, &code, started.elapsed().as_secs_f64());
        result
    }
}

/// Counts every HTTP response by route (the matched route pattern, never the raw path) and
/// status class.
pub async fn count_responses(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics().http_response(&route, response.status().as_u16());
    response
}
