//! A streamer's channel settings: whether they take mission requests, the least first pledge
//! and the longest mission they take, whether pledge messages wait for approval, their banned
//! words and their blocked users, and whether their missions open a prediction and for how long
//! (issue 31). A streamer who never saved any has [`Settings::default`].

use super::words::fold;
use crate::LedgerError;
use crate::input::Checks;
use crate::rules::MissionRules;
use crate::text::{self, Lines};
use chrono::Utc;
use missionlink_entities::missions::streamer_setting;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// Most banned words a streamer keeps.
pub const MAX_BANNED_WORDS: usize = 500;
/// Longest banned word, in characters.
pub const MAX_BANNED_WORD_CHARS: usize = 50;
/// Most users a streamer blocks.
pub const MAX_BLOCKED_USERS: usize = 1_000;
/// Longest user id accepted in `blockedUsers` (ids are 36-character UUIDs).
pub const MAX_USER_ID_CHARS: usize = 64;
/// The prediction windows a streamer may choose, in seconds.
pub const PREDICTION_WINDOW_SECONDS: std::ops::RangeInclusive<i32> = 30..=1_800;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub accepting_requests: bool,
    /// Won; `None`: the platform's `PLEDGE_MIN`.
    pub min_first_pledge: Option<i64>,
    /// `None`: the platform's longest mission.
    pub max_duration_seconds: Option<i64>,
    pub manual_approval: bool,
    pub banned_words: Vec<String>,
    pub blocked_users: Vec<String>,
    /// Whether an accepted mission (or a reached goal) opens a prediction.
    pub predictions_enabled: bool,
    /// How long betting stays open; `None`: the platform's `PREDICTION_WINDOW_SECONDS`.
    pub prediction_window_seconds: Option<i32>,
}

impl Settings {
    /// How long a prediction opened now stays open: the streamer's window or `platform`'s;
    /// `None` when the streamer turned predictions off.
    pub fn prediction_window(&self, platform_seconds: i64) -> Option<i64> {
        self.predictions_enabled.then(|| {
            self.prediction_window_seconds
                .map_or(platform_seconds, i64::from)
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            accepting_requests: true,
            min_first_pledge: None,
            max_duration_seconds: None,
            manual_approval: false,
            banned_words: Vec::new(),
            blocked_users: Vec::new(),
            predictions_enabled: true,
            prediction_window_seconds: None,
        }
    }
}

/// What an update changes; `None` keeps the current value. `Some(None)` resets an optional
/// bound to the platform's.
#[derive(Clone, Debug, Default)]
pub struct SettingsUpdate {
    pub accepting_requests: Option<bool>,
    pub min_first_pledge: Option<Option<i64>>,
    pub max_duration_seconds: Option<Option<i64>>,
    pub manual_approval: Option<bool>,
    pub banned_words: Option<Vec<String>>,
    pub blocked_users: Option<Vec<String>>,
    pub predictions_enabled: Option<bool>,
    pub prediction_window_seconds: Option<Option<i32>>,
}

/// `streamer_id`'s settings.
pub async fn read<C: ConnectionTrait>(db: &C, streamer_id: &str) -> Result<Settings, LedgerError> {
    let Some(row) = streamer_setting::Entity::find_by_id(streamer_id.to_owned())
        .one(db)
        .await?
    else {
        return Ok(Settings::default());
    };
    let list = |json: &str, what: &str| {
        serde_json::from_str::<Vec<String>>(json)
            .map_err(|e| LedgerError::Corrupt(format!("{what} of {streamer_id}: {e}")))
    };
    Ok(Settings {
        accepting_requests: row.accepting_requests,
        min_first_pledge: row.min_first_pledge,
        max_duration_seconds: row.max_duration_seconds,
        manual_approval: row.manual_approval,
        banned_words: list(&row.banned_words, "banned words")?,
        blocked_users: list(&row.blocked_users, "blocked users")?,
        predictions_enabled: row.predictions_enabled,
        prediction_window_seconds: row.prediction_window_seconds,
    })
}

/// Applies `update` to `streamer_id`'s settings after checking every value against the
/// platform's `rules`; refused input changes nothing. Only the settings given are written, so
/// two updates of different settings at once both stay. Returns the settings now.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    rules: &MissionRules,
    streamer_id: &str,
    update: SettingsUpdate,
) -> Result<Settings, LedgerError> {
    use streamer_setting::Column as C;
    let defaults = Settings::default();
    let json = |list: &[String]| serde_json::Value::from(list.to_vec()).to_string();
    let mut row = streamer_setting::ActiveModel {
        streamer_id: Set(streamer_id.to_owned()),
        accepting_requests: Set(defaults.accepting_requests),
        min_first_pledge: Set(defaults.min_first_pledge),
        max_duration_seconds: Set(defaults.max_duration_seconds),
        manual_approval: Set(defaults.manual_approval),
        banned_words: Set(json(&defaults.banned_words)),
        blocked_users: Set(json(&defaults.blocked_users)),
        predictions_enabled: Set(defaults.predictions_enabled),
        prediction_window_seconds: Set(defaults.prediction_window_seconds),
        updated_at: Set(Utc::now()),
    };
    let mut given = vec![C::UpdatedAt];
    if let Some(v) = update.accepting_requests {
        row.accepting_requests = Set(v);
        given.push(C::AcceptingRequests);
    }
    let mut checks = Checks::default();
    if let Some(v) = update.min_first_pledge {
        checks.require(
            v.is_none_or(|min| (rules.pledge_min_won..=rules.pledge_max_won).contains(&min)),
            "minFirstPledge",
            || {
                format!(
                    "minFirstPledge must be between {} and {} won",
                    rules.pledge_min_won, rules.pledge_max_won
                )
            },
        );
        row.min_first_pledge = Set(v);
        given.push(C::MinFirstPledge);
    }
    if let Some(v) = update.max_duration_seconds {
        checks.require(
            v.is_none_or(|max| {
                (rules.min_duration_seconds..=rules.max_duration_seconds).contains(&max)
            }),
            "maxDurationSeconds",
            || {
                format!(
                    "maxDurationSeconds must be between {} and {}",
                    rules.min_duration_seconds, rules.max_duration_seconds
                )
            },
        );
        row.max_duration_seconds = Set(v);
        given.push(C::MaxDurationSeconds);
    }
    if let Some(v) = update.manual_approval {
        row.manual_approval = Set(v);
        given.push(C::ManualApproval);
    }
    if let Some(v) = update.predictions_enabled {
        row.predictions_enabled = Set(v);
        given.push(C::PredictionsEnabled);
    }
    if let Some(v) = update.prediction_window_seconds {
        checks.require(
            v.is_none_or(|w| PREDICTION_WINDOW_SECONDS.contains(&w)),
            "predictionWindowSeconds",
            || {
                format!(
                    "predictionWindowSeconds must be between {} and {}",
                    PREDICTION_WINDOW_SECONDS.start(),
                    PREDICTION_WINDOW_SECONDS.end()
                )
            },
        );
        row.prediction_window_seconds = Set(v);
        given.push(C::PredictionWindowSeconds);
    }
    if let Some(words) = update.banned_words {
        row.banned_words = Set(json(&checks.check(banned_words(words))));
        given.push(C::BannedWords);
    }
    if let Some(users) = update.blocked_users {
        row.blocked_users = Set(json(&checks.check(blocked_users(streamer_id, users))));
        given.push(C::BlockedUsers);
    }
    checks.done()?;
    streamer_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::StreamerId)
                .update_columns(given)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    read(db, streamer_id).await
}

