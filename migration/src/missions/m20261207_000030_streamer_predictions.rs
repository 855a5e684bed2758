//! Predictions of the streamer's own (issue 31, item 2).
//!
//! - `streamer_predictions`: a prediction a streamer (or one of their moderators, `created_by`)
//!   opened, about their stream or one of their missions (`mission_id`, optional). Betting is
//!   open until `lock_at` (or until it is locked, resolved or cancelled earlier: `status`
//!   LOCKED); the decision (`decision`: RESOLVED with its `winning_outcome`, CANCELLED, or
//!   EXPIRED when nobody resolved it by `resolve_by`) is recorded with who made it and when, and
//!   `settled_at` once every bet is paid (status SETTLED, or REFUNDED when every stake went back).
//!   The pool is the points account `prediction:POINTS:<id>`.
//! - `prediction_outcomes`: its 2 to 10 outcomes, by position (1 first).
//! - `prediction_bets`: one row per bettor and prediction, on one outcome (its position), raised
//!   by later bets of the same bettor; `implied_ppm` is the outcome's share of the pool when the
//!   points were staked (parts per million, weighted by points over the bettor's additions), kept
//!   for the calibration board; `payout` is set once settled.
//!
//! - The feed (`mission_events`) gains `PREDICTION_OPENED`, `PREDICTION_LOCKED` and
//!   `PREDICTION_RESOLVED` (item 4), `prediction_id` (the prediction such an event is about), and
//!   a `mission_id` that may be null (a prediction about no mission). Postgres swaps the CHECK
//!   and drops the NOT NULL; SQLite rebuilds the table from its stored definition.
//!
//! Points move as the mission's prediction moves them (BET, BET_PAYOUT, BET_REFUND), between
//! points wallets and the prediction's pool; no cash moves.

use crate::rebuild::{self, Rebuild};
use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn tables(ts: &str) -> String {
    format!(
        r#"
CREATE TABLE streamer_predictions (
    id              TEXT PRIMARY KEY,
    streamer_id     TEXT NOT NULL,
    mission_id      TEXT REFERENCES missions (id),
    title           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('OPEN', 'LOCKED', 'SETTLED', 'REFUNDED')),
    created_by      TEXT NOT NULL,
    lock_at         {ts} NOT NULL,
    resolve_by      {ts} NOT NULL,
    decision        TEXT CHECK (decision IN ('RESOLVED', 'CANCELLED', 'EXPIRED')),
    winning_outcome INTEGER CHECK (winning_outcome BETWEEN 1 AND 10),
    decided_by      TEXT,
    decided_at      {ts},
    settled_at      {ts},
    created_at      {ts} NOT NULL,
    CHECK ((decision = 'RESOLVED') = (winning_outcome IS NOT NULL)),
    CHECK ((decision IS NULL) = (decided_at IS NULL)),
    CHECK (settled_at IS NULL OR decision IS NOT NULL),
    CHECK ((status IN ('SETTLED', 'REFUNDED')) = (settled_at IS NOT NULL))
);
CREATE INDEX streamer_predictions_streamer ON streamer_predictions (streamer_id, created_at);
CREATE INDEX streamer_predictions_due ON streamer_predictions (status, lock_at);
CREATE INDEX streamer_predictions_unpaid ON streamer_predictions (decided_at)
    WHERE settled_at IS NULL;
CREATE TABLE prediction_outcomes (
    prediction_id TEXT NOT NULL REFERENCES streamer_predictions (id),
    position      INTEGER NOT NULL CHECK (position BETWEEN 1 AND 10),
    title         TEXT NOT NULL,
    PRIMARY KEY (prediction_id, position)
);
CREATE TABLE prediction_bets (
    id            TEXT PRIMARY KEY,
    prediction_id TEXT NOT NULL REFERENCES streamer_predictions (id),
    bettor_id     TEXT NOT NULL,
    outcome       INTEGER NOT NULL CHECK (outcome BETWEEN 1 AND 10),
    points        BIGINT NOT NULL CHECK (points > 0),
    implied_ppm   INTEGER NOT NULL CHECK (implied_ppm BETWEEN 0 AND 1000000),
    payout        BIGINT CHECK (payout >= 0),
    created_at    {ts} NOT NULL,
    UNIQUE (prediction_id, bettor_id)
);
CREATE INDEX prediction_bets_bettor ON prediction_bets (bettor_id, created_at);
ALTER TABLE mission_events ADD COLUMN prediction_id TEXT;
"#
    )
}

/// Every kind of feed event.
const EVENT_KINDS: &str = "'CREATED', 'PLEDGED', 'ACCEPTED', 'REJECTED', 'SUCCEEDED', \
                           'FAILED', 'EXPIRED', 'SETTLED', 'MESSAGE_APPROVED', 'MESSAGE_HIDDEN', \
                           'VERIFYING', 'DISPUTED', 'CANCELLED', 'PLEDGE_WITHDRAWN', 'WITHDRAWN', \
                           'GOAL_REACHED', 'TIER_REACHED', 'PREDICTION_OPENED', \
                           'PREDICTION_LOCKED', 'PREDICTION_RESOLVED'";

fn postgres() -> String {
    format!(
        "ALTER TABLE mission_events ALTER COLUMN mission_id DROP NOT NULL; \
         ALTER TABLE mission_events DROP CONSTRAINT mission_events_kind; \
         ALTER TABLE mission_events ADD CONSTRAINT mission_events_kind \
           CHECK (kind IN ({EVENT_KINDS}));"
    )
}

/// SQLite: the feed's new kinds, and a `mission_id` that may be null.
const REBUILDS: &[Rebuild] = &[Rebuild {
    table: "mission_events",
    replace: &[
        (
            "'GOAL_REACHED', 'TIER_REACHED')",
            "'GOAL_REACHED', 'TIER_REACHED', 'PREDICTION_OPENED', 'PREDICTION_LOCKED', \
             'PREDICTION_RESOLVED')",
            1,
        ),
        ("mission_id   TEXT NOT NULL,", "mission_id   TEXT,", 1),
    ],
}];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        run_sql(manager, &tables(Dialect::of(backend)?.timestamp)).await?;
        match backend {
            DatabaseBackend::Postgres => run_sql(manager, &postgres()).await,
            _ => rebuild::sqlite(manager, REBUILDS).await,
        }
    }
}
