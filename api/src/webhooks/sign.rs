//! A delivery's signature: `MissionLink-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
//! HMAC-SHA256, keyed with the webhook's secret (the whole `whsec_…` string, as bytes), of
//! `"<t>.<body>"`. A receiver recomputes it over the raw body, compares in constant time, and
//! refuses a `t` far from its own clock (replays). The README shows it in curl, Python and Node.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "MissionLink-Signature";
/// The header carrying the deduplication key, `<streamerId>:<seq>`.
pub const EVENT_ID_HEADER: &str = "MissionLink-Event-Id";
/// The header naming the webhook.
pub const WEBHOOK_ID_HEADER: &str = "MissionLink-Webhook-Id";

/// A new secret: `whsec_` and 32 random bytes, base64url.
pub fn new_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` under `secret`.
pub fn digest(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The signature header's value.
pub fn header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", digest(secret, t, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // Computed independently: Python's
        // hmac.new(b"whsec_test", b'1700000000.{"seq":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            header("whsec_test", 1_700_000_000, b"{\"seq\":1}"),
            "t=1700000000,v1=926c3c48823e4dc937cdb0992313bcbbc472579d779ab54f0d4e09e4049838aa"
        );
        assert_eq!(digest("whsec_test", 1, b"a").len(), 64);
        assert_ne!(digest("whsec_test", 1, b"a"), digest("whsec_test", 2, b"a"));
        assert!(new_secret().starts_with("whsec_"));
        assert_eq!(new_secret().len(), 6 + 43);
    }
}
