//! A channel address as a viewer gives it when applying (`applyAsStreamer`), checked against
//! its platform and reduced to the channel's id and one canonical address, so the same channel
//! given two ways is one channel (`UNIQUE (platform, channel_id)`).
//!
//! - CHZZK: `https://chzzk.naver.com/<channel id>`, the id 32 hexadecimal characters;
//! - SOOP: `https://ch.sooplive.co.kr/<id>` or AfreecaTV's old `https://bj.afreecatv.com/<id>`,
//!   the id 3 to 24 lowercase letters and digits;
//! - Twitch: `https://www.twitch.tv/<login>` (or `twitch.tv`, `m.twitch.tv`), the login 4 to 25
//!   letters, digits and underscores, not starting with an underscore.
//!
//! Only `https`, no user info or port, one path segment (a trailing `/` allowed); a query or a
//! fragment (a share link's tracking) is dropped. Letters are folded to lower case.

use crate::error::{IdentityError, IdentityResult};
use missionlink_entities::users::Platform;

/// Longest address accepted, in bytes, before parsing it.
pub const MAX_URL_BYTES: usize = 512;

/// A channel, as claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelClaim {
    pub platform: Platform,
    pub channel_id: String,
    /// The canonical address.
    pub url: String,
}

impl ChannelClaim {
    /// `raw` as a channel of `platform`, or `BAD_USER_INPUT` saying what is expected.
    pub fn parse(platform: Platform, raw: &str) -> IdentityResult<Self> {
        let expected = match platform {
            Platform::Chzzk => "https://chzzk.naver.com/<32-character channel id>",
            Platform::Soop => "https://ch.sooplive.co.kr/<id> (or https://bj.afreecatv.com/<id>)",
            Platform::Twitch => "https://www.twitch.tv/<login>",
        };
        let refuse = || {
            IdentityError::invalid(
                "channelUrl",
                format!("channelUrl must be a {platform} channel: {expected}"),
            )
        };
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_URL_BYTES {
            return Err(refuse());
        }
        let url = url::Url::parse(raw).map_err(|_| refuse())?;
        if url.scheme() != "https"
            || !url.username().is_empty()
            || url.password().is_some()
            || url.port().is_some()
        {
            return Err(refuse());
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let mut segments: Vec<&str> = url.path_segments().map_or_else(Vec::new, Iterator::collect);
        if segments.last() == Some(&"") {
            segments.pop();
        }
        let [segment] = segments.as_slice() else {
            return Err(refuse());
        };
        let id = segment.to_ascii_lowercase();
        let (hosts, valid, canonical): (&[&str], fn(&str) -> bool, &str) = match platform {
            Platform::Chzzk => (&["chzzk.naver.com"], chzzk_id, "https://chzzk.naver.com/"),
            Platform::Soop => (
                &["ch.sooplive.co.kr", "bj.afreecatv.com"],
                soop_id,
                "https://ch.sooplive.co.kr/",
            ),
            Platform::Twitch => (
                &["www.twitch.tv", "twitch.tv", "m.twitch.tv"],
                twitch_login,
                "https://www.twitch.tv/",
            ),
        };
        if !hosts.contains(&host.as_str()) || !valid(&id) {
            return Err(refuse());
        }
        Ok(Self {
            platform,
            url: format!("{canonical}{id}"),
            channel_id: id,
        })
    }
}

/// A CHZZK channel id: 32 lowercase hexadecimal characters.
pub fn chzzk_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn soop_id(id: &str) -> bool {
    (3..=24).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn twitch_login(id: &str) -> bool {
    (4..=25).contains(&id.len())
        && !id.starts_with('_')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A channel's address from its platform and id, for a channel verified by its platform.
pub fn channel_url(platform: Platform, channel_id: &str) -> String {
    match platform {
        Platform::Chzzk => format!("https://chzzk.naver.com/{channel_id}"),
        Platform::Soop => format!("https://ch.sooplive.co.kr/{channel_id}"),
        Platform::Twitch => format!("https://www.twitch.tv/{channel_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHZZK: &str = "0123456789abcdef0123456789abcdef";

    fn ok(platform: Platform, raw: &str) -> (String, String) {
        let c = ChannelClaim::parse(platform, raw).unwrap_or_else(|_| panic!("{raw} refused"));
        (c.channel_id, c.url)
    }

    #[test]
    fn each_platforms_addresses_reduce_to_one_channel() {
        assert_eq!(
            ok(Platform::Chzzk, &format!("https://chzzk.naver.com/{CHZZK}")),
            (CHZZK.to_owned(), format!("https://chzzk.naver.com/{CHZZK}"))
        );
        let upper = format!(
            " https://CHZZK.naver.com/{}/?x=1#top ",
            CHZZK.to_uppercase()
        );
        assert_eq!(ok(Platform::Chzzk, &upper).0, CHZZK);
        for raw in [
            "https://ch.sooplive.co.kr/Stella77",
            "https://bj.afreecatv.com/stella77/",
        ] {
            assert_eq!(
                ok(Platform::Soop, raw),
                (
                    "stella77".into(),
                    "https://ch.sooplive.co.kr/stella77".into()
                )
            );
        }
        for raw in [
            "https://www.twitch.tv/Stella_TV",
            "https://twitch.tv/stella_tv?sr=a",
            "https://m.twitch.tv/stella_tv",
        ] {
            assert_eq!(
                ok(Platform::Twitch, raw),
                ("stella_tv".into(), "https://www.twitch.tv/stella_tv".into())
            );
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let refused = [
            (Platform::Chzzk, format!("http://chzzk.naver.com/{CHZZK}")),
            (
                Platform::Chzzk,
                format!("https://chzzk.naver.com/live/{CHZZK}"),
            ),
            (Platform::Chzzk, "https://chzzk.naver.com/0123".into()),
            (Platform::Chzzk, format!("https://evil.com/{CHZZK}")),
            (
                Platform::Chzzk,
                format!("https://chzzk.naver.com.evil.com/{CHZZK}"),
            ),
            (
                Platform::Chzzk,
                format!("https://u:p@chzzk.naver.com/{CHZZK}"),
            ),
            (
                Platform::Chzzk,
                format!("https://chzzk.naver.com:8443/{CHZZK}"),
            ),
            (Platform::Soop, format!("https://chzzk.naver.com/{CHZZK}")),
            (Platform::Soop, "https://ch.sooplive.co.kr/".into()),
            (Platform::Soop, "https://ch.sooplive.co.kr/a-b".into()),
            (Platform::Twitch, "https://www.twitch.tv/_under".into()),
            (Platform::Twitch, "https://www.twitch.tv/abc".into()),
            (Platform::Twitch, "www.twitch.tv/stella".into()),
            (Platform::Twitch, "javascript:alert(1)".into()),
            (
                Platform::Twitch,
                format!("https://www.twitch.tv/{}", "a".repeat(600)),
            ),
            (Platform::Twitch, String::new()),
        ];
        for (platform, raw) in refused {
            assert!(
                matches!(
                    ChannelClaim::parse(platform, &raw),
                    Err(IdentityError::BadInput(_))
                ),
                "{platform} {raw} accepted"
            );
        }
    }
}
