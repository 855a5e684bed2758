//! The `Payout` workflow: one per payout, id `payout-<payout id>`.
//!
//! It waits out the hold (a `cancelled` or `reviewed` signal ends the wait early if the payout's
//! row says CANCELLED), moves the payout to PROCESSING unless the streamer cancelled it, an
//! operator held it or its streamer is suspended (then it waits, held, for an operator's
//! `reviewed`: released, it asks again; cancelled, it ends), hands it to the
//! bank, waits for the bank's answer, finishes it (PAID, or FAILED with the money back in earnings) and sends the receipt.
//! The payout's row is the truth: `cancelPayout` commits CANCELLED before it signals, so a lost
//! signal costs at most the rest of the hold. Deterministic: time from `ctx.workflow_time()`,
//! everything else from activities.

use super::activities::PayoutActivities;
use super::payload::{
    FinishInput, PayoutInput, PayoutPhase, PayoutResult, PayoutSnapshot, PayoutState, ReceiptResult,
};
use crate::findable;
use crate::retry::{quick, retries};
use std::time::{Duration, UNIX_EPOCH};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, CancellableFuture, SyncWorkflowContext, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};

/// A bank call's activity is presumed lost (its worker died) after this long without a
/// heartbeat, and retried.
pub const BANK_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// A held payout's row is read again this often even without a signal, so a `reviewed` signal
/// lost between an operator's commit and its delivery costs at most this long. Each re-read
/// adds about a dozen events to the history: daily, a payout can stay held for years before
/// Temporal's history limits come near.
pub const HELD_RECHECK: Duration = Duration::from_secs(24 * 3600);

/// The workflow change that made payouts findable: the workflow upserts the `PayoutStatus` and
/// `StreamerId` search attributes at start and at every status change. Histories without its
/// marker replay without those commands.
pub const FINDABLE_PATCH: &str = "search-attributes";

/// The workflow's state: its phase and whether a `cancelled` signal arrived.
#[workflow]
#[derive(Default)]
pub struct PayoutWorkflow {
    phase: PayoutPhase,
    /// `cancelled` and `reviewed` signals received: each says "read the payout's row again".
    signals: u64,
}

/// A bank call: bounded by `BANK_TIMEOUT_SECONDS` inside the activity (at most 120 s), and
/// heartbeating, so a dead worker's call is retried after [`BANK_HEARTBEAT_TIMEOUT`].
fn at_bank() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(180))
        .heartbeat_timeout(BANK_HEARTBEAT_TIMEOUT)
        .retry_policy(retries())
        .build()
}

/// Upserts the payout's search attributes when its status changed since `shown`.
fn show(
    ctx: &WorkflowContext<PayoutWorkflow>,
    snap: &PayoutSnapshot,
    shown: &mut Option<PayoutState>,
) {
    if *shown == Some(snap.status) {
        return;
    }
    *shown = Some(snap.status);
    ctx.upsert_search_attributes([
        findable::PAYOUT_STATUS.value_set(snap.status.as_str().to_owned()),
        findable::STREAMER_ID.value_set(snap.streamer_id.clone()),
    ]);
}

