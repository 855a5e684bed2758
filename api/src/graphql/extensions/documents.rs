//! Documents kept parsed and validated: most requests send one of a few documents (a page sends
//! the same `contribute` text with new variables every time), so parsing and validating each
//! again is wasted work.
//!
//! - The parsed document is kept by its text. This replaces only the parse itself: the other
//!   checks still run on the document (they are walks of it, and `text` and `transport` depend
//!   on the request too).
//! - The validation verdict (async-graphql's rules, complexity and depth) is kept by the text,
//!   the operation's name and the variables' values that validation can read: a string given
//!   for a variable declared `String` or `ID` counts only as "a string" (validation checks its
//!   type, never its content: field validators run with the resolver), every other value counts
//!   whole (an `Int` such as `first` sets the complexity). So `contribute`'s document is
//!   validated once, whatever its idempotency key and mission.
//!
//! Only documents that passed validation are kept, and only texts of at most
//! [`MAX_KEPT_TEXT`] bytes; both caches hold at most `GRAPHQL_DOCUMENT_CACHE` entries, the least
//! recently used forgotten first, and compare the full key on a hit (the hash only finds it).

use super::lock;
use async_graphql::extensions::{ExtensionContext, NextParseQuery, NextValidation};
use async_graphql::parser::types::{BaseType, ExecutableDocument};
use async_graphql::{Request, ServerError, ServerResult, ValidationResult, Value, Variables};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

/// Longest query text kept parsed: a valid document is far shorter (`GRAPHQL_MAX_COMPLEXITY` bounds its
/// fields), and a long one refused later must not sit in memory.
pub const MAX_KEPT_TEXT: usize = 16 * 1024;

/// A parsed document, with the text it was parsed from.
pub(super) type Parsed = Arc<(Box<str>, ExecutableDocument)>;

/// The caches, one per schema, shared by every request.
#[derive(Clone)]
pub struct DocumentCache(Arc<Shared>);

struct Shared {
    parsed: moka::future::Cache<u64, Parsed>,
    verdicts: moka::future::Cache<u64, Arc<(Box<str>, ValidationResult)>>,
    /// Keyed per process: nobody outside can aim a hash at another's document.
    hasher: RandomState,
}

impl DocumentCache {
    /// Caches of at most `capacity` documents and verdicts each.
    pub fn new(capacity: u64) -> Self {
        Self(Arc::new(Shared {
            parsed: moka::future::Cache::new(capacity),
            verdicts: moka::future::Cache::new(capacity),
            hasher: RandomState::new(),
        }))
    }

    /// One request's use of the caches.
    pub(super) fn request(&self) -> PerRequest {
        PerRequest {
            shared: self.0.clone(),
            operation: Mutex::new(None),
            verdict_key: Mutex::new(None),
            unkept: Mutex::new(None),
        }
    }
}

/// One request's view: what its validation is keyed by, learnt from the earlier steps.
pub(super) struct PerRequest {
    shared: Arc<Shared>,
    operation: Mutex<Option<String>>,
    verdict_key: Mutex<Option<String>>,
    /// Parsed now, kept once it passes validation.
    unkept: Mutex<Option<(u64, Parsed)>>,
}

impl PerRequest {
    /// Notes the operation the prepared request names.
    pub(super) fn prepared(&self, request: &Request) {
        *lock(&self.operation) = request.operation_name.clone();
    }

