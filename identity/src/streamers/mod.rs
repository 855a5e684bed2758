//! Verified streamers (issue 25, item 5). The STREAMER role is earned, not self-declared:
//! unless `STREAMER_SELF_REGISTRATION` is on, everyone registers as a viewer, then either
//!
//! - applies with a channel address ([`apply`]) and waits for an operator to approve or refuse
//!   the application ([`decide`]), or
//! - links a channel whose platform has an OAuth API ([`link::link_channel`], CHZZK), verified
//!   at once by a [`crate::channels::ChannelVerifier`].
//!
//! Either way the same account becomes a streamer: same id, wallet and history, with one
//! verified channel (`streamer_channels`). **One channel, one account**: the unique
//! `(platform, channel_id)` decides, whatever was checked before (`CHANNEL_ALREADY_LINKED`).
//!
//! A decision spans both databases, ordered as a suspension is (`crate::suspend`): the
//! operator action is recorded first in the missions database (one decision per application,
//! `missionlink_ledger::operator::decide_application`), then the users database takes it in one
//! transaction (the application's status, the role, the channel). A failure between leaves the
//! record and a pending application; deciding the same way again finds the record and finishes.
//! An approval on record that can no longer be applied (the channel or the account changed in
//! between) closes the application as refused, its note saying why: nothing stays pending forever.
//! The caller forgets its cached user (`ActiveUsers::forget`): the role is read from the user's
//! row on every request, so a token issued to the viewer acts as the streamer at once.

pub mod claim;
pub mod link;

use crate::error::{IdentityError, IdentityResult};
use chrono::Utc;
use claim::ChannelClaim;
use missionlink_entities::missions::operator_action;
use missionlink_entities::users::{
    ApplicationStatus, Platform, Role, Verification, streamer_application, streamer_channel, user,
};
use missionlink_ledger::listing::{self, Order, Page, Window};
use missionlink_ledger::operator::{Acting, decide_application};
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QueryTrait, TransactionTrait,
};

pub use missionlink_entities::users::streamer_application::Model as Application;
pub use missionlink_entities::users::streamer_channel::Model as Channel;

/// `applyAsStreamer`: `user_id` (a viewer) says `channel_url` on `platform` is theirs. Refused,
/// changing nothing: an address that is not that platform's channel (`BAD_USER_INPUT`); a
/// streamer (`ALREADY_STREAMER`) or operator (`FORBIDDEN`); a user with an application still
/// pending (`APPLICATION_PENDING`); a channel another account has (`CHANNEL_ALREADY_LINKED`).
pub async fn apply(
    users_db: &DatabaseConnection,
    user_id: &str,
    platform: Platform,
    channel_url: &str,
) -> IdentityResult<Application> {
    let claim = ChannelClaim::parse(platform, channel_url)?;
    let applicant = crate::users::get(users_db, user_id).await?;
    may_become_streamer(&applicant)?;
    if pending_of(users_db, user_id).await?.is_some() {
        return Err(application_pending());
    }
    let owner = owner_of(users_db, platform, &claim.channel_id).await?;
    if owner.is_some_and(|owner| owner != user_id) {
        return Err(already_linked(platform));
    }
    let row = streamer_application::Model {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        platform,
        channel_id: claim.channel_id,
        channel_url: claim.url,
        status: ApplicationStatus::Pending,
        note: None,
        decided_by: None,
        created_at: Utc::now(),
        decided_at: None,
    };
    let inserted =
        streamer_application::Entity::insert(streamer_application::ActiveModel::from(row.clone()))
            .exec_without_returning(users_db)
            .await;
    match inserted {
        Ok(_) => Ok(row),
        // Two applications racing: `streamer_applications_one_pending` kept the first.
        Err(e) if is_unique_violation(&e) => Err(application_pending()),
        Err(e) => Err(e.into()),
    }
}

/// Counts one `applyAsStreamer` or `linkChannel` of `user_id` before any work, every attempt
/// (each link costs calls to the platform under this server's application, each application
/// an operator's time): past `max` per `window_seconds`, `RATE_LIMITED`, nothing counted.
pub async fn count_request(
    users_db: &DatabaseConnection,
    user_id: &str,
    max: i64,
    window_seconds: i64,
) -> IdentityResult<()> {
    let bucket = format!("streamer-request:{user_id}");
    match crate::throttle::acquire(users_db, &bucket, max, window_seconds).await? {
        Some(_) => Ok(()),
        None => Err(IdentityError::RateLimited(format!(
            "at most {max} streamer applications and channel links per {window_seconds} \
             seconds; try again later"
        ))),
    }
}

