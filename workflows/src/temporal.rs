//! Connecting to the Temporal frontend.

use std::str::FromStr;
use std::time::Duration;
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use tokio::sync::Mutex;

/// Where Temporal is and which task queue MissionLink uses.
#[derive(Clone, Debug)]
pub struct TemporalConfig {
    /// `TEMPORAL_ADDRESS`, e.g. `http://127.0.0.1:7233`.
    pub address: String,
    /// `TEMPORAL_NAMESPACE`.
    pub namespace: String,
    /// `TEMPORAL_TASK_QUEUE`.
    pub task_queue: String,
    /// `OUTBOX_RELAY_GRACE_SECONDS`: how long a workflow start or signal may wait for the API's
    /// fast path before the worker's relay delivers it.
    pub outbox_relay_grace: Duration,
}

/// How long one connection attempt may take before Temporal counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens a client to the configured namespace. Fails if the frontend does not answer.
pub async fn connect(config: &TemporalConfig, identity: &str) -> anyhow::Result<Client> {
    let url = url::Url::from_str(&config.address)
        .map_err(|e| anyhow::anyhow!("TEMPORAL_ADDRESS {:?} is not a URL: {e}", config.address))?;
    let options = ConnectionOptions::new(url)
        .identity(identity.to_owned())
        .connect_timeout(CONNECT_TIMEOUT)
        .build();
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(options))
        .await
        .map_err(|_| anyhow::anyhow!("Temporal at {} did not answer", config.address))?
        .map_err(|e| anyhow::anyhow!("cannot connect to Temporal at {}: {e}", config.address))?;
    // The OpenTelemetry plugin carries the caller's trace context into the workflow (and from
    // there into activities) in a Temporal header; without an exporter it costs nothing.
    let client = Client::new(
        connection,
        ClientOptions::new(config.namespace.clone())
            .plugin(temporalio_sdk::opentelemetry::OpenTelemetryPlugin::builder().build())
            .build(),
    )?;
    Ok(client)
}

/// A lazily connected, shared client for the API process: the API starts even while Temporal
/// is down, `/readyz` reports it, and the first request after Temporal returns reconnects.
pub struct TemporalHandle {
    config: TemporalConfig,
    identity: String,
    client: Mutex<Option<Client>>,
}

impl TemporalHandle {
    pub fn new(config: TemporalConfig, identity: impl Into<String>) -> Self {
        Self {
            config,
            identity: identity.into(),
            client: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &TemporalConfig {
        &self.config
    }

    /// The shared client, connecting first if needed.
    pub async fn client(&self) -> anyhow::Result<Client> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let client = connect(&self.config, &self.identity).await?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Whether the Temporal frontend answers a cheap RPC right now.
    pub async fn ping(&self) -> anyhow::Result<()> {
        use temporalio_common::protos::temporal::api::workflowservice::v1::GetSystemInfoRequest;
        let client = self.client().await?;
        let mut service = client.connection().workflow_service();
        let answer = tokio::time::timeout(
            CONNECT_TIMEOUT,
            service.get_system_info(tonic::Request::new(GetSystemInfoRequest::default())),
        )
        .await;
        match answer {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(status)) => {
                // Drop the client so the next call reconnects from scratch.
                *self.client.lock().await = None;
                Err(anyhow::anyhow!("Temporal answered {status}"))
            }
            Err(_) => {
                *self.client.lock().await = None;
                Err(anyhow::anyhow!(
                    "Temporal did not answer within {CONNECT_TIMEOUT:?}"
                ))
            }
        }
    }
}
