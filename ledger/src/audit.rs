//! The audit of the money invariants over the whole missions database (BRIEF §4.8).
//!
//! It recomputes every balance from the journal of transfers and compares. It only reads.

use crate::status::{AccountKind, PayoutStatus, PledgeStatus, PredictionStatus, TopUpStatus};
use crate::{Currency, LedgerError};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, FromQueryResult, IsolationLevel, Statement,
    TransactionTrait,
};
use std::collections::BTreeMap;
use std::fmt;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which rule: `double_entry`, `materialised_balance`, `non_negative`, `transfer_shape`,
    /// `balance_after`, `statement`, `escrow`, `pledge_settlement`, `prediction_pool`,
    /// `payout`, `top_up`.
    pub check: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.check, self.detail)
    }
}

/// An account that breaks a balance rule, or (`id` None) the total of one currency.
#[derive(FromQueryResult)]
struct BalanceRow {
    id: Option<String>,
    kind: Option<AccountKind>,
    currency: String,
    balance: Option<i64>,
    materialised: Option<bool>,
    journal: Option<i64>,
    effective: i64,
}

#[derive(FromQueryResult)]
struct BadTransfer {
    id: String,
}

#[derive(FromQueryResult)]
struct MissionHeld {
    id: String,
    held: i64,
    escrow: i64,
}

#[derive(FromQueryResult)]
struct PredictionRow {
    mission_id: String,
    status: PredictionStatus,
    pool: i64,
    staked: i64,
    paid: i64,
    bad_bets: i64,
}

#[derive(FromQueryResult)]
struct BadPayout {
    id: String,
    status: PayoutStatus,
    amount: i64,
    fee: i64,
    hold: i64,
    taken: i64,
    bank: i64,
    paid: i64,
    returned: i64,
}

#[derive(FromQueryResult)]
struct BadPledge {
    id: String,
    mission_id: String,
    status: PledgeStatus,
    amount: i64,
    held: i64,
    paid: i64,
    refunded: i64,
}

/// Every transfer as two signed movements: its amount into the credit account and out of the
/// debit account. Summed per account, the journal balance.
const MOVEMENTS: &str = "SELECT credit_account_id AS account_id, amount AS delta FROM transfers \
     UNION ALL SELECT debit_account_id AS account_id, -amount AS delta FROM transfers";

/// The journal balance of every account of `kind` (escrows, pools), by owner (the mission): one
/// pass over the journal for all of them, not a sum per mission.
fn owners_balances(kind: AccountKind) -> String {
    format!(
        "SELECT a.owner_id AS mission_id, SUM(j.delta) AS balance \
         FROM accounts a JOIN ({MOVEMENTS}) j ON j.account_id = a.id \
         WHERE a.kind = '{kind}' GROUP BY a.owner_id"
    )
}

/// Checks invariants 2 (double entry) and 3 (no negative wallet); returns every violation.
///
/// Every query reads the same snapshot (a read-only REPEATABLE READ transaction on Postgres,
/// a read transaction on SQLite's WAL), so a transfer committing while the audit runs can never
/// look like money appearing or vanishing.
pub async fn run(db: &DatabaseConnection) -> Result<Vec<Violation>, LedgerError> {
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let violations = run_in(&txn).await?;
    txn.rollback().await?;
    Ok(violations)
}

