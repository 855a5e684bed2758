//! What the backers' notices say while a mission runs (issue 28, item 5), in the recipient's
//! locale: that the streamer accepted it (its deadline, where to watch), and that its success
//! verdict is open to their objection (the evidence, how and until when to object). Times are
//! shown in Korea's time (KST) in Korean and in UTC in English.

use super::korean::{eul_reul, i_ga};
use super::texts::{Locale, MissionFacts, when};

/// The notice to the backer `name` that the streamer accepted the mission: its deadline, the
/// streamer as backers know them (their name and verified channel), and its page.
pub fn accepted_message(facts: &MissionFacts, locale: Locale, name: &str) -> (String, String) {
    let (t, s, by) = (
        &facts.title,
        &facts.streamer_name,
        when(facts.deadline, locale),
    );
    if facts.goal {
        return goal_reached_message(facts, locale, name);
    }
    let footer = facts.footer(locale);
    match locale {
        Locale::En => (
            format!("[MissionLink] {s} accepted \"{t}\""),
            format!(
                "Hello {name},\n\n{s} accepted the mission \"{t}\" you back.\nThey have until \
                 {by} to complete it; your pledge stays held until their verdict.\n\n{footer}\n\
                 MissionLink\n"
            ),
        ),
        Locale::Ko => (
            format!("[MissionLink] {s}님이 \"{t}\" 미션을 수락했습니다"),
            format!(
                "{name}님, 안녕하세요.\n\n후원하신 미션 \"{t}\"{reul} {s}님이 수락했습니다.\n마감은 \
                 {by}이며, 결과가 나올 때까지 후원금은 보관됩니다.\n\n{footer}\nMissionLink\n",
                reul = eul_reul(t)
            ),
        ),
    }
}

/// The notice that a streamer's goal the recipient backs reached its goal: its deadline runs.
fn goal_reached_message(facts: &MissionFacts, locale: Locale, name: &str) -> (String, String) {
    let (t, s, by) = (
        &facts.title,
        &facts.streamer_name,
        when(facts.deadline, locale),
    );
    let footer = facts.footer(locale);
    match locale {
        Locale::En => (
            format!("[MissionLink] \"{t}\" reached its goal"),
            format!(
                "Hello {name},\n\n{s}'s goal \"{t}\" you back reached its goal.\n{s} has until \
                 {by} to complete it; your pledge stays held until their verdict.\n\n{footer}\n\
                 MissionLink\n"
            ),
        ),
        Locale::Ko => (
            format!("[MissionLink] \"{t}\" 목표 달성"),
            format!(
                "{name}님, 안녕하세요.\n\n후원하신 {s}님의 목표 \"{t}\"{ga} 목표 금액에 \
                 도달했습니다.\n마감은 {by}이며, 결과가 나올 때까지 후원금은 보관됩니다.\n\n\
                 {footer}\nMissionLink\n",
                ga = i_ga(t)
            ),
        ),
    }
}

/// The notice to the backer `name` that the streamer declared success and the backers may
/// object: the evidence and note they gave, until when an objection counts, and its page.
pub fn verifying_message(facts: &MissionFacts, locale: Locale, name: &str) -> (String, String) {
    let (t, s, until) = (
        &facts.title,
        &facts.streamer_name,
        when(facts.objection_until, locale),
    );
    let footer = facts.footer(locale);
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
                "Hello {name},\n\n{s} says the mission \"{t}\" you back succeeded.\n{}\nIf you saw \
                 otherwise, object in MissionLink (objectToVerdict on the mission, with what \
                 went wrong) before {until}. Without enough objections your pledge is paid to \
                 them then; with enough, MissionLink's operators decide.\n\n{footer}\nMissionLink\n",
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
                "{name}님, 안녕하세요.\n\n{s}님이 후원하신 미션 \"{t}\"의 성공을 선언했습니다.\n{}\n\
                 다르게 보셨다면 {until}까지 MissionLink에서 이의를 제기해 주세요 (미션의 \
                 objectToVerdict, 무엇이 잘못되었는지와 함께). 이의가 충분하지 않으면 그때 \
                 후원금이 지급되고, 충분하면 MissionLink 운영자가 판단합니다.\n\n{footer}\nMissionLink\n",
                shown(
                    "스트리머가 남긴 증거",
                    "스트리머의 메모",
                    "증거나 메모를 남기지 않았습니다."
                )
            ),
        ),
    }
}
