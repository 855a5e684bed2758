//! The pages an account email's link opens (issue 25): `/account/verify-email` proves an
//! address, `/account/reset-password` sets a new password. Plain HTML forms, no script and no
//! outside asset: the `GET` only shows the form (mail scanners that follow links use nothing
//! up), and the `POST` does what `verifyEmail` / `resetPassword` do, through the same identity
//! calls and throttles, and says how it went. The code is in the URL: the pages are never
//! cached and never send a referrer. Their words follow `lang` (`ko`, else `en`), which the
//! email's link carries.

use super::HttpState;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use missionlink_identity::IdentityError;
use serde::Deserialize;
use std::net::SocketAddr;

pub use missionlink_identity::account_mail::{RESET_PATH, VERIFY_PATH};

#[derive(Deserialize)]
pub(super) struct Link {
    #[serde(default)]
    code: String,
    #[serde(default)]
    lang: String,
}

#[derive(Deserialize)]
pub(super) struct Submitted {
    #[serde(default)]
    code: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    password: String,
}

struct Words {
    lang: &'static str,
    verify_title: &'static str,
    verify_button: &'static str,
    verified: &'static str,
    reset_title: &'static str,
    new_password: &'static str,
    reset_button: &'static str,
    reset_done: &'static str,
    code: &'static str,
    refused: &'static str,
}

const KO: Words = Words {
    lang: "ko",
    verify_title: "이메일 주소 인증",
    verify_button: "인증하기",
    verified: "이메일 주소가 인증되었습니다. 이제 앱으로 돌아가셔도 됩니다.",
    reset_title: "비밀번호 재설정",
    new_password: "새 비밀번호 (8~128자)",
    reset_button: "비밀번호 변경",
    reset_done: "비밀번호가 변경되었고 모든 기기에서 로그아웃되었습니다. 새 비밀번호로 로그인해 주세요.",
    code: "코드",
    refused: "처리하지 못했습니다",
};

const EN: Words = Words {
    lang: "en",
    verify_title: "Verify your email address",
    verify_button: "Verify",
    verified: "Your email address is verified. You can go back to the app.",
    reset_title: "Reset your password",
    new_password: "New password (8 to 128 characters)",
    reset_button: "Change password",
    reset_done: "Your password is changed and every session is signed out. Sign in with the new password.",
    code: "Code",
    refused: "That did not work",
};

fn words(lang: &str) -> &'static Words {
    if lang == "en" { &EN } else { &KO }
}

/// `&`, `<`, `>`, `"`, `'` and `/` as entities: what the page shows of the request.
fn escape(text: &str) -> String {
    html_escape::encode_safe(text).into_owned()
}

fn page(status: StatusCode, w: &Words, title: &str, body: &str) -> Response {
    super::plain_page::page(status, w.lang, title, body)
}

/// The form: the code (filled in from the link, editable), a new password for a reset.
fn form(w: &Words, path: &str, code: &str, reset: bool) -> String {
    let password = if reset {
        format!(
            "<p><label>{label}<br><input name=\"password\" type=\"password\" minlength=\"8\" \
             maxlength=\"128\" autocomplete=\"new-password\" required></label></p>",
            label = w.new_password
        )
    } else {
        String::new()
    };
    format!(
        "<form method=\"post\" action=\"{path}\"><input type=\"hidden\" name=\"lang\" \
         value=\"{lang}\"><p><label>{label}<br><input name=\"code\" value=\"{code}\" \
         autocomplete=\"one-time-code\" required></label></p>{password}\
         <p><button type=\"submit\">{button}</button></p></form>",
        lang = w.lang,
        label = w.code,
        code = escape(code),
        button = if reset {
            w.reset_button
        } else {
            w.verify_button
        },
    )
}

