//! Reading streamers' predictions: one, a streamer's latest, the one their overlay shows, an
//! outcome's points and bettors, a bettor's stake.

use crate::LedgerError;
use crate::sql::param;
use missionlink_entities::missions::{prediction_bet, streamer_prediction};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

/// One outcome and what is staked on it.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct OutcomeTotals {
    pub position: i32,
    pub title: String,
    pub points: i64,
    pub bettors: i64,
}

/// The prediction `id`, if there is one.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<streamer_prediction::Model>, LedgerError> {
    Ok(streamer_prediction::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?)
}

/// The streamer's latest `limit` predictions, newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    limit: u64,
) -> Result<Vec<streamer_prediction::Model>, LedgerError> {
    Ok(streamer_prediction::Entity::find()
        .filter(streamer_prediction::Column::StreamerId.eq(streamer_id))
        .order_by_desc(streamer_prediction::Column::CreatedAt)
        .order_by_desc(streamer_prediction::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The streamer's newest prediction not yet paid out (betting open, closed, or being paid), if
/// any: what their overlay shows.
pub async fn current<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
) -> Result<Option<streamer_prediction::Model>, LedgerError> {
    Ok(streamer_prediction::Entity::find()
        .filter(streamer_prediction::Column::StreamerId.eq(streamer_id))
        .filter(streamer_prediction::Column::SettledAt.is_null())
        .order_by_desc(streamer_prediction::Column::CreatedAt)
        .order_by_desc(streamer_prediction::Column::Id)
        .one(db)
        .await?)
}

/// The prediction's outcomes in order, each with the points staked on it and its bettors.
pub async fn outcomes<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Vec<OutcomeTotals>, LedgerError> {
    let backend = db.get_database_backend();
    Ok(
        OutcomeTotals::find_by_statement(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT o.position AS position, o.title AS title, \
               CAST(COALESCE(SUM(b.points), 0) AS BIGINT) AS points, \
               CAST(COUNT(b.id) AS BIGINT) AS bettors \
             FROM prediction_outcomes o \
             LEFT JOIN prediction_bets b ON b.prediction_id = o.prediction_id \
               AND b.outcome = o.position \
             WHERE o.prediction_id = {} \
             GROUP BY o.position, o.title ORDER BY o.position",
                param(backend, 1)
            ),
            [id.into()],
        ))
        .all(db)
        .await?,
    )
}

/// The bettor's stake on the prediction, if any.
pub async fn stake_of<C: ConnectionTrait>(
    db: &C,
    id: &str,
    bettor_id: &str,
) -> Result<Option<prediction_bet::Model>, LedgerError> {
    Ok(prediction_bet::Entity::find()
        .filter(prediction_bet::Column::PredictionId.eq(id))
        .filter(prediction_bet::Column::BettorId.eq(bettor_id))
        .one(db)
        .await?)
}
