//! What a reconciliation notice says, in the user's locale (`ko` or `en`): what the payment
//! provider or bank did, what an operator did about it (`resolveReconciliation`), what moved in
//! their wallet, who operates the service and how to object.

use super::receipt::kst;
use super::texts::{Locale, won};
use chrono::{DateTime, Utc};
use missionlink_ledger::status::CaseAction;

/// The facts a notice states.
#[derive(Clone, Debug)]
pub struct NoticeFacts {
    pub case_id: String,
    pub action: CaseAction,
    /// When it was resolved.
    pub at: DateTime<Utc>,
    pub amount_won: i64,
    /// Taken from the cash.
    pub debited_won: i64,
    /// Recorded as owed.
    pub owed_won: i64,
    /// A returned payout that was a cash refund: back in the cash, not the earnings.
    pub to_cash: bool,
    pub operator_name: String,
    pub operator_contact: String,
}

/// Days within which a user may object.
pub const OBJECTION_DAYS: u32 = 30;

/// The notice's subject and text.
pub fn reconciliation_notice(f: &NoticeFacts, locale: Locale) -> (String, String) {
    let (amount, debited, owed) = (won(f.amount_won), won(f.debited_won), won(f.owed_won));
    let (at, id, op, contact) = (kst(f.at), &f.case_id, &f.operator_name, &f.operator_contact);
    let (ko_balance, en_balance, ko_what, en_what) = if f.to_cash {
        ("캐시로", "cash", "캐시 환불", "cash refund")
    } else {
        ("수익금으로", "earnings", "출금", "payout")
    };
    let (subject, body) = match (locale, f.action) {
        (Locale::Ko, CaseAction::DebitWallet | CaseAction::RecordReceivable) => (
            format!("[MissionLink] 결제 취소에 따른 캐시 조정: {amount}원"),
            format!(
                "충전하신 결제 {amount}원이 결제사(카드사)에서 취소되어 결제 수단으로 환불되었습니다. \
                 이미 적립된 캐시를 그만큼 조정했습니다.\n\n\
                 캐시에서 차감: {debited}원\n\
                 미수금(다음 충전·환불에서 먼저 차감): {owed}원"
            ),
        ),
        (Locale::Ko, CaseAction::RefundAtProvider) => (
            format!("[MissionLink] 적립되지 않은 결제 취소: {amount}원"),
            format!(
                "캐시로 적립되지 않은 결제 {amount}원을 결제사에서 취소했습니다. \
                 결제 수단으로 환불됩니다. 캐시는 바뀌지 않았습니다."
            ),
        ),
        (Locale::Ko, _) => (
            format!("[MissionLink] 은행에서 반환된 {ko_what}: {amount}원"),
            format!(
                "요청하신 {ko_what} {amount}원이 받는 은행에서 반환되었습니다(해지·휴면 계좌 등). \
                 {amount}원을 {ko_balance} 돌려드렸습니다. 계좌를 확인하고 다시 요청해 주세요."
            ),
        ),
        (Locale::En, CaseAction::DebitWallet | CaseAction::RecordReceivable) => (
            format!(
                "[MissionLink] Your cash was adjusted: a payment of {amount} won was cancelled"
            ),
            format!(
                "A top-up payment of {amount} won was cancelled by the payment provider (or your \
                 card issuer) and refunded to your card after it had been credited as cash. We \
                 adjusted your cash by the same amount.\n\n\
                 Taken from your cash: {debited} won\n\
                 Owed (taken first from your next top-ups and refunds): {owed} won"
            ),
        ),
        (Locale::En, CaseAction::RefundAtProvider) => (
            format!("[MissionLink] A payment that was never credited was cancelled: {amount} won"),
            format!(
                "A payment of {amount} won that was never credited as cash was cancelled at the \
                 payment provider and goes back to your card. Your cash did not change."
            ),
        ),
        (Locale::En, _) => (
            format!("[MissionLink] A {en_what} came back from the bank: {amount} won"),
            format!(
                "The receiving bank sent back your {en_what} of {amount} won (a closed or dormant \
                 account, for instance). The {amount} won are back in your {en_balance}: check \
                 your account and request it again."
            ),
        ),
    };
    let text = match locale {
        Locale::Ko => format!(
            "안녕하세요.\n\n{body}\n\n\
             조정 번호: {id}\n\
             처리 일시: {at}\n\n\
             이의 제기: 이 내역에 이의가 있으시면 {OBJECTION_DAYS}일 이내에 조정 번호를 적어 {contact}(으)로 연락해 주세요.\n\
             운영자: {op} ({contact})\n"
        ),
        Locale::En => format!(
            "Hello,\n\n{body}\n\n\
             Reference: {id}\n\
             Date: {at}\n\n\
             To object: if anything here is wrong, write to {contact} within {OBJECTION_DAYS} days, quoting the reference.\n\
             Operator: {op} ({contact})\n"
        ),
    };
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(action: CaseAction) -> NoticeFacts {
        NoticeFacts {
            case_id: "c1".into(),
            action,
            at: DateTime::parse_from_rfc3339("2026-12-06T15:30:00Z")
                .expect("time")
                .with_timezone(&Utc),
            amount_won: 50_000,
            debited_won: 10_000,
            owed_won: 40_000,
            to_cash: false,
            operator_name: "MissionLink Inc.".into(),
            operator_contact: "help@missionlink.example".into(),
        }
    }

    #[test]
    fn a_debit_says_what_was_taken_and_what_is_owed_in_both_languages() {
        let (subject, text) = reconciliation_notice(&facts(CaseAction::DebitWallet), Locale::Ko);
        assert!(subject.contains("50,000원"), "{subject}");
        assert!(text.contains("캐시에서 차감: 10,000원"), "{text}");
        assert!(text.contains("40,000원"), "{text}");
        assert!(text.contains("2026-12-07 00:30:00 KST"), "{text}");
        let (subject, text) = reconciliation_notice(&facts(CaseAction::DebitWallet), Locale::En);
        assert!(subject.contains("50,000 won"), "{subject}");
        assert!(text.contains("Owed (taken first from your next top-ups and refunds): 40,000 won"));
        let (_, text) = reconciliation_notice(&facts(CaseAction::ReturnToBalance), Locale::En);
        assert!(text.contains("back in your earnings"), "{text}");
    }
}
