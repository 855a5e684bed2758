//! Proving an address, changing it, and resetting a password (issue 25, items 1, 2 and 4),
//! through real HTTP at the default settings, with the emails read back from moto's SES v2 (at
//! the default send rate) and from the `.eml` outbox.

use crate::support::{
    Gql, Mail, Mailbox, PASSWORD, SES_SENDER, Session, TestApp, TestWorker, moto_ses_config,
};
use crate::websocket::{Event, LONG_LIVED, initialised, next, subscribe};
use serde_json::{Value, json};

const ME: &str = "{ me { id email emailVerified } }";
const VERIFY: &str = "mutation($c: String!) { verifyEmail(code: $c) }";
const TOP_UP: &str =
    "mutation($a: Int!, $k: String!) { topUp(amount: $a, idempotencyKey: $k) { cash points } }";
const RESET: &str =
    "mutation($c: String!, $p: String!) { resetPassword(code: $c, newPassword: $p) }";
const ASK_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
    accessToken refreshToken } }";
const REFRESH: &str = "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }";

/// The code an account email carries: the `code=` of its link, or (a new address's, which has
/// no link) the one its subject shows.
fn code_in(mail: &Mail) -> String {
    let (_, rest) = mail
        .body
        .split_once("code=")
        .or_else(|| mail.subject.rsplit_once(": "))
        .unwrap_or_else(|| panic!("no code in {mail:?}"));
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// The link of an account email.
fn link_in(mail: &Mail) -> String {
    mail.body
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("code="))
        .unwrap_or_else(|| panic!("no link in {mail:?}"))
        .to_owned()
}

async fn me(app: &TestApp, who: &Session) -> Value {
    app.gql(Some(&who.access), ME, json!({})).await.data("me")
}

async fn ses_worker(app: &TestApp) -> TestWorker {
    // The default rate: what users get.
    let mailer = missionlink_workflows::email::Mailer::ses_with(
        &moto_ses_config().await,
        format!("MissionLink <{SES_SENDER}>"),
        app.config.email.max_per_second,
    );
    let dir = tempfile::tempdir().expect("dir");
    app.start_worker_with(dir, Mailbox::Moto, mailer).await
}

