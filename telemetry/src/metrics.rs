//! The one registry of MissionLink's own metrics (prefix `missionlink_`). Names follow the
//! Prometheus conventions: base units in the name (`_seconds`, `_won`), `_total` on counters.
//! Label values come from code (operation names, codes, statuses), never from client input,
//! so the number of series is bounded.

use missionlink_entities::missions::status::PledgeStatus;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::{DatabaseBackend, DatabaseConnection, FromQueryResult, Statement};
use std::net::SocketAddr;
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
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::new().expect("metric definitions are valid"))
}

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

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    fn new() -> prometheus::Result<Self> {
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
        for status in ["SUCCEEDED", "FAILED", "EXPIRED", "REJECTED", "CANCELLED"] {
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

    /// Reads the gauges that describe the database's state (escrow held, outbox backlog, pool
    /// use). Called before each scrape; a failure leaves the previous values.
    pub async fn refresh(&self, users_db: &DatabaseConnection, missions_db: &DatabaseConnection) {
        match read_state(missions_db).await {
            Ok(s) => {
                self.escrow_held_won.set(s.escrow_held_won);
                self.outbox_pending.set(s.outbox_pending);
                self.outbox_lag_seconds.set(s.outbox_lag_seconds);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read gauges from the missions database")
            }
        }
        for (name, db) in [("users", users_db), ("missions", missions_db)] {
            let (size, idle) = pool_use(db);
            self.db_pool_connections
                .with_label_values(&[name, "idle"])
                .set(idle);
            self.db_pool_connections
                .with_label_values(&[name, "in_use"])
                .set(size - idle);
        }
    }
}

#[derive(FromQueryResult)]
struct State {
    escrow_held_won: i64,
    outbox_pending: i64,
    outbox_lag_seconds: i64,
}

async fn read_state(db: &DatabaseConnection) -> Result<State, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let age = match backend {
        DatabaseBackend::Postgres => {
            "CAST(COALESCE(EXTRACT(EPOCH FROM now() - MIN(COALESCE(CASE WHEN started_at IS NULL THEN created_at END, signal_requested_at))), 0) AS BIGINT)"
        }
        _ => {
            "CAST(COALESCE(strftime('%s','now') - strftime('%s', MIN(COALESCE(CASE WHEN started_at IS NULL THEN created_at END, signal_requested_at))), 0) AS BIGINT)"
        }
    };
    let sql = format!(
        "SELECT \
           CAST((SELECT COALESCE(SUM(amount), 0) FROM pledges WHERE status = '{held}') AS BIGINT) AS escrow_held_won, \
           CAST(COUNT(*) AS BIGINT) AS outbox_pending, \
           {age} AS outbox_lag_seconds \
         FROM workflow_outbox WHERE started_at IS NULL OR signal_requested_at IS NOT NULL",
        held = PledgeStatus::Held
    );
    Ok(
        State::find_by_statement(Statement::from_string(backend, sql))
            .one(db)
            .await?
            .unwrap_or(State {
                escrow_held_won: 0,
                outbox_pending: 0,
                outbox_lag_seconds: 0,
            }),
    )
}

/// (connections open, of which idle) for the database's pool.
fn pool_use(db: &DatabaseConnection) -> (i64, i64) {
    let (size, idle) = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
    };
    (i64::from(size), i64::try_from(idle).unwrap_or(i64::MAX))
}

/// Serves `GET /metrics` on `addr` until `shutdown` resolves: the standalone worker's endpoint
/// (the API serves the same registry on its own port).
pub async fn serve(
    addr: SocketAddr,
    users_db: DatabaseConnection,
    missions_db: DatabaseConnection,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let (u, m) = (users_db.clone(), missions_db.clone());
            async move {
                metrics().refresh(&u, &m).await;
                metrics().render()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "worker metrics on /metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
