//! What a mission and a pledge may be: the configured bounds and the validation of a new
//! mission. Its texts follow [`crate::text`]'s rule.

use crate::input::Checks;
use crate::text::{self, Lines};
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
    /// Objecting backers a dispute needs besides the weight (`OBJECTION_MIN_BACKERS`).
    pub objection_min_backers: u32,
    /// Pledges one user may withdraw within 24 hours (`PLEDGE_WITHDRAWALS_PER_DAY`).
    pub pledge_withdrawals_per_day: u32,
    /// What a streamer's goal may be.
    pub goals: GoalRules,
}

/// Bounds on a streamer's goals (issue 28).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoalRules {
    /// Goals one streamer may have open (FUNDING to settled) at once (`MAX_OPEN_GOALS`).
    pub max_open: u32,
    /// How soon a goal's funding may end at the earliest, from its creation
    /// (`GOAL_FUNDING_MIN_SECONDS`).
    pub funding_min_seconds: i64,
    /// How late at the latest (`GOAL_FUNDING_MAX_SECONDS`).
    pub funding_max_seconds: i64,
}

impl Default for GoalRules {
    /// The configured defaults: 3 open goals, funding 10 minutes to 7 days.
    fn default() -> Self {
        Self {
            max_open: 3,
            funding_min_seconds: 600,
            funding_max_seconds: 7 * 24 * 3600,
        }
    }
}

/// Most stretch tiers a goal may have.
pub const MAX_GOAL_TIERS: usize = 5;

/// The longest accept window a creator may ask for.
pub const MAX_ACCEPT_SECONDS: i64 = 7 * 24 * 3600;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest pledge message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 100;

/// Longest verdict note, and longest evidence link, in characters.
pub const MAX_EVIDENCE_CHARS: usize = 500;

/// What a streamer shows with their verdict (`decideMission`'s `evidenceUrl` and `note`),
/// unvalidated; either may be absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    pub url: Option<String>,
    pub note: Option<String>,
}

impl Evidence {
    /// The link and the note as stored: the link an absolute `https` URL with a host and no
    /// user info, at most [`MAX_EVIDENCE_CHARS`] as written back; the note [`crate::text`]'s
    /// rule with line breaks, at most [`MAX_EVIDENCE_CHARS`]. Blank ones are absent.
    pub fn validate(&self) -> Result<Evidence, LedgerError> {
        let url = match self.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(raw) => {
                let bad = || {
                    invalid(
                        "evidenceUrl",
                        "evidenceUrl must be an https link, at most 500 characters",
                    )
                };
                let parsed = url::Url::parse(raw).map_err(|_| bad())?;
                if parsed.scheme() != "https"
                    || parsed.host_str().is_none_or(str::is_empty)
                    || !parsed.username().is_empty()
                    || parsed.password().is_some()
                {
                    return Err(bad());
                }
                let written = parsed.to_string();
                if written.chars().count() > MAX_EVIDENCE_CHARS {
                    return Err(bad());
                }
                Some(written)
            }
        };
        let note = text::optional(
            "note",
            self.note.as_deref(),
            MAX_EVIDENCE_CHARS,
            Lines::Many,
        )?;
        Ok(Evidence { url, note })
    }
}

