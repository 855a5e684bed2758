//! Logs and traces. Logs go to stderr; traces leave by OTLP (HTTP/protobuf) when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, configured by the standard `OTEL_*` variables
//! (`OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, ...). Trace context crosses into Temporal
//! through the SDK's OpenTelemetry plugin (`_tracer-data` header), so one trace shows the
//! request, the workflow and its activities.

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use temporalio_sdk::opentelemetry::WorkflowIdGenerator;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Flushes and stops the trace exporter when dropped (at the end of `main`).
pub struct TracingGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("missionlink: flushing traces: {e}");
        }
    }
}

/// Whether traces are exported (OTLP endpoint configured).
pub fn exporting() -> bool {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok_and(|v| !v.trim().is_empty())
}

/// Installs the process's subscriber: `RUST_LOG` (or `default_filter`) for logs on stderr, and
/// the OTLP trace pipeline if configured. Call once, before anything logs.
pub fn init(default_filter: &str) -> anyhow::Result<TracingGuard> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let provider = if exporting() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "missionlink".into());
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            // Replay-safe span ids for workflow spans (the Temporal plugin's requirement).
            .with_id_generator(WorkflowIdGenerator::default())
            .with_resource(Resource::builder().with_service_name(service).build())
            .build();
        global::set_tracer_provider(provider.clone());
        global::set_text_map_propagator(TraceContextPropagator::new());
        Some(provider)
    } else {
        None
    };
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("missionlink"))
            .with_filter(EnvFilter::new(
                "info,sqlx=off,h2=off,hyper=off,tonic=off,reqwest=off,temporalio_sdk_core=off",
            ))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()?;
    Ok(TracingGuard { provider })
}
