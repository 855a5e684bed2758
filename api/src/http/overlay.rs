//! `GET /overlay/<token>`: the streamer's overlay, a transparent page for an OBS browser source
//! (`overlay.html`). Everything it needs is in the page itself (its style and script inline,
//! allowed by their hashes in its Content-Security-Policy); its only requests are the GraphQL
//! endpoint and its websocket, relative to the page, with the token of its URL as the only
//! credential (`graphql/overlay.rs`). Its words are in the streamer's locale, chosen here.
//!
//! A token that opens no overlay (malformed, unknown, replaced) is a plain 404 that says nothing
//! more. Should the users database not answer, the page is served anyway (in Korean until its
//! first state read says otherwise): OBS loads a browser source once, and the page retries by
//! itself.

use super::HttpState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The page, with `{{lang}}`, `{{title}}` and `{{config}}` to fill in; its `<style>` and its one
/// executable `<script>` are fixed, so their hashes are too.
const TEMPLATE: &str = include_str!("overlay.html");

/// Pledge fields the page shows when this server's schema has them (the backer's choice to stay
/// anonymous, their approved message); the page asks only for those it has.
const OPTIONAL_PLEDGE_FIELDS: [&str; 2] = ["anonymous", "message"];

/// The locale when the streamer's cannot be read.
const FALLBACK_LOCALE: &str = "ko";

/// The page's words, by locale. `{name}`, `{amount}`, `{n}` and `{title}` are filled in by the
/// page.
const TEXTS: [(&str, &[(&str, &str)]); 2] = [
    (
        "ko",
        &[
            ("title", "MissionLink 오버레이"),
            ("acceptWithin", "수락 마감까지"),
            ("timeLeft", "남은 시간"),
            ("fundingEndsIn", "펀딩 마감까지"),
            ("backers", "후원자 {n}명"),
            ("newMission", "새 미션 도착!"),
            ("newGoal", "새 목표 미션!"),
            ("pledged", "{name}님이 {amount} 후원!"),
            ("anonymous", "익명"),
            ("accepted", "미션 수락!"),
            ("goalOf", "목표 {amount}"),
            ("nextTier", "다음: {n}단계 {title} {amount}"),
            ("allTiersReached", "모든 단계 달성"),
            ("goalReached", "목표 달성!"),
            ("tierReached", "{n}단계 달성: {title}"),
            ("succeeded", "미션 성공!"),
            ("failed", "미션 실패"),
            ("expired", "미션 시간 만료"),
            ("rejected", "미션 거절"),
            ("verifying", "미션 성공 — 이의 제기 기간"),
            ("disputed", "이의 제기로 운영자 검토 중"),
            ("cancelled", "운영자가 미션을 취소했습니다"),
            ("withdrawn", "미션이 철회되었습니다"),
            ("reconnecting", "다시 연결하는 중…"),
            ("messageFrom", "{name}님의 메시지"),
            ("test", "테스트 알림"),
            ("predictionCloses", "예측 마감까지"),
            ("predictionLocked", "예측 마감"),
            ("predictionResult", "결과: {title}"),
            ("predictionRefunded", "취소됨 — 포인트 반환"),
            ("predictionExpired", "결과 미확정 — 포인트 반환"),
            ("predictionPoints", "{n}P"),
        ],
    ),
    (
        "en",
        &[
            ("title", "MissionLink overlay"),
            ("acceptWithin", "Accept within"),
            ("timeLeft", "Time left"),
            ("fundingEndsIn", "Funding ends in"),
            ("backers", "Backers: {n}"),
            ("newMission", "New mission!"),
            ("newGoal", "New goal!"),
            ("pledged", "{name} pledged {amount}!"),
            ("anonymous", "Anonymous"),
            ("accepted", "Mission accepted!"),
            ("goalOf", "Goal {amount}"),
            ("nextTier", "Next: tier {n} {title} {amount}"),
            ("allTiersReached", "All tiers reached"),
            ("goalReached", "Goal reached!"),
            ("tierReached", "Tier {n} reached: {title}"),
            ("succeeded", "Mission succeeded!"),
            ("failed", "Mission failed"),
            ("expired", "Mission expired"),
            ("rejected", "Mission declined"),
            ("verifying", "Mission succeeded — open to objections"),
            ("disputed", "Disputed — under review"),
            ("cancelled", "Mission cancelled by MissionLink"),
            ("withdrawn", "Mission withdrawn"),
            ("reconnecting", "Reconnecting…"),
            ("messageFrom", "Message from {name}"),
            ("test", "Test alert"),
            ("predictionCloses", "Betting closes in"),
            ("predictionLocked", "Betting closed"),
            ("predictionResult", "Result: {title}"),
            ("predictionRefunded", "Cancelled — points returned"),
            ("predictionExpired", "No result — points returned"),
            ("predictionPoints", "{n} pts"),
        ],
    ),
];

fn texts(locale: &str) -> Option<&'static [(&'static str, &'static str)]> {
    TEXTS.iter().find(|(l, _)| *l == locale).map(|(_, t)| *t)
}

