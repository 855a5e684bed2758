//! Recorded mission histories replay against today's workflow code, so a change that would
//! break missions already running in production fails the build.
//!
//! Fixtures are recorded by the end-to-end success test:
//! `RECORD_WORKFLOW_HISTORY=1 scripts/test -p missionlink --test it -- successful_mission`;
//! the objection window's (`mission-verified`, `mission-disputed`) by
//! `RECORD_WORKFLOW_HISTORY=1 scripts/test -p missionlink --test it -- disputes::objections`;
//! the goals' (`mission-goal-tiered`, `mission-goal-expired`) by
//! `RECORD_WORKFLOW_HISTORY=1 scripts/test -p missionlink --test it -- goals::a_goal`;
//! payout histories (`fixtures/payout/`) by the paid-payout test:
//! `RECORD_WORKFLOW_HISTORY=1 scripts/test -p missionlink --test it -- payouts::a_paid`.

use std::path::PathBuf;
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every recorded history: `mission-succeeded.binpb`, `mission-verified.binpb` and
/// `mission-disputed.binpb` are the current code's own recordings; older ones stay
/// (`…-before-predictions`, `…-before-search-attributes`, `…-before-notices`), so missions
/// started before a change
/// keep replaying after it.
#[tokio::test]
async fn every_recorded_mission_replays_on_the_current_workflow_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "binpb") {
            let history = std::fs::read(&path).expect("read fixture");
            missionlink_workflows::mission::replay(&history)
                .await
                .unwrap_or_else(|e| panic!("{} no longer replays: {e:#}", path.display()));
            replayed += 1;
        }
    }
    assert!(
        replayed >= 3,
        "expected the recorded histories in {}",
        dir.display()
    );
}

/// Every recorded payout history replays on today's `Payout` workflow.
#[tokio::test]
async fn every_recorded_payout_replays_on_the_current_workflow_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/payout");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("payout fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "binpb") {
            let history = std::fs::read(&path).expect("read fixture");
            missionlink_workflows::payout::replay::replay(&history)
                .await
                .unwrap_or_else(|e| panic!("{} no longer replays: {e:#}", path.display()));
            replayed += 1;
        }
    }
    assert!(
        replayed >= 2,
        "expected the recorded payouts in {}",
        dir.display()
    );
}

/// How many upserts of the search attribute `key` a recorded history holds (patch markers
/// upsert `TemporalChangeVersion` too; those do not count).
fn upserts(name: &str, key: &str) -> usize {
    use prost::Message;
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    temporalio_common::protos::temporal::api::history::v1::History::decode(fixture(name).as_slice())
        .expect("decode")
        .events
        .iter()
        .filter(|e| {
            matches!(
                &e.attributes,
                Some(Attributes::UpsertWorkflowSearchAttributesEventAttributes(a))
                    if a.search_attributes.as_ref().is_some_and(|s| s.indexed_fields.contains_key(key))
            )
        })
        .count()
}

/// The current recordings are the findable workflows' (so the replay covers the upserts);
/// the older recordings have none. (The recorded mission was accepted and decided before its
/// workflow's first read, so it upserted once, SUCCEEDED; the payout once per status.)
#[test]
fn the_current_recordings_upsert_search_attributes() {
    assert!(upserts("mission-succeeded.binpb", "MissionStatus") >= 1);
    assert_eq!(upserts("payout/payout-paid.binpb", "PayoutStatus"), 3);
    assert_eq!(
        upserts(
            "mission-succeeded-before-search-attributes.binpb",
            "MissionStatus"
        ),
        0
    );
    assert_eq!(
        upserts(
            "payout/payout-paid-before-search-attributes.binpb",
            "PayoutStatus"
        ),
        0
    );
}

/// The events of a recorded history.
fn events(name: &str) -> Vec<temporalio_common::protos::temporal::api::history::v1::HistoryEvent> {
    use prost::Message;
    temporalio_common::protos::temporal::api::history::v1::History::decode(fixture(name).as_slice())
        .expect("decode")
        .events
}

/// The recordings of the objection window take its paths: one window ended by its timer
/// (`CloseObjectionWindow`), one dispute settled by an operator (the `operatorAction` signal),
/// both under the `objection-window` patch marker; the older recordings have neither.
#[test]
fn the_objection_recordings_cover_the_window_and_the_dispute() {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let activities = |name: &str| -> Vec<String> {
        events(name)
            .into_iter()
            .filter_map(|e| match e.attributes {
                Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                    a.activity_type.map(|t| t.name)
                }
                _ => None,
            })
            .collect()
    };
    let signals = |name: &str| -> Vec<String> {
        events(name)
            .into_iter()
            .filter_map(|e| match e.attributes {
                Some(Attributes::WorkflowExecutionSignaledEventAttributes(s)) => {
                    Some(s.signal_name)
                }
                _ => None,
            })
            .collect()
    };
    let patched = |name: &str| {
        events(name).iter().any(|e| {
            matches!(&e.attributes, Some(Attributes::MarkerRecordedEventAttributes(m))
            if m.details.values().flat_map(|p| &p.payloads).any(|p| {
                String::from_utf8_lossy(&p.data).contains("objection-window")
            }))
        })
    };
    assert!(activities("mission-verified.binpb").contains(&"CloseObjectionWindow".to_owned()));
    assert!(patched("mission-verified.binpb"));
    assert!(signals("mission-disputed.binpb").contains(&"operatorAction".to_owned()));
    assert!(patched("mission-disputed.binpb"));
    assert!(!patched("mission-succeeded.binpb"));
}

