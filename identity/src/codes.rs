//! The single-use codes account emails carry (issue 25): a short code to prove an address, typed
//! or followed as a link, and a long one to reset a password, only ever followed as a link.
//!
//! Codes are Crockford base32 (no I, L, O or U), read back case-insensitively, with dashes and
//! spaces ignored and the look-alikes O → 0, I/L → 1 mended, so a code read off a phone still
//! works. Only their SHA-256 is stored (`account_codes.code_hash`); the code itself is only in
//! the email. Guessing is bounded by the failed-code limit per client address
//! ([`crate::Accounts`]'s login throttle) and by each code's lifetime.

use missionlink_entities::users::CodePurpose;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters of an address-proving code: 50 bits, shown as two groups of five.
pub const VERIFY_CHARS: usize = 10;
/// Characters of a password-reset code: 160 bits.
pub const RESET_CHARS: usize = 32;

/// How many characters a code of this purpose has.
pub fn length(purpose: CodePurpose) -> usize {
    match purpose {
        CodePurpose::VerifyEmail => VERIFY_CHARS,
        CodePurpose::ResetPassword => RESET_CHARS,
    }
}

/// A new random code of this purpose, as the email shows it (`ABCDE-FGHJK` for a short one).
pub fn generate(purpose: CodePurpose) -> String {
    let n = length(purpose);
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    let code: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    match purpose {
        CodePurpose::VerifyEmail => format!("{}-{}", &code[..n / 2], &code[n / 2..]),
        CodePurpose::ResetPassword => code,
    }
}

/// The code as stored and compared: upper case, without separators, look-alikes mended.
/// `None` if it cannot be a code of this purpose (wrong length, a character outside the
/// alphabet), so nothing is looked up.
pub fn normalize(raw: &str, purpose: CodePurpose) -> Option<String> {
    if raw.len() > 4 * RESET_CHARS {
        return None;
    }
    let code: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    let valid = code.len() == length(purpose) && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// What `account_codes.code_hash` holds for a normalized code.
pub fn hash(normalized: &str) -> String {
    hex::encode(Sha256::digest(normalized.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        for purpose in CodePurpose::ALL {
            let code = generate(*purpose);
            let normal = normalize(&code, *purpose).expect("a fresh code is valid");
            assert_eq!(normal.len(), length(*purpose));
            assert_eq!(
                normalize(&code.to_lowercase(), *purpose),
                Some(normal.clone())
            );
            assert_eq!(normalize(&format!(" {code} "), *purpose), Some(normal));
        }
        assert_eq!(
            normalize("abcde-fghok", CodePurpose::VerifyEmail).as_deref(),
            Some("ABCDEFGH0K")
        );
        assert_eq!(
            normalize("ilIL0-00000", CodePurpose::VerifyEmail).as_deref(),
            Some("1111000000")
        );
    }

    #[test]
    fn what_cannot_be_a_code_is_refused_before_any_lookup() {
        assert_eq!(normalize("", CodePurpose::VerifyEmail), None);
        assert_eq!(normalize("ABCDE-FGHJ", CodePurpose::VerifyEmail), None);
        assert_eq!(normalize("ABCDE-FGHJU", CodePurpose::VerifyEmail), None);
        assert_eq!(normalize("ABCDE-FGHJK", CodePurpose::ResetPassword), None);
        assert_eq!(
            normalize(&"A".repeat(500), CodePurpose::ResetPassword),
            None
        );
    }

    #[test]
    fn codes_differ_and_hash_to_hex() {
        let a = generate(CodePurpose::ResetPassword);
        let b = generate(CodePurpose::ResetPassword);
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
    }
}
