//! Reconciliation between the ledger and the payment provider (issue 26, item 4): what the API
//! does around the ledger's cases (`missionlink_ledger::reconcile`). Callable without GraphQL.
//!
//! [`resolve`] is an operator's resolution. `REFUND_AT_PROVIDER` first has the provider cancel
//! the payment (idempotency key `case-<id>`, so a retried resolution cancels once), and is
//! recorded only once the provider has: a provider that does not answer leaves the case open
//! (`PAYMENT_PENDING`), safe to resolve again.
//!
//! A cancel at the provider becomes a case in `settle::cancelled_at_provider`, which the webhook
//! and every finished withdrawal call.

use crate::error::{ApiError, ApiResult};
use crate::payments::{ALREADY_CANCELED, PaymentError, PaymentStatus};
use crate::state::AppState;
use missionlink_ledger::operator::Acting;
use missionlink_ledger::reconcile;
use missionlink_ledger::status::CaseAction;

/// `resolveReconciliation`: settles case `case_id` with `action` as operator `operator_id`,
/// with `note`.
pub async fn resolve(
    app: &AppState,
    operator_id: &str,
    case_id: &str,
    action: CaseAction,
    note: &str,
) -> ApiResult<reconcile::Resolved> {
    let acting = Acting::new(operator_id, note)?;
    let db = &app.db.missions;
    if action == CaseAction::RefundAtProvider {
        let case = reconcile::resolve::check(db, case_id, action).await?;
        refund_at_provider(app, &case).await?;
    }
    Ok(reconcile::resolve(db, &acting, case_id, action).await?)
}

/// Has the provider cancel case `case`'s payment (taken, never credited).
async fn refund_at_provider(
    app: &AppState,
    case: &missionlink_entities::missions::reconciliation_case::Model,
) -> ApiResult<()> {
    let Some(key) = case.payment_key.as_deref() else {
        return Err(ApiError::InvalidState(
            "this case names no payment to refund at the provider".into(),
        ));
    };
    let provider = crate::topups::provider(app)?;
    let reason = "결제 대사: 적립되지 않은 결제 취소 (reconciliation: a payment never credited)";
    match provider
        .cancel(key, reason, &format!("case-{}", case.id), None)
        .await
    {
        Ok(p) if p.status == PaymentStatus::Canceled => Ok(()),
        Err(PaymentError::Refused { code, .. }) if code == ALREADY_CANCELED => Ok(()),
        Ok(p) => Err(ApiError::Refused {
            code: crate::topups::PAYMENT_PENDING,
            message: format!(
                "the provider answered the cancel with {}: the case stays open; resolve it \
                 again once the provider has cancelled",
                p.status.as_str()
            ),
            retry_at: None,
        }),
        Err(PaymentError::Unavailable(why)) => {
            tracing::warn!(case = %case.id, %why, "refund at the provider without an answer");
            Err(ApiError::Refused {
                code: crate::topups::PAYMENT_PENDING,
                message: "the payment provider did not answer: the case stays open; resolve it \
                          again (the same cancel is asked once)"
                    .into(),
                retry_at: None,
            })
        }
        Err(PaymentError::Refused { code, message, .. }) => Err(ApiError::PaymentFailed {
            message: format!("the payment provider refused to cancel the payment: {message}"),
            provider_code: code,
        }),
    }
}