/// A pledge message as stored: [`crate::text`]'s rule on one line, at most
/// [`MAX_MESSAGE_CHARS`]; `None` when absent or only spaces.
pub fn pledge_message(raw: Option<&str>) -> Result<Option<String>, LedgerError> {
    text::optional("message", raw, MAX_MESSAGE_CHARS, Lines::One)
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

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> LedgerError {
    LedgerError::invalid(field, message)
}

/// What every mission states, checked into `checks`: its title and description (as
/// [`crate::text`] has them), and its duration within the configured bounds.
pub(crate) fn mission_texts(
    checks: &mut Checks<LedgerError>,
    rules: &MissionRules,
    title: &str,
    description: Option<&str>,
    duration_seconds: i64,
) -> (String, Option<String>) {
    let title = checks.check(text::required("title", title, MAX_TITLE_CHARS, Lines::One));
    let description = checks.check(text::optional(
        "description",
        description,
        MAX_DESCRIPTION_CHARS,
        Lines::Many,
    ));
    checks.require(
        (rules.min_duration_seconds..=rules.max_duration_seconds).contains(&duration_seconds),
        "durationSeconds",
        || {
            format!(
                "durationSeconds must be between {} and {}",
                rules.min_duration_seconds, rules.max_duration_seconds
            )
        },
    );
    (title, description)
}

impl NewMission {
    /// Every field checked; each wrong one is named in one refusal.
    pub(super) fn validate(&self, rules: &MissionRules) -> Result<Validated, LedgerError> {
        let mut checks = Checks::default();
        let (title, description) = mission_texts(
            &mut checks,
            rules,
            &self.title,
            self.description.as_deref(),
            self.duration_seconds,
        );
        let accept = self
            .accept_within_seconds
            .unwrap_or(rules.default_accept_seconds);
        checks.require(
            (1..=MAX_ACCEPT_SECONDS).contains(&accept),
            "acceptWithinSeconds",
            || format!("acceptWithinSeconds must be between 1 and {MAX_ACCEPT_SECONDS}"),
        );
        checks.require(self.creator_id != self.streamer_id, "streamerId", || {
            "a streamer cannot propose a mission to themselves".into()
        });
        let amount = checks.value(Amount::within(
            self.amount_won,
            rules.pledge_min_won,
            rules.pledge_max_won,
        ));
        let message = checks.check(pledge_message(self.message.as_deref()));
        checks.done()?;
        Ok(Validated {
            title,
            description,
            message,
            amount: amount.ok_or_else(|| LedgerError::Corrupt("amount checked".into()))?,
            accept_seconds: accept,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_an_https_link_and_a_note_each_at_most_500_characters() {
        let e = |url: &str, note: &str| {
            Evidence {
                url: Some(url.into()),
                note: Some(note.into()),
            }
            .validate()
        };
        let ok = e(
            " https://chzzk.naver.com/video/123?t=3m12s ",
            " cleared at 3:12\nno heals ",
        )
        .expect("valid");
        assert_eq!(
            ok.url.as_deref(),
            Some("https://chzzk.naver.com/video/123?t=3m12s")
        );
        assert_eq!(ok.note.as_deref(), Some("cleared at 3:12\nno heals"));
        assert_eq!(e("", " ").expect("blank"), Evidence::default());
        for bad in [
            "http://chzzk.naver.com/video/1",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "chzzk.naver.com/video/1",
            "https://",
            "https://exa mple.com/",
        ] {
            assert!(e(bad, "").is_err(), "{bad} taken");
        }
        let long = format!("https://example.com/{}", "a".repeat(500));
        assert!(e(&long, "").is_err());
        assert!(e("https://example.com/", &"x".repeat(501)).is_err());
        assert!(e("https://example.com/", &"x".repeat(500)).is_ok());
    }
    use crate::channel::ProposalRules;
    use crate::channel::words::banned_in;

    fn rules() -> MissionRules {
        MissionRules {
            proposals: ProposalRules {
                cooldown_seconds: 0,
                rejections_ban: 3,
            },
            min_duration_seconds: 60,
            max_duration_seconds: 86_400,
            default_accept_seconds: 3_600,
            pledge_min_won: 1_000,
            pledge_max_won: 1_000_000,
            prediction_window_seconds: 600,
            objection_window_seconds: 0,
            objection_threshold_bps: 5_000,
            objection_min_backers: 2,
            pledge_withdrawals_per_day: 5,
            goals: GoalRules::default(),
        }
    }

    fn mission(title: &str, message: Option<&str>) -> NewMission {
        NewMission {
            creator_id: "fan".into(),
            streamer_id: "streamer".into(),
            title: title.into(),
            description: None,
            amount_won: 5_000,
            duration_seconds: 3_600,
            accept_within_seconds: None,
            message: message.map(str::to_owned),
        }
    }

    /// What the channel's check reads: the stored title and message.
    #[test]
    fn a_banned_word_split_by_an_invisible_character_is_caught_in_titles_and_messages() {
        let invisible = [
            '\u{FE0F}',
            '\u{FE00}',
            '\u{180B}',
            '\u{E0020}',
            '\u{1D173}',
            '\u{17B4}',
            '\u{1BCA0}',
        ]
        .into_iter()
        .chain('\u{E0001}'..='\u{E007F}');
        for c in invisible {
            for word in ["fuck", "씨발"] {
                let mut chars = word.chars();
                let first = chars.next().expect("a letter");
                let split = format!("Boss {first}{c}{} now", chars.as_str());
                let valid = mission(&split, Some(&split))
                    .validate(&rules())
                    .expect("valid");
                assert_eq!(banned_in(&valid.title, &[]), Some(word), "{split:?}");
                assert!(
                    !valid.title.contains(c),
                    "{split:?} stored with U+{:04X}",
                    u32::from(c)
                );
                let message = valid.message.expect("a message");
                assert_eq!(banned_in(&message, &[]), Some(word), "{split:?}");
                assert_eq!(valid.title, message);
            }
        }
    }

    #[test]
    fn direction_overrides_are_refused_in_every_text_of_a_mission() {
        let refused = |m: NewMission| match m.validate(&rules()) {
            Err(LedgerError::InvalidInput(e)) => e.to_string(),
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("accepted"),
        };
        let e = refused(mission("Boss \u{202E}kcuf", None));
        assert!(
            e.starts_with("title must not contain direction controls"),
            "{e}"
        );
        let e = refused(mission("Boss", Some("hi \u{2067}olleh")));
        assert!(
            e.starts_with("message must not contain direction controls"),
            "{e}"
        );
        let mut m = mission("Boss", None);
        m.description = Some("first line\n\u{202D}second".into());
        let e = refused(m);
        assert!(
            e.starts_with("description must not contain direction controls"),
            "{e}"
        );
        // Before: only zero-width characters is no title at all.
        let e = refused(mission("\u{200B}\u{200D}", None));
        assert!(e.starts_with("title must have a visible character"), "{e}");
    }

    #[test]
    fn descriptions_keep_their_lines_and_messages_stay_optional() {
        let mut m = mission(" ＢＯＳＳ ", Some("  "));
        m.description = Some("  one\ntwo  ".into());
        let valid = m.validate(&rules()).expect("valid");
        assert_eq!(valid.title, "BOSS");
        assert_eq!(valid.description.as_deref(), Some("one\ntwo"));
        assert_eq!(valid.message, None);
    }
}
