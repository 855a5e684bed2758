//! A mission's prediction: when betting closes, opening it with the acceptance, locking it,
//! and the points on each side.

use crate::status::{Outcome, PredictionStatus};
use crate::{AccountId, LedgerError, account, changes};
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::prediction;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, FromQueryResult, QueryFilter, Statement, TransactionTrait,
};

/// Most points one user may stake on one prediction, all additions together.
pub const MAX_POINTS_PER_USER: i64 = 250_000;

/// When betting closes: `window_seconds` after acceptance, never later than the deadline.
pub fn lock_at(
    accepted_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    window_seconds: i64,
) -> DateTime<Utc> {
    std::cmp::min(accepted_at + Duration::seconds(window_seconds), deadline)
}

/// Opens the mission's prediction, inside the acceptance's transaction.
pub(crate) async fn open(
    txn: &DatabaseTransaction,
    mission_id: &str,
    lock_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    account::open(txn, &[AccountId::pool(mission_id)]).await?;
    prediction::Entity::insert(prediction::ActiveModel {
        mission_id: Set(mission_id.to_owned()),
        status: Set(PredictionStatus::Open),
        lock_at: Set(lock_at),
        settled_at: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Locks the prediction if it is still open.
pub async fn lock(db: &DatabaseConnection, mission_id: &str) -> Result<(), LedgerError> {
    let txn = db.begin().await?;
    let locked = prediction::Entity::update_many()
        .col_expr(
            prediction::Column::Status,
            Expr::value(PredictionStatus::Locked),
        )
        .filter(prediction::Column::MissionId.eq(mission_id))
        .filter(prediction::Column::Status.eq(PredictionStatus::Open))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    changes::commit(txn, locked.then_some(mission_id)).await?;
    Ok(())
}

/// Live pool totals of a prediction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult)]
pub struct Pools {
    pub success_points: i64,
    pub failure_points: i64,
}

/// The points staked on each side of the mission's prediction.
pub async fn pools<C: ConnectionTrait>(db: &C, mission_id: &str) -> Result<Pools, LedgerError> {
    let backend = db.get_database_backend();
    let side = |outcome: Outcome| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN outcome = '{outcome}' THEN points ELSE 0 END), 0) AS BIGINT)"
        )
    };
    let sql = format!(
        "SELECT {} AS success_points, {} AS failure_points FROM bets WHERE mission_id = {}",
        side(Outcome::Success),
        side(Outcome::Failure),
        crate::sql::param(backend, 1)
    );
    Ok(Pools::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [mission_id.into()],
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}
