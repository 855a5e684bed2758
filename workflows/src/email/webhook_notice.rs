//! What a streamer is told when one of their webhooks is given up (issue 29), in their locale.

use super::receipt::kst;
use super::texts::Locale;
use chrono::{DateTime, Utc};

/// The facts the notice states.
#[derive(Clone, Debug)]
pub struct WebhookNoticeFacts {
    pub url: String,
    pub description: String,
    pub disabled_at: DateTime<Utc>,
    pub reason: String,
    /// The last event `seq` delivered (or skipped): sending resumes after it.
    pub delivered_seq: i64,
    pub operator_contact: String,
}

/// The notice's subject and text.
pub fn webhook_notice(f: &WebhookNoticeFacts, locale: Locale) -> (String, String) {
    let when = kst(f.disabled_at);
    let named = if f.description.is_empty() {
        f.url.clone()
    } else {
        format!("{} ({})", f.description, f.url)
    };
    match locale {
        Locale::Ko => (
            "[MissionLink] 웹훅 전송이 중지되었습니다".to_owned(),
            format!(
                "웹훅 {named}으로의 전송을 {when}에 중지했습니다.\n\n\
                 이유: {reason}\n\n\
                 마지막으로 전달된 이벤트 번호(seq): {seq}\n\
                 수신 서버를 고친 뒤 enableWebhook으로 다시 켜면 그 다음 이벤트부터 다시 \
                 보냅니다(피드가 보관하는 동안). 전송 기록은 webhookDeliveries에서 볼 수 \
                 있습니다.\n\n문의: {contact}",
                reason = f.reason,
                seq = f.delivered_seq,
                contact = f.operator_contact,
            ),
        ),
        Locale::En => (
            "[MissionLink] Your webhook was disabled".to_owned(),
            format!(
                "We stopped sending events to your webhook {named} at {when}.\n\n\
                 Why: {reason}\n\n\
                 The last event delivered: seq {seq}.\n\
                 Once your receiver is fixed, enableWebhook starts it again from the next \
                 event (while your feed still keeps it). webhookDeliveries shows every \
                 attempt.\n\nQuestions: {contact}",
                reason = f.reason,
                seq = f.delivered_seq,
                contact = f.operator_contact,
            ),
        ),
    }
}
