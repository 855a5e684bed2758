//! The game's leaderboards of one streamer's channel (issue 31, item 5), over both kinds of
//! prediction: the mission's own (SUCCESS or FAILURE) and the streamer's (2 to 10 outcomes).
//! Only predictions paid out to a winner count (SETTLED); a refunded one moved nothing.
//!
//! - [`top_predictors`]: by points won, `Σ (payout − stake)` over the period's settled
//!   predictions, those who came out ahead only.
//! - [`calibration`]: being right counts, not betting big. Each pick on a settled streamer's
//!   prediction is scored as the Brier score scores a forecast: the crowd's forecast for the
//!   picked outcome is its pool share when the pick was made (`p`, recorded with the bet), the
//!   picker's is that it happens (1), and `o` is 1 if it won. A pick's skill is the crowd's
//!   Brier minus the picker's, `(p − o)² − (1 − o)²`: right on an outcome the crowd gave little
//!   chance scores most; wrong on one scores worst, so picking long shots blindly loses. The
//!   board ranks by the mean skill over at least `CALIBRATION_MIN_PREDICTIONS` picks, whatever
//!   their stakes. (A mission's bets record no pool share, so only streamers' predictions count
//!   here.) Sums are kept in integer parts-per-million, exact on both backends.

use crate::LedgerError;
use crate::sql::param;
use crate::status::{MissionStatus, Outcome, PredictionStatus};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

/// A million: `implied_ppm`'s unit.
const PPM: i64 = 1_000_000;

/// One row of [`top_predictors`].
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct TopPredictor {
    pub user_id: String,
    /// Payouts minus stakes over the period.
    pub points_won: i64,
    /// Settled predictions they bet on.
    pub predictions: i64,
    /// Of those, the ones they picked the winner of.
    pub correct: i64,
}

/// One row of [`calibration`].
#[derive(Clone, Debug, PartialEq)]
pub struct CalibratedPredictor {
    pub user_id: String,
    pub predictions: i64,
    pub correct: i64,
    /// Mean `(p − o)² − (1 − o)²`: above zero, better than the crowd's odds.
    pub skill: f64,
    /// Mean `(p − o)²`: the crowd's Brier score on their picks.
    pub crowd_brier: f64,
    /// Mean `(1 − o)²`: their own Brier score (the share of their picks that lost).
    pub brier: f64,
}

#[derive(FromQueryResult)]
struct CalibrationRow {
    user_id: String,
    predictions: i64,
    correct: i64,
    /// Σ (p − o)², in ppm².
    crowd: i64,
}

/// The streamer's viewers by points won on predictions settled since `since`, most first (ties:
/// more correct picks, then user id); at most `limit`, those ahead only.
pub async fn top_predictors<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<TopPredictor>, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i| param(backend, i);
    let sql = format!(
        "SELECT bettor_id AS user_id, CAST(SUM(payout - points) AS BIGINT) AS points_won, \
           CAST(COUNT(*) AS BIGINT) AS predictions, CAST(SUM(won) AS BIGINT) AS correct \
         FROM ( \
           SELECT b.bettor_id, b.points, b.payout, \
             CASE WHEN b.outcome = CASE m.status WHEN '{succeeded}' THEN '{success}' \
               ELSE '{failure}' END THEN 1 ELSE 0 END AS won \
           FROM bets b JOIN predictions pr ON pr.mission_id = b.mission_id \
             JOIN missions m ON m.id = b.mission_id \
           WHERE m.streamer_id = {s1} AND pr.status = '{settled}' AND pr.settled_at >= {t1} \
           UNION ALL \
           SELECT b.bettor_id, b.points, b.payout, \
             CASE WHEN b.outcome = sp.winning_outcome THEN 1 ELSE 0 END AS won \
           FROM prediction_bets b JOIN streamer_predictions sp ON sp.id = b.prediction_id \
           WHERE sp.streamer_id = {s2} AND sp.status = '{settled}' AND sp.settled_at >= {t2} \
         ) x GROUP BY bettor_id HAVING SUM(payout - points) > 0 \
         ORDER BY points_won DESC, correct DESC, user_id LIMIT {n}",
        succeeded = MissionStatus::Succeeded,
        success = Outcome::Success,
        failure = Outcome::Failure,
        settled = PredictionStatus::Settled,
        s1 = p(1),
        t1 = p(2),
        s2 = p(3),
        t2 = p(4),
        n = p(5),
    );
    Ok(
        TopPredictor::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [
                streamer_id.into(),
                since.into(),
                streamer_id.into(),
                since.into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        ))
        .all(db)
        .await?,
    )
}