async fn run_in<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
    let backend = db.get_database_backend();
    let mut violations = Vec::new();

    // Each transfer: amount > 0 and both accounts in the transfer's currency. The schema
    // enforces both; the audit checks that the schema still does.
    let bad = BadTransfer::find_by_statement(Statement::from_string(
        backend,
        r#"SELECT t.id AS id FROM transfers t
           JOIN accounts d ON d.id = t.debit_account_id
           JOIN accounts c ON c.id = t.credit_account_id
           WHERE t.amount <= 0 OR d.currency <> t.currency OR c.currency <> t.currency"#,
    ))
    .all(db)
    .await?;
    violations.extend(bad.into_iter().map(|t| Violation {
        check: "transfer_shape",
        detail: format!(
            "transfer {} has a non-positive amount or mixes currencies",
            t.id
        ),
    }));

    // Balances: each account's journal (credits - debits) beside its stored balance, compared
    // in the database, which returns only the accounts that break a rule and one total per
    // currency — the audit's memory does not grow with the number of accounts.
    let rows = BalanceRow::find_by_statement(Statement::from_string(
        backend,
        format!(
            r#"WITH j AS (
             SELECT account_id, SUM(delta) AS journal FROM ({MOVEMENTS}) d GROUP BY account_id
           ), a AS (
             SELECT a.id, a.kind, a.currency, a.balance, a.materialised,
                    CAST(COALESCE(j.journal, 0) AS BIGINT) AS journal,
                    CAST(CASE WHEN a.materialised THEN a.balance ELSE COALESCE(j.journal, 0) END
                         AS BIGINT) AS effective
             FROM accounts a LEFT JOIN j ON j.account_id = a.id
           )
           SELECT id, kind, currency, balance, materialised, journal, effective FROM a
           WHERE (materialised AND balance <> journal) OR (kind <> '{world}' AND effective < 0)
           UNION ALL
           SELECT NULL, NULL, currency, NULL, NULL, NULL, CAST(SUM(effective) AS BIGINT)
           FROM a GROUP BY currency"#,
            world = AccountKind::World
        ),
    ))
    .all(db)
    .await?;

    let mut totals: BTreeMap<Currency, i64> = Currency::ALL.iter().map(|c| (*c, 0)).collect();
    for a in rows {
        let Some(id) = a.id else {
            totals.insert(Currency::parse(&a.currency)?, a.effective);
            continue;
        };
        let balance = a.balance.unwrap_or(0);
        let journal = a.journal.unwrap_or(0);
        if a.materialised == Some(true) && balance != journal {
            violations.push(Violation {
                check: "materialised_balance",
                detail: format!(
                    "account {id} stores balance {balance} but its transfers sum to {journal}"
                ),
            });
        }
        if a.kind != Some(AccountKind::World) && a.effective < 0 {
            violations.push(Violation {
                check: "non_negative",
                detail: format!("account {id} has negative balance {}", a.effective),
            });
        }
    }
    violations.extend(balances_after_chain(db).await?);
    violations.extend(statements_sum_to_balances(db).await?);
    violations.extend(escrow_matches_held_pledges(db).await?);
    violations.extend(pledges_settled_exactly_once(db).await?);
    violations.extend(prediction_pools(db).await?);
    violations.extend(payouts_exactly_once(db).await?);
    violations.extend(top_ups_exactly_once(db).await?);

    for (currency, total) in totals {
        if total != 0 {
            violations.push(Violation {
                check: "double_entry",
                detail: format!(
                    "{currency} balances over all accounts (the outside world included) sum to {total}, not 0"
                ),
            });
        }
    }
    Ok(violations)
}

/// Most rows the statement checks report (one per broken entry or account): enough to see
/// the pattern, not a flood when a whole history is wrong.
const STATEMENT_REPORT_LIMIT: usize = 100;

/// Every transfer as the postings of its two accounts, each with its side, kind, `seq`, signed
/// amount and recorded balance-after.
const POSTINGS: &str = "SELECT id, seq, kind, debit_account_id AS account_id, 'D' AS side, \
       -amount AS delta, debit_balance_after AS after FROM transfers \
     UNION ALL SELECT id, seq, kind, credit_account_id AS account_id, 'C' AS side, \
       amount AS delta, credit_balance_after AS after FROM transfers";

#[derive(FromQueryResult)]
struct BrokenEntry {
    id: String,
    account_id: String,
    after: Option<i64>,
    expected: Option<i64>,
}

