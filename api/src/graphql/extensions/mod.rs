//! The schema's checks that run on every request before any resolver, as steps of one
//! extension (`checks`, whose documentation gives their order: async-graphql calls every
//! extension around every field):
//!
//! - `text`: refuses text the databases cannot store (NUL) anywhere in a request.
//! - `identity`: the caller's token names a user who exists and is not suspended.
//! - `mutation_limits`: at most `MAX_MUTATIONS_PER_REQUEST` top-level mutation fields, of which
//!   at most one moves money.
//! - `depth`: the depth limits (`GRAPHQL_MAX_DEPTH`; introspection has its own).
//! - `cost`: every reply's `extensions.cost { requested limit }`, and the refusal of a query
//!   costing more than `GRAPHQL_MAX_COMPLEXITY`, naming both.
//! - `transport`: queries only over `GET`.
//! - `order`: every reply's keys in its selection's order (async-graphql keeps them in the
//!   order sibling fields finish).
//! - `documents`: documents kept parsed and validated, by their text (and what validation reads
//!   of their variables).

pub mod checks;
pub mod cost;
pub mod depth;
pub mod documents;
pub mod identity;
pub mod mutation_limits;
pub mod order;
pub mod text;
pub mod transport;

/// A request's extension state behind its mutex (a panic elsewhere leaves it usable).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
