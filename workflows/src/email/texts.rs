//! What the emails of a settled mission say, in the recipient's locale (`ko` or `en`): one per
//! backer (their pledges summed) and a summary for the streamer.

use super::korean::i_ga;
use chrono::{DateTime, Duration, Utc};
use missionlink_ledger::operator::CancelReason;
use missionlink_ledger::status::MissionStatus;

/// `1234567` → `1,234,567`.
pub fn won(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

/// The language of a message: the recipient's `users.locale`.
pub use missionlink_identity::Locale;

/// What a mission's emails talk about.
#[derive(Clone, Debug)]
pub struct MissionFacts {
    pub mission_id: String,
    pub title: String,
    pub streamer_name: String,
    pub status: MissionStatus,
    /// The https link the streamer gave with their verdict, if any.
    pub evidence_url: Option<String>,
    /// The streamer's note with their verdict, if any.
    pub verdict_note: Option<String>,
    /// When its deadline is (once accepted).
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// When its backers' objection window ends (once VERIFYING).
    pub objection_until: Option<chrono::DateTime<chrono::Utc>>,
    /// A streamer's goal (started by reaching it) rather than a viewer's proposal.
    pub goal: bool,
    /// A goal's SUCCESS verdict: the level delivered (0 the goal, `n` its `n`th tier).
    pub tier_reached: Option<i32>,
    /// The mission's page: `PUBLIC_URL/missions/<id>` (the recipient's language is added).
    pub page: String,
    /// When it ended (closed to the streamer's verdict, or settled), once it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why MissionLink's operators cancelled it, when they did.
    pub cancel_reason: Option<CancelReason>,
    /// Where a recipient writes with a question (`OPERATOR_CONTACT`).
    pub contact: String,
}

impl MissionFacts {
    /// The mission's page in `locale`'s words.
    pub fn link(&self, locale: Locale) -> String {
        let lang = match locale {
            Locale::En => "en",
            Locale::Ko => "ko",
        };
        format!("{}?lang={lang}", self.page)
    }

    /// The URLs its emails to a reader of `locale` may make clickable: its page and the
    /// streamer's evidence link (an https link, checked when the verdict was given).
    pub fn links(&self, locale: Locale) -> Vec<String> {
        let mut links = vec![self.link(locale)];
        links.extend(self.evidence_url.clone());
        links
    }

    /// The lines every mission email ends with: its page, and for a cancelled one the
    /// operators' reason and where to ask.
    pub(super) fn footer(&self, locale: Locale) -> String {
        let link = self.link(locale);
        let mut lines = match locale {
            Locale::En => format!("The mission: {link}\n"),
            Locale::Ko => format!("미션 보기: {link}\n"),
        };
        if self.status == MissionStatus::Cancelled {
            let note = match (&self.cancel_reason, locale) {
                (Some(CancelReason::Note(note)), _) => note.as_str(),
                (Some(CancelReason::StreamerSuspended), Locale::En) => {
                    "the streamer's account was suspended"
                }
                (Some(CancelReason::StreamerSuspended), Locale::Ko) => {
                    "스트리머 계정이 정지되었습니다"
                }
                (None, _) => "-",
            };
            let contact = &self.contact;
            lines.push_str(&match locale {
                Locale::En => {
                    format!("MissionLink's operators cancelled it: {note}\nQuestions: {contact}\n")
                }
                Locale::Ko => {
                    format!("MissionLink 운영자가 취소한 사유: {note}\n문의: {contact}\n")
                }
            });
        }
        lines
    }
}

/// `at` as the recipient reads it: Korea's time (KST) in Korean, UTC in English.
pub fn when(at: Option<DateTime<Utc>>, locale: Locale) -> String {
    let Some(at) = at else {
        return "?".to_owned();
    };
    match locale {
        Locale::En => at.format("%Y-%m-%d %H:%M UTC").to_string(),
        Locale::Ko => (at + Duration::hours(9))
            .format("%Y-%m-%d %H:%M (KST)")
            .to_string(),
    }
}

/// The lines that show the streamer's evidence and note, in `locale`; empty without either.
fn evidence_lines(facts: &MissionFacts, locale: Locale) -> String {
    let (link, said) = match locale {
        Locale::En => ("The streamer's evidence", "The streamer's note"),
        Locale::Ko => ("스트리머가 남긴 증거", "스트리머의 메모"),
    };
    let mut lines = String::new();
    if let Some(url) = &facts.evidence_url {
        lines.push_str(&format!("{link}: {url}\n"));
    }
    if let Some(note) = &facts.verdict_note {
        lines.push_str(&format!("{said}: {note}\n"));
    }
    lines
}

/// The message to one backer, `name`: the outcome and what happened to their `amount_won`, of
/// which a goal's tiered verdict refunded `refunded_won`, when it ended, and its page.
pub fn backer_message(
    facts: &MissionFacts,
    locale: Locale,
    name: &str,
    amount_won: i64,
    refunded_won: i64,
) -> (String, String) {
    let (t, s, a) = (&facts.title, &facts.streamer_name, won(amount_won));
    let (kept, back) = (won(amount_won - refunded_won), won(refunded_won));
    let level = match (facts.tier_reached, locale) {
        (Some(0), Locale::En) => "its goal".to_owned(),
        (Some(n), Locale::En) => format!("tier {n}"),
        (Some(0), Locale::Ko) => "목표".to_owned(),
        (Some(n), Locale::Ko) => format!("{n}단계"),
        (None, _) => String::new(),
    };
    let paid = facts.status == MissionStatus::Succeeded;
    let evidence = evidence_lines(facts, locale);
    let (ended, footer) = (when(facts.ended_at, locale), facts.footer(locale));
    match locale {
        Locale::En => {
            let outcome = match facts.status {
                MissionStatus::Succeeded => "succeeded",
                MissionStatus::Failed => "failed",
                MissionStatus::Rejected => "was declined",
                MissionStatus::Cancelled => "was cancelled by MissionLink",
                MissionStatus::Withdrawn if facts.goal => {
                    "was taken down by the streamer before it reached its goal"
                }
                MissionStatus::Withdrawn => "was withdrawn before the streamer accepted it",
                _ => "expired",
            };
            let money = if paid && refunded_won > 0 {
                format!(
                    "{s} delivered up to {level}: of your pledge of {a} won, {kept} won was paid \
                     to them and {back} won was refunded to your MissionLink wallet."
                )
            } else if paid {
                format!("Your pledge of {a} won was paid to {s}.")
            } else {
                format!("Your pledge of {a} won was refunded to your MissionLink wallet.")
            };
            (
                format!("[MissionLink] \"{t}\" {outcome}"),
                format!(
                    "Hello {name},\n\nThe mission \"{t}\" for {s} {outcome} ({ended}).\n{evidence}{money}\n\n{footer}\nThank you for backing it.\nMissionLink\n"
                ),
            )
        }
        Locale::Ko => {
            let (outcome, sentence) = match facts.status {
                MissionStatus::Succeeded => ("성공", "성공했습니다"),
                MissionStatus::Failed => ("실패", "실패했습니다"),
                MissionStatus::Rejected => ("거절", "거절되었습니다"),
                MissionStatus::Cancelled => ("취소", "MissionLink 운영자에 의해 취소되었습니다"),
                MissionStatus::Withdrawn if facts.goal => {
                    ("철회", "목표 금액에 도달하기 전에 스트리머가 내렸습니다")
                }
                MissionStatus::Withdrawn => ("철회", "스트리머가 수락하기 전에 철회되었습니다"),
                _ => ("만료", "만료되었습니다"),
            };
            let money = if paid && refunded_won > 0 {
                format!(
                    "{s}님이 {level}까지 달성했습니다: 후원하신 {a}원 중 {kept}원이 지급되고 \
                     {back}원이 MissionLink 지갑으로 환불되었습니다."
                )
            } else if paid {
                format!("후원하신 {a}원이 {s}님에게 지급되었습니다.")
            } else {
                format!("후원하신 {a}원이 MissionLink 지갑으로 환불되었습니다.")
            };
            (
                format!("[MissionLink] \"{t}\" 미션 {outcome}"),
                format!(
                    "{name}님, 안녕하세요.\n\n{s}님의 미션 \"{t}\"{ga} {sentence} ({ended}).\n{evidence}{money}\n\n{footer}\n후원해 주셔서 감사합니다.\nMissionLink\n",
                    ga = i_ga(t),
                ),
            )
        }
    }
}

fn status_word(status: MissionStatus, locale: Locale) -> &'static str {
    match (locale, status) {
        (Locale::En, MissionStatus::Succeeded) => "succeeded",
        (Locale::En, MissionStatus::Failed) => "failed",
        (Locale::En, MissionStatus::Rejected) => "declined",
        (Locale::En, MissionStatus::Cancelled) => "cancelled by MissionLink",
        (Locale::En, MissionStatus::Withdrawn) => "withdrawn",
        (Locale::En, _) => "expired",
        (Locale::Ko, MissionStatus::Succeeded) => "성공",
        (Locale::Ko, MissionStatus::Failed) => "실패",
        (Locale::Ko, MissionStatus::Rejected) => "거절",
        (Locale::Ko, MissionStatus::Cancelled) => "운영자 취소",
        (Locale::Ko, MissionStatus::Withdrawn) => "철회",
        (Locale::Ko, _) => "만료",
    }
}