/// A refusal as the page says it: the same code and words the API gives.
fn refusal(w: &Words, path: &str, code: &str, reset: bool, e: IdentityError) -> Response {
    let error = crate::error::ApiError::from(e);
    let status = match error.code() {
        "INTERNAL_SERVER_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = format!(
        "<p role=\"alert\"><strong>{refused}</strong> ({code_name}): {message}</p>{form}",
        refused = w.refused,
        code_name = error.code(),
        message = escape(&explain(w, &error)),
        form = form(w, path, code, reset),
    );
    let title = if reset { w.reset_title } else { w.verify_title };
    page(status, w, title, &body)
}

/// The refusal's words: the common ones in the page's language, the rest as the API says them.
fn explain(w: &Words, error: &crate::error::ApiError) -> String {
    if let crate::error::ApiError::Internal(e) = error {
        tracing::error!(error = format!("{e:#}"), "account page failed");
    }
    let korean = match error.code() {
        "CODE_INVALID" => Some(
            "코드가 맞지 않습니다. 잘못 입력했거나, 이미 사용했거나, 새 코드로 바뀌었을 수 있습니다.",
        ),
        "CODE_EXPIRED" => Some("코드가 만료되었습니다. 새 코드를 요청해 주세요."),
        "RATE_LIMITED" => Some("시도가 너무 많습니다. 잠시 후 다시 시도해 주세요."),
        _ => None,
    };
    match korean {
        Some(text) if w.lang == "ko" => text.to_owned(),
        _ => error.client_message(),
    }
}

/// Which of the two pages.
#[derive(Clone, Copy)]
enum Kind {
    Verify,
    Reset,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::Verify => VERIFY_PATH,
            Kind::Reset => RESET_PATH,
        }
    }

    fn title(self, w: &Words) -> &'static str {
        match self {
            Kind::Verify => w.verify_title,
            Kind::Reset => w.reset_title,
        }
    }

    fn done(self, w: &Words) -> &'static str {
        match self {
            Kind::Verify => w.verified,
            Kind::Reset => w.reset_done,
        }
    }
}

/// The form, filled in from the link.
fn show(kind: Kind, link: &Link) -> Response {
    let w = words(&link.lang);
    let reset = matches!(kind, Kind::Reset);
    page(
        StatusCode::OK,
        w,
        kind.title(w),
        &form(w, kind.path(), &link.code, reset),
    )
}

/// What the page says once the form was sent and `done` answered.
fn answer(kind: Kind, sent: &Submitted, done: Result<(), IdentityError>) -> Response {
    let w = words(&sent.lang);
    match done {
        Ok(()) => page(
            StatusCode::OK,
            w,
            kind.title(w),
            &format!("<p role=\"status\">{}</p>", kind.done(w)),
        ),
        Err(e) => refusal(w, kind.path(), &sent.code, matches!(kind, Kind::Reset), e),
    }
}

/// `GET /account/verify-email?code=…&lang=…`.
pub(super) async fn verify_page(Query(link): Query<Link>) -> Response {
    show(Kind::Verify, &link)
}

/// `POST /account/verify-email`.
pub(super) async fn verify_submit(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(sent): Form<Submitted>,
) -> Response {
    let client = s.app.settings.trusted_proxies.client(peer.ip(), &headers);
    // No session here: a new address's code is refused (it is entered in the app).
    let done = s.app.auth.verify_email(&sent.code, None, client).await;
    answer(Kind::Verify, &sent, done)
}

/// `GET /account/reset-password?code=…&lang=…`.
pub(super) async fn reset_page(Query(link): Query<Link>) -> Response {
    show(Kind::Reset, &link)
}

/// `POST /account/reset-password`.
pub(super) async fn reset_submit(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(sent): Form<Submitted>,
) -> Response {
    let client = s.app.settings.trusted_proxies.client(peer.ip(), &headers);
    let done = s
        .app
        .auth
        .reset_password(&sent.code, &sent.password, client)
        .await;
    answer(Kind::Reset, &sent, done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_request_brings_is_shown_as_text() {
        let shown = form(&EN, VERIFY_PATH, "\"><script>x</script>", false);
        assert!(!shown.contains("<script>"));
        assert!(shown.contains("&quot;&gt;&lt;script&gt;"));
    }
}
