//! A streamer's goal on their OBS overlay (issue 28), in Debian's headless chromium as in
//! `overlay.rs`: the FUNDING card counts down to `fundingEndsAt` and shows a goal bar that fills
//! as viewers pledge, with a marker at the goal and at each tier; reaching the goal and then a
//! tier each shows an alert, and the reached markers light up.

use crate::overlay::{Browser, alert, first_token};
use crate::support::TestApp;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// The goal bar on the card of `mission`, as the page shows it.
fn goalbar<'a>(snapshot: &'a Value, mission: &str) -> &'a Value {
    snapshot["hooks"]["goalbars"]
        .as_array()
        .expect("goalbars")
        .iter()
        .find(|b| b["mission"] == mission)
        .unwrap_or_else(|| panic!("no goal bar for {mission}: {snapshot:#}"))
}

/// The bar's markers as (level, reached).
fn markers(bar: &Value) -> Vec<(i64, bool)> {
    bar["markers"]
        .as_array()
        .expect("markers")
        .iter()
        .map(|m| {
            (
                m["level"].as_i64().expect("level"),
                m["reached"].as_bool().expect("reached"),
            )
        })
        .collect()
}

fn percent(bar: &Value) -> i64 {
    bar["percent"].as_i64().expect("percent")
}

/// The card of `mission`.
fn card<'a>(snapshot: &'a Value, mission: &str) -> &'a Value {
    snapshot["missions"]
        .as_array()
        .expect("missions")
        .iter()
        .find(|m| m["id"] == mission)
        .unwrap_or_else(|| panic!("no card for {mission}: {snapshot:#}"))
}