#[tokio::test]
async fn an_unproven_account_reads_and_bets_but_moves_no_money_until_its_code_is_used() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = ses_worker(&app).await;
    let streamer = app.register_as("vfstreamer", "STREAMER").await;
    let proposer = app.register("vfproposer").await;
    let vera = app.register_unverified("vfvera", "VIEWER").await;

    let mail = worker.wait_for_mail_to(&vera.email, 1).await;
    assert_eq!(mail.len(), 1, "one verification email: {mail:?}");
    assert!(mail[0].subject.contains("이메일 인증 코드"), "{mail:?}");
    let code = code_in(&mail[0]);
    assert_eq!(code.len(), 11, "{code}");
    assert!(mail[0].subject.contains(&code) && mail[0].body.contains(&code));
    assert!(link_in(&mail[0]).starts_with(&app.url("/account/verify-email?code=")));

    // Signed in, it reads; every money action waits for the address.
    assert_eq!(me(&app, &vera).await["emailVerified"], json!(false));
    assert_eq!(me(&app, &vera).await["email"], json!(vera.email));
    let refused = [
        app.gql(
            Some(&vera.access),
            TOP_UP,
            json!({ "a": 10_000, "k": "vf-1" }),
        )
        .await,
        app.create_mission(&vera, &streamer.user_id, 5_000, json!({}))
            .await,
        app.gql(
            Some(&vera.access),
            "mutation { prepareTopUp(amount: 10000) { orderId } }",
            json!({}),
        )
        .await,
        app.gql(
            Some(&vera.access),
            "mutation { requestPayout(amount: 10000, idempotencyKey: \"vf-p\") { id } }",
            json!({}),
        )
        .await,
        app.gql(
            Some(&vera.access),
            "mutation { setPayoutAccount(bankCode: \"088\", accountNumber: \"110123456789\",
               holderName: \"Vera\") { bankCode } }",
            json!({}),
        )
        .await,
        app.gql(
            Some(&vera.access),
            "mutation { applyAsStreamer(platform: TWITCH, channelUrl: \"https://www.twitch.tv/vera\")
               { status } }",
            json!({}),
        )
        .await,
    ];
    for r in &refused {
        assert_eq!(r.code(), "EMAIL_NOT_VERIFIED", "{}", r.0);
        assert!(r.message().contains("verifyEmail"), "{}", r.0);
    }
    assert_eq!(app.wallet(&vera).await["cash"], json!(0));

    // Points bets stay open.
    app.top_up(&proposer, 10_000, "vf-t").await.data("topUp");
    let mission = app.new_mission(&proposer, &streamer.user_id, 5_000).await;
    app.act(&streamer, "accept", &mission)
        .await
        .data("acceptMission");
    let bet = app
        .gql(
            Some(&vera.access),
            "mutation($m: ID!) { placeBet(missionId: $m, outcome: SUCCESS, points: 100,
               idempotencyKey: \"vf-b\") { points } }",
            json!({ "m": mission }),
        )
        .await;
    assert_eq!(bet.data("placeBet")["points"], json!(100));
    let r = app.contribute(&vera, &mission, 1_000, "vf-c").await;
    assert_eq!(r.code(), "EMAIL_NOT_VERIFIED", "{}", r.0);

    // A mistyped code changes nothing; the right one, typed loosely, proves the address.
    let r = app.gql(None, VERIFY, json!({ "c": "AAAAA-AAAAA" })).await;
    assert_eq!(r.code(), "CODE_INVALID", "{}", r.0);
    assert_eq!(me(&app, &vera).await["emailVerified"], json!(false));
    let loose = format!(" {} ", code.to_lowercase().replace('-', ""));
    let r = app.gql(None, VERIFY, json!({ "c": loose })).await;
    assert_eq!(r.data("verifyEmail"), json!(true));
    assert_eq!(me(&app, &vera).await["emailVerified"], json!(true));
    // Top-ups also wait for a verified identity (`persons.rs`), which this test is not about.
    let r = app
        .gql(
            Some(&vera.access),
            TOP_UP,
            json!({ "a": 10_000, "k": "vf-1" }),
        )
        .await;
    assert_eq!(r.code(), "IDENTITY_REQUIRED", "{}", r.0);
    app.verify_identity(&vera.user_id, "vf-vera", "1990-01-01")
        .await;
    let r = app
        .gql(
            Some(&vera.access),
            TOP_UP,
            json!({ "a": 10_000, "k": "vf-1" }),
        )
        .await;
    assert_eq!(r.data("topUp")["cash"], json!(10_000));
    // Once only.
    let r = app.gql(None, VERIFY, json!({ "c": code })).await;
    assert_eq!(r.code(), "CODE_INVALID", "{}", r.0);
    let r = app
        .gql(
            Some(&vera.access),
            "mutation { resendVerificationEmail }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "INVALID_STATE", "{}", r.0);
    worker.stop().await;
}

