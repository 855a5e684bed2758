//! What a mission and a pledge may be: the configured bounds and the validation of a new
//! mission.

use crate::{Amount, LedgerError};

/// Bounds from configuration (CONTRACT.md).
#[derive(Clone, Debug)]
pub struct MissionRules {
    /// Cooldown and suspension after rejections.
    pub proposals: crate::channel::ProposalRules,
    pub min_duration_seconds: i64,
    pub max_duration_seconds: i64,
    pub default_accept_seconds: i64,
    pub pledge_min_won: i64,
    pub pledge_max_won: i64,
    /// Betting stays open this long after acceptance (never past the deadline).
    pub prediction_window_seconds: i64,
    /// After a SUCCESS verdict, how long backers may object (0: no window, settle at once).
    pub objection_window_seconds: i64,
    /// Objectors holding this share of the pledged won (basis points) open a dispute.
    pub objection_threshold_bps: u32,
}

/// The longest accept window a creator may ask for.
pub const MAX_ACCEPT_SECONDS: i64 = 7 * 24 * 3600;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest pledge message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 100;

/// A pledge message as stored: trimmed, `None` when empty; refused when longer than
/// [`MAX_MESSAGE_CHARS`] or holding control characters or bidirectional overrides (which make
/// an overlay show text other than what was written).
pub fn pledge_message(raw: Option<&str>) -> Result<Option<String>, LedgerError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
    if text.chars().count() > MAX_MESSAGE_CHARS || text.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(invalid(format!(
            "message must be at most {MAX_MESSAGE_CHARS} characters, without control or \
             direction-override characters"
        )));
    }
    Ok(Some(text.to_owned()))
}

/// A mission as a creator asks for it, unvalidated. The API has checked that the streamer is a
/// registered STREAMER (that lives in the users database).
#[derive(Clone, Debug)]
pub struct NewMission {
    pub creator_id: String,
    pub streamer_id: String,
    pub title: String,
    pub description: Option<String>,
    pub amount_won: i64,
    pub duration_seconds: i64,
    pub accept_within_seconds: Option<i64>,
    /// The creator's message with their first pledge (never anonymous: the creator is shown
    /// with the mission).
    pub message: Option<String>,
}

/// A [`NewMission`] that passed [`NewMission::validate`].
pub(super) struct Validated {
    pub title: String,
    pub description: Option<String>,
    pub message: Option<String>,
    pub amount: Amount,
    pub accept_seconds: i64,
}

pub(super) fn invalid(message: impl Into<String>) -> LedgerError {
    LedgerError::InvalidInput(message.into())
}

impl NewMission {
    pub(super) fn validate(&self, rules: &MissionRules) -> Result<Validated, LedgerError> {
        let title = self.title.trim();
        let n = title.chars().count();
        if n == 0 || n > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
            return Err(invalid(format!(
                "title must be 1 to {MAX_TITLE_CHARS} printable characters"
            )));
        }
        let description = match self.description.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
                return Err(invalid(format!(
                    "description must be at most {MAX_DESCRIPTION_CHARS} characters"
                )));
            }
            Some(d) => Some(d.to_owned()),
        };
        if !(rules.min_duration_seconds..=rules.max_duration_seconds)
            .contains(&self.duration_seconds)
        {
            return Err(invalid(format!(
                "durationSeconds must be between {} and {}",
                rules.min_duration_seconds, rules.max_duration_seconds
            )));
        }
        let accept = self
            .accept_within_seconds
            .unwrap_or(rules.default_accept_seconds);
        if !(1..=MAX_ACCEPT_SECONDS).contains(&accept) {
            return Err(invalid(format!(
                "acceptWithinSeconds must be between 1 and {MAX_ACCEPT_SECONDS}"
            )));
        }
        if self.creator_id == self.streamer_id {
            return Err(invalid("a streamer cannot propose a mission to themselves"));
        }
        let amount = Amount::within(self.amount_won, rules.pledge_min_won, rules.pledge_max_won)?;
        Ok(Validated {
            title: title.to_owned(),
            description,
            message: pledge_message(self.message.as_deref())?,
            amount,
            accept_seconds: accept,
        })
    }
}
