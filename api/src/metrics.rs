//! Every Prometheus metric of the process, defined and updated here and nowhere else.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Root GraphQL fields resolved, by field and outcome code (`OK` or `extensions.code`).
    graphql_requests_total: IntCounterVec,
    /// Time to resolve a root GraphQL field, by field.
    graphql_request_duration_seconds: HistogramVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("missionlink".into()), None)?;
        let graphql_requests_total = IntCounterVec::new(
            Opts::new(
                "graphql_requests_total",
                "Root GraphQL fields resolved, by field and outcome code",
            ),
            &["field", "code"],
        )?;
        let graphql_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "Time to resolve a root GraphQL field",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["field"],
        )?;
        registry.register(Box::new(graphql_requests_total.clone()))?;
        registry.register(Box::new(graphql_request_duration_seconds.clone()))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            graphql_requests_total,
            graphql_request_duration_seconds,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// The async-graphql extension that records root fields.
    pub fn graphql_extension(&self) -> GraphqlMetrics {
        GraphqlMetrics(self.clone())
    }

    fn record_root_field(&self, field: &str, code: &str, seconds: f64) {
        self.graphql_requests_total
            .with_label_values(&[field, code])
            .inc();
        self.graphql_request_duration_seconds
            .with_label_values(&[field])
            .observe(seconds);
    }
}

/// Times each root field (`register`, `topUp`, ...). Labels come from the schema's own field
/// names, never from client input, so their number is bounded.
pub struct GraphqlMetrics(Metrics);

impl ExtensionFactory for GraphqlMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GraphqlMetricsExtension(self.0.clone()))
    }
}

struct GraphqlMetricsExtension(Metrics);

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
        let result = next.run(ctx, info).await;
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
        self.0
            .record_root_field(&field, &code, started.elapsed().as_secs_f64());
        result
    }
}
