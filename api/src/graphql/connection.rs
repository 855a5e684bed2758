//! Relay connections for every list: `edges { cursor node }`, `nodes`, `pageInfo`,
//! `totalCount`, paged by `first`/`after` or `last`/`before` (the Relay cursor connections
//! specification). Pages are keyset reads ([`missionlink_ledger::listing`]); a cursor is the
//! base64url JSON of a row's place in the list's order, opaque to clients.

use crate::error::{ApiError, GqlResult};
use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{Object, OutputType};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use missionlink_ledger::listing::{self, Key, Order, Window};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{DatabaseConnection, EntityTrait, FromQueryResult, QueryTrait, Select};

/// Largest page of any list.
pub const MAX_PAGE: i32 = 100;
/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: i32 = 20;

/// What reading a list costs in the schema's complexity: a page of `first` (or `last`) items
/// costs that many times its selection, plus [`LIST_BASE_COST`] for the read itself, plus
/// `extra` for an order that computes a value per row.
pub fn list_cost(first: Option<i32>, last: Option<i32>, child: usize, extra: usize) -> usize {
    let n = usize::try_from(first.or(last).unwrap_or(DEFAULT_PAGE).clamp(0, MAX_PAGE)).unwrap_or(0);
    LIST_BASE_COST + extra + n * child
}

/// The complexity of reading any list, whatever its page size: its queries, a `totalCount`
/// over the whole filtered list among them (which is charged here, once, rather than per item
/// of the page like the rest of the selection). So one operation reads at most
/// `GRAPHQL_MAX_COMPLEXITY / LIST_BASE_COST` lists.
pub const LIST_BASE_COST: usize = 20;
/// The extra complexity of ordering missions by a value computed per row (`DEADLINE`,
/// `TOTAL_PLEDGED`).
pub const COMPUTED_ORDER_COST: usize = 50;

/// A list of `T` as a Relay connection, named `<T>Connection` with `<T>Edge` edges.
pub type List<T> = Connection<Cursor, T, ListFields>;

/// A row's place in its list.
pub struct Cursor(Key);

/// A string that no list handed out as a cursor.
#[derive(Debug)]
pub struct NotACursor;

impl std::fmt::Display for NotACursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a cursor of this list: pass an endCursor or startCursor as given")
    }
}

impl CursorType for Cursor {
    type Error = NotACursor;

    fn decode_cursor(s: &str) -> Result<Self, NotACursor> {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .map(Cursor)
            .ok_or(NotACursor)
    }

    fn encode_cursor(&self) -> String {
        // A `Key` is strings, integers and timestamps: it always serialises.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }
}

/// The paging arguments every list takes.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    /// The window these arguments ask for, or `BAD_USER_INPUT`.
    pub fn window(&self) -> Result<Window, ApiError> {
        let bounded = |name: &str, n: i32| {
            if (1..=MAX_PAGE).contains(&n) {
                Ok(u64::from(n.unsigned_abs()))
            } else {
                Err(ApiError::invalid(
                    name,
                    format!("{name} must be between 1 and {MAX_PAGE}"),
                ))
            }
        };
        let (limit, from_end) = match (self.first, self.last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid("last", "give first or last, not both"));
            }
            (Some(first), None) => (bounded("first", first)?, false),
            (None, Some(last)) => (bounded("last", last)?, true),
            (None, None) => (bounded("first", DEFAULT_PAGE)?, false),
        };
        let decode = |name: &str, c: &Option<String>| {
            c.as_deref()
                .map(|s| Cursor::decode_cursor(s).map(|c| c.0))
                .transpose()
                .map_err(|e| ApiError::invalid(name, format!("{name}: {e}")))
        };
        Ok(Window {
            after: decode("after", &self.after)?,
            before: decode("before", &self.before)?,
            limit,
            from_end,
        })
    }
}

/// Reads the page `args` asks for of the rows `select` filters, in `order`, as a connection.
pub async fn list<E, T>(
    db: &DatabaseConnection,
    select: Select<E>,
    order: &Order,
    args: &PageArgs,
) -> Result<List<T>, ApiError>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
    T: TryFrom<E::Model, Error = ApiError> + OutputType,
{
    let window = args.window()?;
    let counted = select.clone().into_query();
    let page = listing::page(db, select, order, &window).await?;
    page_list(db, page, counted)
}

/// A page read some other way (`counted` selects the whole filtered list) as a connection.
pub fn page_list<M, T>(
    db: &DatabaseConnection,
    page: listing::Page<M>,
    counted: SelectStatement,
) -> Result<List<T>, ApiError>
where
    T: TryFrom<M, Error = ApiError> + OutputType,
{
    let edges = page
        .rows
        .into_iter()
        .map(|(key, row)| Ok(Edge::new(Cursor(key), T::try_from(row)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let fields = ListFields {
        db: db.clone(),
        counted,
        end_cursor: edges.last().map(|e| e.cursor.encode_cursor()),
        has_next_page: page.has_next,
    };
    let mut connection =
        Connection::with_additional_fields(page.has_previous, page.has_next, fields);
    connection.edges = edges;
    Ok(connection)
}

/// The fields every connection has beside `edges`, `nodes` and `pageInfo`.
pub struct ListFields {
    db: DatabaseConnection,
    /// What the list's filters select; `totalCount` counts it only when asked for.
    counted: SelectStatement,
    end_cursor: Option<String>,
    has_next_page: bool,
}

#[Object]
impl ListFields {
    /// Items in the whole list: its filters apply, the paging arguments do not.
    async fn total_count(&self) -> GqlResult<i32> {
        let n = listing::count(&self.db, self.counted.clone())
            .await
            .map_err(ApiError::from)?;
        Ok(graphql_int(
            i64::try_from(n).unwrap_or(i64::MAX),
            "totalCount",
        )?)
    }

    /// The same as `pageInfo.endCursor` (kept from the first contract).
    async fn end_cursor(&self) -> Option<&str> {
        self.end_cursor.as_deref()
    }

    /// The same as `pageInfo.hasNextPage` (kept from the first contract).
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }
}

/// A count as a GraphQL `Int`; one beyond 2^31 − 1 is an error, never truncated.
pub(crate) fn graphql_int(value: i64, what: &str) -> Result<i32, ApiError> {
    i32::try_from(value).map_err(|_| {
        ApiError::Internal(anyhow::anyhow!("{what} {value} does not fit a GraphQL Int"))
    })
}
