//! The Temporal worker process: polls MissionLink's task queue and runs its workflows and
//! activities, plus its background loops (`periodic`: the outbox relays, the audit, event
//! pruning, the watches, the top-up sweep, reconciliation and receipts, the account emails),
//! until asked to stop.

use crate::audit::{LedgerActivities, LedgerAuditWorkflow};
use crate::email::Mailer;
use crate::mission::{
    ACTIVITY_NAMES, MissionActivities, MissionNoticeWorkflow, MissionWorkflow, SettlementSettings,
};
use crate::outbox;
use crate::payout::{Operator, PayoutActivities, PayoutWorkflow};
use crate::periodic::Loops;
use crate::temporal::{TemporalConfig, connect};
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::sync::Arc;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// On shutdown (SIGTERM), how long running activities may go on before they are cancelled: a
/// cancelled email step sends nothing more and records what it sent, so a rollout's later kill
/// finds nothing unrecorded. Kept well under Kubernetes' 30 s termination grace.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// What the worker's activities need.
pub struct WorkerDeps {
    pub missions_db: DatabaseConnection,
    /// How often the worker audits the ledger (metrics `missionlink_audit_*`).
    pub audit_interval: std::time::Duration,
    /// How long the streamers' event feeds keep events (`EVENT_RETENTION_HOURS`).
    pub event_retention: std::time::Duration,
    /// Where the Temporal SDK's own metrics (`temporal_*`: polls, task latencies, activity
    /// failures and retries) are served for Prometheus; `None` = not exported.
    pub sdk_metrics_addr: Option<std::net::SocketAddr>,
    /// `WORKER_CACHED_WORKFLOWS`: workflows kept in memory between their tasks (each about
    /// 70 KB; an evicted one replays its history at its next task).
    pub cached_workflows: usize,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub settlement: SettlementSettings,
    pub payouts: PayoutSettings,
    pub topups: TopUpSettings,
    /// `DISPUTE_SLA_SECONDS`: a dispute waiting longer counts as overdue.
    pub dispute_sla: std::time::Duration,
    /// `RECONCILIATION_SLA_SECONDS`: a reconciliation case open longer counts as overdue.
    pub reconciliation_sla: std::time::Duration,
    /// The links and code lifetimes of the account emails.
    pub account_emails: crate::account_emails::AccountEmailSettings,
}

/// What the top-up receipts and the reconciliation need.
#[derive(Clone, Debug)]
pub struct TopUpSettings {
    /// `TOPUP_WITHDRAWAL_DAYS` and the rest, as the receipts state them;
    /// `TOPUP_ORDER_TTL_SECONDS`, after which the worker deletes an unconfirmed order.
    pub rules: missionlink_ledger::topup::TopUpRules,
    /// `PAYMENT_PROVIDER`; `None`: nothing to reconcile with.
    pub provider: Option<crate::payments::PaymentChoice>,
    /// `PAYMENT_TIMEOUT_SECONDS`.
    pub timeout: std::time::Duration,
    /// `TOPUP_RECONCILE_AFTER_SECONDS`: how long a top-up may stay CONFIRMING or WITHDRAWING
    /// before the worker asks the provider again.
    pub reconcile_after: std::time::Duration,
}

/// What the payout workflow's activities need beside the databases and the mailer.
#[derive(Clone, Debug)]
pub struct PayoutSettings {
    pub bank: crate::bank::BankChoice,
    /// The client's timeout of one bank call (`BANK_TIMEOUT_SECONDS`).
    pub bank_timeout: std::time::Duration,
    /// `PAYOUT_STUCK_SECONDS`: PROCESSING for longer than this counts as stuck.
    pub stuck_after: std::time::Duration,
    /// `PAYOUT_HELD_SLA_SECONDS`: held for an operator longer than this counts as overdue.
    pub held_sla: std::time::Duration,
    /// `PAYOUT_RETURN_WATCH_DAYS`: how long after it is paid a payout is asked about again.
    pub return_window: std::time::Duration,
    /// `PAYOUT_RETURN_CHECK_SECONDS`: how often.
    pub return_interval: std::time::Duration,
    pub operator: Operator,
}