/// The kinds of the events the page applied, and whether each showed an alert.
fn shown(snapshot: &Value) -> Vec<(String, bool)> {
    snapshot["hooks"]["shown"]
        .as_array()
        .expect("shown")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_owned(),
                e["alert"].as_bool().expect("alert"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_overlay_shows_a_goals_bar_filling_and_alerts_when_its_goal_and_a_tier_are_reached() {
    let app = TestApp::with_temporal(&[]).await;
    // Korean, the default locale.
    let streamer = app.register_as("streamer", "STREAMER").await;
    let token = first_token(&app, &streamer).await;
    let mut browser = Browser::launch().await;
    let loaded = browser
        .open("goal", &format!("http://{}/overlay/{token}", app.addr))
        .await;
    assert_eq!(loaded["hooks"]["lastSeq"], 0, "{loaded:#}");
    assert_eq!(loaded["lang"], "ko");

    // Seq 1: the goal is posted, FUNDING; its funding ends in an hour.
    let created = app
        .gql(
            Some(&streamer.access),
            "mutation($i: CreateGoalMissionInput!, $k: String!) {
               createGoalMission(input: $i, idempotencyKey: $k) { id status } }",
            json!({
                "i": {
                    "title": "Speedrun",
                    "goal": 10_000,
                    "tiers": [
                        { "amount": 20_000, "title": "Hard mode" },
                        { "amount": 30_000, "title": "No deaths" },
                    ],
                    "fundingEndsAt": (Utc::now() + Duration::seconds(3600)).to_rfc3339(),
                    "durationSeconds": 3600,
                },
                "k": uuid::Uuid::new_v4().to_string(),
            }),
        )
        .await
        .data("createGoalMission");
    assert_eq!(created["status"], "FUNDING");
    let id = created["id"].as_str().expect("id").to_owned();
    let posted = browser.wait_seq("goal", 1, 5_000).await;
    let funding = card(&posted, &id);
    assert_eq!(funding["status"], "FUNDING", "{posted:#}");
    assert!(
        funding["clock"]
            .as_str()
            .is_some_and(|c| c.starts_with("펀딩 마감까지 ") && c.contains(':')),
        "{funding}"
    );
    let bar = goalbar(&posted, &id);
    assert_eq!(percent(bar), 0, "{bar}");
    assert_eq!(markers(bar), [(0, false), (1, false), (2, false)]);
    assert_eq!(
        bar["caption"],
        "목표 10,000원 · 다음: 1단계 Hard mode 20,000원"
    );
    // A goal starts without a pledge: its alert names none.
    let text = alert(&posted, 1)["text"].as_str().expect("text").to_owned();
    assert!(
        text.contains("새 목표 미션!") && text.contains("Speedrun") && !text.contains("후원"),
        "{text}"
    );

    let mut fans = Vec::new();
    for handle in ["alice", "bob", "carol"] {
        let fan = app.register(handle).await;
        app.top_up(&fan, 100_000, "cash").await.data("topUp");
        fans.push(fan);
    }

    // Seq 2: 4,000 of the 30,000 the last tier asks: still FUNDING, the bar at 13%.
    app.contribute(&fans[0], &id, 4_000, "a")
        .await
        .data("contribute");
    let pledged = browser.wait_seq("goal", 2, 5_000).await;
    assert_eq!(card(&pledged, &id)["status"], "FUNDING");
    let bar = goalbar(&pledged, &id);
    assert_eq!(percent(bar), 13, "{bar}");
    assert_eq!(markers(bar), [(0, false), (1, false), (2, false)]);

    // Seqs 3 and 4: 11,000 held, the goal is reached: ACTIVE, its deadline running.
    app.contribute(&fans[1], &id, 7_000, "b")
        .await
        .data("contribute");
    let reached = browser.wait_seq("goal", 4, 5_000).await;
    assert_eq!(
        shown(&reached)[2..],
        [
            ("PLEDGED".to_owned(), true),
            ("GOAL_REACHED".to_owned(), true)
        ]
    );
    let goal_alert = alert(&reached, 4);
    assert_eq!(goal_alert["kind"], "GOAL_REACHED");
    let text = goal_alert["text"].as_str().expect("text");
    assert!(
        text.contains("목표 달성!") && text.contains("Speedrun"),
        "{text}"
    );
    let active = card(&reached, &id);
    assert_eq!(active["status"], "ACTIVE");
    assert!(
        active["clock"]
            .as_str()
            .is_some_and(|c| c.starts_with("남은 시간 ")),
        "{active}"
    );
    let bar = goalbar(&reached, &id);
    assert_eq!(percent(bar), 36, "{bar}");
    assert_eq!(markers(bar), [(0, true), (1, false), (2, false)]);

    // Seqs 5 to 7: 31,000 held, both tiers reached by one pledge: an alert for each, naming
    // its own tier.
    app.contribute(&fans[2], &id, 20_000, "c")
        .await
        .data("contribute");
    let tier = browser.wait_seq("goal", 7, 5_000).await;
    assert_eq!(
        shown(&tier)[4..],
        [
            ("PLEDGED".to_owned(), true),
            ("TIER_REACHED".to_owned(), true),
            ("TIER_REACHED".to_owned(), true)
        ]
    );
    for (seq, named) in [(6, "1단계 달성: Hard mode"), (7, "2단계 달성: No deaths")] {
        let tier_alert = alert(&tier, seq);
        assert_eq!(tier_alert["kind"], "TIER_REACHED");
        let text = tier_alert["text"].as_str().expect("text");
        assert!(text.contains(named), "{text}");
    }
    // The goal's alert still shows beside them (an alert lasts 8 s).
    assert_eq!(alert(&tier, 4)["kind"], "GOAL_REACHED");
    let bar = goalbar(&tier, &id);
    assert_eq!(percent(bar), 100, "{bar}");
    assert_eq!(markers(bar), [(0, true), (1, true), (2, true)]);
    assert_eq!(bar["caption"], "목표 10,000원 · 모든 단계 달성");
    assert_eq!(card(&tier, &id)["status"], "ACTIVE", "still on the board");
    assert!(
        card(&tier, &id)["meta"]
            .as_str()
            .is_some_and(|m| m.starts_with("31,000원 · 후원자 3명")),
        "{tier:#}"
    );

    let screenshot = crate::support::artifacts_dir().join("overlay-goal.png");
    browser
        .call(json!({ "cmd": "screenshot", "name": "goal", "path": screenshot }))
        .await;
    println!("overlay goal screenshot: {}", screenshot.display());

    // Nothing left loopback; no script error, no Content-Security-Policy violation (the bar's
    // widths and places are set through the CSSOM).
    let report = browser.call(json!({ "cmd": "report" })).await["report"].clone();
    assert_eq!(report["blocked"], json!([]), "{report:#}");
    assert_eq!(report["pageErrors"], json!([]), "{report:#}");
    assert_eq!(report["consoleErrors"], json!([]), "{report:#}");
    browser.close().await;
}