/// What a decision did.
#[derive(Debug)]
pub struct Decided {
    pub application: Application,
    /// The operator action that records it.
    pub action: operator_action::Model,
}

/// `approveStreamer` (`approve`) or `refuseStreamer`: decides `user_id`'s pending application
/// as `acting`. Approval makes the account a streamer with the application's channel,
/// verified now by this operator. `NOT_FOUND` for an unknown user; `INVALID_STATE` without a
/// pending application, or when it was already decided the other way; approval of an account
/// that is already a streamer is `ALREADY_STREAMER` (refuse the application instead), of a
/// channel another account has meanwhile `CHANNEL_ALREADY_LINKED`. Each refusal changes nothing.
pub async fn decide(
    users_db: &DatabaseConnection,
    missions_db: &DatabaseConnection,
    acting: &Acting,
    user_id: &str,
    approve: bool,
) -> IdentityResult<Decided> {
    let target = crate::users::get(users_db, user_id).await?;
    let Some(pending) = pending_of(users_db, user_id).await? else {
        return Err(IdentityError::InvalidState(
            "this user has no pending streamer application".into(),
        ));
    };
    if approve {
        may_become_streamer(&target)?;
        if crate::suspension::suspended(&target, Utc::now()).is_some() {
            return Err(IdentityError::InvalidState(
                "this account is suspended: lift the suspension before approving it".into(),
            ));
        }
        let owner = owner_of(users_db, pending.platform, &pending.channel_id).await?;
        if owner.is_some_and(|owner| owner != user_id) {
            return Err(already_linked(pending.platform));
        }
    }
    // 1. The record, in the missions database: the first decision on an application is the one.
    let recorded = decide_application(missions_db, acting, user_id, &pending.id, approve).await?;
    let action = recorded.action;
    // 2. The users database, in one transaction, only while the application is still pending:
    //    a retry or a racing call that finds it decided changes nothing more.
    let status = if approve {
        ApplicationStatus::Approved
    } else {
        ApplicationStatus::Refused
    };
    let txn = users_db.begin().await?;
    let decided = streamer_application::Entity::update_many()
        .col_expr(streamer_application::Column::Status, Expr::value(status))
        .col_expr(
            streamer_application::Column::Note,
            Expr::value(Some(action.note.clone())),
        )
        .col_expr(
            streamer_application::Column::DecidedBy,
            Expr::value(Some(action.operator_id.clone())),
        )
        .col_expr(
            streamer_application::Column::DecidedAt,
            Expr::value(Some(action.created_at)),
        )
        .filter(streamer_application::Column::Id.eq(&pending.id))
        .filter(streamer_application::Column::Status.eq(ApplicationStatus::Pending))
        .exec(&txn)
        .await?;
    if decided.rows_affected == 1 && approve {
        let channel = Channel {
            user_id: user_id.to_owned(),
            platform: Some(pending.platform),
            channel_id: Some(pending.channel_id.clone()),
            // No platform said its name: the channel's id on it is what is known.
            name: Some(pending.channel_id.clone()),
            url: Some(pending.channel_url.clone()),
            verified_at: action.created_at,
            verified_via: Verification::Operator,
            verified_by: Some(action.operator_id.clone()),
        };
        if let Err(e) = grant(&txn, &channel).await {
            // The approval is on record but cannot be applied (the channel or the account
            // changed since the checks above): the application is closed as refused, saying
            // why, so it neither stays pending forever nor blocks a new application.
            txn.rollback().await?;
            close_pending(
                users_db,
                &pending.id,
                &format!("the approval could not be applied: {}", why(&e)),
                &action.operator_id,
            )
            .await?;
            return Err(e);
        }
    }
    txn.commit().await?;
    let application = streamer_application::Entity::find_by_id(pending.id.clone())
        .one(users_db)
        .await?
        .ok_or_else(|| IdentityError::Internal(anyhow::anyhow!("application vanished")))?;
    Ok(Decided {
        application,
        action,
    })
}

