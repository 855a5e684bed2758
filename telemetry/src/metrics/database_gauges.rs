//! The gauges that describe the databases' state (escrow held, outbox backlog, pool use), read
//! before each scrape.

use super::Metrics;
use missionlink_entities::missions::status::PledgeStatus;
use sea_orm::{DatabaseBackend, DatabaseConnection, FromQueryResult, Statement};

impl Metrics {
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