/// The statement's balances (issue 14): on every materialised account, each transfer's
/// recorded balance-after is the one before it (by `seq`) plus its amount, starting from zero,
/// and the last one is the stored balance; a journal-only side records none.
async fn balances_after_chain<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
    let rows = BrokenEntry::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"WITH c AS (
             SELECT p.id, p.account_id, p.after, a.materialised, a.balance,
               CAST(SUM(p.delta) OVER (PARTITION BY p.account_id ORDER BY p.seq
                    ROWS UNBOUNDED PRECEDING) AS BIGINT) AS running,
               ROW_NUMBER() OVER (PARTITION BY p.account_id ORDER BY p.seq DESC) AS from_last
             FROM ({POSTINGS}) p JOIN accounts a ON a.id = p.account_id
           )
           SELECT id, account_id, after,
             CASE WHEN materialised THEN running END AS expected
           FROM c
           WHERE (materialised AND (after IS NULL OR after <> running
                   OR (from_last = 1 AND after <> balance)))
              OR (NOT materialised AND after IS NOT NULL)
           LIMIT {STATEMENT_REPORT_LIMIT}"#
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|e| Violation {
            check: "balance_after",
            detail: format!(
                "transfer {} records balance {:?} after it on {}; the journal says {:?}",
                e.id, e.after, e.account_id, e.expected
            ),
        })
        .collect())
}

#[derive(FromQueryResult)]
struct UnevenStatement {
    id: String,
    balance: i64,
    stated: i64,
}

/// Each user's statement (issue 14) sums to their balances: every movement of a wallet or
/// earnings account is one the statement shows (`statement::SOURCES`).
async fn statements_sum_to_balances<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = UnevenStatement::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT a.id AS id, a.balance AS balance,
               CAST(SUM(CASE WHEN {shown} THEN p.delta ELSE 0 END) AS BIGINT) AS stated
           FROM accounts a JOIN ({POSTINGS}) p ON p.account_id = a.id
           WHERE a.kind IN ('{wallet}', '{earnings}')
           GROUP BY a.id, a.balance
           HAVING SUM(CASE WHEN {shown} THEN p.delta ELSE 0 END) <> a.balance
           LIMIT {STATEMENT_REPORT_LIMIT}"#,
            shown = crate::statement::shown_condition(),
            wallet = AccountKind::Wallet,
            earnings = AccountKind::Earnings,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|a| Violation {
            check: "statement",
            detail: format!(
                "the statement of {} sums to {} but the balance is {}",
                a.id, a.stated, a.balance
            ),
        })
        .collect())
}

/// Invariant 6: a mission's escrow holds exactly its HELD pledges — so after settlement, when
/// none is held, exactly zero.
async fn escrow_matches_held_pledges<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = MissionHeld::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"WITH escrow AS ({escrows}), held AS (
             SELECT mission_id, SUM(amount) AS held FROM pledges
             WHERE status = '{held}' GROUP BY mission_id
           )
           SELECT m.id AS id, CAST(COALESCE(h.held, 0) AS BIGINT) AS held,
                  CAST(COALESCE(e.balance, 0) AS BIGINT) AS escrow
           FROM missions m
           LEFT JOIN held h ON h.mission_id = m.id
           LEFT JOIN escrow e ON e.mission_id = m.id
           WHERE COALESCE(h.held, 0) <> COALESCE(e.balance, 0)"#,
            escrows = owners_balances(AccountKind::Escrow),
            held = PledgeStatus::Held
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| Violation {
            check: "escrow",
            detail: format!(
                "mission {} escrow holds {} won but its held pledges sum to {}",
                m.id, m.escrow, m.held
            ),
        })
        .collect())
}

/// Invariant 6: every pledge was held by its own transfer, and left escrow exactly once, as its
/// status says: PAID to the streamer and fee account, or REFUNDED to its backer, never both;
/// and no pledge of a settled mission is still HELD.
async fn pledges_settled_exactly_once<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<Violation>, LedgerError> {
    let rows = BadPledge::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT * FROM (
             SELECT p.id AS id, p.mission_id AS mission_id, p.status AS status, p.amount AS amount,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id = 'pledge:' || p.mission_id || ':' || p.id), 0) AS BIGINT) AS held,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id IN ('payout:' || p.mission_id || ':' || p.id,
                                'fee:' || p.mission_id || ':' || p.id)), 0) AS BIGINT) AS paid,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                 WHERE t.id = 'refund:' || p.mission_id || ':' || p.id), 0) AS BIGINT) AS refunded,
               m.settled_at AS settled_at
             FROM pledges p JOIN missions m ON m.id = p.mission_id
           ) x
           WHERE NOT (x.held = x.amount AND (
                   (x.status = '{held}' AND x.paid = 0 AND x.refunded = 0 AND x.settled_at IS NULL)
                OR (x.status = '{paid}' AND x.paid = x.amount AND x.refunded = 0)
                OR (x.status = '{refunded}' AND x.refunded = x.amount AND x.paid = 0)))"#,
            held = PledgeStatus::Held,
            paid = PledgeStatus::Paid,
            refunded = PledgeStatus::Refunded,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|p| Violation {
            check: "pledge_settlement",
            detail: format!(
                "pledge {} of mission {} is {} for {} won but was held {}, paid {}, refunded {}",
                p.id, p.mission_id, p.status, p.amount, p.held, p.paid, p.refunded
            ),
        })
        .collect())
}

