//! The GraphiQL page works offline: every file it loads is served by the binary itself, and in a
//! real browser (Debian's chromium, driven by `scripts/node/graphiql-check.mjs`) it reads the
//! schema, autocompletes, runs a query, a signed-in mutation and a subscription, with no request
//! leaving loopback.

use crate::support::{TestApp, artifacts_dir};
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// The values of every `src="..."` and `href="..."` attribute of `html`.
fn links(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1))
        .filter_map(|rest| rest.split_once('"').map(|(value, _)| value.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_page_loads_only_files_the_binary_serves() {
    let app = TestApp::spawn().await;
    let page = app
        .http
        .get(app.url("/graphql"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    // The browser enforces what the page may load: this server only, and no framing.
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for rule in [
        "default-src 'none'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{rule} missing from {csp}");
    }
    assert!(!csp.contains("http"), "{csp}");
    let page_url = page.url().clone();
    let html = page.text().await.expect("html");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("{{"),
        "the page names an external URL or an unfilled placeholder: {html}"
    );

    let assets: Vec<String> = links(&html)
        .into_iter()
        .filter(|link| !link.starts_with("data:"))
        .collect();
    assert_eq!(assets.len(), 4, "{assets:?}");
    for link in &assets {
        // Relative to the page, as the browser resolves it.
        let url = page_url.join(link).expect("asset url");
        assert!(
            url.path().starts_with("/graphql/assets/"),
            "{link} -> {url}"
        );
        let r = app.http.get(url.clone()).send().await.expect("asset");
        assert_eq!(r.status(), 200, "{url}");
        let content_type = r.headers()["content-type"].to_str().expect("ascii");
        let want = if url.path().ends_with(".js") {
            "text/javascript"
        } else if url.path().ends_with(".css") {
            "text/css"
        } else {
            panic!("unexpected asset {url}")
        };
        assert!(content_type.starts_with(want), "{url}: {content_type}");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .expect("ascii")
                .contains("max-age="),
            "{url}"
        );
        assert!(!r.bytes().await.expect("body").is_empty(), "{url}");
    }

    // Only those names: not the manifest beside them, nor anything else.
    for name in ["README.md", "licenses", "nope.js", "graphiql.min.js.map"] {
        let r = app
            .http
            .get(app.url(&format!("/graphql/assets/{name}")))
            .send()
            .await
            .expect("unknown asset");
        assert_eq!(r.status(), 404, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_query_a_mutation_and_a_subscription_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let fan = app.register("graphiql_fan").await;
    let streamer = app.register_as("graphiql_streamer", "STREAMER").await;
    app.top_up(&fan, 50_000, "seed").await.data("topUp");
    let listed = app.new_mission(&fan, &streamer.user_id, 5_000).await;
    let cash_before = app.wallet(&fan).await["cash"].as_i64().expect("cash");

    let screenshot = artifacts_dir().join("graphiql.png");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/node/graphiql-check.mjs"
    );
    let mut node = tokio::process::Command::new("node")
        .arg(script)
        .arg(format!("http://{}", app.addr))
        .arg(&fan.access)
        .arg(&screenshot)
        .arg(&streamer.user_id)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (scripts/test installs playwright-core and chromium)");
    let mut stdout = node.stdout.take().expect("stdout");
    let stdout_task = tokio::spawn(async move {
        let mut out = String::new();
        stdout.read_to_string(&mut out).await.map(|_| out)
    });

    // Once the page has sent its subscription, a mission of that streamer is created every 2 s
    // until the check ends: the server may register the subscription after the first one.
    let mut progress = BufReader::new(node.stderr.take().expect("stderr")).lines();
    let mut changed = Vec::new();
    let ran = tokio::time::timeout(Duration::from_secs(180), async {
        let mut subscribed = false;
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                line = progress.next_line() => match line.expect("stderr") {
                    Some(line) => {
                        eprintln!("{line}");
                        subscribed |= line == "graphiql-check: subscribed";
                    }
                    None => break,
                },
                _ = tick.tick(), if subscribed => {
                    changed.push(app.new_mission(&fan, &streamer.user_id, 6_000).await);
                }
            }
        }
        node.wait().await.expect("node")
    })
    .await
    .expect("the browser check finished within 180 s");
    let out = stdout_task.await.expect("stdout task").expect("stdout");
    println!("GraphiQL screenshot: {}", screenshot.display());
    let summary: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {out}"));
    println!("{summary:#}");
    assert!(ran.success() && summary["failed"].is_null(), "{summary:#}");

    assert_eq!(summary["page"]["status"], 200);
    let has = |list: &Value, item: &str| {
        list.as_array()
            .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(item)))
    };
    assert!(
        has(&summary["docs"]["queryFields"], "missions"),
        "{summary:#}"
    );
    assert!(
        has(&summary["autocomplete"]["offered"], "missions"),
        "{summary:#}"
    );
    assert_eq!(
        summary["query"]["result"]["data"]["missions"]["nodes"][0]["id"],
        listed.as_str(),
        "{summary:#}"
    );
    assert_eq!(
        summary["mutation"]["result"]["data"]["topUp"]["cash"],
        cash_before + 1_000,
        "{summary:#}"
    );

    let sub = &summary["subscription"];
    assert_eq!(
        sub["connectionInitPayload"]["Authorization"], "Bearer <token>",
        "the Headers pane is the socket's connection_init payload: {summary:#}"
    );
    assert_eq!(sub["acknowledged"], true, "{summary:#}");
    assert_eq!(sub["subscribed"], true, "{summary:#}");
    assert!(sub["error"].is_null(), "{summary:#}");
    let event = sub["event"]["data"]["missionChanged"]["id"].as_str();
    assert!(
        event.is_some_and(|id| changed.iter().any(|c| c == id)),
        "the event is about a mission created after the page subscribed: {summary:#}"
    );

    // Offline: nothing left loopback, every file came from the binary, nothing failed to load.
    assert_eq!(summary["blocked"], serde_json::json!([]), "{summary:#}");
    let sockets = summary["websockets"].as_array().expect("websockets");
    assert!(
        !sockets.is_empty() && sockets.iter().all(|s| s["loopback"] == true),
        "{summary:#}"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
    ] {
        assert!(
            summary["requests"]
                .as_array()
                .expect("requests")
                .iter()
                .any(|r| r
                    .as_str()
                    .is_some_and(|r| r.starts_with(&format!("/graphql/assets/{asset}?v=")))),
            "{asset} was not loaded: {summary:#}"
        );
    }
    assert_eq!(summary["pageErrors"], serde_json::json!([]), "{summary:#}");
    assert_eq!(
        summary["consoleErrors"],
        serde_json::json!([]),
        "{summary:#}"
    );
    assert!(screenshot.exists(), "{}", screenshot.display());
}
