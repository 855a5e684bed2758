//! Keyset pages of any list of rows: a window (`first`/`after` or `last`/`before`) over the rows
//! in one total order, the order's sort value then the row id, with no `OFFSET`. In an order by
//! id a page is a range read of an index however deep it is; an order by a computed value
//! (a mission's next time limit, its total) computes it once per row the filters select, then
//! sorts. A page with a cursor costs one more query (is anything on the cursor's other side?).
//! Rows inserted or changed between pages neither repeat nor vanish from pages still to come in
//! the id order; in an order by a value that changes (a mission's total), a row whose value
//! moved across the cursor can.

use crate::LedgerError;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Order as SqlOrder, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryResult, QueryTrait, Select};
use serde::{Deserialize, Serialize};

/// What an order's sort expression yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKind {
    Int,
    Time,
}

/// One row's value of the sort expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortValue {
    Int(i64),
    Time(DateTime<Utc>),
}

impl From<SortValue> for sea_orm::Value {
    fn from(v: SortValue) -> Self {
        match v {
            SortValue::Int(i) => i.into(),
            SortValue::Time(t) => t.into(),
        }
    }
}

/// A row's place in an order: the order's tag, its sort value (none when the order is by id
/// alone) and its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub order: String,
    pub sort: Option<SortValue>,
    pub id: String,
}

/// A total order over a list's rows.
#[derive(Clone, Debug)]
pub struct Order {
    /// Names the list and what it is sorted by: a key is only a place in the order of its tag
    /// (either direction).
    pub tag: &'static str,
    /// The sort expression and its kind; `None` orders by id alone.
    pub sort: Option<(Expr, SortKind)>,
    /// The row's unique id: the tie-break.
    pub id: Expr,
    pub descending: bool,
}

/// Which rows of the order a page holds.
#[derive(Clone, Debug, Default)]
pub struct Window {
    /// Only rows after this key (exclusive).
    pub after: Option<Key>,
    /// Only rows before this key (exclusive).
    pub before: Option<Key>,
    /// At most this many rows.
    pub limit: u64,
    /// The last `limit` rows of the range instead of the first.
    pub from_end: bool,
}

/// A page: its rows in the list's order, each with its key, and whether rows of the list lie
/// beyond either end of it.
#[derive(Debug)]
pub struct Page<M> {
    pub rows: Vec<(Key, M)>,
    pub has_previous: bool,
    pub has_next: bool,
}

const KEY_ID: &str = "page_key_id";
const KEY_SORT: &str = "page_key_sort";
const LISTED: &str = "listed";
/// `i64::MAX`: the largest limit both databases take.
const UNREACHED_LIMIT: u64 = 9_223_372_036_854_775_807;

/// A key column of the derived table.
fn key_col(name: &'static str) -> Expr {
    Expr::col((Alias::new(LISTED), Alias::new(name)))
}

