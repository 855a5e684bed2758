//! Pledge messages: what a new pledge's message is checked against (the channel's banned
//! words) and the status it starts in (PENDING in a channel that approves by hand), and the
//! streamer's approving or hiding one. Moderation changes only the message's status (and the
//! feed): never the pledge's money.

use super::words::banned_in;
use super::{moderators, settings};
use crate::batch::PledgeNote;
use crate::events::{self, NewEvent};
use crate::gate::gate_exclusive;
use crate::idempotency::IdempotencyKey;
use crate::rules::pledge_message;
use crate::status::{EventKind, MessageStatus, ModerationAction, PledgeStatus};
use crate::{LedgerError, changes, mission};
use missionlink_entities::missions::{idempotency_key, pledge};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};

/// The note of `backer_id`'s pledge to `mission_id` under `key`: its message checked (length,
/// characters, the channel's banned words: `CONTENT_BLOCKED`) and its starting status. A key
/// already used answers its first pledge whatever the channel's words are now, so a retry is
/// not checked against them.
pub async fn note_for(
    db: &DatabaseConnection,
    mission_id: &str,
    backer_id: &str,
    key: &IdempotencyKey,
    message: Option<&str>,
    anonymous: bool,
) -> Result<PledgeNote, LedgerError> {
    let Some(message) = pledge_message(message)? else {
        return Ok(PledgeNote::new(None, anonymous, false));
    };
    let m = mission::find(db, mission_id).await?;
    let channel = settings::read(db, &m.streamer_id).await?;
    let retry =
        idempotency_key::Entity::find_by_id((backer_id.to_owned(), key.as_str().to_owned()))
            .one(db)
            .await?
            .is_some();
    if !retry && banned_in(&message, &channel.banned_words).is_some() {
        return Err(LedgerError::Refused {
            code: "CONTENT_BLOCKED",
            message: "the message contains a word this channel does not allow".into(),
            retry_at: None,
        });
    }
    Ok(PledgeNote::new(
        Some(message),
        anonymous,
        channel.manual_approval,
    ))
}

/// What a moderator does to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moderation {
    Approve,
    Hide,
}

/// Approves or hides the message of pledge `pledge_id`, as `actor_id`: the mission's streamer or
/// one of their moderators, who neither pledged to nor bet on it. Approving a shown message or
/// hiding a hidden one changes nothing. Returns the pledge as it is now.
pub async fn moderate(
    db: &DatabaseConnection,
    pledge_id: &str,
    actor_id: &str,
    action: Moderation,
) -> Result<pledge::Model, LedgerError> {
    let p = pledge::Entity::find_by_id(pledge_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such pledge".into()))?;
    let m = mission::find(db, &p.mission_id).await?;
    if p.status == PledgeStatus::Withdrawn && action == Moderation::Approve {
        // Its backer took it back: the message never reaches the stream.
        return Err(LedgerError::InvalidState(
            "this pledge was withdrawn; its message is not shown".into(),
        ));
    }
    let Some(current) = p.message_status else {
        return Err(LedgerError::InvalidState(
            "this pledge has no message".into(),
        ));
    };
    let (to, kind, recorded) = match action {
        Moderation::Approve => (
            MessageStatus::Approved,
            EventKind::MessageApproved,
            ModerationAction::ApproveMessage,
        ),
        Moderation::Hide => (
            MessageStatus::Hidden,
            EventKind::MessageHidden,
            ModerationAction::HideMessage,
        ),
    };
    let txn = db.begin().await?;
    // Behind the mission's gate: no pledge or bet of the actor's commits meanwhile.
    gate_exclusive(&txn, &m.id).await?;
    moderators::authorize(&txn, &m, actor_id).await?;
    if current != to {
        let mut update = pledge::Entity::update_many()
            .col_expr(pledge::Column::MessageStatus, Expr::value(to))
            .filter(pledge::Column::Id.eq(pledge_id))
            .filter(pledge::Column::MessageStatus.eq(current));
        if action == Moderation::Approve {
            // Behind the gate a withdrawal cannot commit; one that did before is seen here.
            update = update.filter(pledge::Column::Status.ne(PledgeStatus::Withdrawn));
        }
        let changed = update.exec(&txn).await?;
        let moderated = changed.rows_affected == 1;
        if moderated {
            moderators::record(&txn, &m, actor_id, recorded, Some(pledge_id)).await?;
            events::append(
                &txn,
                &[NewEvent {
                    mission_id: Some(&p.mission_id),
                    prediction_id: None,
                    streamer_id: Some(&m.streamer_id),
                    kind,
                    pledge_id: Some(pledge_id),
                    tier: None,
                    test_payload: None,
                }],
            )
            .await?;
        }
        changes::commit(txn, moderated.then_some(m.id.as_str())).await?;
    }
    pledge::Entity::find_by_id(pledge_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("a moderated pledge vanished".into()))
}
