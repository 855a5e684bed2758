//! Every request's checks and bookkeeping as one schema extension. async-graphql calls each
//! installed extension around every field it resolves, even one that does nothing there (a
//! boxed future per extension per field: a feed event with the overlay's 25 fields paid for
//! ten); so the checks of this module's siblings run as steps of this one, in the order they
//! had as extensions of their own:
//!
//! 1. preparing: the caller is resolved (`identity`); then, once Apollo's persisted queries
//!    (installed after this) have put the text in place, the operation is noted;
//! 2. parsing: the text and the variables are checked for unstorable text (`text`), the
//!    document is taken from the cache or parsed (`documents`), then checked: queries only
//!    over `GET` (`transport`), depth (`depth`), mutations per request (`mutation_limits`),
//!    literals (`text`); its root fields are noted for the metrics;
//! 3. validating: the verdict from the cache or reached now (`documents`), then its cost
//!    (`cost`);
//! 4. executing: timed and counted (`crate::metrics`), `extensions.cost` added (`cost`), keys
//!    in the selection's order (`order`); each event of a subscription is executed so too.

use super::documents::{self, DocumentCache, Parsed};
use super::transport::ViaGet;
use super::{cost, depth, identity, lock, mutation_limits, order, text, transport};
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Variables};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The limits the checks hold requests to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `MAX_MUTATIONS_PER_REQUEST`.
    pub max_mutations: usize,
    /// `GRAPHQL_MAX_DEPTH`.
    pub max_depth: usize,
    /// `GRAPHQL_MAX_COMPLEXITY`.
    pub max_complexity: usize,
}

/// The schema extension; see the module documentation.
pub struct RequestChecks {
    pub limits: Limits,
    pub documents: DocumentCache,
}

impl ExtensionFactory for RequestChecks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest {
            limits: self.limits,
            documents: self.documents.request(),
            operation: Mutex::new(None),
            roots: Mutex::new(Vec::new()),
            parsed: Mutex::new(None),
            requested: AtomicUsize::new(0),
        })
    }
}

/// One request's: what the earlier steps learnt for the later ones.
struct PerRequest {
    limits: Limits,
    documents: documents::PerRequest,
    /// The operation the request names.
    operation: Mutex<Option<String>>,
    /// Its root fields as `(response key, field name)`, for the metrics.
    roots: Mutex<Vec<(String, String)>>,
    /// Its document once it passed the checks, for the order of the reply's keys.
    parsed: Mutex<Option<Parsed>>,
    /// What validation found it costs.
    requested: AtomicUsize,
}

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = identity::resolve_caller(ctx, request).await?;
        let request = next.run(ctx, request).await?;
        *lock(&self.operation) = request.operation_name.clone();
        self.documents.prepared(&request);
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        text::check_request(query, variables)?;
        let parsed = self.documents.parse(ctx, query, variables, next).await?;
        let document = &parsed.1;
        transport::check(ctx.data_opt::<ViaGet>().is_some(), document)?;
        depth::check(document, self.limits.max_depth)?;
        mutation_limits::check(document, self.limits.max_mutations)?;
        text::check_document(document)?;
        let operation = lock(&self.operation).clone();
        *lock(&self.roots) = crate::metrics::root_fields(document, operation.as_deref());
        let owned = document.clone();
        *lock(&self.parsed) = Some(parsed);
        Ok(owned)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let verdict = self.documents.validate(ctx, next).await?;
        self.requested.store(verdict.complexity, Ordering::Relaxed);
        cost::check(&verdict, self.limits.max_complexity)?;
        Ok(verdict)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let roots = std::mem::take(&mut *lock(&self.roots));
        let parsed = lock(&self.parsed).clone();
        crate::metrics::observe(roots, async {
            let response = next.run(ctx, operation_name).await;
            let requested = self.requested.load(Ordering::Relaxed);
            let mut response = cost::reported(response, requested, self.limits.max_complexity);
            if let Some(parsed) = parsed {
                order::in_selection_order(&mut response, &parsed.1, operation_name);
            }
            response
        })
        .await
    }
}
