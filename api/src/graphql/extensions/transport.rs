//! What a request's transport allows: over `GET` (cacheable, and sendable by any page as a
//! plain link), queries only — a mutation or subscription is refused before it runs, and the
//! HTTP layer answers 405 (GraphQL over HTTP).

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ErrorExtensions, ServerResult};

/// Marks a request that arrived as `GET /graphql`.
#[derive(Clone, Copy, Debug)]
pub struct ViaGet;

/// The error code of a mutation or subscription sent with `GET`.
pub const WRITE_OVER_GET: &str = "METHOD_NOT_ALLOWED";

/// Refuses a document with anything but queries, when the request came with `GET`.
pub(super) fn check(via_get: bool, document: &ExecutableDocument) -> ServerResult<()> {
    if via_get {
        for (_, operation) in document.operations.iter() {
            if operation.node.ty != OperationType::Query {
                return Err(async_graphql::Error::new(
                    "only queries may be sent with GET: send mutations and subscriptions \
                     with POST (or over the websocket)",
                )
                .extend_with(|_, e| e.set("code", WRITE_OVER_GET))
                .into_server_error(operation.pos));
            }
        }
    }
    Ok(())
}