fn invalid(field: &str, message: impl Into<String>) -> LedgerError {
    LedgerError::invalid(field, message)
}

/// The banned words under [`crate::text`]'s rule (as stored: NFKC, invisible characters
/// removed, trimmed), each once (as folded for matching), within the bounds.
fn banned_words(words: Vec<String>) -> Result<Vec<String>, LedgerError> {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for word in words {
        let word = text::required("bannedWords", &word, MAX_BANNED_WORD_CHARS, Lines::One)?;
        if seen.insert(fold(&word)) {
            kept.push(word);
        }
    }
    if kept.len() > MAX_BANNED_WORDS {
        return Err(invalid(
            "bannedWords",
            format!("at most {MAX_BANNED_WORDS} banned words"),
        ));
    }
    Ok(kept)
}

/// The blocked users, each once, within the bound, never the streamer.
fn blocked_users(streamer_id: &str, users: Vec<String>) -> Result<Vec<String>, LedgerError> {
    let mut seen = std::collections::HashSet::new();
    let kept: Vec<String> = users
        .into_iter()
        .map(|u| u.trim().to_owned())
        .filter(|u| seen.insert(u.clone()))
        .collect();
    if kept
        .iter()
        .any(|u| u.is_empty() || u.len() > MAX_USER_ID_CHARS)
    {
        return Err(invalid("blockedUsers", "blockedUsers must be user ids"));
    }
    if kept.iter().any(|u| u == streamer_id) {
        return Err(invalid(
            "blockedUsers",
            "a streamer cannot block themselves",
        ));
    }
    if kept.len() > MAX_BLOCKED_USERS {
        return Err(invalid(
            "blockedUsers",
            format!("at most {MAX_BLOCKED_USERS} blocked users"),
        ));
    }
    Ok(kept)
}
