//! Paying a decided prediction out, and the sweep that moves predictions along in time: betting
//! closes at `lock_at`, an undecided prediction EXPIRES at `resolve_by`, and a decided one is
//! paid. The API settles a prediction right after resolving or cancelling it; the worker's
//! sweep settles whatever that left (the API stopped half way) and does the rest. Both are
//! idempotent: payouts are recorded with their transfers, a page at a time.

use super::{book, commit, feed};
use crate::LedgerError;
use crate::prediction::book::{all_paid, pay_page, shares};
use crate::status::{EventKind, PredictionDecision, PredictionStatus};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::streamer_prediction;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

/// Predictions each sweep step takes at most.
const SWEEP_BATCH: u64 = 100;

/// What settling one prediction did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    pub bets: u64,
    pub points_paid: i64,
    /// Every stake went back (cancelled, expired, or nobody on the winning outcome).
    pub refunded: bool,
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Predictions whose betting closed.
    pub locked: u64,
    /// Predictions nobody resolved in time.
    pub expired: u64,
    /// Predictions paid out.
    pub settled: u64,
}

/// Pays every bet of decided prediction `id` and marks it SETTLED (or REFUNDED); `None` if it
/// was settled already. `INVALID_STATE` while it is undecided.
#[tracing::instrument(name = "db.settle_streamer_prediction", skip_all)]
pub async fn settle(
    db: &DatabaseConnection,
    id: &str,
    page_size: u64,
) -> Result<Option<Settled>, LedgerError> {
    let p = streamer_prediction::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such prediction".into()))?;
    if p.settled_at.is_some() {
        return Ok(None);
    }
    let winner = match p.decision {
        None => {
            return Err(LedgerError::InvalidState(
                "the prediction is not decided yet".into(),
            ));
        }
        Some(PredictionDecision::Resolved) => p.winning_outcome,
        Some(PredictionDecision::Cancelled | PredictionDecision::Expired) => None,
    };
    let book = book(id);
    let shares = shares(db, &book, winner).await?;
    let mut settled = Settled {
        refunded: shares.winner.is_none(),
        ..Settled::default()
    };
    let mut after: Option<String> = None;
    loop {
        let page = pay_page(db, &book, &shares, after.as_deref(), page_size).await?;
        if page.bets == 0 {
            break;
        }
        settled.bets += page.bets;
        settled.points_paid = settled
            .points_paid
            .checked_add(page.points_paid)
            .ok_or_else(|| LedgerError::Corrupt("points paid overflow".into()))?;
        after = page.last_bet_id;
    }
    if !all_paid(db, &book).await? {
        return Err(LedgerError::Contended(format!(
            "prediction {id} still has bets being paid elsewhere"
        )));
    }
    let status = if settled.refunded {
        PredictionStatus::Refunded
    } else {
        PredictionStatus::Settled
    };
    let txn = db.begin().await?;
    let finished = streamer_prediction::Entity::update_many()
        .col_expr(streamer_prediction::Column::Status, Expr::value(status))
        .col_expr(
            streamer_prediction::Column::SettledAt,
            Expr::value(Utc::now()),
        )
        .filter(streamer_prediction::Column::Id.eq(id))
        .filter(streamer_prediction::Column::SettledAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    let appended = feed(&txn, &p, EventKind::PredictionResolved, finished).await?;
    commit(db, txn, appended, p.mission_id.as_deref()).await?;
    Ok(finished.then_some(settled))
}

/// One pass at `now`: closes betting on predictions past `lock_at`, expires those undecided past
/// `resolve_by`, and settles every decided one not yet paid.
pub async fn sweep(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    page_size: u64,
) -> Result<SweepReport, LedgerError> {
    let mut report = SweepReport::default();
    let due = |status: PredictionStatus, by: streamer_prediction::Column| {
        streamer_prediction::Entity::find()
            .filter(streamer_prediction::Column::Status.eq(status))
            .filter(streamer_prediction::Column::Decision.is_null())
            .order_by_asc(by)
            .limit(SWEEP_BATCH)
    };
    let open = due(PredictionStatus::Open, streamer_prediction::Column::LockAt);
    for p in open.all(db).await? {
        if p.lock_at <= now {
            let txn = db.begin().await?;
            let locked = streamer_prediction::Entity::update_many()
                .col_expr(
                    streamer_prediction::Column::Status,
                    Expr::value(PredictionStatus::Locked),
                )
                .filter(streamer_prediction::Column::Id.eq(&p.id))
                .filter(streamer_prediction::Column::Status.eq(PredictionStatus::Open))
                .exec(&txn)
                .await?
                .rows_affected
                == 1;
            let appended = feed(&txn, &p, EventKind::PredictionLocked, locked).await?;
            commit(db, txn, appended, p.mission_id.as_deref()).await?;
            report.locked += u64::from(locked);
        }
    }
    let locked = due(
        PredictionStatus::Locked,
        streamer_prediction::Column::ResolveBy,
    );
    for p in locked.all(db).await? {
        if p.resolve_by <= now {
            report.expired += streamer_prediction::Entity::update_many()
                .col_expr(
                    streamer_prediction::Column::Decision,
                    Expr::value(PredictionDecision::Expired),
                )
                .col_expr(streamer_prediction::Column::DecidedAt, Expr::value(now))
                .filter(streamer_prediction::Column::Id.eq(&p.id))
                .filter(streamer_prediction::Column::Decision.is_null())
                .exec(db)
                .await?
                .rows_affected;
        }
    }
    let decided = streamer_prediction::Entity::find()
        .filter(streamer_prediction::Column::SettledAt.is_null())
        .filter(streamer_prediction::Column::Decision.is_not_null())
        .order_by_asc(streamer_prediction::Column::DecidedAt)
        .limit(SWEEP_BATCH)
        .all(db)
        .await?;
    for p in decided {
        match settle(db, &p.id, page_size).await {
            Ok(Some(_)) => report.settled += 1,
            Ok(None) => {}
            // Another process is paying it: the next pass finishes it.
            Err(LedgerError::Contended(why)) => tracing::info!(prediction_id = %p.id, %why),
            // One that fails does not hold the others back; the next pass tries it again.
            Err(e) => tracing::warn!(prediction_id = %p.id, error = %e, "could not pay out"),
        }
    }
    Ok(report)
}