/// The fields of the object type `name` in `sdl`.
fn fields_of(sdl: &str, name: &str) -> Vec<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let Ok(doc) = async_graphql::parser::parse_schema(sdl) else {
        return Vec::new();
    };
    doc.definitions
        .into_iter()
        .filter_map(|d| match d {
            TypeSystemDefinition::Type(t) if t.node.name.node == name => Some(t.node.kind),
            _ => None,
        })
        .flat_map(|kind| match kind {
            TypeKind::Object(o) => o
                .fields
                .into_iter()
                .map(|f| f.node.name.node.to_string())
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// What the page is told besides its locale: the words of both languages (its state says the
/// streamer's, should it differ from the page's), and which optional pledge fields to ask for.
static CONFIG: LazyLock<serde_json::Value> = LazyLock::new(|| {
    let pledge = fields_of(&crate::graphql::sdl(), "Pledge");
    let optional: Vec<&str> = OPTIONAL_PLEDGE_FIELDS
        .into_iter()
        .filter(|f| pledge.iter().any(|p| p == f))
        .collect();
    let texts: serde_json::Map<String, serde_json::Value> = TEXTS
        .iter()
        .map(|(locale, words)| {
            let words: serde_json::Map<String, serde_json::Value> = words
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).into()))
                .collect();
            ((*locale).to_owned(), words.into())
        })
        .collect();
    serde_json::json!({ "texts": texts, "pledgeFields": optional })
});

/// The hash, for a Content-Security-Policy, of what lies between `open` and the next `</tag>`
/// in the template.
fn inline_hash(open: &str, close: &str) -> String {
    use base64::Engine as _;
    let start = TEMPLATE.find(open).map_or(0, |i| i + open.len());
    let end = TEMPLATE[start..].find(close).map_or(start, |i| start + i);
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&TEMPLATE[start..end]))
}

/// The page's Content-Security-Policy: its own inline style and script (by their hashes) and
/// requests to this server only (its GraphQL endpoint and websocket); no other script, style,
/// image, font, frame, form or base. Framing is allowed: the page has nothing to click, and
/// streaming tools (and a dashboard's preview) show overlays in frames.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let style = inline_hash("<style>", "</style>");
    let script = inline_hash("<script>", "</script>");
    format!(
        "default-src 'none'; script-src 'sha256-{script}'; style-src 'sha256-{style}'; \
         connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
    )
});

/// `value` as JSON to put inside a `<script>` element: no `<` can end the element early and
/// no `&` starts an entity, whatever a text says.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The page in `locale`.
fn render(locale: &str) -> Response {
    let (locale, words) = match texts(locale) {
        Some(words) => (locale, words),
        None => (FALLBACK_LOCALE, texts(FALLBACK_LOCALE).unwrap_or_default()),
    };
    let title = words
        .iter()
        .find(|(k, _)| *k == "title")
        .map_or("MissionLink", |(_, v)| *v);
    let mut config = CONFIG.clone();
    config["locale"] = locale.into();
    let page = TEMPLATE
        .replace("{{lang}}", locale)
        .replace("{{title}}", title)
        .replace("{{config}}", &script_json(&config));
    (
        [
            // The token is in the URL: never cached, never sent on as a referrer.
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CONTENT_SECURITY_POLICY, CSP.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(page),
    )
        .into_response()
}

/// `GET /overlay/{token}`.
pub(super) async fn page(State(s): State<HttpState>, Path(token): Path<String>) -> Response {
    match missionlink_identity::overlay::open(&s.app.db.users, &token).await {
        Ok(access) => render(access.streamer.locale.as_str()),
        Err(missionlink_identity::IdentityError::OverlayTokenInvalid) => (
            StatusCode::NOT_FOUND,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            "no such overlay",
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = ?e, "overlay page served without its streamer's locale");
            render(FALLBACK_LOCALE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_word() {
        let keys = |locale: &str| -> Vec<&str> {
            texts(locale)
                .expect("locale")
                .iter()
                .map(|(k, _)| *k)
                .collect()
        };
        assert_eq!(keys("ko"), keys("en"));
    }

    #[test]
    fn every_word_the_script_names_is_in_both_languages() {
        // `T.word` in the script: a word each locale must have.
        let script = &TEMPLATE[TEMPLATE.find("<script>").expect("script")..];
        let named: Vec<&str> = script
            .match_indices("T.")
            .filter(|(i, _)| {
                !script[..*i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            })
            .map(|(i, _)| {
                let rest = &script[i + 2..];
                let end = rest
                    .find(|c: char| !c.is_alphanumeric())
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect();
        assert!(named.contains(&"goalReached"), "{named:?}");
        for locale in ["ko", "en"] {
            let words = texts(locale).expect("locale");
            for word in &named {
                assert!(
                    words.iter().any(|(k, _)| k == word),
                    "{locale} lacks {word}"
                );
            }
        }
    }

    #[test]
    fn the_inline_script_and_style_are_fixed_and_hashed() {
        let script_start = TEMPLATE.find("<script>").expect("script");
        let script_end = TEMPLATE[script_start..].find("</script>").expect("end");
        assert!(!TEMPLATE[script_start..script_start + script_end].contains("{{"));
        assert!(CSP.contains("script-src 'sha256-") && CSP.contains("style-src 'sha256-"));
        assert!(!CSP.contains("unsafe"));
    }

    #[test]
    fn the_config_cannot_close_its_script_element() {
        let value = serde_json::json!({ "x": "</script><!-- & -->" });
        let embedded = script_json(&value);
        assert!(
            !embedded.contains('<') && !embedded.contains('&'),
            "{embedded}"
        );
        let back: serde_json::Value = serde_json::from_str(&embedded).expect("still JSON");
        assert_eq!(back, value);
    }

    #[test]
    fn optional_pledge_fields_are_those_the_schema_has() {
        let sdl = "type Pledge { id: ID! message: String }";
        assert_eq!(fields_of(sdl, "Pledge"), ["id", "message"]);
        assert!(fields_of(sdl, "Mission").is_empty());
    }
}