/// Closes the pending application `id` as refused with `note` (`by`: who closed it), in its own
/// write, if it is still pending.
pub(crate) async fn close_pending<C: ConnectionTrait>(
    db: &C,
    id: &str,
    note: &str,
    by: &str,
) -> IdentityResult<()> {
    streamer_application::Entity::update_many()
        .col_expr(
            streamer_application::Column::Status,
            Expr::value(ApplicationStatus::Refused),
        )
        .col_expr(streamer_application::Column::Note, Expr::value(Some(note)))
        .col_expr(
            streamer_application::Column::DecidedBy,
            Expr::value(Some(by)),
        )
        .col_expr(
            streamer_application::Column::DecidedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(streamer_application::Column::Id.eq(id))
        .filter(streamer_application::Column::Status.eq(ApplicationStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// What a refusal says, for an application's note.
fn why(e: &IdentityError) -> String {
    match e {
        IdentityError::Refused { message, .. }
        | IdentityError::InvalidState(message)
        | IdentityError::Forbidden(message) => message.clone(),
        IdentityError::BadInput(invalid) => invalid.to_string(),
        _ => "an error on our side".into(),
    }
}

/// Makes `channel.user_id` a streamer with `channel`, in the caller's transaction: the role
/// (a viewer's becomes STREAMER; a streamer's stays) and the channel row (a streamer verified by
/// migration gets its channel in place). `CHANNEL_ALREADY_LINKED` when another account has the
/// channel (`streamer_channels_one_account`): the transaction must then be dropped.
pub(crate) async fn grant<C: ConnectionTrait>(txn: &C, channel: &Channel) -> IdentityResult<()> {
    let promoted = user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(Role::Streamer))
        .filter(user::Column::Id.eq(&channel.user_id))
        .filter(user::Column::Role.is_in([Role::Viewer, Role::Streamer]))
        .exec(txn)
        .await?;
    if promoted.rows_affected != 1 {
        return Err(IdentityError::Forbidden(
            "operators cannot become streamers".into(),
        ));
    }
    let platform = channel.platform.unwrap_or(Platform::Chzzk);
    match streamer_channel::Entity::find_by_id(channel.user_id.clone())
        .one(txn)
        .await?
    {
        // Linked before (a retry): nothing to do.
        Some(mine)
            if mine.platform == channel.platform && mine.channel_id == channel.channel_id =>
        {
            return Ok(());
        }
        // A streamer has one channel.
        Some(mine) if mine.channel_id.is_some() => {
            return Err(IdentityError::InvalidState(
                "this account already has another verified channel".into(),
            ));
        }
        // Verified by migration, without a channel: the channel takes its place.
        Some(_) => {
            streamer_channel::Entity::delete_by_id(channel.user_id.clone())
                .exec(txn)
                .await?;
        }
        None => {}
    }
    let inserted =
        streamer_channel::Entity::insert(streamer_channel::ActiveModel::from(channel.clone()))
            .exec_without_returning(txn)
            .await;
    match inserted {
        Ok(_) => Ok(()),
        // `streamer_channels_one_account`: another account has it, whatever was checked before.
        Err(e) if is_unique_violation(&e) => Err(already_linked(platform)),
        Err(e) => Err(e.into()),
    }
}

/// The user's verified channel, if they are a verified streamer.
pub async fn channel_of<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> IdentityResult<Option<Channel>> {
    Ok(streamer_channel::Entity::find_by_id(user_id.to_owned())
        .one(db)
        .await?)
}

/// The verified channels of those among `ids` that have one, by user id.
pub async fn channels_of<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> IdentityResult<std::collections::HashMap<String, Channel>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(streamer_channel::Entity::find()
        .filter(streamer_channel::Column::UserId.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.user_id.clone(), c))
        .collect())
}

/// The user's latest application, whatever its status.
pub async fn latest_of<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> IdentityResult<Option<Application>> {
    Ok(streamer_application::Entity::find()
        .filter(streamer_application::Column::UserId.eq(user_id))
        .order_by_desc(streamer_application::Column::Id)
        .one(db)
        .await?)
}

/// The application `id`; `NOT_FOUND` if there is none.
pub async fn application<C: ConnectionTrait>(db: &C, id: &str) -> IdentityResult<Application> {
    streamer_application::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| IdentityError::NotFound("no such streamer application".into()))
}