/// Reads the page `window` of the rows `select` filters, in `order`.
pub async fn page<E, C>(
    db: &C,
    select: Select<E>,
    order: &Order,
    window: &Window,
) -> Result<Page<E::Model>, LedgerError>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
    C: ConnectionTrait,
{
    // The rows with their keys as columns, so the sort value is computed once per row: a limit
    // (one no list reaches) keeps the database from folding the derived table into the outer
    // query, which would compute a computed sort value again in every condition. An order by
    // id alone is folded, and stays an index range read.
    let mut keyed = select.into_query();
    keyed.expr_as(order.id.clone(), KEY_ID);
    if let Some((sort, _)) = &order.sort {
        keyed.expr_as(sort.clone(), KEY_SORT);
        keyed.limit(UNREACHED_LIMIT);
    }
    let filtered = Query::select()
        .column(Asterisk)
        .from_subquery(keyed, LISTED)
        .to_owned();
    let mut query = filtered.clone();
    for key in [&window.after, &window.before].into_iter().flatten() {
        if !fits(order, key) {
            return Err(LedgerError::invalid(
                "after",
                "the cursor belongs to another order of this list",
            ));
        }
    }
    if let Some(after) = &window.after {
        query.cond_where(beyond(order, after, true, false));
    }
    if let Some(before) = &window.before {
        query.cond_where(beyond(order, before, false, false));
    }
    // Read from the end: the order reversed, then the rows put back in the list's order.
    let reading_desc = order.descending != window.from_end;
    let sql_order = if reading_desc {
        SqlOrder::Desc
    } else {
        SqlOrder::Asc
    };
    if order.sort.is_some() {
        query.order_by_expr(key_col(KEY_SORT), sql_order.clone());
    }
    query.order_by_expr(key_col(KEY_ID), sql_order);
    query.limit(window.limit.saturating_add(1));

    let found = db.query_all(&query).await?;
    let more_in_reading_direction = u64::try_from(found.len()).unwrap_or(u64::MAX) > window.limit;
    let mut rows = found
        .iter()
        .take(usize::try_from(window.limit).unwrap_or(usize::MAX))
        .map(|row| Ok((key_of(row, order)?, E::Model::from_query_result(row, "")?)))
        .collect::<Result<Vec<_>, LedgerError>>()?;
    if window.from_end {
        rows.reverse();
    }
    // The far side of the cursor the page was read from holds rows if any row is at or beyond
    // it (the cursor's own row lies outside the page).
    let (has_previous, has_next) = if window.from_end {
        let next = match &window.before {
            Some(before) => any_row(db, filtered, beyond(order, before, true, true)).await?,
            None => false,
        };
        (more_in_reading_direction, next)
    } else {
        let previous = match &window.after {
            Some(after) => any_row(db, filtered, beyond(order, after, false, true)).await?,
            None => false,
        };
        (previous, more_in_reading_direction)
    };
    Ok(Page {
        rows,
        has_previous,
        has_next,
    })
}

/// The number of rows `query` selects (its order and limits aside).
pub async fn count<C: ConnectionTrait>(db: &C, query: SelectStatement) -> Result<u64, LedgerError> {
    let counted = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(query, "listed")
        .to_owned();
    let row = db
        .query_one(&counted)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("COUNT(*) returned no row".into()))?;
    let n: i64 = row.try_get_by_index(0)?;
    u64::try_from(n).map_err(|_| LedgerError::Corrupt(format!("negative count {n}")))
}

async fn any_row<C: ConnectionTrait>(
    db: &C,
    mut query: SelectStatement,
    cond: Condition,
) -> Result<bool, LedgerError> {
    query.cond_where(cond).limit(1);
    Ok(db.query_one(&query).await?.is_some())
}

/// Rows after `key` in the list's order (`later`), or before it; `inclusive` takes the key's
/// own row too.
fn beyond(order: &Order, key: &Key, later: bool, inclusive: bool) -> Condition {
    let greater = later != order.descending;
    let cmp = |e: Expr, v: sea_orm::Value, or_equal: bool| match (greater, or_equal) {
        (true, false) => e.gt(v),
        (true, true) => e.gte(v),
        (false, false) => e.lt(v),
        (false, true) => e.lte(v),
    };
    let by_id = cmp(key_col(KEY_ID), key.id.clone().into(), inclusive);
    match (&order.sort, &key.sort) {
        (Some(_), Some(value)) => Condition::any()
            .add(cmp(key_col(KEY_SORT), value.clone().into(), false))
            .add(
                Condition::all()
                    .add(key_col(KEY_SORT).eq(sea_orm::Value::from(value.clone())))
                    .add(by_id),
            ),
        // `fits` made sure the key has a sort value exactly when the order has one.
        _ => Condition::all().add(by_id),
    }
}

/// Whether `key` is a place in `order`: its tag, and a sort value of its kind (or none when by
/// id alone).
fn fits(order: &Order, key: &Key) -> bool {
    key.order == order.tag
        && matches!(
            (&order.sort, &key.sort),
            (None, None)
                | (Some((_, SortKind::Int)), Some(SortValue::Int(_)))
                | (Some((_, SortKind::Time)), Some(SortValue::Time(_)))
        )
}

fn key_of(row: &QueryResult, order: &Order) -> Result<Key, LedgerError> {
    let id: String = row.try_get("", KEY_ID)?;
    let sort = match &order.sort {
        None => None,
        Some((_, SortKind::Int)) => Some(SortValue::Int(row.try_get("", KEY_SORT)?)),
        Some((_, SortKind::Time)) => Some(SortValue::Time(row.try_get("", KEY_SORT)?)),
    };
    Ok(Key {
        order: order.tag.to_owned(),
        sort,
        id,
    })
}
