//! Emails through Amazon SES v2 (moto's implementation, started by scripts/test), in each
//! recipient's locale.

use crate::support::{PASSWORD, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_backer_is_written_to_in_their_own_language_through_ses() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_worker().await;
    let streamer = app.register_as("sesstreamer", "STREAMER").await;
    let korean = app.register("seskofan").await;
    app.top_up(&korean, 50_000, "t").await.data("topUp");
    let english = app
        .register_with(
            json!({ "email": "sesenfan@example.com", "password": PASSWORD,
                               "handle": "sesenfan", "role": "VIEWER", "locale": "en" }),
        )
        .await;
    app.top_up(&english, 50_000, "t").await.data("topUp");

    let title = format!(
        "Speedrun under 2 hours #{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let id = app
        .create_mission(
            &korean,
            &streamer.user_id,
            12_000,
            json!({ "title": title }),
        )
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.contribute(&english, &id, 3_000, "e1")
        .await
        .data("contribute");
    app.contribute(&english, &id, 4_000, "e2")
        .await
        .data("contribute");
    app.act(&streamer, "accept", &id)
        .await
        .data("acceptMission");
    app.act(&streamer, "FAILURE", &id)
        .await
        .data("decideMission");
    app.wait_for_mission(&id, 60, |m| !m["settledAt"].is_null())
        .await;

    let mail = worker.wait_for_mail(&title, 3).await;
    assert_eq!(mail.len(), 3, "{mail:#?}");
    let to = |addr: &str| mail.iter().find(|m| m.to == addr).expect(addr).clone();
    let en = to("sesenfan@example.com");
    assert!(en.subject.contains("failed"), "{en:?}");
    assert!(
        en.body.contains("7,000 won") && en.body.contains("refunded"),
        "{en:?}"
    );
    let ko = to("seskofan@example.com");
    assert!(ko.subject.contains("실패"), "{ko:?}");
    assert!(
        ko.body.contains("12,000원") && ko.body.contains("환불"),
        "{ko:?}"
    );
    let summary = to("sesstreamer@example.com");
    assert!(summary.body.contains("19,000원"), "{summary:?}");
    worker.stop().await;
}
