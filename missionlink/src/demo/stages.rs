//! The demo's states that need the instance's development settings (`scripts/run` sets them):
//! a success verdict open to objections (VERIFYING), one its backers objected to (DISPUTED, for
//! an operator to resolve), and a payout of the streamer's earnings through the sandbox bank
//! (PAID once `PAYOUT_HOLD_SECONDS` has passed).

use super::{Client, DemoUser};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::time::Duration;

/// The streamer's payout the demo asked for: its id, the status it reached, and when it goes
/// (went) to the bank.
#[derive(Clone, Debug)]
pub struct DemoPayout {
    pub id: String,
    pub amount: i64,
    pub status: String,
    pub hold_until: String,
}

/// Won the demo pays out to the streamer each run (the default `PAYOUT_MIN`).
pub const PAYOUT_WON: i64 = 10_000;

/// The streamer declares `mission` a success; it must then be VERIFYING (the instance has an
/// objection window), or the demo says which setting it needs.
pub(super) async fn declare_success(
    client: &Client,
    streamer: &DemoUser,
    mission: &str,
) -> anyhow::Result<()> {
    let data = client
        .gql(
            Some(&streamer.access_token),
            "mutation($m: ID!) { decideMission(missionId: $m, outcome: SUCCESS) { status } }",
            json!({ "m": mission }),
        )
        .await
        .context("declaring a mission a success")?;
    if data["decideMission"]["status"] != "VERIFYING" {
        bail!(
            "a success verdict settled at once: this instance has no objection window, so no \
             mission can be VERIFYING or DISPUTED; run it with OBJECTION_WINDOW_SECONDS=60 \
             (scripts/run does; production keeps 600)"
        );
    }
    Ok(())
}

/// Refuses to wait for a mission (`mission { status objectionWindowEndsAt }`) whose objection
/// window closes after `deadline`: the instance's window is longer than the demo waits.
pub(super) fn window_fits(mission: &Value, deadline: tokio::time::Instant) -> anyhow::Result<()> {
    let Some(ends) = mission["objectionWindowEndsAt"]
        .as_str()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
    else {
        return Ok(());
    };
    let left = (ends.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    if mission["status"] == "VERIFYING" && tokio::time::Instant::now() + left > deadline {
        bail!(
            "the SUCCEEDED mission's objection window ends at {ends}, after the demo stops \
             waiting: this instance's OBJECTION_WINDOW_SECONDS is longer than --wait-seconds; \
             run it with OBJECTION_WINDOW_SECONDS=60 (scripts/run does; production keeps 600)"
        );
    }
    Ok(())
}

/// Each of `backers` objects to `mission`'s success verdict: together they hold all of it, so
/// it becomes DISPUTED.
pub(super) async fn object(
    client: &Client,
    backers: [&DemoUser; 2],
    mission: &str,
    key: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    for who in backers {
        client
            .gql(
                Some(&who.access_token),
                "mutation($m: ID!, $r: String!, $k: String!) {
                   objectToVerdict(missionId: $m, reason: $r, idempotencyKey: $k) { pledged } }",
                json!({ "m": mission, "r": "the clip ends before the finish line",
                        "k": key(&format!("object-{}", who.handle)) }),
            )
            .await
            .with_context(|| format!("{} objecting", who.handle))?;
    }
    Ok(())
}

/// The streamer sets a payout account and asks for [`PAYOUT_WON`] of their earnings, then
/// waits (until `deadline`, the demo's one, and only when the hold ends before it) for the
/// sandbox bank to pay it; `wait` is how long the demo waits in all, for the message.
pub(super) async fn payout(
    client: &Client,
    streamer: &DemoUser,
    key: &str,
    deadline: tokio::time::Instant,
    wait: Duration,
) -> anyhow::Result<DemoPayout> {
    let token = Some(streamer.access_token.as_str());
    client
        .gql(
            token,
            "mutation { setPayoutAccount(bankCode: \"004\", accountNumber: \"123456789012\",
               holderName: \"Stella Demo\") { bankCode } }",
            json!({}),
        )
        .await
        .context("setting the streamer's payout account")?;
    let asked = client
        .gql(
            token,
            "mutation($a: Won!, $k: String!) { requestPayout(amount: $a, idempotencyKey: $k) {
               id status holdUntil } }",
            json!({ "a": PAYOUT_WON, "k": key }),
        )
        .await
        .context("asking for the streamer's payout")?;
    let p = &asked["requestPayout"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut payout = DemoPayout {
        id: text(&p["id"]),
        amount: PAYOUT_WON,
        status: text(&p["status"]),
        hold_until: text(&p["holdUntil"]),
    };
    let hold_until = chrono::DateTime::parse_from_rfc3339(&payout.hold_until)
        .context("the payout's holdUntil")?;
    let held = (hold_until.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    if tokio::time::Instant::now() + held > deadline {
        // A production-length hold: the demo says when it goes instead of waiting an hour.
        return Ok(payout);
    }
    while !matches!(payout.status.as_str(), "PAID" | "FAILED" | "CANCELLED") {
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the payout {} is still {} after {}s: the bank is the worker's (is `missionlink \
                 worker` or `all` running against this instance?)",
                payout.id,
                payout.status,
                wait.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let data = client
            .gql(
                token,
                "{ wallet { payouts(first: 10) { nodes { id status } } } }",
                json!({}),
            )
            .await?;
        if let Some(now) = data["wallet"]["payouts"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["id"] == payout.id.as_str())
        {
            payout.status = text(&now["status"]);
        }
    }
    Ok(payout)
}
