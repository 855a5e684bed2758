//! A user's statement: every movement of their cash, points and earnings, newest first, read
//! from the journal itself (issue 14). Each entry is one side of a transfer on one of the user's
//! accounts, with the balance that account had right after it, as the transfer recorded it.
//!
//! A page is one range read per (account, side, kind) the statement shows — a handful of index
//! ranges of at most a page each, merged by `seq` — so it costs the same at the newest entry of
//! a 100,000-movement history as at its oldest, filtered by kind or not.

use crate::listing::{Key, Page, SortValue, Window};
use crate::sql::param;
use crate::status::TransferKind;
use crate::{AccountId, Currency, LedgerError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, Statement, Value};

/// Which of a user's balances an entry moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    Cash,
    Points,
    Earnings,
    /// What the user owes (a receivable: at most zero).
    Owed,
}

impl Balance {
    fn account(self, user_id: &str) -> AccountId {
        match self {
            Balance::Cash => AccountId::wallet(Currency::Cash, user_id),
            Balance::Points => AccountId::wallet(Currency::Points, user_id),
            Balance::Earnings => AccountId::earnings(user_id),
            Balance::Owed => AccountId::receivable(user_id),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Balance::Cash => "CASH",
            Balance::Points => "POINTS",
            Balance::Earnings => "EARNINGS",
            Balance::Owed => "OWED",
        }
    }

    fn parse(s: &str) -> Result<Self, LedgerError> {
        match s {
            "CASH" => Ok(Balance::Cash),
            "POINTS" => Ok(Balance::Points),
            "EARNINGS" => Ok(Balance::Earnings),
            "OWED" => Ok(Balance::Owed),
            other => Err(LedgerError::Corrupt(format!("statement balance {other}"))),
        }
    }
}

/// What an entry is, as the user reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Cash in from the payment provider.
    TopUp,
    /// A withdrawn top-up: cash back out to the payment provider.
    Withdrawal,
    /// A withdrawal the payment provider refused: the cash back in.
    WithdrawalReturned,
    /// Cash held in a mission's escrow.
    Pledge,
    /// A held pledge back (failure, rejection, expiry).
    Refund,
    /// A pledge its backer withdrew while the mission was PENDING, back at once.
    PledgeWithdrawn,
    /// A successful mission's pledges, less the fee, into the streamer's earnings.
    PayoutReceived,
    /// Earnings out to the streamer's bank account (held from the request on).
    PayoutToBank,
    /// The fee of a payout to the bank.
    PayoutFee,
    /// A failed or cancelled payout's amount (fee included) back into earnings.
    PayoutReturned,
    /// Points staked on a prediction.
    Bet,
    /// Points won.
    BetPayout,
    /// Points back from a prediction nobody won.
    BetRefund,
    /// A new user's starting points.
    SignupPoints,
    /// Points claimed for the day (`claimDailyPoints`).
    DailyPoints,
    /// Cash the payment provider gave back to the card after it was credited (a top-up
    /// cancelled at the provider), taken from the wallet by an operator's reconciliation.
    ProviderReversal,
    /// What such a reversal could not take from the wallet, recorded as owed.
    Owed,
    /// Cash paying back what is owed, taken first from a top-up or refund.
    Repayment,
    /// The same repayment, as what is owed shrinks.
    OwedRepaid,
    /// Cash refunded to the user's refund account (held from the request on).
    CashRefund,
    /// The fee of a cash refund.
    CashRefundFee,
    /// A failed or cancelled cash refund's amount, fee included, back in the cash.
    CashRefundReturned,
}

/// Whether the user's account was the transfer's debit or credit side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    fn column(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }
}

/// Where the statement's entries come from: a kind of transfer on one side of one balance.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    pub balance: Balance,
    pub side: Side,
    pub transfer: TransferKind,
    pub entry: EntryKind,
}

const fn source(balance: Balance, side: Side, transfer: TransferKind, entry: EntryKind) -> Source {
    Source {
        balance,
        side,
        transfer,
        entry,
    }
}