#[workflow_methods]
impl PayoutWorkflow {
    #[run(name = "Payout")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: PayoutInput,
    ) -> WorkflowResult<PayoutResult> {
        let id = input.payout_id;
        let findable = ctx.patched(FINDABLE_PATCH);
        let mut shown = None;
        // The signals received before `snap` was last read: a held payout waits for a later one.
        let mut read_at = ctx.state(|s| s.signals);
        let mut snap = ctx
            .execute_activity(PayoutActivities::load_payout, id.clone(), quick())
            .await?;
        if findable {
            show(ctx, &snap, &mut shown);
        }
        // Waits out the hold, then asks to start processing: the last step before the bank,
        // which holds the payout instead when an operator held it or its streamer is suspended.
        // A held payout waits for an operator's `reviewed` (released or cancelled) and is read
        // again; released, it asks again.
        while snap.status == PayoutState::Requested {
            ctx.state_mut(|s| s.phase = PayoutPhase::Holding);
            loop {
                let signals_seen = ctx.state(|s| s.signals);
                let now_ms = ctx
                    .workflow_time()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                let wait = Duration::from_millis(
                    u64::try_from(snap.hold_until_unix_ms.saturating_sub(now_ms)).unwrap_or(0),
                );
                if wait.is_zero() {
                    break;
                }
                let mut timer = Box::pin(ctx.timer(wait));
                let fired = temporalio_sdk::workflows::select! {
                    _ = &mut timer => true,
                    _ = ctx.wait_condition(|s: &Self| s.signals != signals_seen) => false,
                };
                if fired {
                    break;
                }
                timer.cancel();
                // A signal: the payout's row, not the signal, says what changed. One sent by
                // anything but our API (a hand in the Temporal UI) leaves the payout
                // REQUESTED, and the hold goes on to its end.
                read_at = ctx.state(|s| s.signals);
                snap = ctx
                    .execute_activity(PayoutActivities::load_payout, id.clone(), quick())
                    .await?;
                if findable {
                    show(ctx, &snap, &mut shown);
                }
                if snap.status != PayoutState::Requested {
                    break;
                }
            }
            if snap.status == PayoutState::Requested && !snap.held {
                // Moves it to PROCESSING, unless the streamer cancelled meanwhile, an operator
                // held it, or its streamer is suspended (the database decides).
                read_at = ctx.state(|s| s.signals);
                snap = ctx
                    .execute_activity(PayoutActivities::start_processing, id.clone(), quick())
                    .await?;
                if findable {
                    show(ctx, &snap, &mut shown);
                }
            }
            if snap.status == PayoutState::Requested && snap.held {
                ctx.state_mut(|s| s.phase = PayoutPhase::Held);
                // Read again on an operator's signal, or every HELD_RECHECK without one (a
                // signal lost between the operator's commit and its delivery costs no more).
                let mut timer = Box::pin(ctx.timer(HELD_RECHECK));
                let fired = temporalio_sdk::workflows::select! {
                    _ = &mut timer => true,
                    _ = ctx.wait_condition(|s: &Self| s.signals != read_at) => false,
                };
                if !fired {
                    timer.cancel();
                }
                read_at = ctx.state(|s| s.signals);
                snap = ctx
                    .execute_activity(PayoutActivities::load_payout, id.clone(), quick())
                    .await?;
                if findable {
                    show(ctx, &snap, &mut shown);
                }
            }
        }
        if snap.status == PayoutState::Processing {
            ctx.state_mut(|s| s.phase = PayoutPhase::AtBank);
            ctx.execute_activity(PayoutActivities::submit_to_bank, id.clone(), at_bank())
                .await?;
            let outcome = ctx
                .execute_activity(PayoutActivities::await_bank, id.clone(), at_bank())
                .await?;
            snap = ctx
                .execute_activity(
                    PayoutActivities::finish_payout,
                    FinishInput {
                        payout_id: id.clone(),
                        outcome,
                    },
                    quick(),
                )
                .await?;
            if findable {
                show(ctx, &snap, &mut shown);
            }
        }
        let receipt = if matches!(snap.status, PayoutState::Paid | PayoutState::Failed) {
            ctx.state_mut(|s| s.phase = PayoutPhase::Notifying);
            ctx.execute_activity(PayoutActivities::send_receipt, id.clone(), quick())
                .await?
        } else {
            ReceiptResult::None
        };
        ctx.state_mut(|s| s.phase = PayoutPhase::Done);
        Ok(PayoutResult {
            status: snap.status,
            receipt,
        })
    }

    /// The streamer cancelled the payout (committed before this signal): end the hold now.
    #[signal(name = "cancelled")]
    pub fn cancelled(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.signals += 1;
    }

    /// An operator held, released or cancelled the payout (committed before this signal): read
    /// it again. A held payout waits for this.
    #[signal(name = "reviewed")]
    pub fn reviewed(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.signals += 1;
    }

    /// Where the workflow is: `HOLDING`, `HELD`, `AT_BANK`, `NOTIFYING`, `DONE`.
    #[query(name = "phase")]
    pub fn phase(&self, _ctx: &WorkflowContextView) -> PayoutPhase {
        self.phase
    }
}
