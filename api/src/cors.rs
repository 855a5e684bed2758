//! `CORS_ALLOWED_ORIGINS`: which browser origins may call the API from another site.
//!
//! Exact origins only (`https://app.example.com`, scheme, host and port): never `*`, and never
//! credentials — the API authenticates with a bearer token in `Authorization`, which a page
//! sends explicitly, so browsers need no cookies from it. In production none by default: a
//! browser page on another origin cannot call the API until its origin is listed. Outside
//! production, unset, every loopback origin of any port is allowed (a web app on
//! `http://localhost:5173` works at once); set, exactly the list (`none` for none). The layer is
//! `tower_http::cors`, which answers allowed preflights itself; a refused preflight is answered
//! 403 with a message naming the variable ([`refuse_preflight`]), logged once per origin.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight's answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);
/// Refused origins remembered (each logged once); past it, the log is quiet.
const LOGGED_ORIGINS: usize = 1_000;

/// The allowed origins, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    listed: Vec<String>,
    /// Every loopback origin (`localhost`, `127.0.0.0/8`, `[::1]`), of any port.
    loopback: bool,
}

impl AllowedOrigins {
    /// Parses a comma-separated list of origins; empty (or `none`) means none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        if raw.trim().eq_ignore_ascii_case("none") {
            return Ok(Self::default());
        }
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
        Ok(Self {
            listed: origins,
            loopback: false,
        })
    }

    /// Outside production with `CORS_ALLOWED_ORIGINS` unset: every loopback origin.
    pub fn loopback() -> Self {
        Self {
            listed: Vec::new(),
            loopback: true,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty() && !self.loopback
    }

    /// Whether every loopback origin is allowed (the development default).
    pub fn allows_loopback(&self) -> bool {
        self.loopback
    }

    /// Whether a page served from `origin` may call the API.
    pub fn allows(&self, origin: &str) -> bool {
        self.listed.iter().any(|o| o == origin) || (self.loopback && is_loopback(origin))
    }

    /// The CORS layer for these origins, or `None` when there are none (no CORS headers at all).
    pub fn layer(&self) -> Option<CorsLayer> {
        if self.is_empty() {
            return None;
        }
        let allowed = self.clone();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                    origin.to_str().is_ok_and(|o| allowed.allows(o))
                }))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .max_age(PREFLIGHT_MAX_AGE),
        )
    }
}

/// `http(s)://localhost`, `127.x.y.z` or `[::1]`, any port.
fn is_loopback(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            None => false,
        }
}

/// Answers a browser's preflight from an origin `allowed` refuses with 403 and a message naming
/// `CORS_ALLOWED_ORIGINS` (rather than a bare 405), logging each refused origin once.
pub async fn refuse_preflight(
    allowed: std::sync::Arc<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    match origin {
        Some(origin) if preflight && !allowed.allows(&origin) => {
            log_once(&origin);
            let message = format!(
                "the origin {origin} may not call this API from a browser: add it to \
                 CORS_ALLOWED_ORIGINS (comma-separated scheme://host[:port])"
            );
            (StatusCode::FORBIDDEN, message).into_response()
        }
        _ => next.run(request).await,
    }
}

fn log_once(origin: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.len() < LOGGED_ORIGINS && seen.insert(origin.to_owned()) {
        tracing::warn!(
            %origin,
            "refused a browser's preflight: its origin is not in CORS_ALLOWED_ORIGINS"
        );
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
            ok.listed,
            vec!["https://app.example.com", "http://localhost:3000"]
        );
        assert!(AllowedOrigins::parse("").expect("none").is_empty());
        assert!(AllowedOrigins::parse("none").expect("none").is_empty());
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

    #[test]
    fn the_development_default_allows_loopback_origins_of_any_port_only() {
        let dev = AllowedOrigins::loopback();
        for ok in [
            "http://localhost:5173",
            "http://127.0.0.1:3000",
            "https://localhost",
            "http://[::1]:8081",
        ] {
            assert!(dev.allows(ok), "{ok}");
        }
        for refused in [
            "https://app.example.com",
            "http://localhost.evil.com",
            "http://10.0.0.2:5173",
            "null",
        ] {
            assert!(!dev.allows(refused), "{refused}");
        }
    }
}