/// Every movement a user's accounts take part in. The audit checks that each user's entries,
/// read through this table, sum to their balances: a transfer kind missing here would show as
/// a statement that does not add up.
pub const SOURCES: &[Source] = &[
    source(
        Balance::Cash,
        Side::Credit,
        TransferKind::Topup,
        EntryKind::TopUp,
    ),
    source(
        Balance::Cash,
        Side::Debit,
        TransferKind::Withdrawal,
        EntryKind::Withdrawal,
    ),
    source(
        Balance::Cash,
        Side::Credit,
        TransferKind::WithdrawalReturn,
        EntryKind::WithdrawalReturned,
    ),
    source(
        Balance::Cash,
        Side::Debit,
        TransferKind::Pledge,
        EntryKind::Pledge,
    ),
    source(
        Balance::Cash,
        Side::Credit,
        TransferKind::Refund,
        EntryKind::Refund,
    ),
    source(
        Balance::Cash,
        Side::Credit,
        TransferKind::PledgeWithdrawal,
        EntryKind::PledgeWithdrawn,
    ),
    source(
        Balance::Earnings,
        Side::Credit,
        TransferKind::Payout,
        EntryKind::PayoutReceived,
    ),
    source(
        Balance::Earnings,
        Side::Debit,
        TransferKind::BankPayout,
        EntryKind::PayoutToBank,
    ),
    source(
        Balance::Earnings,
        Side::Debit,
        TransferKind::PayoutFee,
        EntryKind::PayoutFee,
    ),
    source(
        Balance::Earnings,
        Side::Credit,
        TransferKind::PayoutReturn,
        EntryKind::PayoutReturned,
    ),
    source(
        Balance::Cash,
        Side::Debit,
        TransferKind::ProviderReversal,
        EntryKind::ProviderReversal,
    ),
    source(
        Balance::Cash,
        Side::Debit,
        TransferKind::Repayment,
        EntryKind::Repayment,
    ),
    source(
        Balance::Cash,
        Side::Debit,
        TransferKind::CashRefund,
        EntryKind::CashRefund,
    ),
    source(
        Balance::Cash,
        Side::Debit,
        TransferKind::CashRefundFee,
        EntryKind::CashRefundFee,
    ),
    source(
        Balance::Cash,
        Side::Credit,
        TransferKind::CashRefundReturn,
        EntryKind::CashRefundReturned,
    ),
    source(
        Balance::Owed,
        Side::Debit,
        TransferKind::Owed,
        EntryKind::Owed,
    ),
    source(
        Balance::Owed,
        Side::Credit,
        TransferKind::Repayment,
        EntryKind::OwedRepaid,
    ),
    source(
        Balance::Points,
        Side::Credit,
        TransferKind::SignupGrant,
        EntryKind::SignupPoints,
    ),
    source(
        Balance::Points,
        Side::Credit,
        TransferKind::DailyPoints,
        EntryKind::DailyPoints,
    ),
    source(
        Balance::Points,
        Side::Debit,
        TransferKind::Bet,
        EntryKind::Bet,
    ),
    source(
        Balance::Points,
        Side::Credit,
        TransferKind::BetPayout,
        EntryKind::BetPayout,
    ),
    source(
        Balance::Points,
        Side::Credit,
        TransferKind::BetRefund,
        EntryKind::BetRefund,
    ),
];

/// One line of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The transfer's id.
    pub id: String,
    pub seq: i64,
    pub kind: EntryKind,
    pub balance: Balance,
    /// Into the account (positive) or out of it (negative), in won or points.
    pub amount: i64,
    /// The account's balance right after this entry.
    pub balance_after: i64,
    /// The mission it concerns (a pledge, refund, payout received or bet).
    pub mission_id: Option<String>,
    /// The payout it concerns (to the bank, its fee, or back).
    pub payout_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// The tag of the statement's order in its cursors.
const ORDER: &str = "statement";

