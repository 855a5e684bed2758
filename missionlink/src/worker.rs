//! `missionlink worker`: the Temporal worker alone (it serves its own metrics), and what the
//! worker needs from the configuration, shared with `all`.

use missionlink_api::db::Databases;
use missionlink_config::{Config, EmailTransport};
use missionlink_workflows::email::Mailer;
use missionlink_workflows::mission::SettlementSettings;
use missionlink_workflows::worker::{self, WorkerDeps};
use std::sync::Arc;

/// Runs the worker until Ctrl-C or SIGTERM, with its metrics endpoint (`WORKER_METRICS_ADDR`).
pub async fn run(config: &Config, db: &Databases) -> anyhow::Result<()> {
    let deps = deps(config, db).await;
    // The API serves this registry in `serve` and `all`; a standalone worker serves it here.
    let serve_metrics = missionlink_telemetry::metrics::serve(
        config.worker.metrics_addr,
        db.users.clone(),
        db.missions.clone(),
        crate::shutdown::signal(),
    );
    let metrics = tokio::spawn(async move {
        if let Err(e) = serve_metrics.await {
            tracing::error!(error = %format!("{e:#}"), "worker metrics endpoint failed");
        }
    });
    worker::run(&config.temporal, deps, crate::shutdown::signal()).await?;
    metrics.abort();
    Ok(())
}

/// The worker's dependencies from the configuration and the two databases.
pub async fn deps(config: &Config, db: &Databases) -> WorkerDeps {
    let mailer = match config.email.transport {
        EmailTransport::File => Mailer::file(&config.email.outbox_dir, &config.email.from),
        EmailTransport::Ses => Mailer::ses(&config.email.from, config.email.max_per_second)
            .await
            .with_send_timeout(std::time::Duration::from_secs(
                config.email.send_timeout_seconds,
            )),
    };
    let account_emails = config.account_emails();
    WorkerDeps {
        audit_interval: std::time::Duration::from_secs(config.worker.audit_interval_seconds),
        event_retention: std::time::Duration::from_secs(
            config.missions.event_retention_hours * 3600,
        ),
        sdk_metrics_addr: config.worker.temporal_metrics_addr,
        cached_workflows: config.worker.cached_workflows,
        missions_db: db.missions.clone(),
        users_db: db.users.clone(),
        mailer: Arc::new(mailer),
        settlement: SettlementSettings {
            fee_bps: config.missions.platform_fee_bps,
            page_size: config.missions.settlement_page_size,
            pages_in_flight: config.missions.settlement_pages_in_flight,
            email_page_size: config.email.page_size,
            public_url: account_emails.public_url.clone(),
            operator_contact: account_emails.operator_contact.clone(),
        },
        payouts: config.payouts.worker(),
        topups: config.topups.worker(),
        dispute_sla: std::time::Duration::from_secs(config.missions.dispute_sla_seconds),
        reconciliation_sla: std::time::Duration::from_secs(
            config.missions.reconciliation_sla_seconds,
        ),
        account_emails,
    }
}
