//! How a streamer's overlay shows things (issue 29, item 3): the smallest pledge that raises an
//! alert, how long alerts stay, whether messages show, the page's scale, the corner its mission
//! cards sit in, and how many cards show. Every open page follows them (`overlaySettings`), so a
//! change shows on stream within seconds, with nothing to reload in OBS.

use crate::error::IdentityError;
use chrono::{DateTime, SubsecRound, Utc};
use missionlink_entities::users::{Role, overlay_setting};
use missionlink_ledger::input::Checks;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// Where the mission cards sit.
pub const POSITIONS: [&str; 4] = ["TOP_LEFT", "TOP_RIGHT", "BOTTOM_LEFT", "BOTTOM_RIGHT"];

/// The bounds of each setting.
pub const ALERT_SECONDS: std::ops::RangeInclusive<i32> = 3..=60;
pub const SCALE_PERCENT: std::ops::RangeInclusive<i32> = 100..=250;
pub const MAX_CARDS: std::ops::RangeInclusive<i32> = 1..=10;
/// The largest `minAlertAmount`: a pledge's own bound is far below.
pub const MIN_ALERT_WON_MAX: i64 = 100_000_000;

/// A streamer's overlay settings (the defaults until they change one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlaySettings {
    pub min_alert_won: i64,
    pub alert_seconds: i32,
    pub show_messages: bool,
    pub scale_percent: i32,
    pub position: String,
    pub max_cards: i32,
    /// When the streamer last changed them (`None`: the defaults).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for OverlaySettings {
    /// Readable on a 1080p canvas (1.5 times the page's base size), the cards top right, out of
    /// the usual webcam corner.
    fn default() -> Self {
        Self {
            min_alert_won: 0,
            alert_seconds: 8,
            show_messages: true,
            scale_percent: 150,
            position: "TOP_RIGHT".into(),
            max_cards: 5,
            updated_at: None,
        }
    }
}

impl From<overlay_setting::Model> for OverlaySettings {
    fn from(m: overlay_setting::Model) -> Self {
        Self {
            min_alert_won: m.min_alert_won,
            alert_seconds: m.alert_seconds,
            show_messages: m.show_messages,
            scale_percent: m.scale_percent,
            position: m.position,
            max_cards: m.max_cards,
            updated_at: Some(m.updated_at),
        }
    }
}

/// A change: each `Some` replaces that setting.
#[derive(Clone, Debug, Default)]
pub struct Update {
    pub min_alert_won: Option<i64>,
    pub alert_seconds: Option<i32>,
    pub show_messages: Option<bool>,
    pub scale_percent: Option<i32>,
    pub position: Option<String>,
    pub max_cards: Option<i32>,
}

/// The streamer's settings.
pub async fn of<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<OverlaySettings, IdentityError> {
    Ok(overlay_setting::Entity::find_by_id(user_id.to_owned())
        .one(db)
        .await?
        .map(OverlaySettings::from)
        .unwrap_or_default())
}

/// Every problem of `update`, each naming its field: all are reported at once.
fn check(u: &Update) -> Result<(), IdentityError> {
    let mut checks = Checks::default();
    checks.require(
        u.min_alert_won
            .is_none_or(|w| (0..=MIN_ALERT_WON_MAX).contains(&w)),
        "minAlertAmount",
        || format!("minAlertAmount must be 0 to {MIN_ALERT_WON_MAX}"),
    );
    checks.require(
        u.alert_seconds.is_none_or(|s| ALERT_SECONDS.contains(&s)),
        "alertSeconds",
        || {
            format!(
                "alertSeconds must be {} to {}",
                ALERT_SECONDS.start(),
                ALERT_SECONDS.end()
            )
        },
    );
    checks.require(
        u.scale_percent.is_none_or(|s| SCALE_PERCENT.contains(&s)),
        "scale",
        || "scale must be 1.0 to 2.5".into(),
    );
    checks.require(
        u.max_cards.is_none_or(|n| MAX_CARDS.contains(&n)),
        "maxCards",
        || {
            format!(
                "maxCards must be {} to {}",
                MAX_CARDS.start(),
                MAX_CARDS.end()
            )
        },
    );
    checks.require(
        u.position.as_deref().is_none_or(|p| POSITIONS.contains(&p)),
        "position",
        || format!("position must be one of {}", POSITIONS.join(", ")),
    );
    checks.done()
}

/// Changes the streamer's settings (streamers only); refused input (`BAD_USER_INPUT`, every
/// problem named) changes nothing.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    role: Role,
    u: &Update,
) -> Result<OverlaySettings, IdentityError> {
    if role != Role::Streamer {
        return Err(IdentityError::Forbidden(
            "only streamers have an overlay".into(),
        ));
    }
    check(u)?;
    let now = Utc::now().trunc_subsecs(6);
    // One statement: a first change inserts the defaults with it; a later one sets only the
    // settings it names, so two changes at once (the scale here, the corner there) both stay.
    let d = OverlaySettings::default();
    let row = overlay_setting::ActiveModel {
        user_id: Set(user_id.to_owned()),
        min_alert_won: Set(u.min_alert_won.unwrap_or(d.min_alert_won)),
        alert_seconds: Set(u.alert_seconds.unwrap_or(d.alert_seconds)),
        show_messages: Set(u.show_messages.unwrap_or(d.show_messages)),
        scale_percent: Set(u.scale_percent.unwrap_or(d.scale_percent)),
        position: Set(u.position.clone().unwrap_or(d.position)),
        max_cards: Set(u.max_cards.unwrap_or(d.max_cards)),
        updated_at: Set(now),
    };
    let given = [
        (
            u.min_alert_won.is_some(),
            overlay_setting::Column::MinAlertWon,
        ),
        (
            u.alert_seconds.is_some(),
            overlay_setting::Column::AlertSeconds,
        ),
        (
            u.show_messages.is_some(),
            overlay_setting::Column::ShowMessages,
        ),
        (
            u.scale_percent.is_some(),
            overlay_setting::Column::ScalePercent,
        ),
        (u.position.is_some(), overlay_setting::Column::Position),
        (u.max_cards.is_some(), overlay_setting::Column::MaxCards),
        (true, overlay_setting::Column::UpdatedAt),
    ];
    overlay_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(overlay_setting::Column::UserId)
                .update_columns(given.into_iter().filter(|(set, _)| *set).map(|(_, c)| c))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    of(db, user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_at_once() {
        let refused = check(&Update {
            alert_seconds: Some(1),
            scale_percent: Some(300),
            position: Some("MIDDLE".into()),
            ..Update::default()
        });
        let Err(IdentityError::BadInput(wrong)) = refused else {
            panic!("{refused:?}");
        };
        let fields: Vec<&str> = wrong.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["alertSeconds", "scale", "position"]);
        assert!(wrong.fields()[1].message.starts_with("scale"));
        assert!(check(&Update::default()).is_ok());
    }
}
