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
    /// A refund of remaining cash (`requestCashRefund`), not a payout of earnings.
    pub refund: bool,
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
    // A cash refund reads as a refund, and its money goes back to the cash.
    let (ko_what, ko_back, en_what, en_back) = if f.refund {
        ("캐시 환불", "캐시로", "Cash refund", "cash")
    } else {
        ("출금", "수익금으로", "Payout", "earnings")
    };
    match locale {
        Locale::Ko => {
            let (subject, headline, result) = if f.paid {
                (
                    format!("[MissionLink] {ko_what} 완료: {net}원"),
                    format!("요청하신 {ko_what}이 완료되었습니다."),
                    format!("입금액(수수료 제외): {net}원"),
                )
            } else {
                (
                    format!("[MissionLink] {ko_what} 실패: {amount}원 반환"),
                    format!(
                        "요청하신 {ko_what}이 은행에서 처리되지 않았습니다. {amount}원 전액이 {ko_back} 돌아갔습니다."
                    ),
                    format!("실패 사유: {reason}"),
                )
            };
            (
                subject,
                format!(
                    "안녕하세요.\n\n{headline}\n\n\
                     {ko_what} 번호: {id}\n\
                     처리 일시: {at}\n\
                     {ko_what} 요청액: {amount}원\n\
                     수수료: {fee}원\n\
                     {result}\n\
                     입금 계좌: {account}\n\n\
                     이의 제기: 이 내역에 이의가 있으시면 {OBJECTION_DAYS}일 이내에 {ko_what} 번호를 적어 {contact}(으)로 연락해 주세요.\n\
                     운영자: {op} ({contact})\n"
                ),
            )
        }
        Locale::En => {
            let (subject, headline, result) = if f.paid {
                (
                    format!("[MissionLink] {en_what} completed: {net} won"),
                    format!(
                        "Your {} was sent to your bank account.",
                        en_what.to_lowercase()
                    ),
                    format!("Sent to your account (after the fee): {net} won"),
                )
            } else {
                (
                    format!("[MissionLink] {en_what} failed: {amount} won returned"),
                    format!(
                        "Your {} could not be completed by the bank. All {amount} won are back in your {en_back}.",
                        en_what.to_lowercase()
                    ),
                    format!("Reason: {reason}"),
                )
            };
            (
                subject,
                format!(
                    "Hello,\n\n{headline}\n\n\
                     {en_what}: {id}\n\
                     Date: {at}\n\
                     Amount requested: {amount} won\n\
                     Fee: {fee} won\n\
                     {result}\n\
                     Account: {account}\n\n\
                     To object: if anything here is wrong, write to {contact} within {OBJECTION_DAYS} days, quoting the {} number.\n\
                     Operator: {op} ({contact})\n",
                    en_what.to_lowercase()
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
            refund: false,
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
