//! The closed sets of values stored as text in the users database, typed as the missions
//! database's statuses are (`crate::missions::status`). The migrations' CHECK constraints list
//! the same values.

use crate::text_enum::text_enum;

text_enum! {
    /// What a user is on the platform: `users.role`. `OPERATOR` is never self-assigned.
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Role {
        Viewer = "VIEWER",
        Streamer = "STREAMER",
        Operator = "OPERATOR",
    }
}

text_enum! {
    /// The language of a user's emails and overlay: `users.locale`.
    pub enum Locale {
        Ko = "ko",
        En = "en",
    }
}

text_enum! {
    /// What an account code proves: `account_codes.purpose`.
    pub enum CodePurpose {
        VerifyEmail = "VERIFY_EMAIL",
        ResetPassword = "RESET_PASSWORD",
    }
}

text_enum! {
    /// A streaming platform a streamer's channel is on: `streamer_applications.platform`,
    /// `streamer_channels.platform`.
    pub enum Platform {
        /// NAVER's CHZZK (치지직): an OAuth API verifies a channel at once (`linkChannel`).
        Chzzk = "CHZZK",
        /// SOOP (formerly AfreecaTV).
        Soop = "SOOP",
        Twitch = "TWITCH",
    }
}

text_enum! {
    /// What an account email is: `account_emails.kind`. `VERIFY_EMAIL` proves the account's
    /// own address, `CHANGE_EMAIL` a new one (both carry an address code), `RESET_PASSWORD` a
    /// reset code; `ADDRESS_CHANGED` tells the old address that the account moved away from it.
    pub enum AccountEmailKind {
        VerifyEmail = "VERIFY_EMAIL",
        ChangeEmail = "CHANGE_EMAIL",
        ResetPassword = "RESET_PASSWORD",
        AddressChanged = "ADDRESS_CHANGED",
    }
}

impl AccountEmailKind {
    /// The purpose of the code the email carries, if it carries one.
    pub fn code(self) -> Option<CodePurpose> {
        match self {
            Self::VerifyEmail | Self::ChangeEmail => Some(CodePurpose::VerifyEmail),
            Self::ResetPassword => Some(CodePurpose::ResetPassword),
            Self::AddressChanged => None,
        }
    }
}

text_enum! {
    /// Where an account email is: `account_emails.status`. `SKIPPED`: nothing to send (a reset
    /// asked for an address no account has, an address already proven).
    pub enum AccountEmailStatus {
        Pending = "PENDING",
        Sent = "SENT",
        Failed = "FAILED",
        Skipped = "SKIPPED",
    }
}

text_enum! {
    /// Where a viewer's application to become a streamer stands:
    /// `streamer_applications.status`. Only `PENDING` changes, once.
    pub enum ApplicationStatus {
        Pending = "PENDING",
        Approved = "APPROVED",
        Refused = "REFUSED",
    }
}

text_enum! {
    /// How a streamer's channel was verified: `streamer_channels.verified_via`.
    pub enum Verification {
        /// An operator approved the streamer's application (`verified_by` names them).
        Operator = "OPERATOR",
        /// The platform's OAuth API said the channel is the user's (`linkChannel`).
        Oauth = "OAUTH",
        /// The account was a streamer before verification existed (users migration 000006).
        Migration = "MIGRATION",
    }
}

impl Role {
    /// The role stored as `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_as_itself() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        assert_eq!(Role::parse("operator"), None);
        assert_eq!(
            serde_json::to_string(&Role::Streamer).unwrap(),
            "\"STREAMER\""
        );
        assert_eq!(Locale::ALL.len(), 2);
    }
}

text_enum! {
    /// Who vouched for a person's identity (본인인증): `person_verifications.provider`.
    pub enum IdentityProvider {
        /// PortOne (formerly I'mport) v1 certifications: a mobile-carrier identity check.
        Portone = "PORTONE",
    }
}
