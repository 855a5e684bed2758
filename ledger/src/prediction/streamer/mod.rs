//! Predictions of the streamer's own (issue 31, item 2): a streamer, or one of their
//! moderators, opens a prediction with 2 to 10 outcomes, about the stream or one of their
//! missions; viewers stake points on one outcome each until betting closes (its window ends, or
//! it is locked); the streamer's side resolves it to one outcome, or cancels it. Nobody who bet
//! on it may resolve or cancel it (`CONFLICT_OF_INTEREST`, Kick's rule), and one left
//! undecided for `PREDICTION_RESOLVE_HOURS` after betting closed is EXPIRED.
//!
//! The payout is the mission prediction's: parimutuel over the whole pool, floors, and the
//! points the flooring leaves one each to the largest remainders, earliest bet first (see
//! [`parimutuel`](super::parimutuel)); nobody on the winning outcome, a cancellation or an
//! expiry gives every stake back. Points only: stakes go from the bettor's points wallet to the
//! prediction's pool (`prediction:POINTS:<id>`) and back, paid page by page by the shared
//! [`book`](super::book).
//!
//! `open` creates one, `decide` locks, resolves and cancels, `stake` takes bets, `settle` pays a
//! decided one out and is what the worker's sweep runs, `read` sums the outcomes. The streamer's
//! feed hears `PREDICTION_OPENED`, `PREDICTION_LOCKED` (betting closed) and
//! `PREDICTION_RESOLVED` (paid out, whatever the decision), each in the transaction that makes
//! the change.

mod decide;
mod open;
mod read;
mod settle;
mod stake;

pub use decide::{Decision, decide};
pub use open::{NewPrediction, open};
pub use read::{OutcomeTotals, current, find, list, outcomes, stake_of};
pub use settle::{Settled, SweepReport, settle, sweep};
pub use stake::place;

use super::book::Book;
use crate::channel::moderators::is_moderator;
use crate::events::{self, Appended, NewEvent};
use crate::status::EventKind;
use crate::{AccountId, LedgerError};
use missionlink_entities::missions::streamer_prediction;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

/// Fewest outcomes a prediction has.
pub const MIN_OUTCOMES: usize = 2;
/// Most outcomes a prediction has.
pub const MAX_OUTCOMES: usize = 10;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 80;
/// Longest outcome title, in characters.
pub const MAX_OUTCOME_CHARS: usize = 40;

/// The configured limits of streamers' predictions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PredictionLimits {
    /// `PREDICTIONS_OPEN_PER_STREAMER`: undecided predictions a streamer may have at once.
    pub open_per_streamer: u64,
    /// `PREDICTION_RESOLVE_HOURS`: how long after betting closes a prediction may wait for its
    /// result before it is EXPIRED (every stake back).
    pub resolve_hours: i64,
    /// `PREDICTION_WINDOW_SECONDS`: how long betting stays open when neither the request nor the
    /// streamer's settings say.
    pub window_seconds: i64,
    /// `SETTLEMENT_PAGE_SIZE`: bets paid per transaction when the API pays a decided one out.
    pub page_size: u64,
    /// `CALIBRATION_MIN_PREDICTIONS`: picks a viewer needs on the calibration board.
    pub calibration_min_predictions: u32,
}

impl Default for PredictionLimits {
    fn default() -> Self {
        Self {
            open_per_streamer: 1,
            resolve_hours: 24,
            window_seconds: 300,
            page_size: 500,
            calibration_min_predictions: 10,
        }
    }
}

/// Where prediction `id`'s bets are: `prediction_bets`, on an outcome's position, paid from
/// `prediction:POINTS:<id>` by `predpayout:<id>:<bet>`.
pub(crate) fn book(id: &str) -> Book<i32> {
    Book {
        table: "prediction_bets",
        key_column: "prediction_id",
        key: id.to_owned(),
        pool: AccountId::prediction_pool(id),
        payout_prefix: PAYOUT_PREFIX,
        parse: |s| {
            s.parse()
                .map_err(|_| LedgerError::Corrupt(format!("a bet on the outcome {s:?}")))
        },
        value: Into::into,
    }
}

/// What the id of a stake's transfer starts with: `predbet:<prediction>:<bettor>:<key>`.
pub const BET_PREFIX: &str = "predbet";
/// What the id of a payout's transfer starts with: `predpayout:<prediction>:<bet>`.
pub const PAYOUT_PREFIX: &str = "predpayout";

/// `FORBIDDEN` unless `actor_id` is streamer `streamer_id` or one of their moderators.
async fn authorize<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    actor_id: &str,
) -> Result<(), LedgerError> {
    if actor_id == streamer_id || is_moderator(db, streamer_id, actor_id).await? {
        Ok(())
    } else {
        Err(LedgerError::Forbidden(
            "only the streamer or their moderators may open, lock, resolve or cancel their \
             predictions"
                .into(),
        ))
    }
}

/// Writes `kind` about prediction `p` into its streamer's feed, as the transaction's last write
/// (none when `happened` is false); hand what it returns to [`commit`].
async fn feed<C: ConnectionTrait>(
    txn: &C,
    p: &streamer_prediction::Model,
    kind: EventKind,
    happened: bool,
) -> Result<Vec<Appended>, LedgerError> {
    if !happened {
        return Ok(Vec::new());
    }
    events::write(
        txn,
        &[NewEvent {
            mission_id: p.mission_id.as_deref(),
            prediction_id: Some(&p.id),
            streamer_id: Some(&p.streamer_id),
            kind,
            pledge_id: None,
            tier: None,
            test_payload: None,
        }],
    )
    .await
}

/// Commits `txn`, then announces what it appended to the feed: pushed to this process's
/// subscribers at once, notified to the other processes (Postgres), with the prediction's
/// mission, if it has one, as changed.
async fn commit(
    db: &DatabaseConnection,
    txn: DatabaseTransaction,
    appended: Vec<Appended>,
    mission_id: Option<&str>,
) -> Result<(), LedgerError> {
    txn.commit().await?;
    if !appended.is_empty() {
        let missions = mission_id.into_iter().map(str::to_owned).collect();
        events::announce_committed(db, appended, missions).await;
    }
    Ok(())
}
