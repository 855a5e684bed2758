//! Suspending a user across both databases (issues 16 and 23): the one sequence that both the
//! `suspendUser` mutation and `missionlink operator suspend` run.
//!
//! 1. The suspension is recorded in the missions database first: from its commit no mission is
//!    proposed to the user and no payout of theirs leaves for the bank (the payout workflow's
//!    last step before the bank reads the record and holds the payout instead).
//! 2. A streamer's open missions are cancelled (every backer refunded) and their payouts still
//!    waiting out the hold are cancelled (the money back to earnings), each recorded with the
//!    suspension as its cause.
//! 3. The users database's row is written: from then on the user cannot sign in, refresh or act.
//!
//! A failure between the steps leaves the record of an attempt, never a suspension without one;
//! running it again finishes it. The caller tells the workflows and forgets its cached user.

use crate::error::{IdentityError, IdentityResult};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::operator_action;
use missionlink_entities::users::Role;
use missionlink_entities::users::user;
use missionlink_ledger::operator::{self as domain, Acting};
use sea_orm::DatabaseConnection;

/// What a suspension did.
#[derive(Debug)]
pub struct Suspended {
    pub action: operator_action::Model,
    /// Missions cancelled by it: their workflows are to be told.
    pub missions: Vec<String>,
    /// Payouts cancelled by it: their workflows are to be told.
    pub payouts: Vec<String>,
}

/// Who may be suspended through the API: never oneself, never an operator (operators are
/// suspended only with `missionlink operator suspend`, which says `via_command`).
pub fn may_suspend(acting: &Acting, target: &user::Model, via_command: bool) -> IdentityResult<()> {
    if target.id == acting.operator_id {
        return Err(IdentityError::invalid(
            "userId",
            "operators cannot suspend themselves",
        ));
    }
    if !via_command && target.role == Role::Operator {
        return Err(IdentityError::Forbidden(
            "operators cannot suspend operators through the API: use `missionlink operator \
             suspend`, which records it the same way"
                .into(),
        ));
    }
    Ok(())
}

/// Suspends `target` until `until` (`None`: until lifted), recorded as `acting`'s action.
pub async fn suspend(
    users_db: &DatabaseConnection,
    missions_db: &DatabaseConnection,
    acting: &Acting,
    target: &user::Model,
    until: Option<DateTime<Utc>>,
) -> IdentityResult<Suspended> {
    if until.is_some_and(|u| u <= Utc::now()) {
        return Err(IdentityError::invalid(
            "until",
            "until must be in the future",
        ));
    }
    let action = domain::suspend(missions_db, acting, &target.id, until).await?;
    let (mut missions, mut payouts) = (Vec::new(), Vec::new());
    if target.role == Role::Streamer {
        missions = domain::cancel_missions_of(missions_db, acting, &target.id, &action.id).await?;
        payouts = domain::cancel_payouts_of(missions_db, acting, &target.id, &action.id).await?;
    }
    crate::suspension::suspend(users_db, &target.id, until).await?;
    Ok(Suspended {
        action,
        missions,
        payouts,
    })
}
