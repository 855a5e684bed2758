//! An operator's decision on a viewer's application to become a streamer (issue 25): the
//! record comes first, in the missions database, as for a suspension; `missionlink_identity`'s
//! `streamers::decide` then carries it out in the users database.
//!
//! **One decision per application** (`operator_actions_application`, a unique index): the first
//! decision recorded is the decision. The same decision again (a retry after a failure between
//! the two databases, or a second operator agreeing) finds that record and is told so
//! ([`Decided::fresh`] false), so finishing it is safe to repeat; the contrary decision is
//! `INVALID_STATE`, and nothing is recorded for it.

use super::{Acting, Target, record};
use crate::LedgerError;
use crate::status::OperatorActionKind;
use missionlink_entities::missions::operator_action;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// The decision on one application, as recorded.
#[derive(Debug)]
pub struct Decided {
    pub action: operator_action::Model,
    /// Whether this call recorded it (false: it was recorded before, by this or another call).
    pub fresh: bool,
}

/// Records `acting`'s decision on `application_id`, the application of `user_id`: approved
/// when `approve`, refused otherwise.
#[tracing::instrument(name = "db.record_streamer_decision", skip_all)]
pub async fn decide_application(
    db: &DatabaseConnection,
    acting: &Acting,
    user_id: &str,
    application_id: &str,
    approve: bool,
) -> Result<Decided, LedgerError> {
    let kind = if approve {
        OperatorActionKind::ApproveStreamer
    } else {
        OperatorActionKind::RefuseStreamer
    };
    let target = Target {
        user_id: Some(user_id),
        application_id: Some(application_id),
        ..Target::default()
    };
    let err = match record(db, acting, kind, target).await {
        Ok(action) => {
            return Ok(Decided {
                action,
                fresh: true,
            });
        }
        Err(LedgerError::Database(e)) => e,
        Err(other) => return Err(other),
    };
    if !matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) {
        return Err(err.into());
    }
    // Decided before: the unique index kept the first decision.
    let first = operator_action::Entity::find()
        .filter(operator_action::Column::ApplicationId.eq(application_id))
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt(format!("decision on {application_id} vanished")))?;
    if first.action != kind || first.user_id.as_deref() != Some(user_id) {
        return Err(LedgerError::InvalidState(format!(
            "this application was already decided ({})",
            first.action
        )));
    }
    Ok(Decided {
        action: first,
        fresh: false,
    })
}
