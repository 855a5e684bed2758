//! Rows that name rows which do not exist. On Postgres the pledge path's foreign keys are gone
//! (missions migration 000023: each was a probe and a shared lock per row inserted), because the
//! ledger writes these rows only beside what they name; this check is what holds it to that.

use super::Violation;
use crate::LedgerError;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

#[derive(FromQueryResult)]
struct Orphan {
    detail: String,
}

/// Every transfer's two accounts (in its currency), every pledge's mission, and every event's
/// mission, prediction (the streamer's own) and pledge exist; a `PREDICTION_*` event names its
/// prediction and any other event its mission (a streamer's test event names made-up ones: it
/// has none).
pub(super) async fn nothing_names_what_is_not_there<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = Orphan::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        r#"SELECT 'transfer ' || t.id || ' debits ' || t.debit_account_id
                  || ', which is no ' || t.currency || ' account' AS detail
           FROM transfers t LEFT JOIN accounts a
             ON a.id = t.debit_account_id AND a.currency = t.currency
           WHERE a.id IS NULL
           UNION ALL
           SELECT 'transfer ' || t.id || ' credits ' || t.credit_account_id
                  || ', which is no ' || t.currency || ' account'
           FROM transfers t LEFT JOIN accounts a
             ON a.id = t.credit_account_id AND a.currency = t.currency
           WHERE a.id IS NULL
           UNION ALL
           SELECT 'pledge ' || p.id || ' backs mission ' || p.mission_id || ', which does not exist'
           FROM pledges p LEFT JOIN missions m ON m.id = p.mission_id
           WHERE m.id IS NULL
           UNION ALL
           SELECT 'event ' || e.seq || ' of streamer ' || e.streamer_id || ' names mission '
                  || e.mission_id || ', which does not exist'
           FROM mission_events e LEFT JOIN missions m ON m.id = e.mission_id
           WHERE e.mission_id IS NOT NULL AND m.id IS NULL AND e.test_payload IS NULL
           UNION ALL
           SELECT 'event ' || e.seq || ' of streamer ' || e.streamer_id || ' (' || e.kind
                  || ') names no prediction of theirs, or a mission event names none'
           FROM mission_events e LEFT JOIN streamer_predictions sp
             ON sp.id = e.prediction_id AND sp.streamer_id = e.streamer_id
           WHERE e.test_payload IS NULL AND (
             (e.kind IN ('PREDICTION_OPENED', 'PREDICTION_LOCKED', 'PREDICTION_RESOLVED'))
               <> (e.prediction_id IS NOT NULL)
             OR (e.prediction_id IS NOT NULL AND sp.id IS NULL)
             OR (e.prediction_id IS NULL AND e.mission_id IS NULL))
           UNION ALL
           SELECT 'event ' || e.seq || ' of streamer ' || e.streamer_id || ' names pledge '
                  || e.pledge_id || ', which does not exist'
           FROM mission_events e LEFT JOIN pledges p ON p.id = e.pledge_id
           WHERE e.pledge_id IS NOT NULL AND p.id IS NULL AND e.test_payload IS NULL"#,
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|o| Violation {
            check: "orphan",
            detail: o.detail,
        })
        .collect())
}
