//! What the backers' notices say while a mission runs (issue 28, item 5), in the recipient's
//! locale: that the streamer accepted it (its deadline, where to watch), and that its success
//! verdict is open to their objection (the evidence, how and until when to object). Times are
//! shown in Korea's time (KST) in Korean and in UTC in English.

use super::texts::{Locale, MissionFacts};
use chrono::{DateTime, Duration, Utc};

/// `at` as the recipient reads it.
fn when(at: Option<DateTime<Utc>>, locale: Locale) -> String {
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

/// The notice that the streamer accepted the mission: its deadline, and the streamer as
/// backers know them (their name and verified channel).
pub fn accepted_message(facts: &MissionFacts, locale: Locale) -> (String, String) {
    let (t, s, by) = (
        &facts.title,
        &facts.streamer_name,
        when(facts.deadline, locale),
    );
    if facts.goal {
        return goal_reached_message(facts, locale);
    }
    match locale {
        Locale::En => (
            format!("[MissionLink] {s} accepted \"{t}\""),
            format!(
                "Hello,\n\n{s} accepted the mission \"{t}\" you back.\nThey have until {by} to \
                 complete it; your pledge stays held until their verdict.\n\nMissionLink\n"
            ),
        ),
        Locale::Ko => (
            format!("[MissionLink] {s}님이 \"{t}\" 미션을 수락했습니다"),
            format!(
                "안녕하세요.\n\n후원하신 미션 \"{t}\"을(를) {s}님이 수락했습니다.\n마감은 {by}이며, \
                 결과가 나올 때까지 후원금은 보관됩니다.\n\nMissionLink\n"
            ),
        ),
    }
}

/// The notice that a streamer's goal the recipient backs reached its goal: its deadline runs.
fn goal_reached_message(facts: &MissionFacts, locale: Locale) -> (String, String) {
    let (t, s, by) = (
        &facts.title,
        &facts.streamer_name,
        when(facts.deadline, locale),
    );
    match locale {
        Locale::En => (
            format!("[MissionLink] \"{t}\" reached its goal"),
            format!(
                "Hello,\n\n{s}'s goal \"{t}\" you back reached its goal.\n{s} has until {by} \
                 to complete it; your pledge stays held until their verdict.\n\nMissionLink\n"
            ),
        ),
        Locale::Ko => (
            format!("[MissionLink] \"{t}\" 목표 달성"),
            format!(
                "안녕하세요.\n\n후원하신 {s}님의 목표 \"{t}\"이(가) 목표 금액에 도달했습니다.\n마감은 \
                 {by}이며, 결과가 나올 때까지 후원금은 보관됩니다.\n\nMissionLink\n"
            ),
        ),
    }
}

/// The notice that the streamer declared success and the backers may object: the evidence and
/// note they gave, and until when an objection counts.
pub fn verifying_message(facts: &MissionFacts, locale: Locale) -> (String, String) {
    let (t, s, until) = (
        &facts.title,
        &facts.streamer_name,
        when(facts.objection_until, locale),
    );
    let shown = |label_link: &str, label_note: &str, none: &str| {
        let mut lines = String::new();
        if let Some(url) = &facts.evidence_url {
            lines.push_str(&format!("{label_link}: {url}\n"));
        }
        if let Some(note) = &facts.verdict_note {
            lines.push_str(&format!("{label_note}: {note}\n"));
        }
        if lines.is_empty() {
            lines.push_str(none);
            lines.push('\n');
        }
        lines
    };
    match locale {
        Locale::En => (
            format!("[MissionLink] {s} says \"{t}\" succeeded: object by {until} if not"),
            format!(
                "Hello,\n\n{s} says the mission \"{t}\" you back succeeded.\n{}\nIf you saw \
                 otherwise, object in MissionLink (objectToVerdict on the mission, with what \
                 went wrong) before {until}. Without enough objections your pledge is paid to \
                 them then; with enough, MissionLink's operators decide.\n\nMissionLink\n",
                shown(
                    "Their evidence",
                    "Their note",
                    "They gave no evidence or note."
                )
            ),
        ),
        Locale::Ko => (
            format!("[MissionLink] \"{t}\" 미션 성공 선언: {until}까지 이의 제기 가능"),
            format!(
                "안녕하세요.\n\n{s}님이 후원하신 미션 \"{t}\"의 성공을 선언했습니다.\n{}\n\
                 다르게 보셨다면 {until}까지 MissionLink에서 이의를 제기해 주세요 (미션의 \
                 objectToVerdict, 무엇이 잘못되었는지와 함께). 이의가 충분하지 않으면 그때 \
                 후원금이 지급되고, 충분하면 MissionLink 운영자가 판단합니다.\n\nMissionLink\n",
                shown(
                    "스트리머가 남긴 증거",
                    "스트리머의 메모",
                    "증거나 메모를 남기지 않았습니다."
                )
            ),
        ),
    }
}
