//! Channel moderators: users a streamer appoints to accept or reject missions and to approve or
//! hide pledge messages in their channel (never to decide a verdict). Whoever pledged to or bet
//! on a mission may not act on it (`CONFLICT_OF_INTEREST`), and every such action is recorded
//! for the streamer.

use crate::LedgerError;
use crate::status::ModerationAction;
use chrono::Utc;
use missionlink_entities::missions::{bet, channel_moderator, mission, moderation_action, pledge};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

/// Most moderators of one channel.
pub const MAX_MODERATORS: u64 = 50;

/// Appoints `user_id` a moderator of `streamer_id`'s channel (again: nothing changes).
pub async fn appoint<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    user_id: &str,
) -> Result<(), LedgerError> {
    if streamer_id == user_id {
        return Err(LedgerError::invalid(
            "userId",
            "a streamer moderates their channel already",
        ));
    }
    let present = channel_moderator::Entity::find()
        .filter(channel_moderator::Column::StreamerId.eq(streamer_id))
        .count(db)
        .await?;
    if present >= MAX_MODERATORS && !is_moderator(db, streamer_id, user_id).await? {
        return Err(LedgerError::invalid(
            "userId",
            format!("at most {MAX_MODERATORS} moderators"),
        ));
    }
    channel_moderator::Entity::insert(channel_moderator::ActiveModel {
        streamer_id: Set(streamer_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        appointed_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            channel_moderator::Column::StreamerId,
            channel_moderator::Column::UserId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Dismisses `user_id` from `streamer_id`'s moderators (not one: nothing changes).
pub async fn dismiss<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    user_id: &str,
) -> Result<(), LedgerError> {
    channel_moderator::Entity::delete_many()
        .filter(channel_moderator::Column::StreamerId.eq(streamer_id))
        .filter(channel_moderator::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// `streamer_id`'s moderators, longest-serving first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
) -> Result<Vec<String>, LedgerError> {
    Ok(channel_moderator::Entity::find()
        .filter(channel_moderator::Column::StreamerId.eq(streamer_id))
        .order_by_asc(channel_moderator::Column::AppointedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// Whether `user_id` moderates `streamer_id`'s channel.
pub async fn is_moderator<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    user_id: &str,
) -> Result<bool, LedgerError> {
    Ok(
        channel_moderator::Entity::find_by_id((streamer_id.to_owned(), user_id.to_owned()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Whether `actor_id` may moderate mission `m`: its streamer or one of their moderators
/// (`FORBIDDEN` otherwise), with no pledge or bet on it (`CONFLICT_OF_INTEREST`).
pub async fn authorize<C: ConnectionTrait>(
    db: &C,
    m: &mission::Model,
    actor_id: &str,
) -> Result<(), LedgerError> {
    if actor_id != m.streamer_id && !is_moderator(db, &m.streamer_id, actor_id).await? {
        return Err(LedgerError::Forbidden(
            "only the mission's streamer or their moderators may do this".into(),
        ));
    }
    ensure_disinterested(db, m, actor_id).await
}

/// `CONFLICT_OF_INTEREST` if `actor_id` pledged to or bet on mission `m`.
pub async fn ensure_disinterested<C: ConnectionTrait>(
    db: &C,
    m: &mission::Model,
    actor_id: &str,
) -> Result<(), LedgerError> {
    let pledged = pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(&m.id))
        .filter(pledge::Column::BackerId.eq(actor_id))
        .count(db)
        .await?;
    let bet = bet::Entity::find()
        .filter(bet::Column::MissionId.eq(&m.id))
        .filter(bet::Column::BettorId.eq(actor_id))
        .count(db)
        .await?;
    if pledged + bet > 0 {
        return Err(LedgerError::Refused {
            code: "CONFLICT_OF_INTEREST",
            message: "you pledged to or bet on this mission, so you cannot act on it".into(),
            retry_at: None,
        });
    }
    Ok(())
}

/// Records that `actor_id` did `action` to mission `m` (and pledge `pledge_id`), in the caller's
/// transaction.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    m: &mission::Model,
    actor_id: &str,
    action: ModerationAction,
    pledge_id: Option<&str>,
) -> Result<(), LedgerError> {
    moderation_action::Entity::insert(moderation_action::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        streamer_id: Set(m.streamer_id.clone()),
        actor_id: Set(actor_id.to_owned()),
        action: Set(action),
        mission_id: Set(m.id.clone()),
        pledge_id: Set(pledge_id.map(str::to_owned)),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
