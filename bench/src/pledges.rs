//! `pledges`: concurrent clients sending real `contribute` mutations, and a subscriber following
//! the streamer's feed with the overlay's fields (see the crate docs).

use crate::Api;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub(crate) async fn run(
    api: &str,
    setup: &str,
    clients: usize,
    seconds: u64,
    missions: usize,
    set: &str,
) -> anyhow::Result<()> {
    let setup: Value = serde_json::from_str(&std::fs::read_to_string(setup)?)?;
    let tokens: Vec<String> = serde_json::from_value(setup["tokens"].clone())?;
    let all: Vec<String> = serde_json::from_value(setup[set].clone())?;
    let targets: Arc<Vec<String>> = Arc::new(all.into_iter().take(missions).collect());
    if tokens.len() < clients || targets.len() < missions {
        bail!(
            "setup has {} tokens and {} missions",
            tokens.len(),
            targets.len()
        );
    }
    let streamer = setup["streamer"]
        .as_str()
        .context("setup names no streamer")?;
    let feed = tokio::spawn(follow_feed(ws_url(api)?, streamer.to_owned()));
    // The subscription is live before the load starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let api = Arc::new(Api::new(api));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers = (0..clients).map(|c| {
        let (api, stop, targets, token) = (api.clone(), stop.clone(), targets.clone(), tokens[c].clone());
        tokio::spawn(async move {
            let mut latencies_us: Vec<u64> = Vec::new();
            let mut errors = 0_u64;
            let mut n = 0_usize;
            while !stop.load(Ordering::Relaxed) {
                let mission = &targets[(c + n * clients) % targets.len()];
                let key = uuid::Uuid::new_v4().to_string();
                let t = Instant::now();
                let r = api
                    .gql(
                        Some(&token),
                        "mutation($m: ID!, $k: String!) { contribute(missionId: $m, amount: 1000, idempotencyKey: $k) { id } }",
                        json!({ "m": mission, "k": key }),
                    )
                    .await;
                match r {
                    Ok(_) => latencies_us.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)),
                    Err(_) => errors += 1,
                }
                n += 1;
            }
            (latencies_us, errors)
        })
    });
    let handles: Vec<_> = workers.collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The last pledges' events are given a moment to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    feed.abort();
    let mut feed_us = std::mem::take(&mut *FEED_LATENCIES_US.lock().expect("feed latencies"));
    feed_us.sort_unstable();
    latencies.sort_unstable();
    let pct = |permille: usize| percentile_ms(&latencies, permille);
    let count = f64::from(u32::try_from(latencies.len()).unwrap_or(u32::MAX));
    println!(
        "{}",
        json!({
            "pledges": latencies.len(),
            "errors": errors,
            "per_s": count / elapsed,
            "p50_ms": pct(500),
            "p99_ms": pct(990),
            "feed_events": feed_us.len(),
            "feed_p50_ms": percentile_ms(&feed_us, 500),
            "feed_p95_ms": percentile_ms(&feed_us, 950),
        })
    );
    Ok(())
}

/// Nearest-rank percentile (`permille` of 1000) of sorted microseconds, in milliseconds.
pub(crate) fn percentile_ms(sorted_us: &[u64], permille: usize) -> f64 {
    let Some(last) = sorted_us.len().checked_sub(1) else {
        return 0.0;
    };
    Duration::from_micros(sorted_us[last * permille / 1000]).as_secs_f64() * 1000.0
}

/// Commit-to-arrival times of the pledges' events, in microseconds.
static FEED_LATENCIES_US: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// The websocket URL of the API at `api` (`http://host:port`).
fn ws_url(api: &str) -> anyhow::Result<String> {
    let host = api
        .strip_prefix("http://")
        .context("the API's address is http://host:port")?;
    Ok(format!("ws://{}/graphql/ws", host.trim_end_matches('/')))
}

/// What the overlay asks of each event (`api/src/http/overlay.html`).
const FEED_QUERY: &str = "subscription($s: ID!) { missionEvents(streamerId: $s) { seq kind at tier \
    mission { id title status kind acceptBy deadline goal fundingEndsAt totalHeld backerCount \
      tiers { level amount title reachedAt } } \
    pledge { id amount createdAt anonymous message backer { displayName } } } }";

/// Follows `streamer`'s feed from now on, recording each PLEDGED event's commit-to-arrival
/// time, until aborted.
async fn follow_feed(url: String, streamer: String) -> anyhow::Result<()> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    for message in [
        json!({ "type": "connection_init" }),
        json!({ "id": "feed", "type": "subscribe", "payload": {
            "query": FEED_QUERY,
            "variables": { "s": streamer } } }),
    ] {
        ws.send(Message::text(message.to_string())).await?;
    }
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let arrived = chrono::Utc::now();
        let v: Value = serde_json::from_str(&text)?;
        if v["type"] == "error" || v["payload"].get("errors").is_some() {
            eprintln!("the feed subscriber was answered an error: {text}");
        }
        let event = &v["payload"]["data"]["missionEvents"];
        if event["kind"] != "PLEDGED" {
            continue;
        }
        let at: chrono::DateTime<chrono::Utc> = event["at"].as_str().context("at")?.parse()?;
        let us = (arrived - at).num_microseconds().unwrap_or(0).max(0);
        FEED_LATENCIES_US
            .lock()
            .expect("feed latencies")
            .push(u64::try_from(us).unwrap_or(0));
    }
    Ok(())
}
