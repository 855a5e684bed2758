//! Opening a streamer's prediction.

use super::{
    MAX_OUTCOME_CHARS, MAX_OUTCOMES, MAX_TITLE_CHARS, MIN_OUTCOMES, PredictionLimits, authorize,
    commit, feed,
};
use crate::channel::settings::{self, PREDICTION_WINDOW_SECONDS};
use crate::input::Checks;
use crate::status::{EventKind, PredictionStatus};
use crate::text::{self, Lines};
use crate::{AccountId, LedgerError, account};
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::{mission, prediction_outcome, streamer_prediction};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};

/// What `createPrediction` asks for.
#[derive(Clone, Debug)]
pub struct NewPrediction<'a> {
    pub streamer_id: &'a str,
    /// Who opens it: the streamer or one of their moderators.
    pub actor_id: &'a str,
    pub mission_id: Option<&'a str>,
    pub title: &'a str,
    pub outcomes: &'a [String],
    /// How long betting stays open; `None`: the streamer's window, else the platform's.
    pub window_seconds: Option<i64>,
}

/// Opens a prediction, betting open from `now`.
///
/// Refusals: a bad title, fewer than 2 or more than 10 outcomes, an outcome's bad or repeated
/// title, a window outside 30 to 1,800 seconds (`BAD_USER_INPUT`, every one named at once);
/// an actor who is neither the streamer nor their moderator (`FORBIDDEN`); a suspended
/// streamer (`STREAMER_SUSPENDED`); the streamer's
/// predictions switched off, or a mission of theirs already final (`INVALID_STATE`); a mission
/// of another streamer (`NOT_FOUND`); `PREDICTION_LIMIT` when the streamer already has
/// `open_per_streamer` undecided (counted under a per-streamer lock, so two at once cannot
/// both pass).
#[tracing::instrument(name = "db.open_prediction", skip_all)]
pub async fn open(
    db: &DatabaseConnection,
    limits: &PredictionLimits,
    new: &NewPrediction<'_>,
    now: DateTime<Utc>,
) -> Result<streamer_prediction::Model, LedgerError> {
    let mut checks = Checks::default();
    let title = checks.check(text::required(
        "title",
        new.title,
        MAX_TITLE_CHARS,
        Lines::One,
    ));
    checks.require(
        (MIN_OUTCOMES..=MAX_OUTCOMES).contains(&new.outcomes.len()),
        "outcomes",
        || {
            format!(
                "a prediction has {MIN_OUTCOMES} to {MAX_OUTCOMES} outcomes (this one has {})",
                new.outcomes.len()
            )
        },
    );
    let mut titles: Vec<String> = Vec::with_capacity(new.outcomes.len());
    for (i, raw) in new.outcomes.iter().take(MAX_OUTCOMES).enumerate() {
        let field = format!("outcomes[{i}]");
        let Some(t) = checks.value(text::required(&field, raw, MAX_OUTCOME_CHARS, Lines::One))
        else {
            continue;
        };
        let folded = t.to_lowercase();
        checks.require(
            !titles.iter().any(|o| o.to_lowercase() == folded),
            &field,
            || format!("{field} repeats another outcome ({t})"),
        );
        titles.push(t);
    }
    if let Some(w) = new.window_seconds {
        checks.require(
            (i64::from(*PREDICTION_WINDOW_SECONDS.start())
                ..=i64::from(*PREDICTION_WINDOW_SECONDS.end()))
                .contains(&w),
            "windowSeconds",
            || {
                format!(
                    "windowSeconds must be {} to {} seconds",
                    PREDICTION_WINDOW_SECONDS.start(),
                    PREDICTION_WINDOW_SECONDS.end()
                )
            },
        );
    }
    checks.done()?;

    let txn = db.begin().await?;
    crate::sql::serialise(
        &txn,
        "predictions",
        new.streamer_id,
        "UPDATE streamer_predictions SET streamer_id = streamer_id WHERE streamer_id = ?",
    )
    .await?;
    authorize(&txn, new.streamer_id, new.actor_id).await?;
    // A suspended streamer cannot call; their moderators cannot run the game for them either.
    if crate::operator::is_suspended(&txn, new.streamer_id, now).await? {
        return Err(LedgerError::Refused {
            code: "STREAMER_SUSPENDED",
            message: "this streamer is suspended and opens no predictions".into(),
            retry_at: None,
        });
    }
    let channel = settings::read(&txn, new.streamer_id).await?;
    if !channel.predictions_enabled {
        return Err(LedgerError::InvalidState(
            "predictions are switched off in the streamer's settings (predictionsEnabled)".into(),
        ));
    }
    if let Some(mission_id) = new.mission_id {
        let m = mission::Entity::find_by_id(mission_id.to_owned())
            .one(&txn)
            .await?
            .filter(|m| m.streamer_id == new.streamer_id)
            .ok_or_else(|| LedgerError::NotFound("no such mission of this streamer".into()))?;
        if m.status.is_final() {
            return Err(LedgerError::InvalidState(format!(
                "mission {mission_id} is {}; a prediction about it opens while it runs",
                m.status
            )));
        }
    }
    let undecided = streamer_prediction::Entity::find()
        .filter(streamer_prediction::Column::StreamerId.eq(new.streamer_id))
        .filter(streamer_prediction::Column::Decision.is_null())
        .count(&txn)
        .await?;
    if undecided >= limits.open_per_streamer {
        return Err(LedgerError::Refused {
            code: "PREDICTION_LIMIT",
            message: format!(
                "at most {} undecided prediction(s) at once (PREDICTIONS_OPEN_PER_STREAMER); \
                 resolve or cancel one first",
                limits.open_per_streamer
            ),
            retry_at: None,
        });
    }
    let window = new
        .window_seconds
        .or(channel.prediction_window_seconds.map(i64::from))
        .unwrap_or(limits.window_seconds);
    let lock_at = now + Duration::seconds(window);
    let id = uuid::Uuid::now_v7().to_string();
    account::open(&txn, &[AccountId::prediction_pool(&id)]).await?;
    let row = streamer_prediction::ActiveModel {
        id: Set(id.clone()),
        streamer_id: Set(new.streamer_id.to_owned()),
        mission_id: Set(new.mission_id.map(str::to_owned)),
        title: Set(title),
        status: Set(PredictionStatus::Open),
        created_by: Set(new.actor_id.to_owned()),
        lock_at: Set(lock_at),
        resolve_by: Set(lock_at + Duration::hours(limits.resolve_hours)),
        decision: Set(None),
        winning_outcome: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        settled_at: Set(None),
        created_at: Set(now),
    };
    streamer_prediction::Entity::insert(row)
        .exec_without_returning(&txn)
        .await?;
    prediction_outcome::Entity::insert_many(titles.into_iter().enumerate().map(|(i, title)| {
        prediction_outcome::ActiveModel {
            prediction_id: Set(id.clone()),
            position: Set(i32::try_from(i + 1).expect("at most 10 outcomes")),
            title: Set(title),
        }
    }))
    .exec_without_returning(&txn)
    .await?;
    let created = streamer_prediction::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("the new prediction vanished".into()))?;
    let appended = feed(&txn, &created, EventKind::PredictionOpened, true).await?;
    commit(db, txn, appended, created.mission_id.as_deref()).await?;
    Ok(created)
}
