//! What an account email says (issue 25), in the user's locale: the code that proves an address
//! (at registration, asked again, or a new address), or the link that resets a password; until
//! when it works (KST); and what to do if the reader asked for nothing.

use super::receipt::kst;
use super::texts::Locale;
use missionlink_identity::CodePurpose;
use missionlink_identity::account_mail::Letter;

/// The email's subject and text; `link` opens the page for the code.
pub fn account_email(letter: &Letter, link: &str) -> (String, String) {
    let (name, code, until) = (&letter.display_name, &letter.code, kst(letter.expires_at));
    match (letter.kind, letter.locale) {
        (CodePurpose::VerifyEmail, Locale::Ko) => (
            format!("[MissionLink] 이메일 인증 코드: {code}"),
            format!(
                "{name}님, 안녕하세요.\n\n{what}\n\n\
                 인증 코드: {code}\n\n\
                 앱에서 코드를 입력하거나 아래 링크를 여세요.\n{link}\n\n\
                 코드는 {until}까지, 한 번만 사용할 수 있습니다.\n\n\
                 요청하지 않으셨다면 이 메일을 무시하세요. 주소는 바뀌지 않습니다.\n\n\
                 MissionLink 드림\n",
                what = if letter.change_of_address {
                    "MissionLink 계정의 이메일 주소를 이 주소로 바꾸려면 인증이 필요합니다."
                } else {
                    "MissionLink 가입을 환영합니다. 이메일 주소를 인증하면 충전, 미션 제안, 후원, \
                     정산 신청을 할 수 있습니다."
                },
            ),
        ),
        (CodePurpose::VerifyEmail, Locale::En) => (
            format!("[MissionLink] Your verification code: {code}"),
            format!(
                "Hello {name},\n\n{what}\n\n\
                 Verification code: {code}\n\n\
                 Enter the code in the app, or open this link:\n{link}\n\n\
                 The code works once, until {until}.\n\n\
                 If you did not ask for this, ignore this email: nothing changes.\n\n\
                 MissionLink\n",
                what = if letter.change_of_address {
                    "To move your MissionLink account to this address, verify it."
                } else {
                    "Welcome to MissionLink. Verify your email address to top up, propose \
                     missions, pledge and request payouts."
                },
            ),
        ),
        (CodePurpose::ResetPassword, Locale::Ko) => (
            "[MissionLink] 비밀번호 재설정".to_owned(),
            format!(
                "{name}님, 안녕하세요.\n\n\
                 비밀번호 재설정을 요청하셨습니다. 아래 링크에서 새 비밀번호를 정하세요.\n{link}\n\n\
                 링크는 {until}까지, 한 번만 사용할 수 있습니다. 비밀번호를 바꾸면 모든 기기에서 \
                 로그아웃됩니다.\n\n\
                 요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.\n\n\
                 MissionLink 드림\n"
            ),
        ),
        (CodePurpose::ResetPassword, Locale::En) => (
            "[MissionLink] Reset your password".to_owned(),
            format!(
                "Hello {name},\n\n\
                 You asked to reset your password. Choose a new one here:\n{link}\n\n\
                 The link works once, until {until}. Changing the password signs you out \
                 everywhere.\n\n\
                 If you did not ask for this, ignore this email: your password stays as it is.\n\n\
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
            display_name: "Kim".into(),
            locale,
            code: "ABCDE-FGHJK".into(),
            expires_at: Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 0).unwrap(),
            change_of_address,
        }
    }

    #[test]
    fn every_email_carries_its_code_link_and_end_in_the_users_language() {
        for kind in CodePurpose::ALL {
            for locale in Locale::ALL {
                for change in [false, true] {
                    let (subject, text) = account_email(
                        &letter(*kind, *locale, change),
                        "http://x/account?code=ABCDE-FGHJK",
                    );
                    assert!(subject.starts_with("[MissionLink]"));
                    assert!(text.contains("http://x/account?code=ABCDE-FGHJK"));
                    assert!(text.contains("2026-12-07 00:00:00 KST"), "{text}");
                    assert!(text.contains("Kim"));
                    if *kind == CodePurpose::VerifyEmail {
                        assert!(text.contains("ABCDE-FGHJK") && subject.contains("ABCDE-FGHJK"));
                    }
                    let korean = text.chars().any(|c| ('가'..='힣').contains(&c));
                    assert_eq!(korean, *locale == Locale::Ko, "{text}");
                }
            }
        }
    }
}
