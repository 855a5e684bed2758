//! Every metric's definition: its name, help, buckets and labels, registered once, and the
//! labelled series that exist at zero from the start.

use super::Metrics;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

/// The outcomes `missionlink_topups_total` counts.
pub const TOPUP_OUTCOMES: [&str; 7] = [
    "CONFIRMED",
    "FAILED",
    "PENDING",
    "LIMIT_EXCEEDED",
    "WITHDRAWN",
    "WITHDRAWAL_REFUSED",
    "DISAGREES",
];

/// The kinds of reconciliation case `missionlink_reconciliation_cases_opened_total` counts.
pub const CASE_KINDS: [&str; 5] = [
    "TOPUP_CANCELLED_AT_PROVIDER",
    "PARTIAL_CANCEL_AT_PROVIDER",
    "AMOUNT_MISMATCH",
    "OVER_LIMIT",
    "PAYOUT_RETURNED_BY_BANK",
];

/// The resolutions `missionlink_reconciliation_cases_resolved_total` counts.
pub const CASE_ACTIONS: [&str; 5] = [
    "DEBIT_WALLET",
    "RECORD_RECEIVABLE",
    "REFUND_AT_PROVIDER",
    "RETURN_TO_BALANCE",
    "NO_ACTION",
];

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    pub(super) fn new() -> prometheus::Result<Self> {
        let r = Registry::new_custom(Some("missionlink".into()), None)?;
        let graphql_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "Time to resolve a GraphQL operation (root field)",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation"],
        )?;
        r.register(Box::new(graphql_request_duration_seconds.clone()))?;
        let settlement_duration_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "settlement_duration_seconds",
                "Time to pay or refund every pledge of a mission",
            )
            .buckets(vec![
                0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
            ]),
        )?;
        r.register(Box::new(settlement_duration_seconds.clone()))?;
        let pledge_batch_size = Histogram::with_opts(
            HistogramOpts::new(
                "pledge_batch_size",
                "Pledges committed together in one transaction (group commit)",
            )
            .buckets(vec![
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
            ]),
        )?;
        r.register(Box::new(pledge_batch_size.clone()))?;
        let db_pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections by database and state (idle, in_use)",
            ),
            &["database", "state"],
        )?;
        r.register(Box::new(db_pool_connections.clone()))?;
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let m = Self {
            graphql_requests_total: counter_vec(
                &r,
                "graphql_requests_total",
                "GraphQL operations (root fields) by operation and outcome code",
                &["operation", "code"],
            )?,
            graphql_request_duration_seconds,
            http_responses_total: counter_vec(
                &r,
                "http_responses_total",
                "HTTP responses by route and status class (2xx, 4xx, 5xx)",
                &["route", "class"],
            )?,
            pledges_total: counter(
                &r,
                "pledges_total",
                "Pledges accepted (the creator's first pledge included)",
            )?,
            pledged_won_total: counter(&r, "pledged_won_total", "Won pledged")?,
            bets_total: counter(
                &r,
                "bets_total",
                "Bets placed or raised in the prediction game",
            )?,
            bet_points_total: counter(
                &r,
                "bet_points_total",
                "Points staked in the prediction game",
            )?,
            missions_created_total: counter(&r, "missions_created_total", "Missions created")?,
            missions_settled_total: counter_vec(
                &r,
                "missions_settled_total",
                "Missions settled, by terminal status",
                &["status"],
            )?,
            settlement_duration_seconds,
            pledge_batch_size,
            settlement_failures_total: counter(
                &r,
                "settlement_failures_total",
                "Settlement attempts that failed and will be retried",
            )?,
            emails_sent_total: counter_vec(
                &r,
                "emails_sent_total",
                "Emails sent, by transport",
                &["transport"],
            )?,
            emails_failed_total: counter_vec(
                &r,
                "emails_failed_total",
                "Email sends that failed (retried), by transport",
                &["transport"],
            )?,
            emails_rejected_total: counter_vec(
                &r,
                "emails_rejected_total",
                "Emails refused for good (the recipient's address), recorded as failed and never retried, by transport",
                &["transport"],
            )?,
            activities_failed_for_good_total: counter_vec(
                &r,
                "activities_failed_for_good_total",
                "Mission workflow activities that failed with an error no retry can fix (corrupt data, a reused transfer id, an impossible state), by activity; each leaves its mission's workflow failed",
                &["activity"],
            )?,
            escrow_held_won: gauge(
                &r,
                "escrow_held_won",
                "Won held in mission escrows right now (pledges not yet paid or refunded)",
            )?,
            outbox_pending: gauge(
                &r,
                "outbox_pending",
                "Workflow starts and signals not delivered yet",
            )?,
            outbox_lag_seconds: gauge(
                &r,
                "outbox_lag_seconds",
                "Age of the oldest undelivered workflow start or signal",
            )?,
            db_pool_connections,
            audit_violations: gauge(
                &r,
                "audit_violations",
                "Money-invariant violations found by the last audit",
            )?,
            audit_last_run_timestamp_seconds: gauge(
                &r,
                "audit_last_run_timestamp_seconds",
                "When the last audit finished (Unix time)",
            )?,
            payouts_stuck: gauge(
                &r,
                "payouts_stuck",
                "Payouts at the bank (PROCESSING) for longer than PAYOUT_STUCK_SECONDS, as the \
                 worker last counted them",
            )?,
            disputes_opened_total: counter(
                &r,
                "disputes_opened_total",
                "Missions whose backers' objections reached OBJECTION_THRESHOLD_BPS (DISPUTED)",
            )?,
            disputes_resolved_total: counter_vec(
                &r,
                "disputes_resolved_total",
                "Disputes an operator settled, by outcome (SUCCESS, FAILURE)",
                &["outcome"],
            )?,
            missions_cancelled_by_operator_total: counter(
                &r,
                "missions_cancelled_by_operator_total",
                "Missions an operator cancelled, directly or by suspending their streamer",
            )?,
            disputes_open: gauge(
                &r,
                "disputes_open",
                "Missions DISPUTED and waiting for an operator, as the worker last counted them",
            )?,
            disputes_overdue: gauge(
                &r,
                "disputes_overdue",
                "Disputes waiting longer than DISPUTE_SLA_SECONDS, as the worker last counted \
                 them",
            )?,
            payout_operator_actions_total: counter_vec(
                &r,
                "payout_operator_actions_total",
                "Payouts an operator held, released or cancelled, by action (HOLD, RELEASE, \
                 CANCEL)",
                &["action"],
            )?,
            payouts_held: gauge(
                &r,
                "payouts_held",
                "Payouts held for an operator (by holdPayout, or because their streamer is \
                 suspended), as the worker last counted them",
            )?,
            payouts_held_overdue: gauge(
                &r,
                "payouts_held_overdue",
                "Payouts held for an operator longer than PAYOUT_HELD_SLA_SECONDS, as the worker \
                 last counted them",
            )?,
            payouts_finished_total: counter_vec(
                &r,
                "payouts_finished_total",
                "Payouts that reached an outcome, by status (PAID, FAILED, CANCELLED)",
                &["status"],
            )?,
            topups_total: counter_vec(
                &r,
                "topups_total",
                "Top-ups through the payment provider, by what happened: CONFIRMED, FAILED \
                 (refused by the provider), PENDING (the provider did not answer), LIMIT_EXCEEDED, \
                 WITHDRAWN, WITHDRAWAL_REFUSED, DISAGREES (the provider's word disagrees with \
                 the order: kept for an operator in payment_discrepancies)",
                &["outcome"],
            )?,
            reconciliation_cases_opened_total: counter_vec(
                &r,
                "reconciliation_cases_opened_total",
                "Disagreements with the payment provider or bank kept as reconciliation cases, \
                 by kind",
                &["kind"],
            )?,
            reconciliation_cases_resolved_total: counter_vec(
                &r,
                "reconciliation_cases_resolved_total",
                "Reconciliation cases an operator settled, by action",
                &["action"],
            )?,
            reconciliation_cases_open: gauge(
                &r,
                "reconciliation_cases_open",
                "Reconciliation cases waiting for an operator, as the worker last counted them",
            )?,
            reconciliation_cases_overdue: gauge(
                &r,
                "reconciliation_cases_overdue",
                "Reconciliation cases open longer than RECONCILIATION_SLA_SECONDS, as the worker \
                 last counted them",
            )?,
            registry: r,
        };
        m.zero_known_series();
        Ok(m)
    }

    /// Creates the labelled series whose label values are known up front, at zero, so that
    /// dashboards and alerts see them (and `rate()` works) before the first event.
    fn zero_known_series(&self) {
        for transport in ["file", "ses"] {
            self.emails_sent_total.with_label_values(&[transport]);
            self.emails_failed_total.with_label_values(&[transport]);
            self.emails_rejected_total.with_label_values(&[transport]);
        }
        for status in [
            "SUCCEEDED",
            "FAILED",
            "EXPIRED",
            "REJECTED",
            "CANCELLED",
            "WITHDRAWN",
        ] {
            self.missions_settled_total.with_label_values(&[status]);
        }
        for outcome in ["SUCCESS", "FAILURE"] {
            self.disputes_resolved_total.with_label_values(&[outcome]);
        }
        for status in ["PAID", "FAILED", "CANCELLED"] {
            self.payouts_finished_total.with_label_values(&[status]);
        }
        for outcome in TOPUP_OUTCOMES {
            self.topups_total.with_label_values(&[outcome]);
        }
        for kind in CASE_KINDS {
            self.reconciliation_cases_opened_total
                .with_label_values(&[kind]);
        }
        for action in CASE_ACTIONS {
            self.reconciliation_cases_resolved_total
                .with_label_values(&[action]);
        }
        for action in ["HOLD", "RELEASE", "CANCEL"] {
            self.payout_operator_actions_total
                .with_label_values(&[action]);
        }
        for route in ["/graphql", "/graphql/ws", "/healthz", "/readyz", "/metrics"] {
            for class in ["2xx", "4xx", "5xx"] {
                self.http_responses_total.with_label_values(&[route, class]);
            }
        }
    }
}
