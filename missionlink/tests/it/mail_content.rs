//! What a mission's emails say and how they travel (issue 30, item 9), through the Temporal
//! dev server and a worker writing `.eml` files (SES sends the same document raw: every test
//! reading moto parses it with the same reader, which refuses a base64 part): text and HTML,
//! the text readable as it is in the file, each backer greeted by name in their language, the
//! mission's page linked and served, when it ended, and for an operator's cancellation their
//! note and where to ask; Korean particles chosen by the title's last syllable.

use crate::disputes::operator;
use crate::support::{Mail, PASSWORD, Session, TestApp};
use serde_json::json;

async fn viewer(app: &TestApp, handle: &str, name: &str, locale: &str) -> Session {
    let who = app
        .register_with(
            json!({ "email": format!("{handle}@example.com"), "password": PASSWORD,
            "handle": handle, "role": "VIEWER", "displayName": name, "locale": locale }),
        )
        .await;
    app.top_up(&who, 20_000, &format!("fund-{handle}"))
        .await
        .data("topUp");
    who
}

fn to<'a>(mail: &'a [Mail], address: &str) -> &'a Mail {
    mail.iter()
        .find(|m| m.to == address)
        .unwrap_or_else(|| panic!("no mail to {address}: {mail:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_missions_emails_greet_by_name_link_its_page_and_say_why() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_file_worker().await;
    let streamer = app.register_as("mailstar", "STREAMER").await;
    let minsu = viewer(&app, "minsu", "민수", "ko").await;
    let ana = viewer(&app, "anamail", "Ana", "en").await;
    // Ends in a syllable without a final consonant: "…클리어"가, not "…"이(가).
    let title = "노힐 보스 클리어";
    let id = app
        .create_mission(&minsu, &streamer.user_id, 5_000, json!({ "title": title }))
        .await
        .data("createMission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.contribute(&ana, &id, 3_000, "ana")
        .await
        .data("contribute");
    let op = operator(&app, "mailop").await;
    let note = "the proposer asked for something against the channel's rules";
    app.gql(
        Some(&op.access),
        "mutation($m: ID!, $n: String!) { cancelMission(missionId: $m, note: $n) { status } }",
        json!({ "m": id, "n": note }),
    )
    .await
    .data("cancelMission");
    let mail = worker.wait_for_mail(title, 3).await;
    let page = app.url(&format!("/missions/{id}"));

    let ko = to(&mail, "minsu@example.com");
    assert_eq!(
        ko.text_encoding, "8bit",
        "the text part is readable in the file"
    );
    assert!(ko.body.starts_with("민수님, 안녕하세요."), "{}", ko.body);
    assert!(
        ko.body.contains(&format!(
            "\"{title}\"가 MissionLink 운영자에 의해 취소되었습니다 ("
        )),
        "{}",
        ko.body
    );
    assert!(!ko.body.contains("이(가)") && !ko.body.contains("을(를)"));
    assert!(
        ko.body.contains("(KST))."),
        "the time it ended: {}",
        ko.body
    );
    assert!(
        ko.body.contains(&format!("미션 보기: {page}?lang=ko")),
        "{}",
        ko.body
    );
    assert!(ko.body.contains(note) && ko.body.contains("문의: support@missionlink.local"));
    assert!(ko.body.contains("5,000원이 MissionLink 지갑으로 환불"));
    assert!(
        ko.html.contains(&format!("<a href=\"{page}?lang=ko\">")),
        "{}",
        ko.html
    );
    assert!(
        ko.html.contains("<p>민수님, 안녕하세요.</p>"),
        "{}",
        ko.html
    );

    let en = to(&mail, "anamail@example.com");
    assert!(en.body.starts_with("Hello Ana,"), "{}", en.body);
    assert!(en.body.contains("UTC)."), "{}", en.body);
    assert!(en.body.contains(&format!("The mission: {page}?lang=en")));
    assert!(
        en.body
            .contains(&format!("MissionLink's operators cancelled it: {note}"))
    );
    assert!(en.body.contains("Questions: support@missionlink.local"));

    let summary = to(&mail, "mailstar@example.com");
    assert!(summary.body.contains(note), "{}", summary.body);

    // The file itself reads as the message does.
    let raw: String = std::fs::read_dir(worker.outbox.path())
        .expect("outbox")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).expect("eml"))
        .find(|raw| raw.contains("To: minsu@example.com"))
        .expect("minsu's file");
    assert!(raw.contains("민수님, 안녕하세요."), "{raw}");
    assert!(!raw.contains("base64"), "{raw}");

    // The link opens the mission's page, in the recipient's language.
    for (lang, status) in [("ko", "운영자 취소"), ("en", "cancelled by MissionLink")] {
        let answer = reqwest::get(format!("{page}?lang={lang}"))
            .await
            .expect("the page");
        assert_eq!(answer.status(), 200);
        let html = answer.text().await.expect("html");
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{html}");
        assert!(html.contains(status) && html.contains("8,000"), "{html}");
    }
    let missing = reqwest::get(app.url("/missions/no-such-mission"))
        .await
        .expect("the page");
    assert_eq!(missing.status(), 404);
}

/// A streamer's suspension cancels their missions: the backers are told the streamer was
/// suspended, never the suspension's note (a remark about a person, for the operators).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_cancels_without_telling_backers_its_note() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_file_worker().await;
    let streamer = app.register_as("suspstar", "STREAMER").await;
    let fan = viewer(&app, "suspfan", "Fan", "en").await;
    let title = "Speedrun the water temple";
    app.create_mission(&fan, &streamer.user_id, 5_000, json!({ "title": title }))
        .await
        .data("createMission");
    let op = operator(&app, "suspop").await;
    let private = "chargeback fraud under investigation";
    app.gql(
        Some(&op.access),
        "mutation($u: ID!, $n: String!) { suspendUser(userId: $u, note: $n) { id } }",
        json!({ "u": streamer.user_id, "n": private }),
    )
    .await
    .data("suspendUser");
    let mail = worker.wait_for_mail(title, 2).await;
    let en = to(&mail, "suspfan@example.com");
    assert!(
        en.body
            .contains("MissionLink's operators cancelled it: the streamer's account was suspended"),
        "{}",
        en.body
    );
    for m in &mail {
        assert!(
            !m.body.contains(private) && !m.html.contains(private),
            "{}",
            m.body
        );
    }
}