#[tokio::test]
async fn the_emails_link_opens_a_page_that_proves_the_address_and_a_resend_sends_a_new_code() {
    let app = TestApp::with_temporal(&[("ACCOUNT_EMAILS_MAX_PER_EMAIL", "2")]).await;
    let worker = app.start_file_worker().await;
    let lee = app.register_unverified("vflinklee", "VIEWER").await;
    let first = worker.wait_for_mail_to(&lee.email, 1).await;
    // A code past its end is refused, and changes nothing.
    expire_codes(&app).await;
    let r = app
        .gql(None, VERIFY, json!({ "c": code_in(&first[0]) }))
        .await;
    assert_eq!(r.code(), "CODE_EXPIRED", "{}", r.0);
    assert_eq!(me(&app, &lee).await["emailVerified"], json!(false));
    let resend = "mutation { resendVerificationEmail }";
    let r = app.gql(Some(&lee.access), resend, json!({})).await;
    assert_eq!(r.data("resendVerificationEmail"), json!(true));
    let both = worker.wait_for_mail_to(&lee.email, 2).await;
    assert_eq!(both.len(), 2, "{both:?}");
    // Two asked in the window, the limit: a third is refused and nothing is queued.
    app.gql(Some(&lee.access), resend, json!({}))
        .await
        .data("resendVerificationEmail");
    let r = app.gql(Some(&lee.access), resend, json!({})).await;
    assert_eq!(r.code(), "RATE_LIMITED", "{}", r.0);

    let newest = both
        .iter()
        .find(|m| code_in(m) != code_in(&first[0]))
        .expect("a new code");
    // The page the link opens only shows a form: following the link proves nothing yet.
    let page = app
        .http
        .get(link_in(newest))
        .send()
        .await
        .expect("GET page");
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["referrer-policy"],
        "no-referrer",
        "the code in the URL never leaks"
    );
    let html = page.text().await.expect("html");
    assert!(html.contains(&code_in(newest)) && html.contains("<form method=\"post\""));
    assert_eq!(me(&app, &lee).await["emailVerified"], json!(false));
    // Submitting it does.
    let done = app
        .http
        .post(app.url("/account/verify-email"))
        .form(&[("code", code_in(newest).as_str()), ("lang", "en")])
        .send()
        .await
        .expect("POST page");
    assert_eq!(done.status(), 200);
    assert!(done.text().await.expect("html").contains("is verified"));
    assert_eq!(me(&app, &lee).await["emailVerified"], json!(true));
    // The older code was voided by the use of the newer one.
    let again = app
        .http
        .post(app.url("/account/verify-email"))
        .form(&[("code", code_in(&first[0]).as_str()), ("lang", "ko")])
        .send()
        .await
        .expect("POST page");
    assert_eq!(again.status(), 400);
    let html = again.text().await.expect("html");
    assert!(
        html.contains("CODE_INVALID") && html.contains("코드가 맞지 않습니다"),
        "{html}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_reset_code_works_once_ends_every_session_and_says_nothing_of_unknown_addresses_on_postgres()
 {
    reset_works_once(TestApp::with_temporal(&[]).await).await;
}

#[tokio::test]
async fn a_reset_code_works_once_ends_every_session_and_says_nothing_of_unknown_addresses_on_sqlite()
 {
    let temporal = crate::support::temporal_address();
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::sqlite(),
        &[("TEMPORAL_ADDRESS", temporal.as_str())],
    )
    .await;
    reset_works_once(app).await;
}

