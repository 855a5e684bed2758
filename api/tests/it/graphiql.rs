//! The GraphiQL page works offline: every file it loads is served by the binary itself.

use crate::support::TestApp;

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
