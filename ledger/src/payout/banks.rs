//! The Korean banks a payout may go to: KFTC (금융결제원) 3-digit institution codes.

/// Every accepted bank code with the bank's name as streamers know it.
pub const BANKS: &[(&str, &str)] = &[
    ("002", "KDB산업은행"),
    ("003", "IBK기업은행"),
    ("004", "KB국민은행"),
    ("007", "수협은행"),
    ("011", "NH농협은행"),
    ("020", "우리은행"),
    ("023", "SC제일은행"),
    ("027", "한국씨티은행"),
    ("031", "iM뱅크(대구)"),
    ("032", "부산은행"),
    ("034", "광주은행"),
    ("035", "제주은행"),
    ("037", "전북은행"),
    ("039", "경남은행"),
    ("045", "새마을금고"),
    ("048", "신협"),
    ("071", "우체국"),
    ("081", "하나은행"),
    ("088", "신한은행"),
    ("089", "케이뱅크"),
    ("090", "카카오뱅크"),
    ("092", "토스뱅크"),
];

/// The name of the bank with this code, if it is one we pay to.
pub fn bank_name(code: &str) -> Option<&'static str> {
    BANKS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_three_digits_and_unique() {
        for (code, _) in BANKS {
            assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()));
        }
        let mut codes: Vec<_> = BANKS.iter().map(|(c, _)| c).collect();
        codes.dedup();
        assert_eq!(codes.len(), BANKS.len());
        assert_eq!(bank_name("004"), Some("KB국민은행"));
        assert_eq!(bank_name("999"), None);
    }
}
