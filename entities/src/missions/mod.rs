//! Tables of the missions (money) database.

pub mod account;
pub mod bank_sandbox_transfer;
pub mod bet;
pub mod channel_moderator;
pub mod email_delivery;
pub mod idempotency_key;
pub mod mission;
pub mod mission_event;
pub mod moderation_action;
pub mod objection;
pub mod operator_action;
pub mod payment_customer;
pub mod payment_discrepancy;
pub mod payment_webhook_event;
pub mod payout;
pub mod payout_account;
pub mod payout_receipt;
pub mod pledge;
pub mod prediction;
pub mod status;
pub mod streamer_feed;
pub mod streamer_setting;
pub mod top_up;
pub mod topup_receipt;
pub mod transfer;
pub mod workflow_outbox;
