//! The backers' objection window (issue 16). With `OBJECTION_WINDOW_SECONDS` > 0 a SUCCESS
//! verdict moves the mission to VERIFYING until `objection_until`; each backer may object once.
//! When the objectors together pledged at least `OBJECTION_THRESHOLD_BPS` of the mission's
//! total, and they are at least `OBJECTION_MIN_BACKERS`, the mission becomes DISPUTED and waits for an operator; otherwise the workflow's
//! timer ends the window and the mission settles as SUCCEEDED ([`close_window`]).
//!
//! An objection and the window's end both hold the mission's gate exclusive, so one of them
//! commits first: an objection either counts before the window closes or is refused as late.

use super::read::{find, holdings};
use super::transition::{announce, request_signal};
use crate::gate::gate_exclusive;
use crate::idempotency::{
    self, Claim, Effect, IdempotencyKey, decode_response, encode_response, request_hash,
};
use crate::rules::{MissionRules, invalid};
use crate::status::{MissionStatus, PledgeStatus};
use crate::{LedgerError, changes};
use chrono::Utc;
use missionlink_entities::missions::{mission, objection};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// The idempotency operation name of an objection.
const OBJECT: &str = "objectToVerdict";

/// Longest objection reason, in characters.
pub const MAX_OBJECTION_CHARS: usize = 500;

/// An objection as recorded, and whether it opened the dispute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objected {
    pub objection: objection::Model,
    pub disputed: bool,
}

#[derive(Serialize, Deserialize)]
struct ObjectedResponse {
    mission_id: String,
    disputed: bool,
}

/// `backer_id` objects to the SUCCESS verdict of `mission_id`. Refused with `NOT_A_BACKER`,
/// `OBJECTION_WINDOW_CLOSED` (after the window, or once disputed) or `ALREADY_OBJECTED`;
/// `INVALID_STATE` when the mission has no verdict open to objections. A replay of `key`
/// answers the first objection again.
#[tracing::instrument(name = "db.object_to_verdict", skip_all)]
pub async fn object(
    db: &DatabaseConnection,
    rules: &MissionRules,
    mission_id: &str,
    backer_id: &str,
    reason: &str,
    key: &IdempotencyKey,
) -> Result<Effect<Objected>, LedgerError> {
    let reason = valid_reason(reason)?;
    let hash = request_hash(OBJECT, &serde_json::json!([mission_id, reason]).to_string());
    let txn = db.begin().await?;
    if let Claim::Replay(raw) = idempotency::claim(&txn, backer_id, key, OBJECT, &hash).await? {
        txn.commit().await?;
        let first: ObjectedResponse = decode_response(&raw)?;
        let objection = stored(db, &first.mission_id, backer_id).await?;
        return Ok(Effect::Replayed(Objected {
            objection,
            disputed: first.disputed,
        }));
    }
    match record(&txn, rules, mission_id, backer_id, &reason).await {
        Ok(objected) => {
            let response = encode_response(&ObjectedResponse {
                mission_id: mission_id.to_owned(),
                disputed: objected.disputed,
            })?;
            idempotency::complete(&txn, backer_id, key, &response).await?;
            changes::commit(txn, [mission_id]).await?;
            // As stored (the database's time precision), so a replay answers the same.
            let objection = stored(db, mission_id, backer_id).await?;
            Ok(Effect::New(Objected {
                objection,
                disputed: objected.disputed,
            }))
        }
        Err(refused) => {
            // Nothing stays, not even the key: the backer may try again with it.
            txn.rollback().await?;
            Err(refused)
        }
    }
}

async fn stored(
    db: &DatabaseConnection,
    mission_id: &str,
    backer_id: &str,
) -> Result<objection::Model, LedgerError> {
    objection::Entity::find_by_id((mission_id.to_owned(), backer_id.to_owned()))
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("a recorded objection vanished".into()))
}

fn valid_reason(raw: &str) -> Result<String, LedgerError> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err(invalid("reason", "reason must say what went wrong"));
    }
    // Operators and the backer read it: the one text rule for text shown to others.
    crate::text::required(
        "reason",
        reason,
        MAX_OBJECTION_CHARS,
        crate::text::Lines::One,
    )
}

fn refused(code: &'static str, message: String) -> LedgerError {
    LedgerError::Refused {
        code,
        message,
        retry_at: None,
    }
}

fn already_objected() -> LedgerError {
    refused(
        "ALREADY_OBJECTED",
        "you have already objected to this verdict".into(),
    )
}