    /// The document of `query`: kept, or parsed by `next` now.
    pub(super) async fn parse(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<Parsed> {
        let shared = &self.shared;
        let hash = shared.hasher.hash_one(query);
        let parsed = match shared.parsed.get(&hash).await {
            Some(kept) if &*kept.0 == query => kept,
            _ => {
                let parsed: Parsed =
                    Arc::new((query.into(), next.run(ctx, query, variables).await?));
                if query.len() <= MAX_KEPT_TEXT {
                    *lock(&self.unkept) = Some((hash, parsed.clone()));
                }
                parsed
            }
        };
        let operation = lock(&self.operation).clone();
        *lock(&self.verdict_key) = Some(verdict_key(
            query,
            operation.as_deref(),
            &parsed.1,
            variables,
        ));
        Ok(parsed)
    }

    /// The validation verdict: kept for this document and its variables as validation reads
    /// them, or reached by `next` now (and kept, with the document, once it passes).
    pub(super) async fn validate(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let Some(key) = lock(&self.verdict_key).take() else {
            return next.run(ctx).await;
        };
        let shared = &self.shared;
        let hash = shared.hasher.hash_one(&key);
        let result = match shared.verdicts.get(&hash).await {
            Some(kept) if *kept.0 == *key => kept.1,
            _ => {
                let result = next.run(ctx).await?;
                shared
                    .verdicts
                    .insert(hash, Arc::new((key.into_boxed_str(), result)))
                    .await;
                result
            }
        };
        let unkept = lock(&self.unkept).take();
        if let Some((hash, parsed)) = unkept {
            shared.parsed.insert(hash, parsed).await;
        }
        Ok(result)
    }
}

/// What a validation verdict depends on: the text, the operation chosen, and each declared
/// variable's value as validation can read it (see the module's documentation).
fn verdict_key(
    query: &str,
    operation: Option<&str>,
    document: &ExecutableDocument,
    variables: &Variables,
) -> String {
    // Per variable name: whether every declaration of it is a `String` or `ID`, nullable or not.
    let mut declared: BTreeMap<&str, bool> = BTreeMap::new();
    for (_, op) in document.operations.iter() {
        for definition in &op.node.variable_definitions {
            let ty = &definition.node.var_type.node;
            let textual =
                matches!(&ty.base, BaseType::Named(name) if name == "String" || name == "ID");
            declared
                .entry(definition.node.name.node.as_str())
                .and_modify(|all| *all &= textual)
                .or_insert(textual);
        }
    }
    let mut key = String::with_capacity(query.len() + 64);
    key.push_str(operation.unwrap_or(""));
    key.push('\0');
    key.push_str(query);
    for (name, textual) in declared {
        key.push('\0');
        key.push_str(name);
        key.push('=');
        match variables.get(&async_graphql::Name::new(name)) {
            None => key.push('-'),
            Some(Value::String(_)) if textual => key.push('s'),
            // JSON, whose object keys are quoted and escaped: two values never read alike.
            Some(value) => key.push_str(&serde_json::to_string(value).unwrap_or_default()),
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str, variables: serde_json::Value) -> String {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        verdict_key(query, None, &document, &Variables::from_json(variables))
    }

    #[test]
    fn strings_for_string_and_id_count_only_as_strings() {
        let q = "mutation($m: ID!, $k: String!, $a: Int!) { contribute(missionId: $m, amount: $a, idempotencyKey: $k) { id } }";
        let one = key(q, serde_json::json!({ "m": "a", "k": "x", "a": 1000 }));
        assert_eq!(
            one,
            key(q, serde_json::json!({ "m": "b", "k": "y", "a": 1000 }))
        );
        // An Int is validated by its value; a number where a String is declared is not a string.
        assert_ne!(
            one,
            key(q, serde_json::json!({ "m": "a", "k": "x", "a": 2000 }))
        );
        assert_ne!(
            one,
            key(q, serde_json::json!({ "m": "a", "k": 5, "a": 1000 }))
        );
        assert_ne!(one, key(q, serde_json::json!({ "k": "x", "a": 1000 })));
    }

    #[test]
    fn objects_whose_keys_print_alike_are_told_apart() {
        let q = "query($o: MissionOrder) { missions(orderBy: $o) { totalCount } }";
        assert_ne!(
            key(
                q,
                serde_json::json!({ "o": { "field": "CREATED_AT", "direction": "DESC" } })
            ),
            key(
                q,
                serde_json::json!({ "o": { "field: \"CREATED_AT\", direction": "DESC" } })
            )
        );
    }

    #[test]
    fn lists_and_inputs_count_whole() {
        let q = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
        assert_ne!(
            key(q, serde_json::json!({ "ids": ["a"] })),
            key(q, serde_json::json!({ "ids": ["b", "c"] }))
        );
    }
}