/// A page of the applications (in `status`, or all), newest first, and the statement selecting
/// the whole filtered list (for its count).
pub async fn applications(
    db: &DatabaseConnection,
    status: Option<ApplicationStatus>,
    window: &Window,
) -> IdentityResult<(Page<Application>, SelectStatement)> {
    let mut select = streamer_application::Entity::find();
    if let Some(status) = status {
        select = select.filter(streamer_application::Column::Status.eq(status));
    }
    // Ids are UUIDv7: their order is the order the applications were made in.
    let order = Order {
        tag: "streamer-applications:created",
        sort: None,
        id: Expr::col((
            streamer_application::Entity,
            streamer_application::Column::Id,
        )),
        descending: true,
    };
    let counted = select.clone().into_query();
    Ok((listing::page(db, select, &order, window).await?, counted))
}

async fn pending_of<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> IdentityResult<Option<Application>> {
    Ok(streamer_application::Entity::find()
        .filter(streamer_application::Column::UserId.eq(user_id))
        .filter(streamer_application::Column::Status.eq(ApplicationStatus::Pending))
        .one(db)
        .await?)
}

/// Who has this channel, if anyone.
async fn owner_of<C: ConnectionTrait>(
    db: &C,
    platform: Platform,
    channel_id: &str,
) -> IdentityResult<Option<String>> {
    Ok(streamer_channel::Entity::find()
        .filter(streamer_channel::Column::Platform.eq(platform))
        .filter(streamer_channel::Column::ChannelId.eq(channel_id))
        .one(db)
        .await?
        .map(|c| c.user_id))
}

/// Only a viewer becomes a streamer.
fn may_become_streamer(user: &user::Model) -> IdentityResult<()> {
    match user.role {
        Role::Viewer => Ok(()),
        Role::Streamer => Err(IdentityError::Refused {
            code: "ALREADY_STREAMER",
            message: "this account is already a streamer".into(),
        }),
        Role::Operator => Err(IdentityError::Forbidden(
            "operators cannot become streamers".into(),
        )),
    }
}

fn application_pending() -> IdentityError {
    IdentityError::Refused {
        code: "APPLICATION_PENDING",
        message: "you already have a streamer application waiting for an operator".into(),
    }
}

pub(crate) fn already_linked(platform: Platform) -> IdentityError {
    IdentityError::Refused {
        code: "CHANNEL_ALREADY_LINKED",
        message: format!("this {platform} channel is already linked to another account"),
    }
}

pub(crate) fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// How the system names a streamer to others (the mission emails): their display name, then
/// their verified channel when one is known, e.g. `Stella (CHZZK 스텔라, https://chzzk.naver.com/…)`.
pub fn shown_name(display_name: &str, channel: Option<&Channel>) -> String {
    match channel {
        Some(Channel {
            platform: Some(platform),
            name: Some(name),
            url: Some(url),
            ..
        }) => format!("{display_name} ({platform} {name}, {url})"),
        _ => display_name.to_owned(),
    }
}

/// [`shown_name`] of the user `id`, if that user exists.
pub async fn shown_name_of<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<String>, sea_orm::DbErr> {
    let Some(recipient) = crate::users::recipient(db, id).await? else {
        return Ok(None);
    };
    let channel = streamer_channel::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?;
    Ok(Some(shown_name(&recipient.display_name, channel.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamer_is_shown_with_their_verified_channel_when_one_is_known() {
        let mut channel = Channel {
            user_id: "u".into(),
            platform: Some(Platform::Chzzk),
            channel_id: Some("0123456789abcdef0123456789abcdef".into()),
            name: Some("스텔라".into()),
            url: Some("https://chzzk.naver.com/0123456789abcdef0123456789abcdef".into()),
            verified_at: Utc::now(),
            verified_via: Verification::Oauth,
            verified_by: None,
        };
        assert_eq!(
            shown_name("Stella", Some(&channel)),
            "Stella (CHZZK 스텔라, https://chzzk.naver.com/0123456789abcdef0123456789abcdef)"
        );
        channel.platform = None;
        assert_eq!(shown_name("Stella", Some(&channel)), "Stella");
        assert_eq!(shown_name("Stella", None), "Stella");
    }
}