/// The objection's checks and rows, behind the mission's gate.
async fn record<C: ConnectionTrait>(
    txn: &C,
    rules: &MissionRules,
    mission_id: &str,
    backer_id: &str,
    reason: &str,
) -> Result<Objected, LedgerError> {
    gate_exclusive(txn, mission_id).await?;
    let m = find(txn, mission_id).await?;
    let now = Utc::now();
    if objection::Entity::find_by_id((mission_id.to_owned(), backer_id.to_owned()))
        .one(txn)
        .await?
        .is_some()
    {
        return Err(already_objected());
    }
    match (m.status, m.objection_until) {
        (MissionStatus::Verifying, Some(until)) if now < until => {}
        (MissionStatus::Verifying | MissionStatus::Disputed, _)
        | (MissionStatus::Succeeded, Some(_)) => {
            return Err(refused(
                "OBJECTION_WINDOW_CLOSED",
                format!(
                    "the objection window of this mission is closed (it is {})",
                    m.status
                ),
            ));
        }
        (status, _) => {
            return Err(LedgerError::InvalidState(format!(
                "mission is {status}; only a SUCCESS verdict in its objection window can be \
                 objected to"
            )));
        }
    }
    let pledged = pledged_by(txn, mission_id, backer_id).await?;
    if pledged == 0 {
        return Err(refused(
            "NOT_A_BACKER",
            "only the mission's backers may object to its verdict".into(),
        ));
    }
    let row = objection::Model {
        mission_id: mission_id.to_owned(),
        backer_id: backer_id.to_owned(),
        reason: reason.to_owned(),
        pledged_won: pledged,
        created_at: now,
    };
    let inserted = objection::Entity::insert(objection::ActiveModel::from(row.clone()))
        .on_conflict_do_nothing()
        .exec_without_returning(txn)
        .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
        return Err(already_objected());
    }
    let objected = objections_of(txn, mission_id).await?;
    // What the mission holds: a pledge withdrawn while it was PENDING weighs nothing.
    let total = holdings(txn, mission_id).await?.held_won;
    // Weight alone is not enough: one backer holding the threshold (often the creator) does
    // not force a dispute by themselves.
    let disputed = reaches(objected.won, total, rules.objection_threshold_bps)
        && objected.count >= i64::from(rules.objection_min_backers);
    if disputed {
        let changed = mission::Entity::update_many()
            .col_expr(
                mission::Column::Status,
                Expr::value(MissionStatus::Disputed),
            )
            .col_expr(mission::Column::DisputedAt, Expr::value(now))
            .filter(mission::Column::Id.eq(mission_id))
            .filter(mission::Column::Status.eq(MissionStatus::Verifying))
            .exec(txn)
            .await?;
        if changed.rows_affected != 1 {
            return Err(LedgerError::Contended(format!(
                "mission {mission_id} left VERIFYING behind its gate"
            )));
        }
        request_signal(txn, mission_id, MissionStatus::Disputed, None, now).await?;
        announce(txn, mission_id, &m.streamer_id, MissionStatus::Disputed).await?;
    }
    Ok(Objected {
        objection: row,
        disputed,
    })
}

/// Whether objectors holding `objected` of `total` pledged won reach `threshold_bps`.
pub fn reaches(objected: i64, total: i64, threshold_bps: u32) -> bool {
    i128::from(objected) * 10_000 >= i128::from(total) * i128::from(threshold_bps)
}

#[derive(FromQueryResult)]
struct Sum {
    won: i64,
}

async fn sum<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<i64, LedgerError> {
    let backend = db.get_database_backend();
    Ok(
        Sum::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .one(db)
            .await?
            .map_or(0, |s| s.won),
    )
}

/// What `backer_id` has in the mission: their pledges, less any they withdrew.
async fn pledged_by<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    backer_id: &str,
) -> Result<i64, LedgerError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS won FROM pledges \
         WHERE mission_id = {} AND backer_id = {} AND status <> '{withdrawn}'",
        crate::sql::param(backend, 1),
        crate::sql::param(backend, 2),
        withdrawn = PledgeStatus::Withdrawn.as_str(),
    );
    sum(db, &sql, vec![mission_id.into(), backer_id.into()]).await
}

/// A mission's objections: how many, and what their backers pledged to it, together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult)]
pub struct Objections {
    pub count: i64,
    pub won: i64,
}

/// Counts and weighs the mission's objections, in one query.
pub async fn objections_of<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<Objections, LedgerError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS count, \
         CAST(COALESCE(SUM(pledged_won), 0) AS BIGINT) AS won FROM objections \
         WHERE mission_id = {}",
        crate::sql::param(backend, 1)
    );
    Ok(
        Objections::find_by_statement(Statement::from_sql_and_values(
            backend,
            &sql,
            [mission_id.into()],
        ))
        .one(db)
        .await?
        .unwrap_or_default(),
    )
}

/// Ends the objection window: a mission still VERIFYING settles as SUCCEEDED. The workflow's
/// timer says when; a mission that became DISPUTED (or was cancelled) meanwhile is left as it
/// is. Returns the mission as it is afterwards.
#[tracing::instrument(name = "db.close_objection_window", skip_all)]
pub async fn close_window(
    db: &DatabaseConnection,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    let txn = db.begin().await?;
    gate_exclusive(&txn, mission_id).await?;
    let m = find(&txn, mission_id).await?;
    let changed = mission::Entity::update_many()
        .col_expr(
            mission::Column::Status,
            Expr::value(MissionStatus::Succeeded),
        )
        .filter(mission::Column::Id.eq(mission_id))
        .filter(mission::Column::Status.eq(MissionStatus::Verifying))
        .exec(&txn)
        .await?;
    let succeeded = changed.rows_affected == 1;
    if succeeded {
        announce(&txn, mission_id, &m.streamer_id, MissionStatus::Succeeded).await?;
    }
    changes::commit(txn, succeeded.then_some(mission_id)).await?;
    find(db, mission_id).await
}

#[cfg(test)]
mod tests {
    use super::{reaches, valid_reason};

    #[test]
    fn a_reason_follows_the_one_text_rule() {
        assert!(
            valid_reason("Boss \u{202E}kcuf").is_err(),
            "direction override"
        );
        assert!(valid_reason("\u{200B}\u{FE0F}").is_err(), "invisible only");
        assert_eq!(
            valid_reason("  he never \u{200B}fought the boss ").expect("a reason"),
            "he never fought the boss"
        );
    }

    #[test]
    fn the_threshold_counts_pledged_won_in_basis_points() {
        assert!(reaches(3_000, 10_000, 3_000));
        assert!(!reaches(2_999, 10_000, 3_000));
        assert!(reaches(10_000, 10_000, 10_000));
        assert!(!reaches(i64::MAX - 1, i64::MAX, 10_000));
        assert!(reaches(i64::MAX, i64::MAX, 10_000));
    }
}
