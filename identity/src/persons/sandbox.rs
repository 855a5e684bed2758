//! The development verifier (`IDENTITY_VERIFIER=sandbox`): believes a certification id that
//! spells out the person, so `verifyIdentity` can be tried without a PortOne account:
//! `sandbox:<name>:<YYYY-MM-DD>:<person>` is certified for `name`, born on that date, and
//! `<person>` stands for the CI (the same `<person>`, the same person: two accounts verifying
//! it collide as two accounts of one real person would). Anything else is refused, as an
//! unknown or incomplete certification is. Refused in production by the configuration.

use super::{Certified, IdentityVerifier, VerifyError};
use chrono::NaiveDate;
use missionlink_entities::users::IdentityProvider;

/// Longest sandbox id, in characters.
pub const MAX_ID_CHARS: usize = 200;

pub struct Sandbox;

/// The person a sandbox id spells out, if it does.
pub fn parse(id: &str) -> Option<Certified> {
    if id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return None;
    }
    let mut parts = id.trim().splitn(4, ':');
    let (Some("sandbox"), Some(name), Some(birth), Some(person)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let birth_date = NaiveDate::parse_from_str(birth, "%Y-%m-%d").ok()?;
    let (name, person) = (name.trim(), person.trim());
    if name.is_empty() || person.is_empty() {
        return None;
    }
    Some(Certified {
        provider: IdentityProvider::Portone,
        name: name.to_owned(),
        birth_date,
        ci: format!("sandbox-ci:{person}"),
    })
}

#[async_trait::async_trait]
impl IdentityVerifier for Sandbox {
    fn provider(&self) -> IdentityProvider {
        IdentityProvider::Portone
    }

    async fn certification(&self, certification_id: &str) -> Result<Certified, VerifyError> {
        parse(certification_id).ok_or_else(|| {
            VerifyError::Refused(
                "the sandbox certifies only sandbox:<name>:<YYYY-MM-DD>:<person>".into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_sandbox_id_spells_out_the_person() {
        let c = parse("sandbox:홍길동:2001-02-03:gildong").expect("certified");
        assert_eq!(c.name, "홍길동");
        assert_eq!(c.birth_date.to_string(), "2001-02-03");
        assert_eq!(c.ci, "sandbox-ci:gildong");
        for bad in [
            "imp_123",
            "sandbox:홍길동:2001-02-30:x",
            "sandbox::2001-02-03:x",
            "sandbox:a:2001-02-03:",
            "sandbox:a:2001-02-03",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