/// The streamer's viewers with at least `min_predictions` picks on settled predictions of the
/// streamer's own, by mean skill (most first; ties: more picks, then user id); at most `limit`.
pub async fn calibration<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    min_predictions: u32,
    limit: u64,
) -> Result<Vec<CalibratedPredictor>, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i| param(backend, i);
    // o = 1 when the pick won: the crowd's Brier term is (PPM − p)², else p².
    let sql = format!(
        "SELECT b.bettor_id AS user_id, CAST(COUNT(*) AS BIGINT) AS predictions, \
           CAST(SUM(CASE WHEN b.outcome = sp.winning_outcome THEN 1 ELSE 0 END) AS BIGINT) \
             AS correct, \
           CAST(SUM(CASE WHEN b.outcome = sp.winning_outcome \
             THEN ({PPM} - CAST(b.implied_ppm AS BIGINT)) * ({PPM} - CAST(b.implied_ppm AS BIGINT)) \
             ELSE CAST(b.implied_ppm AS BIGINT) * CAST(b.implied_ppm AS BIGINT) END) AS BIGINT) \
             AS crowd \
         FROM prediction_bets b JOIN streamer_predictions sp ON sp.id = b.prediction_id \
         WHERE sp.streamer_id = {} AND sp.status = '{settled}' \
         GROUP BY b.bettor_id HAVING COUNT(*) >= {}",
        p(1),
        p(2),
        settled = PredictionStatus::Settled,
    );
    let rows = CalibrationRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [streamer_id.into(), i64::from(min_predictions).into()],
    ))
    .all(db)
    .await?;
    // Ranked exactly: the skill's sum in ppm² over the picks, compared as fractions.
    let unit = i128::from(PPM) * i128::from(PPM);
    let mut ranked: Vec<(i128, CalibrationRow)> = rows
        .into_iter()
        .map(|r| {
            let lost = i128::from(r.predictions - r.correct) * unit;
            (i128::from(r.crowd) - lost, r)
        })
        .collect();
    ranked.sort_by(|(a_sum, a), (b_sum, b)| {
        (b_sum * i128::from(a.predictions))
            .cmp(&(a_sum * i128::from(b.predictions)))
            .then(b.predictions.cmp(&a.predictions))
            .then(a.user_id.cmp(&b.user_id))
    });
    let mean = |sum: i128, n: i64| real(sum) / real(unit) / real(i128::from(n.max(1)));
    let mut board: Vec<CalibratedPredictor> = ranked
        .into_iter()
        .map(|(skill, r)| CalibratedPredictor {
            skill: mean(skill, r.predictions),
            crowd_brier: mean(i128::from(r.crowd), r.predictions),
            brier: mean(i128::from(r.predictions - r.correct) * unit, r.predictions),
            user_id: r.user_id,
            predictions: r.predictions,
            correct: r.correct,
        })
        .collect();
    board.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(board)
}

/// `n` as a float, for showing a mean: exact below 2⁵³, and rounded to the nearest beyond.
#[allow(clippy::as_conversions, clippy::cast_precision_loss)] // no `From<i128>` for f64
fn real(n: i128) -> f64 {
    n as f64
}
