//! What a top-up's receipts say, in the user's locale (`ko` or `en`): the payment (or its
//! withdrawal), when (KST), the amount, the order, the withdrawal right, who operates the
//! service and how to object.

use super::receipt::kst;
use super::texts::{Locale, won};
use chrono::{DateTime, Utc};

/// The facts a top-up receipt states.
#[derive(Clone, Debug)]
pub struct TopUpReceiptFacts {
    pub top_up_id: String,
    pub order_id: String,
    /// `true` for the withdrawal's receipt, `false` for the payment's.
    pub withdrawn: bool,
    /// When it was paid (or withdrawn).
    pub at: DateTime<Utc>,
    pub amount_won: i64,
    /// `sandbox` or `toss`.
    pub provider: String,
    /// Until when the top-up may be withdrawn (the payment's receipt).
    pub withdrawable_until: Option<DateTime<Utc>>,
    pub withdrawal_days: i64,
    pub operator_name: String,
    pub operator_contact: String,
}

/// Days within which a user may object to a top-up or withdrawal.
pub const OBJECTION_DAYS: u32 = 30;

fn provider_name(provider: &str, locale: Locale) -> &str {
    match (provider, locale) {
        ("toss", _) => "Toss Payments",
        ("sandbox", Locale::Ko) => "샌드박스(실제 결제 없음)",
        ("sandbox", Locale::En) => "sandbox (no real payment)",
        (other, _) => other,
    }
}

/// The receipt's subject and text.
pub fn topup_receipt(f: &TopUpReceiptFacts, locale: Locale) -> (String, String) {
    let amount = won(f.amount_won);
    let at = kst(f.at);
    let until = f.withdrawable_until.map(kst).unwrap_or_else(|| "-".into());
    let (op, contact, id, order) = (
        &f.operator_name,
        &f.operator_contact,
        &f.top_up_id,
        &f.order_id,
    );
    let days = f.withdrawal_days;
    let provider = provider_name(&f.provider, locale);
    match (locale, f.withdrawn) {
        (Locale::Ko, false) => (
            format!("[MissionLink] 캐시 충전 영수증: {amount}원"),
            format!(
                "안녕하세요.\n\n캐시 충전이 완료되었습니다.\n\n\
                 충전 번호: {id}\n\
                 주문 번호: {order}\n\
                 결제 일시: {at}\n\
                 결제 금액: {amount}원\n\
                 결제 대행: {provider}\n\n\
                 청약 철회: 사용하지 않은 충전 금액은 결제일로부터 {days}일 이내({until}까지) 전액 또는 일부를 취소할 수 있습니다.\n\
                 이의 제기: 이 내역에 이의가 있으시면 {OBJECTION_DAYS}일 이내에 충전 번호를 적어 {contact}(으)로 연락해 주세요.\n\
                 운영자: {op} ({contact})\n"
            ),
        ),
        (Locale::Ko, true) => (
            format!("[MissionLink] 충전 취소(청약 철회) 영수증: {amount}원"),
            format!(
                "안녕하세요.\n\n요청하신 충전 취소(청약 철회)가 완료되었습니다. {amount}원이 결제하신 수단으로 환불됩니다.\n\n\
                 충전 번호: {id}\n\
                 주문 번호: {order}\n\
                 취소 일시: {at}\n\
                 취소 금액: {amount}원\n\
                 결제 대행: {provider}\n\n\
                 이의 제기: 이 내역에 이의가 있으시면 {OBJECTION_DAYS}일 이내에 충전 번호를 적어 {contact}(으)로 연락해 주세요.\n\
                 운영자: {op} ({contact})\n"
            ),
        ),
        (Locale::En, false) => (
            format!("[MissionLink] Top-up receipt: {amount} won"),
            format!(
                "Hello,\n\nYour top-up is complete.\n\n\
                 Top-up: {id}\n\
                 Order: {order}\n\
                 Paid: {at}\n\
                 Amount: {amount} won\n\
                 Payment provider: {provider}\n\n\
                 Withdrawal: while unspent, this top-up can be cancelled, in full or in part, within {days} days of payment (until {until}).\n\
                 To object: if anything here is wrong, write to {contact} within {OBJECTION_DAYS} days, quoting the top-up number.\n\
                 Operator: {op} ({contact})\n"
            ),
        ),
        (Locale::En, true) => (
            format!("[MissionLink] Top-up withdrawn: {amount} won refunded"),
            format!(
                "Hello,\n\nYour top-up was withdrawn as you asked. {amount} won are refunded to the payment method you used.\n\n\
                 Top-up: {id}\n\
                 Order: {order}\n\
                 Withdrawn: {at}\n\
                 Amount: {amount} won\n\
                 Payment provider: {provider}\n\n\
                 To object: if anything here is wrong, write to {contact} within {OBJECTION_DAYS} days, quoting the top-up number.\n\
                 Operator: {op} ({contact})\n"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(withdrawn: bool) -> TopUpReceiptFacts {
        let at = DateTime::parse_from_rfc3339("2026-11-26T15:30:00Z")
            .expect("time")
            .with_timezone(&Utc);
        TopUpReceiptFacts {
            top_up_id: "t1".into(),
            order_id: "ml-1".into(),
            withdrawn,
            at,
            amount_won: 50_000,
            provider: "toss".into(),
            withdrawable_until: Some(at + chrono::Duration::days(7)),
            withdrawal_days: 7,
            operator_name: "MissionLink Inc.".into(),
            operator_contact: "help@example.com".into(),
        }
    }

    #[test]
    fn receipts_state_kst_amount_operator_withdrawal_and_objection() {
        let (subject, text) = topup_receipt(&facts(false), Locale::Ko);
        assert!(subject.contains("50,000원"), "{subject}");
        for part in [
            "2026-11-27 00:30:00 KST",
            "2026-12-04 00:30:00 KST",
            "7일 이내",
            "MissionLink Inc.",
            "help@example.com",
            "이의 제기",
            "ml-1",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let (subject, text) = topup_receipt(&facts(true), Locale::En);
        assert!(subject.contains("withdrawn"), "{subject}");
        for part in [
            "50,000 won",
            "To object",
            "2026-11-27 00:30:00 KST",
            "refunded",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