/// The sources shown for `kinds` (every one when empty), with their places in [`SOURCES`].
fn shown(kinds: &[EntryKind]) -> impl Iterator<Item = (usize, &'static Source)> + '_ {
    SOURCES
        .iter()
        .enumerate()
        .filter(move |(_, s)| kinds.is_empty() || kinds.contains(&s.entry))
}

fn seq_of(key: &Key) -> Result<i64, LedgerError> {
    match (&key.order[..], &key.sort) {
        (ORDER, Some(SortValue::Int(seq))) => Ok(*seq),
        _ => Err(LedgerError::invalid(
            "after",
            "the cursor belongs to another list",
        )),
    }
}

/// The SQL of the user's entries of `kinds` with `seq` in the given bounds (exclusive), in one
/// direction, at most `limit` of them, and its bound values.
fn entries_sql(
    backend: sea_orm::DatabaseBackend,
    user_id: &str,
    kinds: &[EntryKind],
    (older_than, newer_than): (Option<i64>, Option<i64>),
    descending: bool,
    limit: u64,
) -> (String, Vec<Value>) {
    let dir = if descending { "DESC" } else { "ASC" };
    let mut values: Vec<Value> = Vec::new();
    let mut branches = Vec::new();
    for (i, s) in shown(kinds) {
        let side = s.side.column();
        let other = s.side.other().column();
        values.push(s.balance.account(user_id).as_str().to_owned().into());
        let mut cond = format!(
            "{side}_account_id = {} AND kind = '{}'",
            param(backend, values.len()),
            s.transfer.as_str()
        );
        for (bound, op) in [(older_than, "<"), (newer_than, ">")] {
            if let Some(seq) = bound {
                values.push(seq.into());
                cond.push_str(&format!(" AND seq {op} {}", param(backend, values.len())));
            }
        }
        // Each branch is one index range (transfers_<side>_statement), cut at the page size
        // before the merge.
        branches.push(format!(
            "SELECT * FROM (SELECT id, seq, amount, created_at, {side}_balance_after AS balance_after, \
               {other}_account_id AS other, '{balance}' AS balance, '{side}' AS side, \
               kind, CAST({i} AS BIGINT) AS source \
             FROM transfers WHERE {cond} ORDER BY seq {dir} LIMIT {limit}) b{i}",
            balance = s.balance.as_str(),
        ));
    }
    let sql = format!(
        "SELECT * FROM ({}) entries ORDER BY seq {dir} LIMIT {limit}",
        branches.join(" UNION ALL ")
    );
    (sql, values)
}

/// The page `window` of `user_id`'s statement, newest first, showing only `kinds` (every kind
/// when `kinds_given` is false; an empty list given is refused).
///
/// Entries appear in `seq` order, which is commit order on each account but not across a
/// user's three accounts: a movement of one can commit just after a later-numbered movement of
/// another. A client that wants what is new reads the first page again rather than paging
/// `before` the newest cursor it has.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    kinds: &[EntryKind],
    kinds_given: bool,
    window: &Window,
) -> Result<Page<Entry>, LedgerError> {
    if kinds.is_empty() && kinds_given {
        return Err(LedgerError::invalid(
            "kind",
            "kind lists no kind: give at least one, or leave it out for every kind",
        ));
    }
    let backend = db.get_database_backend();
    let older_than = window.after.as_ref().map(seq_of).transpose()?;
    let newer_than = window.before.as_ref().map(seq_of).transpose()?;
    // Newest first: reading from the end is reading oldest first.
    let descending = !window.from_end;
    let (sql, values) = entries_sql(
        backend,
        user_id,
        kinds,
        (older_than, newer_than),
        descending,
        window.limit.saturating_add(1),
    );
    let found = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let more = u64::try_from(found.len()).unwrap_or(u64::MAX) > window.limit;
    let mut rows = found
        .iter()
        .take(usize::try_from(window.limit).unwrap_or(usize::MAX))
        .map(|r| {
            let entry = entry_of(r)?;
            let key = Key {
                order: ORDER.to_owned(),
                sort: Some(SortValue::Int(entry.seq)),
                id: entry.id.clone(),
            };
            Ok((key, entry))
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    if window.from_end {
        rows.reverse();
    }
    // Whether anything lies on the far side of the cursor the page was read from.
    let beyond = |bound: Option<i64>, newer: bool| async move {
        let Some(seq) = bound else {
            return Ok::<_, LedgerError>(false);
        };
        // The cursor's own entry lies outside the page: at or beyond it.
        let bounds = if newer {
            (None, Some(seq.saturating_sub(1)))
        } else {
            (Some(seq.saturating_add(1)), None)
        };
        let (sql, values) = entries_sql(backend, user_id, kinds, bounds, true, 1);
        Ok(!db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
            .is_empty())
    };
    let (has_previous, has_next) = if window.from_end {
        (more, beyond(newer_than, false).await?)
    } else {
        (beyond(older_than, true).await?, more)
    };
    Ok(Page {
        rows,
        has_previous,
        has_next,
    })
}

fn entry_of(r: &sea_orm::QueryResult) -> Result<Entry, LedgerError> {
    let source: i64 = r.try_get("", "source")?;
    let side: String = r.try_get("", "side")?;
    let amount: i64 = r.try_get("", "amount")?;
    let id: String = r.try_get("", "id")?;
    let kind = SOURCES
        .get(usize::try_from(source).unwrap_or(usize::MAX))
        .map(|s| s.entry)
        .ok_or_else(|| LedgerError::Corrupt(format!("statement source {source}")))?;
    let other: String = r.try_get("", "other")?;
    Ok(Entry {
        seq: r.try_get("", "seq")?,
        kind,
        balance: Balance::parse(&r.try_get::<String>("", "balance")?)?,
        amount: if side == "debit" { -amount } else { amount },
        balance_after: r
            .try_get::<Option<i64>>("", "balance_after")?
            .ok_or_else(|| {
                LedgerError::Corrupt(format!("transfer {id} has no balance after it"))
            })?,
        mission_id: AccountId::mission_of(&other).map(str::to_owned),
        payout_id: AccountId::payout_of(&other).map(str::to_owned),
        at: r.try_get("", "created_at")?,
        id,
    })
}

/// The query whose rows are `user_id`'s entries of `kinds`, for counting (`totalCount`).
pub fn counted(user_id: &str, kinds: &[EntryKind]) -> SelectStatement {
    let mut any = Condition::any();
    for (_, s) in shown(kinds) {
        let column = format!("{}_account_id", s.side.column());
        any = any.add(
            Expr::col(Alias::new(column))
                .eq(s.balance.account(user_id).as_str())
                .and(Expr::col(Alias::new("kind")).eq(s.transfer.as_str())),
        );
    }
    Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("transfers"))
        .cond_where(any)
        .to_owned()
}

/// The condition, on a posting `p` (`p.side` 'D' or 'C', `p.kind`) of an account `a`, that the
/// statement shows it: for the audit's check that every statement sums to its balance.
pub fn shown_condition() -> String {
    SOURCES
        .iter()
        .map(|s| {
            let (kind, currency) = match s.balance {
                Balance::Cash => ("WALLET", "CASH"),
                Balance::Points => ("WALLET", "POINTS"),
                Balance::Earnings => ("EARNINGS", "CASH"),
                Balance::Owed => ("RECEIVABLE", "CASH"),
            };
            let side = match s.side {
                Side::Debit => "D",
                Side::Credit => "C",
            };
            format!(
                "(a.kind = '{kind}' AND a.currency = '{currency}' AND p.side = '{side}' \
                 AND p.kind = '{}')",
                s.transfer.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of transfer either shows on a statement or never touches a user's wallet or
    /// earnings: a new kind must be placed in `SOURCES` or added here on purpose.
    #[test]
    fn every_transfer_kind_is_shown_or_never_touches_a_user() {
        let never_a_users = [TransferKind::Fee, TransferKind::BankTransfer];
        for kind in TransferKind::ALL {
            let shown = SOURCES.iter().any(|s| s.transfer == *kind);
            assert!(
                shown != never_a_users.contains(kind),
                "{kind}: in SOURCES, or listed as touching no user's account"
            );
        }
    }
}
