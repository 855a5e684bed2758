//! The GraphiQL page (`GET /graphql` without a query) and the browser files it loads from
//! `/graphql/assets/<file>`: GraphiQL 3 and React 18 UMD builds, vendored in
//! `api/assets/graphiql/` by `scripts/vendor-graphiql` (which names each file's package@version
//! there) and compiled into the binary, so the page works with no internet and the container
//! image needs nothing beside the binary.
//!
//! The page (`graphiql.html`) names no external URL, and its own URLs are relative: the assets
//! are `graphql/assets/...` next to the page, queries and mutations go to the page's own path
//! and subscriptions to that path's `/ws` on the page's host (`ws.rs`; the Headers pane's
//! headers are the `connection_init` payload, where the socket reads its caller). Each asset
//! link carries a hash of the file's content (`?v=`), so the files can be cached for a year and
//! a re-vendored file is still fetched anew.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One vendored file, served as `/graphql/assets/<name>`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../assets/graphiql/", $name)),
        }
    };
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the page loads; nothing else is served under `/graphql/assets/`.
const ASSETS: [Asset; 4] = [
    asset!("react.production.min.js", JAVASCRIPT),
    asset!("react-dom.production.min.js", JAVASCRIPT),
    asset!("graphiql.min.js", JAVASCRIPT),
    asset!("graphiql.min.css", CSS),
];

/// The page, with `{{<asset name>}}` where each asset's URL goes.
const TEMPLATE: &str = include_str!("graphiql.html");

/// The page with its asset URLs filled in, built once.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    ASSETS.iter().fold(TEMPLATE.to_owned(), |page, asset| {
        let hash = Sha256::digest(asset.body);
        page.replace(
            &format!("{{{{{}}}}}", asset.name),
            &format!(
                "graphql/assets/{}?v={}",
                asset.name,
                hex::encode(&hash[..8])
            ),
        )
    })
});

/// The page's Content-Security-Policy: scripts only from this server plus the page's own inline
/// script (by its hash), requests only to this server (its queries and its socket), no frames.
/// GraphiQL's editor sets inline styles, so styles may be inline.
static CSP: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine as _;
    let start = PAGE.find("<script>").map_or(0, |i| i + "<script>".len());
    let end = PAGE[start..].find("</script>").map_or(start, |i| start + i);
    let inline =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&PAGE[start..end]));
    format!(
        "default-src 'none'; script-src 'self' 'sha256-{inline}'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
});

/// The GraphiQL page. Not cached, so that a new binary's asset hashes are seen at once.
pub(super) fn page() -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(PAGE.as_str()),
    )
        .into_response()
}

/// `GET /graphql/assets/{file}`: a vendored file, or 404 for any other name.
pub(super) async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response()
}
