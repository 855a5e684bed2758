//! The frame of the pages the server renders itself (an account email's link, a mission's
//! page): plain HTML in the reader's language, no script and no outside asset (a
//! Content-Security-Policy allows none), never cached, never sending a referrer, never framed.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// `body` under the heading `title` (both already escaped), in `lang`.
pub(super) fn page(status: StatusCode, lang: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · MissionLink</title></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>\n"
    );
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(html),
    )
        .into_response()
}