/// The streamer's summary.
pub fn streamer_message(
    facts: &MissionFacts,
    locale: Locale,
    backers: i64,
    paid_won: i64,
    fee_won: i64,
    refunded_won: i64,
) -> (String, String) {
    let t = &facts.title;
    let (ended, footer) = (when(facts.ended_at, locale), facts.footer(locale));
    match locale {
        Locale::En => {
            let money = match facts.tier_reached {
                Some(level) if facts.status == MissionStatus::Succeeded => format!(
                    "You delivered up to {}: you received {} won (platform fee {} won), and {} \
                     won went back to your backers (with any withdrawals).",
                    if level == 0 {
                        "your goal".to_owned()
                    } else {
                        format!("tier {level}")
                    },
                    won(paid_won),
                    won(fee_won),
                    won(refunded_won)
                ),
                _ if facts.status == MissionStatus::Succeeded => format!(
                    "You received {} won (platform fee {} won).",
                    won(paid_won),
                    won(fee_won)
                ),
                _ => format!(
                    "All pledges, {} won, were refunded to their backers.",
                    won(refunded_won)
                ),
            };
            (
                format!(
                    "[MissionLink] Summary of \"{t}\": {}",
                    status_word(facts.status, locale)
                ),
                format!(
                    "Hello {},\n\nYour mission \"{t}\" ended: {} ({ended}).\nBackers: {backers}.\n{money}\n\n{footer}\nMissionLink\n",
                    facts.streamer_name,
                    status_word(facts.status, locale)
                ),
            )
        }
        Locale::Ko => {
            let money = match facts.tier_reached {
                Some(level) if facts.status == MissionStatus::Succeeded => format!(
                    "{}까지 달성하셨습니다: {}원을 받으셨고 (플랫폼 수수료 {}원), {}원은 \
                     후원자에게 돌아갔습니다 (철회 포함).",
                    if level == 0 {
                        "목표".to_owned()
                    } else {
                        format!("{level}단계")
                    },
                    won(paid_won),
                    won(fee_won),
                    won(refunded_won)
                ),
                _ if facts.status == MissionStatus::Succeeded => format!(
                    "{}원을 받으셨습니다 (플랫폼 수수료 {}원).",
                    won(paid_won),
                    won(fee_won)
                ),
                _ => format!(
                    "후원금 {}원은 모두 후원자에게 환불되었습니다.",
                    won(refunded_won)
                ),
            };
            (
                format!(
                    "[MissionLink] \"{t}\" 미션 결과: {}",
                    status_word(facts.status, locale)
                ),
                format!(
                    "{}님, 안녕하세요.\n\n미션 \"{t}\"{ga} 종료되었습니다: {} ({ended}).\n후원자 수: {backers}명.\n{money}\n\n{footer}\nMissionLink\n",
                    facts.streamer_name,
                    status_word(facts.status, locale),
                    ga = i_ga(t),
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_get_thousands_separators() {
        assert_eq!(won(0), "0");
        assert_eq!(won(1_000), "1,000");
        assert_eq!(won(30_000), "30,000");
        assert_eq!(won(1_234_567), "1,234,567");
    }
}
