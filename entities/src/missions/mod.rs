//! Tables of the missions (money) database.

pub mod account;
pub mod idempotency_key;
pub mod transfer;
