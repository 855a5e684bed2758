//! `CORS_ALLOWED_ORIGINS`: which browser origins may call the API from another site.
//!
//! Exact origins only (`https://app.example.com`, scheme, host and port): never `*`, and never
//! credentials — the API authenticates with a bearer token in `Authorization`, which a page
//! sends explicitly, so browsers need no cookies from it. None by default: a browser page on
//! another origin cannot call the API until its origin is listed. The layer is
//! `tower_http::cors`, which answers preflights itself.

use axum::http::{HeaderValue, Method, header};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight's answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The allowed origins, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Parses a comma-separated list of origins; empty means none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                return Err("`*` is not accepted: list each origin exactly".into());
            }
            let url = url::Url::parse(entry).map_err(|e| {
                format!("{entry:?} is not an origin such as https://app.example.com: {e}")
            })?;
            let bare = url.path() == "/"
                && !entry.ends_with('/')
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none();
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
                return Err(format!(
                    "{entry:?} is not an origin: give scheme, host and port only, \
                     such as https://app.example.com"
                ));
            }
            let origin = url.origin().ascii_serialization();
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Ok(Self(origins))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The CORS layer for these origins, or `None` when there are none (no CORS headers at all).
    pub fn layer(&self) -> Option<CorsLayer> {
        if self.is_empty() {
            return None;
        }
        let origins: Vec<HeaderValue> = self
            .0
            .iter()
            .map(|o| HeaderValue::from_str(o).expect("a serialized origin is a valid header"))
            .collect();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .max_age(PREFLIGHT_MAX_AGE),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_origins_are_accepted() {
        let ok = AllowedOrigins::parse(" https://app.example.com, http://localhost:3000 ,")
            .expect("two origins");
        assert_eq!(
            ok.0,
            vec!["https://app.example.com", "http://localhost:3000"]
        );
        assert!(AllowedOrigins::parse("").expect("none").is_empty());
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://user@app.example.com",
            "ftp://app.example.com",
            "https://app.example.com?x=1",
        ] {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
