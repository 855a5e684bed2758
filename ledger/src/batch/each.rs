//! The batch pledge by pledge, each in its own savepoint of one transaction: any backend, and
//! any failure stays with its pledge.

use super::pledge::{Answer, PledgeRequest, pledge_in};
use crate::events::{self, NewEvent};
use crate::idempotency::Effect;
use crate::mission::goal;
use crate::rules::MissionRules;
use crate::status::{EventKind, MissionKind};
use crate::{LedgerError, changes};
use missionlink_entities::missions::mission;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use std::collections::BTreeMap;

/// The batch pledge by pledge, each in its own savepoint of one transaction: any backend, and
/// any failure stays with its pledge. Answers are final (committed or refused).
pub(super) async fn commit_each(
    db: &DatabaseConnection,
    rules: &MissionRules,
    jobs: &[&PledgeRequest],
) -> Vec<Answer> {
    let txn = match db.begin().await {
        Ok(txn) => txn,
        Err(e) => return jobs.iter().map(|_| Err(failed(&e))).collect(),
    };
    let mut answers = Vec::with_capacity(jobs.len());
    // Won and first-time backers per mission with a new pledge (a replay changes none), added to
    // the totals once, in mission order; the missions announced as changed.
    let mut totals: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for job in jobs {
        let answer = match txn.begin().await {
            Ok(savepoint) => match pledge_in(&savepoint, rules, job).await {
                Ok((p, first)) => savepoint
                    .commit()
                    .await
                    .map(|()| {
                        if p.is_new() {
                            let t = totals.entry(job.mission_id.as_str()).or_default();
                            t.0 += p.get().amount;
                            t.1 += i64::from(first);
                        }
                        p
                    })
                    .map_err(LedgerError::from),
                Err(e) => {
                    let _ = savepoint.rollback().await;
                    Err(e)
                }
            },
            Err(e) => Err(e.into()),
        };
        answers.push(answer);
    }
    let held: Vec<NewEvent<'_>> = answers
        .iter()
        .filter_map(|a| match a {
            Ok(Effect::New(p)) => Some(NewEvent {
                mission_id: Some(&p.mission_id),
                prediction_id: None,
                streamer_id: None,
                kind: EventKind::Pledged,
                pledge_id: Some(&p.id),
                tier: None,
                test_payload: None,
            }),
            _ => None,
        })
        .collect();
    let committed = async {
        for (mission, (won, backers)) in &totals {
            crate::mission::add_to_totals(&txn, mission, *won, *backers).await?;
        }
        // The goals among them that may have reached their goal or a tier.
        let goals = mission::Entity::find()
            .filter(mission::Column::Id.is_in(totals.keys().copied()))
            .filter(mission::Column::Kind.eq(MissionKind::Goal))
            .all(&txn)
            .await?;
        let mut reached = Vec::new();
        for m in goals.iter().filter(|m| goal::watched(m)) {
            for (kind, tier) in goal::advance(&txn, rules, m).await? {
                reached.push(NewEvent::about(m, kind, tier));
            }
        }
        changes::announce_in(&txn, totals.keys().copied()).await?;
        // Last: the feed's row is locked only for the commit.
        events::append(&txn, &held).await?;
        // A goal reached is also pushed to this process once committed, as the set-based path
        // pushes everything: the API hands its workflow the signal at once.
        let milestones = events::write(&txn, &reached).await?;
        txn.commit().await.map_err(LedgerError::from)?;
        Ok::<_, LedgerError>(milestones)
    };
    match committed.await {
        Ok(milestones) => {
            changes::committed(db.get_database_backend(), totals.keys().copied());
            for a in milestones {
                // No receiver is fine; a follower that sees a gap reads it from the database.
                let _ = events::local_committed().send(std::sync::Arc::new(a));
            }
            answers
        }
        // Nothing of this batch stayed: every caller hears so, none is told it pledged.
        Err(e) => answers
            .into_iter()
            .map(|answer| match answer {
                Ok(_) => Err(failed(&e)),
                refused => refused,
            })
            .collect(),
    }
}

/// The error every pledge of a failed transaction hears.
pub(super) fn failed(e: &impl std::fmt::Display) -> LedgerError {
    LedgerError::Database(sea_orm::DbErr::Custom(e.to_string()))
}
