//! Streamer goals with stretch tiers (issue 28, items 1 and 2).
//!
//! - `missions.kind`: `PROPOSAL` (a viewer's, every mission so far) or `GOAL` (a streamer's
//!   own, so its creator is its streamer: the old `streamer_id <> creator_id` check now holds
//!   for proposals only). A goal has `goal_won`; its funding ends at `accept_by`.
//! - `missions.status` gains `FUNDING`: a goal taking pledges before it reached its goal.
//! - `missions.tier_reached`: a goal's SUCCESS verdict names the level delivered (0 the goal,
//!   `n` the `n`th tier); the streamer is paid up to it and the rest refunded pro rata. The
//!   split is fixed with the verdict: `tier_held_won` (what the goal held), `tier_refund_won`
//!   (what goes back) and `tier_extra_through` (the last pledge, in id order, that gets one won
//!   of the rounding's remainder), all null when nothing goes back.
//! - `mission_tiers`: up to five stretch tiers per goal, each reached once, for good.
//! - The feed gains `GOAL_REACHED` and `TIER_REACHED` (`mission_events.tier`: which tier).
//! - `mission_totals.backers` (`backerCount`) counts the backers still in: a backer who
//!   withdrew every pledge no longer counts (recounted here for missions with a withdrawal).
//!
//! Postgres swaps the CHECKs; SQLite rebuilds `missions` and `mission_events` from their own
//! stored definitions (`crate::rebuild`). No money moves.

use crate::rebuild::{self, Rebuild};
use crate::{Dialect, drop_checks_like, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every mission status, in the order of a mission's life.
const STATUSES: &str = "'FUNDING', 'PENDING', 'ACTIVE', 'VERIFYING', 'DISPUTED', 'SUCCEEDED', \
                        'FAILED', 'EXPIRED', 'REJECTED', 'CANCELLED', 'WITHDRAWN'";
/// Every kind of feed event.
const EVENT_KINDS: &str = "'CREATED', 'PLEDGED', 'ACCEPTED', 'REJECTED', 'SUCCEEDED', \
                           'FAILED', 'EXPIRED', 'SETTLED', 'MESSAGE_APPROVED', 'MESSAGE_HIDDEN', \
                           'VERIFYING', 'DISPUTED', 'CANCELLED', 'PLEDGE_WITHDRAWN', 'WITHDRAWN', \
                           'GOAL_REACHED', 'TIER_REACHED'";
/// Who creates a mission, and what a goal has.
const KIND_CHECKS: &str = "CHECK (streamer_id <> creator_id OR kind = 'GOAL'), \
                           CHECK ((kind = 'GOAL') = (goal_won IS NOT NULL)), \
                           CHECK (goal_won IS NULL OR goal_won > 0)";

fn new_columns_and_table(ts: &str) -> String {
    format!(
        r#"
ALTER TABLE missions ADD COLUMN kind TEXT NOT NULL DEFAULT 'PROPOSAL'
    CHECK (kind IN ('PROPOSAL', 'GOAL'));
ALTER TABLE missions ADD COLUMN goal_won BIGINT;
ALTER TABLE missions ADD COLUMN tier_reached INTEGER CHECK (tier_reached BETWEEN 0 AND 5);
ALTER TABLE missions ADD COLUMN tier_held_won BIGINT CHECK (tier_held_won > 0);
ALTER TABLE missions ADD COLUMN tier_refund_won BIGINT CHECK (tier_refund_won > 0);
ALTER TABLE missions ADD COLUMN tier_extra_through TEXT;
ALTER TABLE mission_events ADD COLUMN tier INTEGER CHECK (tier BETWEEN 1 AND 5);
UPDATE mission_totals SET backers = (
    SELECT COUNT(DISTINCT p.backer_id) FROM pledges p
    WHERE p.mission_id = mission_totals.mission_id AND p.status <> 'WITHDRAWN'
) WHERE mission_id IN (SELECT mission_id FROM pledges WHERE status = 'WITHDRAWN');
CREATE TABLE mission_tiers (
    mission_id  TEXT NOT NULL REFERENCES missions (id),
    position    INTEGER NOT NULL CHECK (position BETWEEN 1 AND 5),
    amount_won  BIGINT NOT NULL CHECK (amount_won > 0),
    title       TEXT NOT NULL,
    reached_at  {ts},
    PRIMARY KEY (mission_id, position)
);
"#
    )
}

fn postgres() -> String {
    format!(
        r#"{drop_creator_check}
ALTER TABLE missions DROP CONSTRAINT missions_status;
ALTER TABLE missions ADD CONSTRAINT missions_status CHECK (status IN ({STATUSES}));
ALTER TABLE missions ADD {kind_checks};
ALTER TABLE mission_events DROP CONSTRAINT mission_events_kind;
ALTER TABLE mission_events ADD CONSTRAINT mission_events_kind CHECK (kind IN ({EVENT_KINDS}));
"#,
        drop_creator_check = drop_checks_like("missions", "%creator_id%"),
        kind_checks = KIND_CHECKS.replace(", CHECK", ", ADD CHECK")
    )
}

const REBUILDS: &[Rebuild] = &[
    Rebuild {
        table: "missions",
        replace: &[
            (
                "CHECK (status IN ('PENDING', ",
                "CHECK (status IN ('FUNDING', 'PENDING', ",
                1,
            ),
            ("CHECK (streamer_id <> creator_id)", KIND_CHECKS, 1),
        ],
    },
    Rebuild {
        table: "mission_events",
        replace: &[(
            "'PLEDGE_WITHDRAWN', 'WITHDRAWN')",
            "'PLEDGE_WITHDRAWN', 'WITHDRAWN', 'GOAL_REACHED', 'TIER_REACHED')",
            1,
        )],
    },
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on both backends: SQLite's rebuild must never stop half way, and its
    /// deferred foreign keys are checked when this transaction commits.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let ts = Dialect::of(backend)?.timestamp;
        run_sql(manager, &new_columns_and_table(ts)).await?;
        match backend {
            DatabaseBackend::Postgres => run_sql(manager, &postgres()).await,
            _ => rebuild::sqlite(manager, REBUILDS).await,
        }
    }
}
