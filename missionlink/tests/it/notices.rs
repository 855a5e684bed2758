//! Backers told at every step (issue 28, item 5): the notice that a mission they back was
//! accepted and the notice that its success verdict is open to their objection, each exactly
//! once per backer through SES v2 (moto) at the default send rate, sent by the real
//! `missionlink worker` process, with the evidence in it, and only to those who want it.

use crate::email_delivery::{addresses, metrics_addr, seed_backers, ses_worker};
use crate::support::{Session, TestApp, is_notice, moto_messages, ses_endpoint};
use missionlink_entities::missions::email_delivery;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Which email a subject is, in either language.
fn kind_of(subject: &str) -> &'static str {
    if !is_notice(subject) {
        "RESULT"
    } else if subject.contains(" accepted \"") || subject.contains("수락했습니다") {
        "ACCEPTED"
    } else {
        "VERIFYING"
    }
}

/// Messages about the mission titled `title` as SES (moto) accepted them, by (kind, address):
/// how many, and one body.
async fn received(title: &str) -> HashMap<(&'static str, String), (usize, String)> {
    let mut got: HashMap<(&'static str, String), (usize, String)> = HashMap::new();
    for mail in moto_messages().await {
        if mail.subject.contains(title) {
            let seen = got
                .entry((kind_of(&mail.subject), mail.to))
                .or_insert((0, mail.body));
            seen.0 += 1;
        }
    }
    got
}

/// Waits until `n` deliveries of `role` are recorded for the mission (at most 120 s).
async fn wait_recorded(app: &TestApp, mission_id: &str, role: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let recorded = email_delivery::Entity::find()
            .filter(email_delivery::Column::MissionId.eq(mission_id))
            .filter(email_delivery::Column::Role.eq(role))
            .count(&app.db.missions)
            .await
            .expect("deliveries");
        if recorded >= n {
            assert_eq!(recorded, n, "{role}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{recorded} of {n} {role} notices recorded"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn preferences(app: &TestApp, who: &Session) -> Value {
    app.gql(
        Some(&who.access),
        "{ me { notificationPreferences { missionAccepted verdictToCheck } } }",
        json!({}),
    )
    .await
    .data("me")["notificationPreferences"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backers_hear_of_the_acceptance_and_of_a_verdict_to_check_once_each_at_the_default_ses_rate()
 {
    let app = TestApp::with_temporal(&[("OBJECTION_WINDOW_SECONDS", "600")]).await;
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let streamer = app
        .register_as(&format!("noticestreamer{run}"), "STREAMER")
        .await;
    let alice = app.register(&format!("noticealice{run}")).await;
    let bob = app.register(&format!("noticebob{run}")).await;
    for who in [&alice, &bob] {
        app.top_up(who, 10_000, "t").await.data("topUp");
    }
    // Bob wants to hear only about verdicts; he cannot read or change anyone else's choice.
    assert_eq!(
        preferences(&app, &bob).await,
        json!({ "missionAccepted": true, "verdictToCheck": true })
    );
    let changed = app
        .gql(
            Some(&bob.access),
            "mutation { updateNotificationPreferences(missionAccepted: false) { missionAccepted verdictToCheck } }",
            json!({}),
        )
        .await
        .data("updateNotificationPreferences");
    assert_eq!(
        changed,
        json!({ "missionAccepted": false, "verdictToCheck": true })
    );
    assert_eq!(preferences(&app, &bob).await, changed);
    let others = app
        .gql(
            Some(&alice.access),
            "query($id: ID!) { node(id: $id) { ... on User { notificationPreferences { missionAccepted } } } }",
            json!({ "id": bob.user_id }),
        )
        .await;
    assert_eq!(others.code(), "FORBIDDEN");

    let title = format!("Told at every step #{run}");
    let id = app
        .create_mission(&alice, &streamer.user_id, 1_000, json!({ "title": title }))
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.contribute(&bob, &id, 1_000, "b")
        .await
        .data("contribute");
    let seeded = addresses(&format!("notice{run}-"), 40);
    seed_backers(&app, &id, &seeded).await;
    let _worker = ses_worker(&app, &ses_endpoint(), &app.dbs.missions_url, metrics_addr()).await;

    // Accepted: every backer who wants it hears, once (Bob does not).
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    wait_recorded(&app, &id, "ACCEPTED", 41).await;
    let got = received(&title).await;
    let accepted: Vec<_> = got.iter().filter(|((k, _), _)| *k == "ACCEPTED").collect();
    assert_eq!(accepted.len(), 41, "{accepted:#?}");
    assert!(accepted.iter().all(|(_, (n, _))| *n == 1), "once each");
    assert!(!got.contains_key(&("ACCEPTED", bob.email.clone())));
    let (_, body) = &got[&("ACCEPTED", seeded[0].clone())];
    assert!(
        body.contains("They have until") && body.contains("UTC"),
        "the deadline: {body}"
    );
    assert!(body.contains("chzzk.naver.com"), "the channel: {body}");
    let (_, korean) = &got[&("ACCEPTED", alice.email.clone())];
    assert!(korean.contains("(KST)"), "{korean}");

    // The success verdict, open to objections: everyone hears, with the evidence and the time.
    app.gql(
        Some(&streamer.access),
        "mutation($m: ID!) { decideMission(missionId: $m, outcome: SUCCESS,
           evidenceUrl: \"https://clips.example.com/told\", note: \"the last boss at 41:07\") { status } }",
        json!({ "m": id }),
    )
    .await
    .data("decideMission");
    wait_recorded(&app, &id, "VERIFYING", 42).await;
    let got = received(&title).await;
    let verifying: Vec<_> = got.iter().filter(|((k, _), _)| *k == "VERIFYING").collect();
    assert_eq!(verifying.len(), 42, "Bob too: {verifying:#?}");
    assert!(verifying.iter().all(|(_, (n, _))| *n == 1), "once each");
    let (_, body) = &got[&("VERIFYING", seeded[1].clone())];
    for shown in [
        "https://clips.example.com/told",
        "the last boss at 41:07",
        "objectToVerdict",
        "before ",
    ] {
        assert!(body.contains(shown), "{shown} missing: {body}");
    }
    if std::env::var_os("RECORD_WORKFLOW_HISTORY").is_some() {
        // The workflow as it stands, both notices started, its window open: a replay fixture.
        let client = crate::findable::temporal_client(&app).await;
        let history = missionlink_workflows::mission::recorded_history(&client, &id)
            .await
            .expect("history");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../workflows/tests/fixtures/mission-notified.binpb");
        std::fs::write(&path, history).expect("write fixture");
    }
    // Still exactly once each after the steps ended: nothing was sent again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = received(&title).await;
    assert!(again.values().all(|(n, _)| *n == 1), "{again:#?}");
    assert_eq!(again.len(), 41 + 42);
}