async fn reset_works_once(app: TestApp) {
    let worker = app.start_file_worker().await;
    let rosa = app.register("vfresetrosa").await;
    let phone = app
        .gql(None, LOGIN, json!({ "e": rosa.email, "p": PASSWORD }))
        .await
        .data("login");
    let mut socket = initialised(
        &app,
        json!({ "Authorization": format!("Bearer {}", rosa.access) }),
    )
    .await;
    crate::websocket::send(&mut socket, subscribe("1", LONG_LIVED)).await;

    // Known or not, the same answer.
    let known = app.gql(None, ASK_RESET, json!({ "e": rosa.email })).await;
    let unknown = app
        .gql(None, ASK_RESET, json!({ "e": "vfnobody@example.com" }))
        .await;
    assert_eq!(known.0, unknown.0);
    assert_eq!(known.data("requestPasswordReset"), json!(true));
    let code = wait_for_new_code(&worker, &rosa.email, 32, &[]).await;
    let mail = worker.mail_to(&rosa.email).await;
    let reset = mail
        .iter()
        .find(|m| code_in(m) == code)
        .expect("the reset email");
    assert!(reset.subject.contains("비밀번호 재설정"), "{reset:?}");
    assert!(link_in(reset).starts_with(&app.url("/account/reset-password?code=")));

    // A refused new password leaves the code usable.
    let r = app
        .gql(None, RESET, json!({ "c": code, "p": "short" }))
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    // Once only, however many use it at once.
    let tries = futures::future::join_all((0..6).map(|i| {
        let (app, code) = (&app, code.clone());
        async move {
            let password = format!("a brand new passphrase {i}");
            app.gql(None, RESET, json!({ "c": code, "p": password }))
                .await
        }
    }))
    .await;
    let won: Vec<usize> = (0..tries.len())
        .filter(|i| tries[*i].0["errors"].is_null())
        .collect();
    assert_eq!(won.len(), 1, "{tries:?}");
    for (i, r) in tries.iter().enumerate() {
        if i != won[0] {
            assert_eq!(r.code(), "CODE_INVALID", "{}", r.0);
        }
    }
    let new_password = format!("a brand new passphrase {}", won[0]);
    let new_password = new_password.as_str();

    // Every session ended: access tokens, refresh tokens, the live socket.
    for access in [
        &rosa.access,
        &phone["accessToken"].as_str().expect("t").to_owned(),
    ] {
        let r = app.gql(Some(access), ME, json!({})).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    for refresh in [
        &rosa.refresh,
        &phone["refreshToken"].as_str().expect("t").to_owned(),
    ] {
        let r = app.gql(None, REFRESH, json!({ "t": refresh })).await;
        assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    }
    assert!(
        matches!(next(&mut socket).await, Event::Closed(Some(4403))),
        "the live socket is closed"
    );
    let r = app
        .gql(None, LOGIN, json!({ "e": rosa.email, "p": PASSWORD }))
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    app.gql(None, LOGIN, json!({ "e": rosa.email, "p": new_password }))
        .await
        .data("login");

    // The unknown address got nothing, and its request is recorded as skipped.
    assert!(worker.mail_to("vfnobody@example.com").await.is_empty());
    assert_eq!(outbox_status(&app, "vfnobody@example.com").await, "SKIPPED");

    // A code past its end is refused, and changes nothing.
    app.gql(None, ASK_RESET, json!({ "e": rosa.email }))
        .await
        .data("requestPasswordReset");
    let late = wait_for_new_code(&worker, &rosa.email, 32, &[&code]).await;
    expire_codes(&app).await;
    let r = app
        .gql(None, RESET, json!({ "c": late, "p": "too late for this" }))
        .await;
    assert_eq!(r.code(), "CODE_EXPIRED", "{}", r.0);
    app.gql(None, LOGIN, json!({ "e": rosa.email, "p": new_password }))
        .await
        .data("login");
    worker.stop().await;
}

async fn login(app: &TestApp, email: &str) -> Gql {
    app.gql(None, LOGIN, json!({ "e": email, "p": PASSWORD }))
        .await
}

/// Waits for an email to `to` carrying a code of `len` characters other than `seen`.
async fn wait_for_new_code(worker: &TestWorker, to: &str, len: usize, seen: &[&str]) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let fresh = worker
            .mail_to(to)
            .await
            .iter()
            .map(code_in)
            .find(|c| c.len() == len && !seen.contains(&c.as_str()));
        if let Some(code) = fresh {
            return code;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new code for {to}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn outbox_status(app: &TestApp, email: &str) -> String {
    use missionlink_entities::users::account_email;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let row = account_email::Entity::find()
            .filter(account_email::Column::Email.eq(email))
            .one(&app.db.users)
            .await
            .expect("read the outbox")
            .expect("the request is recorded");
        if row.status.as_str() != "PENDING" || tokio::time::Instant::now() > deadline {
            return row.status.as_str().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Moves every code's end into the past, as if the time had passed.
async fn expire_codes(app: &TestApp) {
    use missionlink_entities::users::account_code;
    use sea_orm::{EntityTrait, sea_query::Expr};
    account_code::Entity::update_many()
        .col_expr(
            account_code::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&app.db.users)
        .await
        .expect("expire the codes");
}

#[tokio::test]
async fn a_new_address_takes_over_only_once_it_is_proven() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_file_worker().await;
    let mo = app.register("vfmovemo").await;
    let other = app.register("vfmoveother").await;
    let change = "mutation($e: String!, $p: String!) {
        changeEmail(newEmail: $e, currentPassword: $p) { id email emailVerified } }";
    let new_address = "vfmovemo.new@example.com";

    let r = app
        .gql(
            Some(&mo.access),
            change,
            json!({ "e": new_address, "p": "wrong password" }),
        )
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    let r = app
        .gql(
            Some(&mo.access),
            change,
            json!({ "e": other.email, "p": PASSWORD }),
        )
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
    // A reset code sent to the address the account is about to leave.
    app.gql(None, ASK_RESET, json!({ "e": mo.email }))
        .await
        .data("requestPasswordReset");
    let old_reset = wait_for_new_code(&worker, &mo.email, 32, &[]).await;
    let r = app
        .gql(
            Some(&mo.access),
            change,
            json!({ "e": new_address, "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        r.data("changeEmail"),
        json!({ "id": mo.user_id, "email": mo.email, "emailVerified": true })
    );
    // Until the code is used, the old address signs in and the new one does not.
    let mail = worker.wait_for_mail_to(new_address, 1).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(login(&app, new_address).await.code(), "UNAUTHENTICATED");
    login(&app, &mo.email).await.data("login");

    let code = code_in(&mail[0]);
    assert!(!mail[0].body.contains("http"), "no link: {mail:?}");
    // Whoever reads the new mailbox cannot use the code: only the account's own session can.
    let r = app.gql(None, VERIFY, json!({ "c": code })).await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    let r = app
        .gql(Some(&other.access), VERIFY, json!({ "c": code }))
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    let page = app
        .http
        .post(app.url("/account/verify-email"))
        .form(&[("code", code.as_str()), ("lang", "en")])
        .send()
        .await
        .expect("POST page");
    assert_eq!(page.status(), 400);
    login(&app, &mo.email).await.data("login");
    let r = app
        .gql(Some(&mo.access), VERIFY, json!({ "c": code }))
        .await;
    assert_eq!(r.data("verifyEmail"), json!(true));
    assert_eq!(
        me(&app, &mo).await,
        json!({ "id": mo.user_id, "email": new_address, "emailVerified": true })
    );
    login(&app, new_address).await.data("login");
    assert_eq!(login(&app, &mo.email).await.code(), "UNAUTHENTICATED");
    // The address left is told where the account went, with no code.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let notice = loop {
        let told = worker.mail_to(&mo.email).await;
        if let Some(notice) = told
            .into_iter()
            .find(|m| m.subject.contains("변경되었습니다"))
        {
            break notice;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old address was never told"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(notice.body.contains(new_address), "{notice:?}");
    assert!(
        notice.body.contains("support@missionlink.local"),
        "{notice:?}"
    );
    assert!(!notice.body.contains("code="), "{notice:?}");
    // The reset code sent to the old address no longer opens the account.
    let r = app
        .gql(
            None,
            RESET,
            json!({ "c": old_reset, "p": "taken over by mail" }),
        )
        .await;
    assert_eq!(r.code(), "CODE_INVALID", "{}", r.0);
    // Money moves as before.
    app.top_up(&mo, 1_000, "vf-move").await.data("topUp");
    worker.stop().await;
}

#[tokio::test]
async fn reset_requests_are_limited_the_same_whether_or_not_the_address_is_registered() {
    let app = TestApp::spawn_with(
        crate::support::TestDatabases::postgres().await,
        &[
            ("ACCOUNT_EMAILS_MAX_PER_EMAIL", "2"),
            ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
    )
    .await;
    let known = app.register("vfthrottled").await;
    let stranger = "203.0.113.9";
    for email in [known.email.as_str(), "vfthrottled.not@example.com"] {
        let answers: Vec<Gql> =
            futures::future::join_all((0..4).map(|_| ask_reset_from(&app, stranger, email))).await;
        let codes: Vec<String> = answers
            .iter()
            .map(|a| {
                if a.0["errors"].is_null() {
                    "ok".to_owned()
                } else {
                    a.code()
                }
            })
            .collect();
        assert_eq!(
            codes.iter().filter(|c| *c == "ok").count(),
            2,
            "{email}: {codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|c| *c == "RATE_LIMITED").count(),
            2,
            "{email}: {codes:?}"
        );
    }
    // The stranger used up only their own allowance: the owner, elsewhere, still gets a reset.
    let r = ask_reset_from(&app, "198.51.100.7", &known.email).await;
    assert_eq!(r.data("requestPasswordReset"), json!(true));
    let r = app
        .gql(None, ASK_RESET, json!({ "e": "not an address" }))
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.0);
}

/// `requestPasswordReset(email)` from the client a trusted proxy names.
async fn ask_reset_from(app: &TestApp, client: &str, email: &str) -> Gql {
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("X-Forwarded-For", client)
        .json(&json!({ "query": ASK_RESET, "variables": { "e": email } }))
        .send()
        .await
        .expect("POST /graphql");
    Gql(response.json().await.expect("JSON body"))
}

/// Runs `scripts/node/account-page-check.mjs` on `link` (typing `password` if given): what the
/// page said before and after its button was pressed.
async fn in_a_browser(link: &str, name: &str, password: Option<&str>) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/node/account-page-check.mjs"
    );
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .arg(link)
        .arg(crate::support::artifacts_dir().join(format!("{name}.png")));
    if let Some(password) = password {
        command.arg(password);
    }
    let out = command
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node (scripts/test installs playwright-core and chromium)");
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no summary: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{summary}");
    assert_eq!(summary["blocked"], json!([]), "nothing leaves loopback");
    assert_eq!(summary["pageErrors"], json!([]));
    summary
}

#[tokio::test]
async fn both_links_work_in_a_real_browser() {
    let app = TestApp::with_temporal(&[]).await;
    let worker = app.start_file_worker().await;
    let en = app
        .gql(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }",
            json!({ "i": { "email": "vfbrowser@example.com", "password": PASSWORD,
                           "handle": "vfbrowser", "role": "VIEWER", "locale": "en" } }),
        )
        .await
        .data("register");
    let access = en["accessToken"].as_str().expect("token").to_owned();

    let code = wait_for_new_code(&worker, "vfbrowser@example.com", 11, &[]).await;
    let mail = worker.mail_to("vfbrowser@example.com").await;
    assert!(
        mail[0].subject.contains("Your verification code"),
        "{mail:?}"
    );
    let page = in_a_browser(&link_in(&mail[0]), "verify-email", None).await;
    assert!(
        page["before"]
            .as_str()
            .expect("text")
            .contains("Verify your email address")
    );
    assert_eq!(page["status"], json!(200));
    assert!(
        page["after"]
            .as_str()
            .expect("text")
            .contains("is verified"),
        "{page}"
    );
    let r = app.gql(Some(&access), ME, json!({})).await;
    assert_eq!(r.data("me")["emailVerified"], json!(true));
    // The same link again: the page says why not, and the code's name.
    let page = in_a_browser(&link_in(&mail[0]), "verify-email-again", None).await;
    assert!(
        page["after"]
            .as_str()
            .expect("text")
            .contains("CODE_INVALID"),
        "{page}"
    );

    app.gql(None, ASK_RESET, json!({ "e": "vfbrowser@example.com" }))
        .await
        .data("requestPasswordReset");
    let reset_code = wait_for_new_code(&worker, "vfbrowser@example.com", 32, &[&code]).await;
    let mail = worker.mail_to("vfbrowser@example.com").await;
    let reset = mail
        .iter()
        .find(|m| code_in(m) == reset_code)
        .expect("the reset email");
    let page = in_a_browser(
        &link_in(reset),
        "reset-password",
        Some("typed in a browser"),
    )
    .await;
    assert!(
        page["after"]
            .as_str()
            .expect("text")
            .contains("Sign in with the new password"),
        "{page}"
    );
    app.gql(
        None,
        LOGIN,
        json!({ "e": "vfbrowser@example.com", "p": "typed in a browser" }),
    )
    .await
    .data("login");
    let r = app.gql(Some(&access), ME, json!({})).await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    worker.stop().await;
}

/// An email the provider keeps refusing is given up after `MAX_ATTEMPTS` claims (`FAILED`,
/// nothing sent), and what is finished or spent is deleted after `RETENTION_DAYS`, pending
/// emails never.
#[tokio::test]
async fn account_emails_are_given_up_after_their_attempts_and_pruned_after_their_retention() {
    use missionlink_entities::users::{account_code, account_email};
    use missionlink_identity::account_mail::{self, MAX_ATTEMPTS, RETENTION_DAYS};
    use missionlink_workflows::account_emails::{AccountEmails, round};
    use sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr,
    };
    let app = TestApp::spawn().await;
    let gone = app.register_unverified("vfgivenup", "VIEWER").await;
    let users = &app.db.users;
    // The registration's email, as if every earlier claim's send had failed.
    account_email::Entity::update_many()
        .col_expr(account_email::Column::Attempts, Expr::value(MAX_ATTEMPTS))
        .exec(users)
        .await
        .expect("attempts");
    let outbox = tempfile::tempdir().expect("outbox");
    let deps = AccountEmails {
        users_db: users.clone(),
        mailer: std::sync::Arc::new(missionlink_workflows::email::Mailer::file(
            outbox.path(),
            "MissionLink <no-reply@missionlink.local>",
        )),
        settings: app.config.account_emails(),
    };
    assert_eq!(round(&deps).await.expect("round"), 0, "nothing sent");
    let row = account_email::Entity::find()
        .one(users)
        .await
        .expect("read")
        .expect("the email");
    assert_eq!(row.status.as_str(), "FAILED");
    assert!(
        row.error.as_deref().is_some_and(|e| e.contains("attempts")),
        "{row:?}"
    );
    assert_eq!(std::fs::read_dir(outbox.path()).expect("dir").count(), 0);

    // Pruning: finished and spent rows past the retention go, the rest stays.
    let old = chrono::Utc::now() - chrono::Duration::days(RETENTION_DAYS + 1);
    let mut pending: account_email::ActiveModel = row.clone().into();
    pending.id = Set("old-pending".into());
    pending.status = Set(missionlink_entities::users::AccountEmailStatus::Pending);
    pending.created_at = Set(old);
    pending.insert(users).await.expect("an old pending email");
    account_email::Entity::update_many()
        .col_expr(account_email::Column::CreatedAt, Expr::value(old))
        .filter(account_email::Column::Id.eq(row.id.as_str()))
        .exec(users)
        .await
        .expect("age the failed email");
    for (id, used) in [("spent", Some(old)), ("live", None)] {
        account_code::ActiveModel {
            id: Set(id.into()),
            user_id: Set(gone.user_id.clone()),
            purpose: Set(missionlink_entities::users::CodePurpose::VerifyEmail),
            code_hash: Set(format!("hash-{id}")),
            email: Set(gone.email.clone()),
            created_at: Set(old),
            expires_at: Set(chrono::Utc::now() + chrono::Duration::days(1)),
            used_at: Set(used),
        }
        .insert(users)
        .await
        .expect("a code");
    }
    account_mail::prune(users, chrono::Utc::now())
        .await
        .expect("prune");
    let emails: Vec<String> = account_email::Entity::find()
        .all(users)
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(emails, ["old-pending"], "a pending email is never deleted");
    let codes: Vec<String> = account_code::Entity::find()
        .all(users)
        .await
        .expect("read")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(codes, ["live"]);
}
