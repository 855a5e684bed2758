//! Emails through Amazon SES v2 (moto's implementation, started by scripts/test).

use crate::support::TestApp;
use serde_json::{Value, json};

const SENDER: &str = "no-reply@missionlink.local";

fn ses_endpoint() -> String {
    std::env::var("TEST_SES_ENDPOINT")
        .expect("TEST_SES_ENDPOINT is not set: run the tests with scripts/test")
}

async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(ses_endpoint())
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// Messages moto accepted, as `(to, subject, body)`.
async fn sent_messages() -> Vec<(String, String, String)> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", ses_endpoint()))
        .await
        .expect("moto data")
        .json()
        .await
        .expect("json");
    let mut out = Vec::new();
    for message in data["ses"]["Message"].as_array().into_iter().flatten() {
        out.push((
            message["destinations"]["ToAddresses"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            message["subject"].as_str().unwrap_or_default().to_owned(),
            message["body"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_mission_emails_every_backer_and_the_streamer_through_ses() {
    let config = aws_config().await;
    let client = aws_sdk_sesv2::Client::new(&config);
    for identity in [SENDER, "missionlink.local"] {
        client
            .create_email_identity()
            .email_identity(identity)
            .send()
            .await
            .expect("verify the sender in moto");
    }
    let app = TestApp::with_temporal(&[]).await;
    let mailer = missionlink_workflows::email::Mailer::ses_with(
        &config,
        format!("MissionLink <{SENDER}>"),
        50,
    );
    let worker = app
        .start_worker_with(tempfile::tempdir().expect("dir"), mailer)
        .await;

    // Moto keeps every message of the run: this test's recipients are its own.
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let streamer = app
        .register_as(&format!("sesstreamer{run}"), "STREAMER")
        .await;
    let korean = app.register(&format!("seskofan{run}")).await;
    app.top_up(&korean, 50_000, "t").await.data("topUp");
    let english = app
        .gql(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }",
            json!({ "i": { "email": format!("sesenfan{run}@example.com"), "password": crate::support::PASSWORD, "handle": format!("sesenfan{run}"), "role": "VIEWER", "locale": "en" } }),
        )
        .await
        .data("register");
    let english = crate::support::Session {
        user_id: english["user"]["id"].as_str().expect("id").to_owned(),
        access: english["accessToken"].as_str().expect("token").to_owned(),
        refresh: String::new(),
        email: format!("sesenfan{run}@example.com"),
    };
    app.top_up(&english, 50_000, "t").await.data("topUp");

    let title = "Speedrun under 2 hours";
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

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mine = loop {
        let mine: Vec<_> = sent_messages()
            .await
            .into_iter()
            .filter(|(to, _, _)| [&korean.email, &english.email, &streamer.email].contains(&to))
            .collect();
        if mine.len() >= 3 || tokio::time::Instant::now() > deadline {
            break mine;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert_eq!(mine.len(), 3, "{mine:#?}");
    let to = |addr: &str| {
        mine.iter()
            .find(|(to, _, _)| to == addr)
            .expect(addr)
            .clone()
    };
    let (_, subject, body) = to(&english.email);
    assert!(
        subject.contains(title) && subject.contains("failed"),
        "{subject}"
    );
    assert!(
        body.contains("7,000 won") && body.contains("refunded"),
        "{body}"
    );
    let (_, subject, body) = to(&korean.email);
    assert!(
        subject.contains(title) && subject.contains("실패"),
        "{subject}"
    );
    assert!(body.contains("12,000원") && body.contains("환불"), "{body}");
    let (_, subject, _) = to(&streamer.email);
    assert!(subject.contains(title), "{subject}");
    worker.stop().await;
}
