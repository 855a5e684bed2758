//! What a payout's receipt says, in the streamer's locale (`ko` or `en`): the outcome, when
//! (KST), the amount, the fee, what reached the bank, the masked account, who operates the
//! service and how to object.

use super::texts::{Locale, won};
use chrono::{DateTime, FixedOffset, Utc};

/// Korea Standard Time, UTC+9 all year (Korea keeps no daylight saving time).
pub fn kst(at: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset");
    at.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S KST")
        .to_string()
}

/// The facts a receipt states.
#[derive(Clone, Debug)]
pub struct ReceiptFacts {
    pub payout_id: String,
    /// `true` for PAID, `false` for FAILED.
    pub paid: bool,
    pub finished_at: DateTime<Utc>,
    pub amount_won: i64,
    pub fee_won: i64,
    pub bank_name: String,
    pub account_masked: String,
    pub holder_name: String,
    pub failure_reason: Option<String>,
    pub operator_name: String,
    pub operator_contact: String,
}

/// Days within which a streamer may object to a payout.
pub const OBJECTION_DAYS: u32 = 30;

/// The receipt's subject and text.
pub fn payout_receipt(f: &ReceiptFacts, locale: Locale) -> (String, String) {
    let (amount, fee, net) = (
        won(f.amount_won),
        won(f.fee_won),
        won(f.amount_won.saturating_sub(f.fee_won)),
    );
    let at = kst(f.finished_at);
    let reason = f.failure_reason.as_deref().unwrap_or("-");
    let (op, contact, id) = (&f.operator_name, &f.operator_contact, &f.payout_id);
    let account = format!("{} {} ({})", f.bank_name, f.account_masked, f.holder_name);
    match locale {
        Locale::Ko => {
            let (subject, headline, result) = if f.paid {
                (
                    format!("[MissionLink] 출금 완료: {net}원"),
                    "요청하신 출금이 완료되었습니다.".to_owned(),
                    format!("입금액(수수료 제외): {net}원"),
                )
            } else {
                (
                    format!("[MissionLink] 출금 실패: {amount}원 반환"),
                    format!(
                        "요청하신 출금이 은행에서 처리되지 않았습니다. {amount}원 전액이 수익금으로 돌아갔습니다."
                    ),
                    format!("실패 사유: {reason}"),
                )
            };
            (
                subject,
                format!(
                    "안녕하세요.\n\n{headline}\n\n\
                     출금 번호: {id}\n\
                     처리 일시: {at}\n\
                     출금 요청액: {amount}원\n\
                     수수료: {fee}원\n\
                     {result}\n\
                     입금 계좌: {account}\n\n\
                     이의 제기: 이 내역에 이의가 있으시면 {OBJECTION_DAYS}일 이내에 출금 번호를 적어 {contact}(으)로 연락해 주세요.\n\
                     운영자: {op} ({contact})\n"
                ),
            )
        }
        Locale::En => {
            let (subject, headline, result) = if f.paid {
                (
                    format!("[MissionLink] Payout completed: {net} won"),
                    "Your payout was sent to your bank account.".to_owned(),
                    format!("Sent to your account (after the fee): {net} won"),
                )
            } else {
                (
                    format!("[MissionLink] Payout failed: {amount} won returned"),
                    format!(
                        "Your payout could not be completed by the bank. All {amount} won are back in your earnings."
                    ),
                    format!("Reason: {reason}"),
                )
            };
            (
                subject,
                format!(
                    "Hello,\n\n{headline}\n\n\
                     Payout: {id}\n\
                     Date: {at}\n\
                     Amount requested: {amount} won\n\
                     Fee: {fee} won\n\
                     {result}\n\
                     Account: {account}\n\n\
                     To object: if anything here is wrong, write to {contact} within {OBJECTION_DAYS} days, quoting the payout number.\n\
                     Operator: {op} ({contact})\n"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(paid: bool) -> ReceiptFacts {
        ReceiptFacts {
            payout_id: "p1".into(),
            paid,
            finished_at: DateTime::parse_from_rfc3339("2026-11-26T15:30:00Z")
                .expect("time")
                .with_timezone(&Utc),
            amount_won: 50_000,
            fee_won: 500,
            bank_name: "KB국민은행".into(),
            account_masked: "********9012".into(),
            holder_name: "김민지".into(),
            failure_reason: (!paid).then(|| "closed account".into()),
            operator_name: "MissionLink Inc.".into(),
            operator_contact: "help@example.com".into(),
        }
    }

    #[test]
    fn receipts_state_kst_amounts_account_operator_and_objection() {
        let (subject, text) = payout_receipt(&facts(true), Locale::Ko);
        assert!(subject.contains("49,500원"), "{subject}");
        for part in [
            "2026-11-27 00:30:00 KST",
            "50,000원",
            "500원",
            "49,500원",
            "********9012",
            "MissionLink Inc.",
            "help@example.com",
            "이의 제기",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let (subject, text) = payout_receipt(&facts(false), Locale::En);
        assert!(subject.contains("failed"), "{subject}");
        for part in [
            "closed account",
            "50,000 won",
            "To object",
            "2026-11-27 00:30:00 KST",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
