//! What a refused request must leave alone, read from both databases.

use super::TestApp;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

impl TestApp {
    /// The rows of both databases that a refused request must leave alone (users, tokens,
    /// guardians' consents, throttles, accounts, transfers, idempotency keys, top-ups, their
    /// receipts, days and minors' months, missions, pledges, bets, the workflow outbox and
    /// reconciliation cases), in a stable order: equal snapshots mean nothing changed.
    pub async fn snapshot(&self) -> String {
        use missionlink_entities::missions::{
            account, bet, idempotency_key, mission, pledge, reconciliation_case, top_up,
            topup_receipt, transfer, workflow_outbox,
        };
        use missionlink_entities::users::{guardian_consent, login_throttle, refresh_token, user};
        let u = &self.db.users;
        let m = &self.db.missions;
        let days: Vec<(String, String, i64)> = m
            .query_all_raw(sea_orm::Statement::from_string(
                m.get_database_backend(),
                "SELECT user_id, day, total_won FROM topup_days ORDER BY user_id, day",
            ))
            .await
            .expect("top-up days")
            .iter()
            .map(|r| {
                (
                    r.try_get("", "user_id").expect("user_id"),
                    r.try_get("", "day").expect("day"),
                    r.try_get("", "total_won").expect("total_won"),
                )
            })
            .collect();
        let months: Vec<(String, String, i64)> = m
            .query_all_raw(sea_orm::Statement::from_string(
                m.get_database_backend(),
                "SELECT limit_key, month, total_won FROM topup_months ORDER BY limit_key, month",
            ))
            .await
            .expect("top-up months")
            .iter()
            .map(|r| {
                (
                    r.try_get("", "limit_key").expect("limit_key"),
                    r.try_get("", "month").expect("month"),
                    r.try_get("", "total_won").expect("total_won"),
                )
            })
            .collect();
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{days:?}\n{months:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            user::Entity::find()
                .order_by_asc(user::Column::Id)
                .all(u)
                .await
                .expect("users"),
            refresh_token::Entity::find()
                .order_by_asc(refresh_token::Column::Id)
                .all(u)
                .await
                .expect("refresh tokens"),
            guardian_consent::Entity::find()
                .order_by_asc(guardian_consent::Column::UserId)
                .all(u)
                .await
                .expect("guardian consents"),
            // Less the card-testing counters (`api/src/card_testing.rs`), which count refused
            // top-ups by design: a refusal leaves everything else as it was.
            login_throttle::Entity::find()
                .filter(login_throttle::Column::Bucket.not_like("topup-fail-%"))
                .order_by_asc(login_throttle::Column::Bucket)
                .all(u)
                .await
                .expect("throttle"),
            account::Entity::find()
                .order_by_asc(account::Column::Id)
                .all(m)
                .await
                .expect("accounts"),
            transfer::Entity::find()
                .order_by_asc(transfer::Column::Id)
                .all(m)
                .await
                .expect("transfers"),
            idempotency_key::Entity::find()
                .order_by_asc(idempotency_key::Column::UserId)
                .order_by_asc(idempotency_key::Column::Key)
                .all(m)
                .await
                .expect("idempotency keys"),
            top_up::Entity::find()
                .order_by_asc(top_up::Column::Id)
                .all(m)
                .await
                .expect("top-ups"),
            topup_receipt::Entity::find()
                .order_by_asc(topup_receipt::Column::TopUpId)
                .order_by_asc(topup_receipt::Column::Event)
                .all(m)
                .await
                .expect("top-up receipts"),
            mission::Entity::find()
                .order_by_asc(mission::Column::Id)
                .all(m)
                .await
                .expect("missions"),
            pledge::Entity::find()
                .order_by_asc(pledge::Column::Id)
                .all(m)
                .await
                .expect("pledges"),
            bet::Entity::find()
                .order_by_asc(bet::Column::Id)
                .all(m)
                .await
                .expect("bets"),
            // What each entry asks of its workflow; not whether the background hand-off that
            // follows every commit (or the relay) has delivered it yet, which races the test.
            workflow_outbox::Entity::find()
                .order_by_asc(workflow_outbox::Column::MissionId)
                .all(m)
                .await
                .expect("workflow outbox")
                .into_iter()
                .map(|o| {
                    (
                        o.mission_id,
                        o.created_at,
                        o.pending_signal,
                        o.signal_requested_at,
                        o.pending_action,
                    )
                })
                .collect::<Vec<_>>(),
            reconciliation_case::Entity::find()
                .order_by_asc(reconciliation_case::Column::Id)
                .all(m)
                .await
                .expect("reconciliation cases"),
        )
    }
}
