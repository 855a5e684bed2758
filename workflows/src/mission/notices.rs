//! The `MissionNotice` workflow: one backers' notice of one mission (issue 28, item 5), id
//! `mission-<mission id>-notice-<accepted|verifying>`, started by the mission's workflow as a
//! child it does not wait for (abandoned when the mission's workflow ends), so a notice to
//! 100,000 backers at the SES rate never holds up the mission's timers, verdict or settlement.
//! Its one activity records each delivery as the result emails do: once per backer, mission and
//! notice, whatever is retried.

use super::activities::MissionActivities;
use super::payload::{EmailSummary, NoticeInput};
use super::workflow::long_running;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// The workflow id of `input`'s notice.
pub fn workflow_id(input: &NoticeInput) -> String {
    format!(
        "mission-{}-notice-{}",
        input.mission_id,
        input.notice.role().to_ascii_lowercase()
    )
}

#[workflow]
#[derive(Default)]
pub struct MissionNoticeWorkflow;

#[workflow_methods]
impl MissionNoticeWorkflow {
    /// Sends the notice to every backer who wants it.
    #[run(name = "MissionNotice")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: NoticeInput,
    ) -> WorkflowResult<EmailSummary> {
        Ok(ctx
            .execute_activity(MissionActivities::send_backer_notice, input, long_running())
            .await?)
    }
}