/// Invariant 7: a prediction's pool holds exactly its stakes until settlement and exactly zero
/// after it; every bet's recorded payout was transferred, and the payouts sum to the pool.
async fn prediction_pools<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
    let rows = PredictionRow::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"WITH pool AS ({pools})
           SELECT p.mission_id AS mission_id, p.status AS status,
             CAST(COALESCE(pool.balance, 0) AS BIGINT) AS pool,
             CAST(COALESCE((SELECT SUM(b.points) FROM bets b WHERE b.mission_id = p.mission_id), 0) AS BIGINT) AS staked,
             CAST(COALESCE((SELECT SUM(b.payout) FROM bets b WHERE b.mission_id = p.mission_id), 0) AS BIGINT) AS paid,
             CAST((SELECT COUNT(*) FROM bets b WHERE b.mission_id = p.mission_id AND (
                 (p.status IN ('{settled}', '{refunded}') AND b.payout IS NULL)
                 OR COALESCE(b.payout, 0) <> COALESCE((SELECT SUM(t.amount) FROM transfers t
                      WHERE t.id = 'betpayout:' || b.mission_id || ':' || b.id), 0)
             )) AS BIGINT) AS bad_bets
           FROM predictions p LEFT JOIN pool ON pool.mission_id = p.mission_id"#,
            pools = owners_balances(AccountKind::Pool),
            settled = PredictionStatus::Settled,
            refunded = PredictionStatus::Refunded,
        ),
    ))
    .all(db)
    .await?;
    let mut violations = Vec::new();
    for p in rows {
        let balance = p.pool;
        let settled = matches!(
            p.status,
            PredictionStatus::Settled | PredictionStatus::Refunded
        );
        let expected = if settled { 0 } else { p.staked - p.paid };
        if balance != expected {
            violations.push(Violation {
                check: "prediction_pool",
                detail: format!(
                    "prediction of mission {} is {} and its pool holds {balance} points, expected {expected}",
                    p.mission_id, p.status
                ),
            });
        }
        if settled && p.paid != p.staked {
            violations.push(Violation {
                check: "prediction_pool",
                detail: format!(
                    "prediction of mission {} paid out {} of a {}-point pool",
                    p.mission_id, p.paid, p.staked
                ),
            });
        }
        if p.bad_bets > 0 {
            violations.push(Violation {
                check: "prediction_pool",
                detail: format!(
                    "prediction of mission {}: {} bet(s) whose payout does not match its transfer",
                    p.mission_id, p.bad_bets
                ),
            });
        }
    }
    Ok(violations)
}

