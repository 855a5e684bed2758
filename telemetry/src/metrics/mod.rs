//! The one registry of MissionLink's own metrics (prefix `missionlink_`). Names follow the
//! Prometheus conventions: base units in the name (`_seconds`, `_won`), `_total` on counters.
//! Label values come from code (operation names, codes, statuses), never from client input,
//! so the number of series is bounded.
//!
//! By concern: `definitions.rs` (every metric's name, help, buckets and labels, and the series
//! created at zero), this file (the handles and the one method per event), `database_gauges.rs`
//! (the gauges read from the databases before each scrape), `endpoint.rs` (the standalone
//! worker's `/metrics`).

mod database_gauges;
mod definitions;
mod endpoint;

pub use definitions::TOPUP_OUTCOMES;
pub use endpoint::serve;

use prometheus::{
    Encoder, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Registry,
    TextEncoder,
};
use std::sync::OnceLock;

/// Every metric handle.
pub struct Metrics {
    registry: Registry,
    graphql_requests_total: IntCounterVec,
    graphql_request_duration_seconds: HistogramVec,
    http_responses_total: IntCounterVec,
    pledges_total: IntCounter,
    pledged_won_total: IntCounter,
    bets_total: IntCounter,
    bet_points_total: IntCounter,
    missions_created_total: IntCounter,
    missions_settled_total: IntCounterVec,
    settlement_duration_seconds: Histogram,
    pledge_batch_size: Histogram,
    settlement_failures_total: IntCounter,
    emails_sent_total: IntCounterVec,
    emails_failed_total: IntCounterVec,
    emails_rejected_total: IntCounterVec,
    activities_failed_for_good_total: IntCounterVec,
    escrow_held_won: IntGauge,
    outbox_pending: IntGauge,
    outbox_lag_seconds: IntGauge,
    db_pool_connections: IntGaugeVec,
    audit_violations: IntGauge,
    audit_last_run_timestamp_seconds: IntGauge,
    payouts_stuck: IntGauge,
    payouts_finished_total: IntCounterVec,
    topups_total: IntCounterVec,
    disputes_opened_total: IntCounter,
    disputes_resolved_total: IntCounterVec,
    missions_cancelled_by_operator_total: IntCounter,
    disputes_open: IntGauge,
    disputes_overdue: IntGauge,
    payout_operator_actions_total: IntCounterVec,
    payouts_held: IntGauge,
    payouts_held_overdue: IntGauge,
    reconciliation_cases_opened_total: IntCounterVec,
    reconciliation_cases_resolved_total: IntCounterVec,
    reconciliation_cases_open: IntGauge,
    reconciliation_cases_overdue: IntGauge,
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::new().expect("metric definitions are valid"))
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }

    pub fn graphql_operation(&self, operation: &str, code: &str, seconds: f64) {
        self.graphql_requests_total
            .with_label_values(&[operation, code])
            .inc();
        self.graphql_request_duration_seconds
            .with_label_values(&[operation])
            .observe(seconds);
    }

    pub fn http_response(&self, route: &str, status: u16) {
        let class = match status {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_responses_total
            .with_label_values(&[route, class])
            .inc();
    }

    pub fn pledge(&self, amount_won: i64) {
        self.pledges_total.inc();
        self.pledged_won_total
            .inc_by(u64::try_from(amount_won).unwrap_or(0));
    }

    /// A group commit of `size` pledges (accepted and refused alike) was attempted.
    pub fn pledge_batch(&self, size: usize) {
        self.pledge_batch_size
            .observe(f64::from(u32::try_from(size).unwrap_or(u32::MAX)));
    }

    pub fn bet(&self, points: i64) {
        self.bets_total.inc();
        self.bet_points_total
            .inc_by(u64::try_from(points).unwrap_or(0));
    }

    pub fn mission_created(&self) {
        self.missions_created_total.inc();
    }

    pub fn mission_settled(&self, status: &str, seconds: f64) {
        self.missions_settled_total
            .with_label_values(&[status])
            .inc();
        self.settlement_duration_seconds.observe(seconds);
    }

    pub fn settlement_failed(&self) {
        self.settlement_failures_total.inc();
    }

    pub fn email_sent(&self, transport: &str) {
        self.emails_sent_total.with_label_values(&[transport]).inc();
    }

    pub fn email_rejected(&self, transport: &str) {
        self.emails_rejected_total
            .with_label_values(&[transport])
            .inc();
    }

    pub fn email_failed(&self, transport: &str) {
        self.emails_failed_total
            .with_label_values(&[transport])
            .inc();
    }

    /// An activity failed for good (not retried).
    pub fn activity_failed_for_good(&self, activity: &str) {
        self.activities_failed_for_good_total
            .with_label_values(&[activity])
            .inc();
    }

    /// Creates the failure series of these activities at zero, so an alert sees the first one.
    pub fn zero_activity_failures(&self, activities: &[&str]) {
        for activity in activities {
            self.activities_failed_for_good_total
                .with_label_values(&[activity]);
        }
    }

    pub fn audit_finished(&self, violations: usize) {
        self.audit_violations
            .set(i64::try_from(violations).unwrap_or(i64::MAX));
        self.audit_last_run_timestamp_seconds
            .set(chrono::Utc::now().timestamp());
    }

    /// The worker's latest count of payouts stuck at the bank.
    pub fn payouts_stuck(&self, count: u64) {
        self.payouts_stuck
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The worker's latest count of payouts held for an operator, and of those past the SLA.
    pub fn payouts_held(&self, held: u64, overdue: u64) {
        self.payouts_held
            .set(i64::try_from(held).unwrap_or(i64::MAX));
        self.payouts_held_overdue
            .set(i64::try_from(overdue).unwrap_or(i64::MAX));
    }

    /// An operator held (`HOLD`), released (`RELEASE`) or cancelled (`CANCEL`) a payout.
    pub fn payout_operator_action(&self, action: &str) {
        self.payout_operator_actions_total
            .with_label_values(&[action])
            .inc();
    }

    /// Objections opened a dispute.
    pub fn dispute_opened(&self) {
        self.disputes_opened_total.inc();
    }

    /// An operator settled a dispute.
    pub fn dispute_resolved(&self, success: bool) {
        self.disputes_resolved_total
            .with_label_values(&[if success { "SUCCESS" } else { "FAILURE" }])
            .inc();
    }

    /// An operator cancelled a mission.
    pub fn mission_cancelled_by_operator(&self) {
        self.missions_cancelled_by_operator_total.inc();
    }

    /// The worker's latest count of disputes waiting, and of those past the SLA.
    pub fn disputes_waiting(&self, open: u64, overdue: u64) {
        self.disputes_open
            .set(i64::try_from(open).unwrap_or(i64::MAX));
        self.disputes_overdue
            .set(i64::try_from(overdue).unwrap_or(i64::MAX));
    }

    /// A reconciliation case of `kind` was opened, counted once.
    pub fn reconciliation_case(&self, kind: &str) {
        self.reconciliation_cases_opened_total
            .with_label_values(&[kind])
            .inc();
    }

    /// An operator settled a reconciliation case with `action`.
    pub fn reconciliation_resolved(&self, action: &str) {
        self.reconciliation_cases_resolved_total
            .with_label_values(&[action])
            .inc();
    }

    /// The worker's latest count of open reconciliation cases, and of those past the SLA.
    pub fn reconciliation_waiting(&self, open: u64, overdue: u64) {
        self.reconciliation_cases_open
            .set(i64::try_from(open).unwrap_or(i64::MAX));
        self.reconciliation_cases_overdue
            .set(i64::try_from(overdue).unwrap_or(i64::MAX));
    }

    /// A payout reached `status` (`PAID`, `FAILED` or `CANCELLED`), counted once, by whoever
    /// made the change.
    pub fn payout_finished(&self, status: &str) {
        self.payouts_finished_total
            .with_label_values(&[status])
            .inc();
    }

    /// A top-up step ended with `outcome` (one of [`TOPUP_OUTCOMES`]), counted once, by whoever
    /// made the change (a replay is not counted).
    pub fn topup(&self, outcome: &str) {
        self.topups_total.with_label_values(&[outcome]).inc();
    }
}
