//! `GET /missions/<id>`: a mission as anyone may read it, the page every mission email links
//! (`PUBLIC_URL/missions/<id>?lang=ko|en`). Plain HTML rendered here, no script and no outside
//! asset, so it opens from a mail client anywhere: the title, the streamer as backers know
//! them, the status, what was pledged and by how many, the deadline or when it ended, the
//! streamer's evidence and note. What it shows is what `query { mission(id) }` answers anyone;
//! an unknown id is a 404.

use super::HttpState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use html_escape::encode_text;
use missionlink_ledger::LedgerError;
use missionlink_ledger::status::MissionStatus;
use missionlink_workflows::email::{Locale, when, won};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct Lang {
    #[serde(default)]
    lang: String,
}

struct Words {
    lang: &'static str,
    /// The language of its times (Korea's time in Korean, UTC in English), as the emails'.
    locale: Locale,
    streamer: &'static str,
    status: &'static str,
    pledged: &'static str,
    backers: &'static str,
    deadline: &'static str,
    ended: &'static str,
    evidence: &'static str,
    note: &'static str,
    not_found: &'static str,
    /// `{}` is the amount.
    won: &'static str,
}

const KO: Words = Words {
    lang: "ko",
    locale: Locale::Ko,
    streamer: "스트리머",
    status: "상태",
    pledged: "후원 금액",
    backers: "후원자",
    deadline: "마감",
    ended: "종료",
    evidence: "스트리머가 남긴 증거",
    note: "스트리머의 메모",
    not_found: "이 미션을 찾을 수 없습니다.",
    won: "{}원",
};

const EN: Words = Words {
    lang: "en",
    locale: Locale::En,
    streamer: "Streamer",
    status: "Status",
    pledged: "Pledged",
    backers: "Backers",
    deadline: "Deadline",
    ended: "Ended",
    evidence: "The streamer's evidence",
    note: "The streamer's note",
    not_found: "There is no such mission.",
    won: "{} won",
};

fn status_word(status: MissionStatus, lang: &str) -> &'static str {
    let (ko, en) = match status {
        MissionStatus::Funding => ("펀딩 중", "funding"),
        MissionStatus::Pending => ("수락 대기", "waiting for the streamer"),
        MissionStatus::Active => ("진행 중", "under way"),
        MissionStatus::Verifying => (
            "성공 선언, 이의 제기 기간",
            "declared a success, open to objections",
        ),
        MissionStatus::Disputed => (
            "이의 제기, 운영자 검토 중",
            "disputed, with MissionLink's operators",
        ),
        MissionStatus::Succeeded => ("성공", "succeeded"),
        MissionStatus::Failed => ("실패", "failed"),
        MissionStatus::Expired => ("만료", "expired"),
        MissionStatus::Rejected => ("거절", "declined"),
        MissionStatus::Cancelled => ("운영자 취소", "cancelled by MissionLink"),
        MissionStatus::Withdrawn => ("철회", "withdrawn"),
    };
    if lang == "en" { en } else { ko }
}

pub(super) async fn page(
    State(s): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<Lang>,
) -> Response {
    let w = if q.lang == "en" { &EN } else { &KO };
    let db = &s.app.db;
    let m = match missionlink_ledger::mission::find(&db.missions, &id).await {
        Ok(m) => m,
        Err(LedgerError::NotFound(_)) => {
            return render(
                StatusCode::NOT_FOUND,
                w,
                "MissionLink",
                &format!("<p>{}</p>", w.not_found),
            );
        }
        Err(e) => return unavailable(&e),
    };
    let totals = match missionlink_ledger::mission::totals(&db.missions, &m.id).await {
        Ok(t) => t,
        Err(e) => return unavailable(&e),
    };
    let streamer =
        match missionlink_identity::streamers::shown_name_of(&db.users, &m.streamer_id).await {
            Ok(name) => name.unwrap_or_else(|| "?".to_owned()),
            Err(e) => return unavailable(&e),
        };
    let mut rows = vec![
        (w.streamer, encode_text(&streamer).into_owned()),
        (w.status, status_word(m.status, w.lang).to_owned()),
        (w.pledged, w.won.replace("{}", &won(totals.total_won))),
        (w.backers, totals.backers.to_string()),
    ];
    if let Some(at) = m.closed_at.filter(|_| m.status.is_final()) {
        rows.push((w.ended, when(Some(at), w.locale)));
    } else if let Some(at) = m.deadline {
        rows.push((w.deadline, when(Some(at), w.locale)));
    }
    if let Some(url) = &m.evidence_url {
        rows.push((
            w.evidence,
            format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                html_escape::encode_double_quoted_attribute(url),
                encode_text(url)
            ),
        ));
    }
    if let Some(note) = &m.verdict_note {
        rows.push((w.note, encode_text(note).into_owned()));
    }
    let mut body: String = rows
        .iter()
        .map(|(label, value)| format!("<dt>{label}</dt><dd>{value}</dd>"))
        .collect();
    body = format!("<dl>{body}</dl>");
    if let Some(description) = &m.description {
        body.push_str(&format!(
            "<p>{}</p>",
            encode_text(description).replace('\n', "<br>")
        ));
    }
    render(StatusCode::OK, w, &encode_text(&m.title), &body)
}

fn unavailable(e: &dyn std::fmt::Debug) -> Response {
    tracing::warn!(error = ?e, "the mission page could not be read");
    (StatusCode::SERVICE_UNAVAILABLE, "try again in a moment").into_response()
}

/// The page around `body` (`title` already escaped).
fn render(status: StatusCode, w: &Words, title: &str, body: &str) -> Response {
    super::plain_page::page(status, w.lang, title, body)
}
