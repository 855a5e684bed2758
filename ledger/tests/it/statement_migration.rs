//! The statement migration on a ledger written before it, on PostgreSQL and SQLite: the
//! existing transfers numbered and their balances-after filled in, and the ledger's next
//! transfer continuing the chain.

use missionlink_testdb::TestDatabases;
use sea_orm::{ConnectionTrait, Statement};

/// The statement migration numbers a database's existing transfers and fills in their
/// balances-after, so a ledger written before it audits clean after it (both backends).
#[tokio::test]
async fn the_statement_migration_backfills_existing_transfers() {
    use missionlink_migration::Migrate as _;
    for dbs in [
        TestDatabases::postgres_empty().await,
        TestDatabases::sqlite(),
    ] {
        let db = sea_orm::Database::connect(&dbs.missions_url)
            .await
            .expect("connect");
        let backend = db.get_database_backend();
        missionlink_migration::missions::Migrator::up(&db, Some(9))
            .await
            .expect("migrate to 9");
        let now = if backend == sea_orm::DbBackend::Postgres {
            "now()"
        } else {
            "CURRENT_TIMESTAMP"
        };
        let t = if backend == sea_orm::DbBackend::Postgres {
            "TRUE"
        } else {
            "1"
        };
        let f = if backend == sea_orm::DbBackend::Postgres {
            "FALSE"
        } else {
            "0"
        };
        for sql in [
            format!(
                "INSERT INTO accounts (id, kind, owner_id, currency, balance, materialised, created_at) VALUES \
                 ('world:CASH', 'WORLD', NULL, 'CASH', 0, {f}, {now}), \
                 ('wallet:CASH:u', 'WALLET', 'u', 'CASH', 7000, {t}, {now}), \
                 ('escrow:CASH:m', 'ESCROW', 'm', 'CASH', 0, {f}, {now})"
            ),
            format!(
                "INSERT INTO transfers (id, debit_account_id, credit_account_id, currency, amount, kind, created_at) VALUES \
                 ('topup:u:1', 'world:CASH', 'wallet:CASH:u', 'CASH', 10000, 'TOPUP', {now}), \
                 ('refund:m:p', 'escrow:CASH:m', 'wallet:CASH:u', 'CASH', 1000, 'REFUND', {now}), \
                 ('pledge:m:p', 'wallet:CASH:u', 'escrow:CASH:m', 'CASH', 4000, 'PLEDGE', {now})"
            ),
        ] {
            db.execute_unprepared(&sql).await.expect("seed");
        }
        missionlink_migration::missions::Migrator::up(&db, None)
            .await
            .expect("migrate the rest");
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, seq, debit_balance_after, credit_balance_after FROM transfers ORDER BY seq",
            ))
            .await
            .expect("read");
        let got: Vec<(String, i64, Option<i64>, Option<i64>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "id").expect("id"),
                    r.try_get("", "seq").expect("seq"),
                    r.try_get("", "debit_balance_after").expect("debit"),
                    r.try_get("", "credit_balance_after").expect("credit"),
                )
            })
            .collect();
        // One instant: money in before money spent, then by id.
        assert_eq!(
            got,
            [
                ("refund:m:p".to_owned(), 1, None, Some(1000)),
                ("topup:u:1".to_owned(), 2, None, Some(11000)),
                ("pledge:m:p".to_owned(), 3, Some(7000), None),
            ],
            "{backend:?}"
        );
        // New transfers continue the numbering.
        let next = missionlink_ledger::transfer::apply(
            &db,
            &missionlink_ledger::Transfer {
                id: "topup:u:2".into(),
                debit: missionlink_ledger::AccountId::world(missionlink_ledger::Currency::Cash),
                credit: missionlink_ledger::AccountId::wallet(
                    missionlink_ledger::Currency::Cash,
                    "u",
                ),
                amount: missionlink_ledger::Amount::new(500).expect("amount"),
                kind: missionlink_ledger::status::TransferKind::Topup,
            },
        )
        .await
        .expect("apply");
        assert_eq!(next, missionlink_ledger::transfer::Applied::Now);
        let last = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT seq, credit_balance_after FROM transfers WHERE id = 'topup:u:2'",
            ))
            .await
            .expect("read")
            .expect("row");
        assert_eq!(last.try_get::<i64>("", "seq").expect("seq"), 4);
        assert_eq!(
            last.try_get::<Option<i64>>("", "credit_balance_after")
                .expect("after"),
            Some(7500)
        );
    }
}
