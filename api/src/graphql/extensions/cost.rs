//! What a query costs, as GitHub's and Shopify's APIs say it: every reply carries
//! `extensions.cost { requested limit }`, and a query costing more than `GRAPHQL_MAX_COMPLEXITY`
//! is refused before anything runs, its message naming both numbers. The cost is
//! async-graphql's complexity: each field 1, a page of `first` (or `last`) items that many
//! times its selection plus 20 for the read (`connection::list_cost`). It comes with the
//! validation verdict, which `documents` keeps per document, so reporting it costs nothing.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation,
};
use async_graphql::{ErrorExtensions, Response, ServerError, ValidationResult, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The schema extension, with `GRAPHQL_MAX_COMPLEXITY`.
pub struct QueryCost {
    pub limit: usize,
}

impl ExtensionFactory for QueryCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Request {
            limit: self.limit,
            requested: AtomicUsize::new(0),
        })
    }
}

struct Request {
    limit: usize,
    requested: AtomicUsize,
}

impl Request {
    fn cost(&self, requested: usize) -> Value {
        async_graphql::value!({ "requested": requested, "limit": self.limit })
    }
}

#[async_trait::async_trait]
impl Extension for Request {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let verdict = next.run(ctx).await?;
        self.requested.store(verdict.complexity, Ordering::Relaxed);
        if verdict.complexity > self.limit {
            let message = format!(
                "Query is too complex: it costs {}, more than the {} allowed \
                 (GRAPHQL_MAX_COMPLEXITY). Ask for fewer items (first, last) or fewer fields.",
                verdict.complexity, self.limit
            );
            let cost = self.cost(verdict.complexity);
            let refusal = async_graphql::Error::new(message)
                .extend_with(|_, e| {
                    e.set("code", "QUERY_TOO_COMPLEX");
                    e.set("cost", cost.clone());
                })
                .into_server_error(async_graphql::Pos::default());
            return Err(vec![refusal]);
        }
        Ok(verdict)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let requested = self.requested.load(Ordering::Relaxed);
        response.extension("cost", self.cost(requested))
    }
}
