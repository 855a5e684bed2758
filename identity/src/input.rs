//! Validated registration input: handlers never see unchecked strings.

use crate::error::IdentityError;
use missionlink_entities::users::Locale;
use missionlink_ledger::text;

fn bad(field: &str, message: impl Into<String>) -> IdentityError {
    IdentityError::invalid(field, message)
}

/// Whether `address` is a single deliverable address by RFC 5322's `addr-spec` grammar (no
/// display name, no list, no domain literal, a domain with a dot). Registration refuses what
/// fails this, and the mailer never sends to it: `a,b@x.com` is two recipients to a mail server.
pub fn deliverable(address: &str) -> bool {
    use email_address::{EmailAddress, Options};
    let options = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    EmailAddress::parse_with_options(address, options).is_ok()
}

/// A lower-cased, single deliverable address of at most 254 characters: RFC 5322's
/// `addr-spec` (see [`deliverable`]), so `a,b@x.com`, a display name
/// or a list never registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let email = raw.trim().to_lowercase();
        if email.chars().count() > Self::MAX_CHARS {
            return Err(bad(
                "email",
                format!("email must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if deliverable(&email) {
            Ok(Self(email))
        } else {
            Err(bad("email", "email is not a valid address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 8 to 128 characters.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let n = raw.chars().count();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(bad(
                "password",
                format!(
                    "password must be {} to {} characters",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// 3 to 30 ASCII letters, digits or underscores; unique ignoring case.
#[derive(Clone, Debug)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let ok = (3..=30).contains(&raw.len())
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(bad(
                "handle",
                "handle must be 3 to 30 letters, digits or underscores",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: "Alice" and "alice" are the same handle.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// 1 to 50 visible characters on one line, under the ledger's one text rule
/// ([`missionlink_ledger::text`]: NFKC, direction controls refused, invisible characters
/// removed, trimmed): others read it.
#[derive(Clone, Debug)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        text::required("displayName", raw, Self::MAX_CHARS, text::Lines::One)
            .map(Self)
            .map_err(IdentityError::from)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The locale asked for at registration: `ko` (the default, when none is given) or `en`.
pub fn locale(raw: Option<&str>) -> Result<Locale, IdentityError> {
    match raw.map(str::trim) {
        None | Some("ko") => Ok(Locale::Ko),
        Some("en") => Ok(Locale::En),
        Some(_) => Err(bad("locale", "locale must be \"ko\" or \"en\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ana@Example.COM ").unwrap().as_str(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "a@b@c.com",
            "a,b@example.com",
            "a;b@example.com",
            "a@example.com, b@example.com",
            "Ana <ana@example.com>",
            "ana@[127.0.0.1]",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(10_000))).is_err());
    }

    #[test]
    fn handles_are_case_insensitive_keys() {
        assert_eq!(Handle::parse("Alice_01").unwrap().key(), "alice_01");
        assert!(Handle::parse("al").is_err());
        assert!(Handle::parse("al ice").is_err());
        assert!(Handle::parse(&"a".repeat(31)).is_err());
    }

    #[test]
    fn passwords_and_names_are_bounded() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"p".repeat(129)).is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"n".repeat(51)).is_err());
        assert_eq!(DisplayName::parse("  민지  ").unwrap().as_str(), "민지");
        assert!(DisplayName::parse("\u{200B}").is_err());
        assert!(DisplayName::parse("\u{200B}\u{200C}\u{3164}").is_err());
        assert!(DisplayName::parse("민지\u{202E}").is_err());
        assert_eq!(DisplayName::parse("민\u{FE0F}지").unwrap().as_str(), "민지");
        assert!(locale(Some("fr")).is_err());
        assert_eq!(locale(None).unwrap(), Locale::Ko);
    }

    #[test]
    fn only_single_plain_addresses_are_deliverable() {
        assert!(deliverable("minji@example.com"));
        assert!(deliverable("first.last+tag@mail.example.co.kr"));
        for bad in [
            "a,b@example.com",
            "a@example.com,b@example.com",
            "a;b@example.com",
            "Minji <minji@example.com>",
            "minji@localhost",
            "minji@[127.0.0.1]",
            "minji@",
            "@example.com",
            "min ji@example.com",
            "minji@example.com\r\nBcc: x@example.com",
        ] {
            assert!(!deliverable(bad), "{bad:?}");
        }
    }
}
