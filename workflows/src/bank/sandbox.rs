//! The sandbox bank (`BANK_PROVIDER=sandbox`): it pays no one. It keeps its books in
//! `bank_sandbox_transfers` (one row per request id, with how often it was submitted), so tests
//! and operators can see that each payout reached the bank exactly once, and resolves each
//! transfer as `BANK_SANDBOX_OUTCOME` says when its status is first asked for. A completed
//! transfer whose row is given a `returned_at` (by hand, to try the path) is answered RETURNED
//! from then on, as a real bank reports a transfer the receiving account sent back.

use super::{BankError, BankProvider, SandboxOutcome, TransferRequest, TransferStatus};
use chrono::Utc;
use futures::FutureExt;
use futures::future::BoxFuture;
use missionlink_entities::missions::bank_sandbox_transfer as row;
use missionlink_entities::missions::status::BankTransferStatus;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// The reason the sandbox gives a failed transfer.
pub const FAIL_REASON: &str =
    "sandbox bank: the receiving bank refused the transfer (BANK_SANDBOX_OUTCOME=fail)";

pub struct SandboxBank {
    db: DatabaseConnection,
    outcome: SandboxOutcome,
}

impl SandboxBank {
    pub fn new(db: DatabaseConnection, outcome: SandboxOutcome) -> Self {
        Self { db, outcome }
    }

    fn transient(e: sea_orm::DbErr) -> BankError {
        BankError::Transient(format!("sandbox bank's books: {e}"))
    }

    async fn record(&self, r: &TransferRequest) -> Result<TransferStatus, BankError> {
        let now = Utc::now();
        // One row per request id: a repeated submit counts, it never adds a transfer.
        row::Entity::insert(row::ActiveModel {
            request_id: Set(r.request_id.clone()),
            bank_code: Set(r.bank_code.clone()),
            account_number: Set(r.account_number.clone()),
            holder_name: Set(r.holder_name.clone()),
            amount: Set(r.amount_won),
            status: Set(BankTransferStatus::Pending),
            failure_reason: Set(None),
            submissions: Set(1),
            received_at: Set(now),
            resolved_at: Set(None),
            returned_at: Set(None),
            return_reason: Set(None),
        })
        .on_conflict(
            OnConflict::column(row::Column::RequestId)
                .value(
                    row::Column::Submissions,
                    Expr::col((row::Entity, row::Column::Submissions)).add(1),
                )
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(Self::transient)?;
        if self.outcome == SandboxOutcome::Timeout {
            // Received, never answered: the caller's timeout ends the call.
            return std::future::pending().await;
        }
        let found = row::Entity::find_by_id(r.request_id.clone())
            .one(&self.db)
            .await
            .map_err(Self::transient)?
            .ok_or_else(|| BankError::Transient("sandbox bank lost a transfer".into()))?;
        Ok(status_of(&found))
    }

    async fn resolve(&self, request_id: &str) -> Result<TransferStatus, BankError> {
        let found = row::Entity::find_by_id(request_id.to_owned())
            .one(&self.db)
            .await
            .map_err(Self::transient)?
            .ok_or_else(|| {
                BankError::Permanent(format!("no transfer with request id {request_id}"))
            })?;
        if found.status != BankTransferStatus::Pending {
            return Ok(status_of(&found));
        }
        let (status, reason) = match self.outcome {
            SandboxOutcome::Timeout => return std::future::pending().await,
            SandboxOutcome::Succeed => (BankTransferStatus::Completed, None),
            SandboxOutcome::Fail => (BankTransferStatus::Failed, Some(FAIL_REASON.to_owned())),
        };
        // Resolved once: a later question gets the same answer whatever the outcome is then.
        row::Entity::update_many()
            .col_expr(row::Column::Status, Expr::value(status.as_str()))
            .col_expr(row::Column::FailureReason, Expr::value(reason))
            .col_expr(row::Column::ResolvedAt, Expr::value(Utc::now()))
            .filter(row::Column::RequestId.eq(request_id))
            .filter(row::Column::Status.eq(BankTransferStatus::Pending))
            .exec(&self.db)
            .await
            .map_err(Self::transient)?;
        let found = row::Entity::find_by_id(request_id.to_owned())
            .one(&self.db)
            .await
            .map_err(Self::transient)?
            .ok_or_else(|| BankError::Transient("sandbox bank lost a transfer".into()))?;
        Ok(status_of(&found))
    }
}

fn status_of(r: &row::Model) -> TransferStatus {
    match r.status {
        BankTransferStatus::Pending => TransferStatus::Pending,
        BankTransferStatus::Completed if r.returned_at.is_some() => TransferStatus::Returned {
            reason: r.return_reason.clone().unwrap_or_default(),
        },
        BankTransferStatus::Completed => TransferStatus::Completed,
        BankTransferStatus::Failed => TransferStatus::Failed {
            reason: r.failure_reason.clone().unwrap_or_default(),
        },
    }
}

impl BankProvider for SandboxBank {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn submit<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<TransferStatus, BankError>> {
        self.record(request).boxed()
    }

    fn status<'a>(
        &'a self,
        request_id: &'a str,
    ) -> BoxFuture<'a, Result<TransferStatus, BankError>> {
        self.resolve(request_id).boxed()
    }
}