/// The recordings since the backers' notices start a `MissionNotice` child under the
/// `backer-notices` marker for each status the workflow saw: ACTIVE (acceptance), then
/// VERIFYING; the recordings from before have neither, and replay without them.
#[test]
fn the_notice_recordings_start_each_notice_once_under_its_marker() {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let children = |name: &str| -> Vec<String> {
        events(name)
            .into_iter()
            .filter_map(|e| match e.attributes {
                Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(c)) => {
                    Some(format!(
                        "{} {}",
                        c.workflow_type.map(|t| t.name).unwrap_or_default(),
                        c.workflow_id
                    ))
                }
                _ => None,
            })
            .collect()
    };
    let marked = |name: &str| {
        events(name).iter().any(|e| {
            matches!(&e.attributes, Some(Attributes::MarkerRecordedEventAttributes(m))
            if m.details.values().flat_map(|p| &p.payloads).any(|p| {
                String::from_utf8_lossy(&p.data).contains("backer-notices")
            }))
        })
    };
    // Accepted well before its verdict (and recorded while its window is open): both notices,
    // in order.
    let started = children("mission-notified.binpb");
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(started[0].starts_with("MissionNotice ") && started[0].ends_with("-notice-accepted"));
    assert!(started[1].ends_with("-notice-verifying"), "{started:?}");
    // Decided right after their acceptance: the workflow first saw them VERIFYING, so only that
    // notice (an acceptance notice would have had nothing left to say).
    for name in ["mission-verified.binpb", "mission-disputed.binpb"] {
        let started = children(name);
        assert_eq!(started.len(), 1, "{name}: {started:?}");
        assert!(started[0].ends_with("-notice-verifying"), "{started:?}");
    }
    for name in [
        "mission-notified.binpb",
        "mission-verified.binpb",
        "mission-disputed.binpb",
    ] {
        assert!(marked(name), "{name}");
    }
    for name in [
        "mission-verified-before-notices.binpb",
        "mission-disputed-before-notices.binpb",
        "mission-succeeded.binpb",
    ] {
        assert!(children(name).is_empty(), "{name}");
        assert!(!marked(name), "{name}");
    }
}

/// The goals' recordings wait out a FUNDING phase under the `streamer-goals` marker: one funded
/// (its goal reached by a pledge, then a tiered verdict), one expired unfunded (its funding's
/// timer fired, then `ExpireMission`). The recordings from before goals have no such marker.
#[test]
fn the_goal_recordings_fund_under_their_marker() {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let marked = |name: &str| {
        events(name).iter().any(|e| {
            matches!(&e.attributes, Some(Attributes::MarkerRecordedEventAttributes(m))
            if m.details.values().flat_map(|p| &p.payloads).any(|p| {
                String::from_utf8_lossy(&p.data).contains("streamer-goals")
            }))
        })
    };
    let activities = |name: &str| -> Vec<String> {
        events(name)
            .into_iter()
            .filter_map(|e| match e.attributes {
                Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                    a.activity_type.map(|t| t.name)
                }
                _ => None,
            })
            .collect()
    };
    for name in ["mission-goal-tiered.binpb", "mission-goal-expired.binpb"] {
        assert!(marked(name), "{name}");
    }
    let expired = activities("mission-goal-expired.binpb");
    assert!(expired.contains(&"ExpireMission".to_owned()), "{expired:?}");
    let funded = activities("mission-goal-tiered.binpb");
    assert!(!funded.contains(&"ExpireMission".to_owned()), "{funded:?}");
    assert!(funded.contains(&"SettlePledges".to_owned()), "{funded:?}");
    for name in ["mission-succeeded.binpb", "mission-notified.binpb"] {
        assert!(!marked(name), "{name}");
    }
}

/// A stand-in for a careless edit: it starts with a timer where the real workflow starts with
/// an activity.
#[workflow]
#[derive(Default)]
struct AlteredMission;

#[workflow_methods]
impl AlteredMission {
    #[run(name = "Mission")]
    async fn run(
        ctx: &mut WorkflowContext<Self>,
        _input: missionlink_workflows::mission::MissionInput,
    ) -> WorkflowResult<()> {
        ctx.timer(Duration::from_secs(1)).await;
        Ok(())
    }
}

#[tokio::test]
async fn the_replay_check_catches_a_non_deterministic_change() {
    use prost::Message;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
    let history = temporalio_common::protos::temporal::api::history::v1::History::decode(
        fixture("mission-succeeded-before-predictions.binpb").as_slice(),
    )
    .expect("decode");
    let mut options = WorkflowReplayerOptions::new().build();
    options
        .register_workflow::<AlteredMission>()
        .expect("register");
    let result = WorkflowReplayer::new(options)
        .expect("replayer")
        .replay_workflow(history.into())
        .await;
    let error = format!(
        "{:?}",
        result.expect_err("an incompatible workflow replayed cleanly")
    );
    assert!(error.to_lowercase().contains("nondetermin"), "{error}");
}
