//! Read models of a mission: the row, where its escrow went, its totals and its backers.

use crate::status::TransferKind;
use crate::{AccountId, LedgerError};
use missionlink_entities::missions::mission;
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, Statement};
use serde::{Deserialize, Serialize};

/// Mission ids as workflows know them.
pub fn workflow_id(mission_id: &str) -> String {
    format!("mission-{mission_id}")
}

/// The mission, or `NotFound`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    mission::Entity::find_by_id(mission_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such mission".into()))
}

/// Where a settled mission's escrow went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult, Serialize, Deserialize)]
pub struct Outflows {
    pub paid_won: i64,
    pub fee_won: i64,
    pub refunded_won: i64,
}

/// Sums the transfers out of the mission's escrow, by kind.
pub async fn outflows<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<Outflows, LedgerError> {
    let backend = db.get_database_backend();
    let sum_of = |kind: TransferKind| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN kind = '{kind}' THEN amount ELSE 0 END), 0) AS BIGINT)"
        )
    };
    let sql = format!(
        "SELECT {} AS paid_won, {} AS fee_won, {} AS refunded_won \
         FROM transfers WHERE debit_account_id = {}",
        sum_of(TransferKind::Payout),
        sum_of(TransferKind::Fee),
        sum_of(TransferKind::Refund),
        crate::sql::param(backend, 1)
    );
    let escrow = AccountId::escrow(mission_id);
    Ok(Outflows::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [escrow.as_str().into()],
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}

/// `totalPledged` and `backerCount` of a mission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult)]
pub struct Totals {
    pub total_won: i64,
    pub backers: i64,
}

/// Sums the mission's pledges (every status: a settled mission still shows what was pledged).
pub async fn totals<C: ConnectionTrait>(db: &C, mission_id: &str) -> Result<Totals, LedgerError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total_won, \
         CAST(COUNT(DISTINCT backer_id) AS BIGINT) AS backers FROM pledges WHERE mission_id = {}",
        crate::sql::param(backend, 1)
    );
    Ok(Totals::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [mission_id.into()],
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}

/// The totals of several missions in one query, by mission id (a mission without pledges is
/// absent: its totals are zero).
pub async fn totals_of<C: ConnectionTrait>(
    db: &C,
    mission_ids: &[String],
) -> Result<std::collections::HashMap<String, Totals>, LedgerError> {
    use missionlink_entities::missions::pledge;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let rows: Vec<(String, i64, i64)> = pledge::Entity::find()
        .select_only()
        .column(pledge::Column::MissionId)
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(pledges.amount), 0) AS BIGINT)"),
            "total_won",
        )
        .column_as(
            Expr::cust("CAST(COUNT(DISTINCT pledges.backer_id) AS BIGINT)"),
            "backers",
        )
        .filter(pledge::Column::MissionId.is_in(mission_ids.iter().map(String::as_str)))
        .group_by(pledge::Column::MissionId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, total_won, backers)| (id, Totals { total_won, backers }))
        .collect())
}

/// One backer's pledges to a mission, summed (for their email).
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult, Serialize, Deserialize)]
pub struct BackerTotal {
    pub backer_id: String,
    pub total_won: i64,
}

/// Backers of the mission ordered by id, after `after` (exclusive), at most `limit`.
pub async fn backers_page<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<BackerTotal>, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i: usize| crate::sql::param(backend, i);
    let sql = format!(
        "SELECT backer_id, CAST(SUM(amount) AS BIGINT) AS total_won FROM pledges \
         WHERE mission_id = {} AND backer_id > {} GROUP BY backer_id ORDER BY backer_id LIMIT {}",
        p(1),
        p(2),
        p(3)
    );
    let limit = i64::try_from(limit)
        .map_err(|_| LedgerError::InvalidInput("page size too large".into()))?;
    Ok(
        BackerTotal::find_by_statement(Statement::from_sql_and_values(
            backend,
            &sql,
            [mission_id.into(), after.unwrap_or("").into(), limit.into()],
        ))
        .all(db)
        .await?,
    )
}