/// Connects to Temporal and runs the worker and its background loops until `shutdown`
/// resolves, then drains in-flight tasks, stops the loops and returns.
pub async fn run(
    config: &TemporalConfig,
    deps: WorkerDeps,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(runtime_options(deps.sdk_metrics_addr)?)?;
    missionlink_telemetry::metrics().zero_activity_failures(&ACTIVITY_NAMES);
    missionlink_telemetry::metrics().zero_activity_failures(&crate::payout::ACTIVITY_NAMES);
    let identity = format!("missionlink-worker@{}", std::process::id());
    let client = connect(config, &identity).await?;
    // The workflows' search attribute upserts fail their tasks on a namespace without them.
    let added = crate::findable::register(&client, &config.namespace).await?;
    if !added.is_empty() {
        tracing::info!(namespace = %config.namespace, ?added, "registered search attributes");
    }
    let (receipt_users_db, receipt_mailer) = (deps.users_db.clone(), deps.mailer.clone());
    let page_size = deps.settlement.page_size;
    let options = WorkerOptions::new(config.task_queue.clone())
        .graceful_shutdown_period(SHUTDOWN_GRACE)
        .max_cached_workflows(deps.cached_workflows)
        .register_workflow::<LedgerAuditWorkflow>()?
        .register_workflow::<MissionWorkflow>()?
        .register_workflow::<MissionNoticeWorkflow>()?
        .register_workflow::<PayoutWorkflow>()?
        .register_activities(LedgerActivities {
            missions_db: deps.missions_db.clone(),
        })
        .register_activities(PayoutActivities {
            missions_db: deps.missions_db.clone(),
            users_db: deps.users_db.clone(),
            mailer: deps.mailer.clone(),
            bank: deps.payouts.bank.connect(deps.missions_db.clone()),
            bank_timeout: deps.payouts.bank_timeout,
            operator: deps.payouts.operator.clone(),
        })
        .register_activities(MissionActivities {
            missions_db: deps.missions_db.clone(),
            users_db: deps.users_db,
            mailer: deps.mailer,
            settings: deps.settlement,
        })
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), options)?;
    let stop = worker.shutdown_handle();
    tracing::info!(task_queue = %config.task_queue, "Temporal worker started");
    // Every background loop beside the worker, on one runner, in one task set with one stop
    // signal: each returns once stopped, and the worker waits for all of them before it returns.
    let mut loops = Loops::default();
    let db = &deps.missions_db;
    let queue = &config.task_queue;
    let grace = config.outbox_relay_grace;
    loops.spawn(outbox::worker_loop(
        db.clone(),
        client.clone(),
        queue.clone(),
        grace,
    ));
    loops.spawn(crate::payout::outbox::worker_loop(
        db.clone(),
        client,
        queue.clone(),
        grace,
    ));
    loops.spawn(crate::prediction_sweep::worker_loop(db.clone(), page_size));
    loops.spawn(crate::event_pruning::worker_loop(
        db.clone(),
        deps.event_retention,
    ));
    let (stuck_after, held_sla) = (deps.payouts.stuck_after, deps.payouts.held_sla);
    for watch in crate::payout::watch::worker_loops(db.clone(), stuck_after, held_sla) {
        loops.spawn(watch);
    }
    if deps.payouts.bank != crate::bank::BankChoice::None {
        loops.spawn(crate::payout::returns::worker_loop(
            db.clone(),
            deps.payouts.bank.connect(db.clone()),
            deps.payouts.return_window,
            deps.payouts.return_interval,
            deps.payouts.bank_timeout,
        ));
    }
    loops.spawn(crate::dispute_watch::worker_loop(
        db.clone(),
        deps.dispute_sla,
    ));
    loops.spawn(crate::reconciliation_watch::worker_loop(
        db.clone(),
        deps.reconciliation_sla,
    ));
    loops.spawn(crate::topup_receipts::worker_loop(
        crate::topup_receipts::TopUpReceipts {
            missions_db: db.clone(),
            users_db: receipt_users_db.clone(),
            mailer: receipt_mailer.clone(),
            operator: deps.payouts.operator.clone(),
            rules: deps.topups.rules,
        },
    ));
    loops.spawn(crate::reconciliation_notices::worker_loop(
        crate::reconciliation_notices::ReconciliationNotices {
            missions_db: db.clone(),
            users_db: receipt_users_db.clone(),
            mailer: receipt_mailer.clone(),
            operator: deps.payouts.operator.clone(),
        },
    ));
    loops.spawn(crate::webhook_notices::worker_loop(
        crate::webhook_notices::WebhookNotices {
            missions_db: db.clone(),
            users_db: receipt_users_db.clone(),
            mailer: receipt_mailer.clone(),
            operator: deps.payouts.operator.clone(),
        },
    ));
    loops.spawn(crate::account_emails::worker_loop(
        crate::account_emails::AccountEmails {
            users_db: receipt_users_db.clone(),
            mailer: receipt_mailer.clone(),
            settings: deps.account_emails.clone(),
        },
    ));
    loops.spawn(crate::payments::expiry::worker_loop(
        db.clone(),
        deps.topups.rules,
    ));
    if let Some(choice) = &deps.topups.provider {
        loops.spawn(crate::payments::reconcile::worker_loop(
            crate::payments::reconcile::Reconciler::new(
                db.clone(),
                choice.connect(deps.topups.timeout)?,
                deps.topups.reconcile_after,
                deps.topups.rules,
            ),
        ));
    }
    loops.spawn(crate::audit_loop::worker_loop(
        db.clone(),
        deps.audit_interval,
    ));
    let run = worker.run();
    tokio::pin!(run);
    let result = tokio::select! {
        result = &mut run => result,
        () = shutdown => {
            tracing::info!("Temporal worker shutting down");
            stop();
            run.await
        }
    };
    loops.stop().await;
    result?;
    Ok(())
}

/// Runtime options: with the SDK's Prometheus exporter on `metrics_addr`, if given.
fn runtime_options(
    metrics_addr: Option<std::net::SocketAddr>,
) -> anyhow::Result<temporalio_sdk::runtime::RuntimeOptions> {
    use temporalio_common::telemetry::{
        PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter,
    };
    let Some(addr) = metrics_addr else {
        return Ok(Default::default());
    };
    let exporter = start_prometheus_metric_exporter(
        PrometheusExporterOptions::builder()
            .socket_addr(addr)
            .counters_total_suffix(true)
            .unit_suffix(true)
            .use_seconds_for_durations(true)
            .build(),
    )?;
    tracing::info!(addr = %exporter.bound_addr, "Temporal SDK metrics on /metrics");
    let meter: std::sync::Arc<dyn temporalio_common::telemetry::metrics::CoreMeter> =
        exporter.meter;
    let telemetry = TelemetryOptions::builder().metrics(meter).build();
    temporalio_sdk::runtime::RuntimeOptions::builder()
        .telemetry_options(telemetry)
        .build()
        .map_err(|e| anyhow::anyhow!("runtime options: {e}"))
}
