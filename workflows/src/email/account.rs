//! What an account email says (issue 25), in the user's locale: the code that proves an address
//! (at registration, asked again, or a new address), or the link that resets a password; until
//! when it works (KST); and what to do if the reader asked for nothing.

use super::receipt::kst;
use super::texts::Locale;
use missionlink_identity::CodePurpose;
use missionlink_identity::account_mail::{AddressChanged, Letter};

/// The email's subject and text. `link` opens the page for the code; a new address's code has
/// none (it is entered in the app, signed in). No name the account chose is shown: the address
/// may not be the registrant's, and nothing they typed reaches a stranger's mailbox in
/// MissionLink's words.
pub fn account_email(letter: &Letter, link: Option<&str>) -> (String, String) {
    let (code, until) = (&letter.code, kst(letter.expires_at));
    match (letter.kind, letter.locale) {
        (CodePurpose::VerifyEmail, Locale::Ko) => (
            format!("[MissionLink] 이메일 인증 코드: {code}"),
            format!(
                "안녕하세요.\n\n{what}\n\n\
                 인증 코드: {code}\n\n\
                 {how}\n\n\
                 코드는 {until}까지, 한 번만 사용할 수 있습니다.\n\n\
                 요청하지 않으셨다면 이 메일을 무시하세요. 주소는 바뀌지 않습니다.\n\n\
                 MissionLink 드림\n",
                what = if letter.change_of_address {
                    "MissionLink 계정의 이메일 주소를 이 주소로 바꾸려면 인증이 필요합니다."
                } else {
                    "MissionLink 가입을 환영합니다. 이메일 주소를 인증하면 충전, 미션 제안, 후원, \
                     정산 신청을 할 수 있습니다."
                },
                how = match link {
                    Some(link) => format!("앱에서 코드를 입력하거나 아래 링크를 여세요.\n{link}"),
                    None =>
                        "주소 변경을 요청한 계정으로 로그인한 앱에서 코드를 입력하세요.".to_owned(),
                },
            ),
        ),
        (CodePurpose::VerifyEmail, Locale::En) => (
            format!("[MissionLink] Your verification code: {code}"),
            format!(
                "Hello,\n\n{what}\n\n\
                 Verification code: {code}\n\n\
                 {how}\n\n\
                 The code works once, until {until}.\n\n\
                 If you did not ask for this, ignore this email: nothing changes.\n\n\
                 MissionLink\n",
                what = if letter.change_of_address {
                    "To move your MissionLink account to this address, verify it."
                } else {
                    "Welcome to MissionLink. Verify your email address to top up, propose \
                     missions, pledge and request payouts."
                },
                how = match link {
                    Some(link) => format!("Enter the code in the app, or open this link:\n{link}"),
                    None => "Enter the code in the app, signed in to the account that asked for \
                             the change."
                        .to_owned(),
                },
            ),
        ),
        (CodePurpose::ResetPassword, Locale::Ko) => (
            "[MissionLink] 비밀번호 재설정".to_owned(),
            format!(
                "안녕하세요.\n\n\
                 비밀번호 재설정을 요청하셨습니다. 아래 링크에서 새 비밀번호를 정하세요.\n{link}\n\n\
                 링크는 {until}까지, 한 번만 사용할 수 있습니다. 비밀번호를 바꾸면 모든 기기에서 \
                 로그아웃됩니다.\n\n\
                 요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.\n\n\
                 MissionLink 드림\n",
                link = link.unwrap_or_default(),
            ),
        ),
        (CodePurpose::ResetPassword, Locale::En) => (
            "[MissionLink] Reset your password".to_owned(),
            format!(
                "Hello,\n\n\
                 You asked to reset your password. Choose a new one here:\n{link}\n\n\
                 The link works once, until {until}. Changing the password signs you out \
                 everywhere.\n\n\
                 If you did not ask for this, ignore this email: your password stays as it is.\n\n\
                 MissionLink\n",
                link = link.unwrap_or_default(),
            ),
        ),
    }
}

/// The notice to the address an account left: where it went, when, and whom to tell if the
/// reader did not ask for it (`contact`, the operator's).
pub fn address_changed_notice(notice: &AddressChanged, contact: &str) -> (String, String) {
    let (new, at) = (&notice.new_address, kst(notice.at));
    match notice.locale {
        Locale::Ko => (
            "[MissionLink] 계정 이메일 주소가 변경되었습니다".to_owned(),
            format!(
                "안녕하세요.\n\n\
                 {at}에 요청된 대로 MissionLink 계정의 이메일 주소가 이 주소에서 {new}(으)로 \
                 변경되었습니다. 이제 이 주소로는 로그인하거나 메일을 받을 수 없습니다.\n\n\
                 직접 변경하지 않으셨다면 바로 알려 주세요: {contact}\n\n\
                 MissionLink 드림\n"
            ),
        ),
        Locale::En => (
            "[MissionLink] Your account's email address was changed".to_owned(),
            format!(
                "Hello,\n\n\
                 As asked at {at}, your MissionLink account's email address was changed from \
                 this address to {new}. This address no longer signs in or receives its \
                 email.\n\n\
                 If you did not make this change, tell us at once: {contact}\n\n\
                 MissionLink\n"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn letter(kind: CodePurpose, locale: Locale, change_of_address: bool) -> Letter {
        Letter {
            kind,
            to: "kim@example.com".into(),
            locale,
            code: "ABCDE-FGHJK".into(),
            expires_at: Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 0).unwrap(),
            change_of_address,
        }
    }

    #[test]
    fn the_old_address_is_told_where_the_account_went_and_whom_to_tell() {
        for locale in Locale::ALL {
            let notice = AddressChanged {
                to: "old@example.com".into(),
                new_address: "new@example.com".into(),
                locale: *locale,
                at: Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 0).unwrap(),
            };
            let (subject, text) = address_changed_notice(&notice, "help@missionlink.example");
            assert!(subject.starts_with("[MissionLink]"));
            for needle in [
                "new@example.com",
                "help@missionlink.example",
                "2026-12-07 00:00:00 KST",
            ] {
                assert!(text.contains(needle), "{text}");
            }
            assert!(!text.contains("code="));
        }
    }

    #[test]
    fn every_email_carries_its_code_link_and_end_in_the_users_language() {
        let link = "http://x/account?code=ABCDE-FGHJK";
        for kind in CodePurpose::ALL {
            for locale in Locale::ALL {
                let (subject, text) = account_email(&letter(*kind, *locale, false), Some(link));
                assert!(subject.starts_with("[MissionLink]"));
                assert!(text.contains(link), "{text}");
                assert!(text.contains("2026-12-07 00:00:00 KST"), "{text}");
                if *kind == CodePurpose::VerifyEmail {
                    assert!(text.contains("ABCDE-FGHJK") && subject.contains("ABCDE-FGHJK"));
                }
                let korean = text.chars().any(|c| ('가'..='힣').contains(&c));
                assert_eq!(korean, *locale == Locale::Ko, "{text}");
            }
            // A new address's code is entered in the app, signed in: no link.
            let (_, text) =
                account_email(&letter(CodePurpose::VerifyEmail, Locale::En, true), None);
            assert!(
                text.contains("ABCDE-FGHJK") && !text.contains("http"),
                "{text}"
            );
            assert!(text.contains("signed in"), "{text}");
        }
    }
}
