//! Payouts the bank sends back (issue 26, item 4): a transfer can reach the receiving bank and
//! come back later (a closed or dormant account). Every `PAYOUT_RETURN_CHECK_SECONDS` the worker asks
//! the bank again about each payout PAID within `PAYOUT_RETURN_WATCH_DAYS`, a page at a time, and
//! a transfer it reports RETURNED becomes a `PAYOUT_RETURNED_BY_BANK` reconciliation case for
//! what it sent (the net), once (the case's subject is the payout). An operator gives it back
//! to the balance it was paid from (`RETURN_TO_BALANCE`: earnings, or a cash refund's cash). The payout itself stays PAID: it was paid.

use crate::bank::{BankProvider, TransferStatus};
use crate::periodic::{Loop, ago};
use anyhow::Context as _;
use missionlink_ledger::payout;
use missionlink_ledger::reconcile::cases::{self, NewCase};
use missionlink_ledger::status::CaseKind;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// Paid payouts asked about per page.
pub const PAGE: u64 = 100;

/// The loop asking every `interval` about the payouts paid within `window`.
pub fn worker_loop(
    db: DatabaseConnection,
    bank: Arc<dyn BankProvider>,
    window: Duration,
    interval: Duration,
    timeout: Duration,
) -> Loop {
    Loop::new("payout returns", interval, move || {
        let (db, bank) = (db.clone(), bank.clone());
        async move {
            check_once(&db, bank.as_ref(), window, timeout)
                .await
                .map(|_| ())
        }
    })
}

/// One pass over the payouts paid within `window` that no case names yet, each question to
/// the bank bounded by `timeout` (`BANK_TIMEOUT_SECONDS`); the cases it opened.
pub async fn check_once(
    db: &DatabaseConnection,
    bank: &dyn BankProvider,
    window: Duration,
    timeout: Duration,
) -> anyhow::Result<u64> {
    let since = ago(window);
    let mut after: Option<String> = None;
    let mut opened = 0;
    loop {
        let page = payout::paid_since(db, since, after.as_deref(), PAGE)
            .await
            .context("could not list paid payouts")?;
        let Some(last) = page.last() else {
            return Ok(opened);
        };
        after = Some(last.id.clone());
        for p in &page {
            let asked = tokio::time::timeout(timeout, bank.status(&p.bank_request_id)).await;
            let reason = match asked {
                Ok(Ok(TransferStatus::Returned { reason })) => reason,
                Ok(Ok(_)) => continue,
                Err(_) => {
                    tracing::warn!(payout = %p.id, "the bank did not answer about a paid payout; asking again next time");
                    continue;
                }
                Ok(Err(e)) => {
                    tracing::warn!(payout = %p.id, error = %e, "could not ask the bank about a paid payout; asking again next time");
                    continue;
                }
            };
            let net = p.amount - p.fee;
            let (case, new) = cases::open(
                db,
                NewCase {
                    kind: CaseKind::PayoutReturnedByBank,
                    subject: format!("payout:{}", p.id),
                    user_id: p.streamer_id.clone(),
                    top_up_id: None,
                    payment_key: None,
                    payout_id: Some(p.id.clone()),
                    amount: net,
                    detail: format!(
                        "the bank sent back the {net} won of payout {} to {} {}: {reason}",
                        p.id, p.bank_code, p.account_masked
                    ),
                },
            )
            .await
            .context("could not open a case for a returned payout")?;
            if new {
                opened += 1;
                missionlink_telemetry::metrics().reconciliation_case(case.kind.as_str());
                tracing::error!(case = %case.id, payout = %p.id, amount = net,
                    "the bank sent a paid payout back: a reconciliation case is open");
            }
        }
    }
}