/// Every payout took exactly its amount from earnings into its hold; the hold holds all of it
/// while REQUESTED or PROCESSING and nothing after; a PAID payout left its hold by exactly its
/// bank leg (the net) and fee leg, a FAILED or CANCELLED one by exactly its return — never
/// both. Each sum is an index lookup (transfer ids, and the hold's debit and credit indexes),
/// so the check costs a few lookups per payout whatever the size of the journal.
async fn payouts_exactly_once<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
    let sum = |ids: &str| {
        format!(
            "CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.id IN ({ids})), 0) AS BIGINT)"
        )
    };
    let rows = BadPayout::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT * FROM (
             SELECT p.id AS id, p.status AS status, p.amount AS amount, p.fee AS fee,
               CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t
                   WHERE t.credit_account_id = 'payout:CASH:' || p.id), 0)
                 - COALESCE((SELECT SUM(t.amount) FROM transfers t
                   WHERE t.debit_account_id = 'payout:CASH:' || p.id), 0) AS BIGINT) AS hold,
               {taken} AS taken, {bank} AS bank, {paid} AS paid, {returned} AS returned
             FROM payouts p
           ) x
           WHERE NOT (x.taken = x.amount AND (
                   (x.status IN ('{requested}', '{processing}') AND x.hold = x.amount
                      AND x.paid = 0 AND x.returned = 0)
                OR (x.status = '{paid_status}' AND x.hold = 0 AND x.paid = x.amount
                      AND x.bank = x.amount - x.fee AND x.returned = 0)
                OR (x.status IN ('{failed}', '{cancelled}') AND x.hold = 0
                      AND x.returned = x.amount AND x.paid = 0)))"#,
            taken = sum("'payoutreq:' || p.id || ':net', 'payoutreq:' || p.id || ':fee'"),
            bank = sum("'payoutpaid:' || p.id || ':bank'"),
            paid = sum("'payoutpaid:' || p.id || ':bank', 'payoutpaid:' || p.id || ':fee'"),
            returned = sum("'payoutreturn:' || p.id"),
            requested = PayoutStatus::Requested,
            processing = PayoutStatus::Processing,
            paid_status = PayoutStatus::Paid,
            failed = PayoutStatus::Failed,
            cancelled = PayoutStatus::Cancelled,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|p| Violation {
            check: "payout",
            detail: format!(
                "payout {} is {} for {} won (fee {}) but took {}, holds {}, paid {} (bank {}), returned {}",
                p.id, p.status, p.amount, p.fee, p.taken, p.hold, p.paid, p.bank, p.returned
            ),
        })
        .collect())
}

#[derive(FromQueryResult)]
struct BadTopUp {
    id: String,
    status: TopUpStatus,
    amount: i64,
    credited: i64,
    withdrawn: i64,
    returned: i64,
}

/// Every top-up moved exactly what its status says (issue 15): nothing before the provider took
/// the payment (PREPARED, CONFIRMING, FAILED); its amount in once it is CONFIRMED, with either
/// no withdrawal or a withdrawal given back whole (the provider refused to cancel); its amount
/// in and out once WITHDRAWING or WITHDRAWN. Each sum is a lookup by transfer id.
async fn top_ups_exactly_once<C: ConnectionTrait>(db: &C) -> Result<Vec<Violation>, LedgerError> {
    let sum = |id: &str| {
        format!(
            "CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.id = {id}), 0) AS BIGINT)"
        )
    };
    let rows = BadTopUp::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        format!(
            r#"SELECT * FROM (
             SELECT u.id AS id, u.status AS status, u.amount AS amount,
               {credited} AS credited, {withdrawn} AS withdrawn, {returned} AS returned
             FROM top_ups u
           ) x
           WHERE NOT (
                (x.status IN ('{prepared}', '{confirming}', '{failed}')
                   AND x.credited = 0 AND x.withdrawn = 0 AND x.returned = 0)
             OR (x.status = '{confirmed}' AND x.credited = x.amount
                   AND x.withdrawn = x.returned AND x.withdrawn IN (0, x.amount))
             OR (x.status IN ('{withdrawing}', '{withdrawn_status}') AND x.credited = x.amount
                   AND x.withdrawn = x.amount AND x.returned = 0))"#,
            credited = sum("'topup:order:' || u.order_id"),
            withdrawn = sum("'withdrawal:' || u.id"),
            returned = sum("'withdrawal-return:' || u.id"),
            prepared = TopUpStatus::Prepared,
            confirming = TopUpStatus::Confirming,
            failed = TopUpStatus::Failed,
            confirmed = TopUpStatus::Confirmed,
            withdrawing = TopUpStatus::Withdrawing,
            withdrawn_status = TopUpStatus::Withdrawn,
        ),
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|u| Violation {
            check: "top_up",
            detail: format!(
                "top-up {} is {} for {} won but credited {}, withdrew {}, returned {}",
                u.id, u.status, u.amount, u.credited, u.withdrawn, u.returned
            ),
        })
        .collect())
}
