//! The sandbox payment provider (`PAYMENT_PROVIDER=sandbox`): takes no money. Every confirm is
//! DONE for the amount asked, every cancel CANCELED; it keeps no books, so a look-up knows no
//! payment. The default in dev; `APP_ENV=production` refuses it at start-up.

use super::{Payment, PaymentError, PaymentProvider, PaymentStatus};
use chrono::Utc;

pub struct SandboxPayments;

#[async_trait::async_trait]
impl PaymentProvider for SandboxPayments {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount_won: i64,
    ) -> Result<Payment, PaymentError> {
        Ok(Payment {
            payment_key: payment_key.to_owned(),
            order_id: order_id.to_owned(),
            status: PaymentStatus::Done,
            total_amount_won: amount_won,
            balance_amount_won: amount_won,
            approved_at: Some(Utc::now()),
        })
    }

    async fn payment(&self, _payment_key: &str) -> Result<Payment, PaymentError> {
        Err(PaymentError::Refused {
            status: 404,
            code: "NOT_FOUND_PAYMENT".into(),
            message: "the sandbox payment provider keeps no payments".into(),
        })
    }

    async fn cancel(
        &self,
        payment_key: &str,
        _reason: &str,
        _idempotency_key: &str,
        _amount_won: Option<i64>,
    ) -> Result<Payment, PaymentError> {
        // The sandbox keeps no payments: what is left after the cancel is unknown, and the
        // answer says the cancel happened (whole or in part).
        Ok(Payment {
            payment_key: payment_key.to_owned(),
            order_id: String::new(),
            status: PaymentStatus::Canceled,
            total_amount_won: 0,
            balance_amount_won: 0,
            approved_at: None,
        })
    }
}
