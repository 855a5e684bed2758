//! Migrator of the missions (money) database.

use sea_orm_migration::prelude::*;

mod m20261125_000001_ledger;
mod m20261125_000002_missions;
mod m20261125_000003_predictions;
mod m20261126_000004_email_outcomes;
mod m20261126_000005_kind_checks;
mod m20261126_000006_list_indexes;
mod m20261126_000007_mission_events;
mod m20261126_000008_channel;
mod m20261126_000009_moderators;
mod m20261126_000010_statement;
mod m20261126_000011_payouts;
mod m20261126_000012_topups;
mod m20261126_000013_disputes;
mod m20261206_000014_payout_holds;
mod m20261206_000015_topup_order_expiry;
mod m20261206_000016_streamer_decisions;
mod m20261206_000017_payment_customers;
mod m20261206_000018_topup_limit_keys;
mod m20261206_000019_topup_months;
mod m20261206_000020_reconciliation;
mod m20261206_000021_cash_refunds;
mod m20261206_000022_mission_totals;
mod m20261206_000023_hot_path_checks;
mod m20261206_000024_settlement_index;
mod m20261207_000025_withdrawals;
mod m20261207_000026_verdict_evidence;
mod m20261207_000027_goals;
mod m20261207_000028_webhooks;
mod m20261207_000029_daily_points;
mod m20261207_000030_streamer_predictions;
mod m20261207_000031_pledge_batch;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_ledger::Migration),
            Box::new(m20261125_000002_missions::Migration),
            Box::new(m20261125_000003_predictions::Migration),
            Box::new(m20261126_000004_email_outcomes::Migration),
            Box::new(m20261126_000005_kind_checks::Migration),
            Box::new(m20261126_000006_list_indexes::Migration),
            Box::new(m20261126_000007_mission_events::Migration),
            Box::new(m20261126_000008_channel::Migration),
            Box::new(m20261126_000009_moderators::Migration),
            Box::new(m20261126_000010_statement::Migration),
            Box::new(m20261126_000011_payouts::Migration),
            Box::new(m20261126_000012_topups::Migration),
            Box::new(m20261126_000013_disputes::Migration),
            Box::new(m20261206_000014_payout_holds::Migration),
            Box::new(m20261206_000015_topup_order_expiry::Migration),
            Box::new(m20261206_000016_streamer_decisions::Migration),
            Box::new(m20261206_000017_payment_customers::Migration),
            Box::new(m20261206_000018_topup_limit_keys::Migration),
            Box::new(m20261206_000019_topup_months::Migration),
            Box::new(m20261206_000020_reconciliation::Migration),
            Box::new(m20261206_000021_cash_refunds::Migration),
            Box::new(m20261206_000022_mission_totals::Migration),
            Box::new(m20261206_000023_hot_path_checks::Migration),
            Box::new(m20261206_000024_settlement_index::Migration),
            Box::new(m20261207_000025_withdrawals::Migration),
            Box::new(m20261207_000026_verdict_evidence::Migration),
            Box::new(m20261207_000027_goals::Migration),
            Box::new(m20261207_000028_webhooks::Migration),
            Box::new(m20261207_000029_daily_points::Migration),
            Box::new(m20261207_000030_streamer_predictions::Migration),
            Box::new(m20261207_000031_pledge_batch::Migration),
        ]
    }
}
