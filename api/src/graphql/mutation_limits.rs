//! How many mutations one request may carry: at most `MAX_MUTATIONS_PER_REQUEST` top-level
//! mutation fields, and at most one of them a money mutation. Checked on the parsed document,
//! before validation and before anything runs, for every transport (HTTP and the websocket
//! share the schema); an offending request is refused whole with `BAD_USER_INPUT`.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, Pos, Positioned, ServerError, ServerResult, Variables};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The mutations that move money or points. Aliases would otherwise let one request place any
/// number of them in one go, each with its own idempotency key.
pub const MONEY_MUTATIONS: &[&str] = &["topUp", "createMission", "contribute", "placeBet"];

/// The schema extension enforcing the limits.
pub struct MutationLimits {
    pub max_mutations: usize,
}

impl ExtensionFactory for MutationLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MutationLimitsExtension {
            max_mutations: self.max_mutations,
        })
    }
}

struct MutationLimitsExtension {
    max_mutations: usize,
}

#[async_trait::async_trait]
impl Extension for MutationLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check(&document, self.max_mutations)?;
        Ok(document)
    }
}

/// Refuses the document if any of its mutation operations selects too many root fields or more
/// than one money mutation. Fields are counted as they execute, once per response key (alias or
/// name: equal keys merge into one execution), through fragments; `@skip`/`@include` are not
/// evaluated (counting a skipped field is stricter, never looser).
fn check(document: &ExecutableDocument, max_mutations: usize) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        if operation.node.ty != OperationType::Mutation {
            continue;
        }
        let mut fields = BTreeMap::new();
        root_fields(
            document,
            &operation.node.selection_set,
            &mut HashSet::new(),
            &mut fields,
        );
        if fields.len() > max_mutations {
            return Err(refuse(
                format!("at most {max_mutations} mutations per request"),
                operation.pos,
            ));
        }
        let money = fields
            .values()
            .filter(|name| MONEY_MUTATIONS.contains(name))
            .count();
        if money > 1 {
            return Err(refuse(
                format!(
                    "at most one money mutation ({}) per request",
                    MONEY_MUTATIONS.join(", ")
                ),
                operation.pos,
            ));
        }
    }
    Ok(())
}

/// The fields `set` selects at its own level, through fragments: response key → field name.
/// Each named fragment is expanded once (spreading it again selects the same keys), so the walk
/// is bounded by the document's size, cycles included.
fn root_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    expanded: &mut HashSet<&'a str>,
    out: &mut BTreeMap<&'a str, &'a str>,
) {
    for item in &set.node.items {
        match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if !name.starts_with("__") {
                    let key = field.node.alias.as_ref().map_or(name, |a| a.node.as_str());
                    out.insert(key, name);
                }
            }
            Selection::InlineFragment(fragment) => {
                root_fields(document, &fragment.node.selection_set, expanded, out);
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if let Some(fragment) = document.fragments.get(name)
                    && expanded.insert(name)
                {
                    root_fields(document, &fragment.node.selection_set, expanded, out);
                }
            }
        }
    }
}

fn refuse(message: String, pos: Pos) -> ServerError {
    async_graphql::Error::new(message)
        .extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
        .into_server_error(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(query: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        check(&document, 3).map_err(|e| e.message)
    }

    #[test]
    fn money_mutations_exist_in_the_schema() {
        let sdl = crate::graphql::sdl();
        for name in MONEY_MUTATIONS {
            assert!(
                sdl.contains(&format!("\t{name}(")),
                "{name} is not a mutation"
            );
        }
    }

    #[test]
    fn fields_are_counted_through_fragments_and_only_in_mutations() {
        assert!(
            verdict("mutation { a: login(email: \"\", password: \"\") { accessToken } }").is_ok()
        );
        assert!(verdict("{ a: me { id } b: me { id } c: me { id } d: me { id } }").is_ok());
        assert!(
            verdict(
                "mutation { a: refresh(refreshToken: \"\") { accessToken } ...F }
                     fragment F on Mutation { b: refresh(refreshToken: \"\") { accessToken }
                       ... on Mutation { c: refresh(refreshToken: \"\") { accessToken }
                                         d: refresh(refreshToken: \"\") { accessToken } } }"
            )
            .unwrap_err()
            .contains("at most 3 mutations")
        );
        assert!(
            verdict("mutation { __typename a: topUp(amount: 1, idempotencyKey: \"a\") { cash }
                     b: placeBet(missionId: \"m\", outcome: SUCCESS, points: 1, idempotencyKey: \"b\") { id } }")
            .unwrap_err()
            .contains("money mutation")
        );
        // A cycle of fragments (invalid, refused later by validation) does not hang the walk.
        assert!(verdict("mutation { ...A } fragment A on Mutation { ...A ...A ...A }").is_ok());
        // The same response key twice is one execution.
        assert!(
            verdict(
                "mutation { t: topUp(amount: 1, idempotencyKey: \"a\") { cash }
                     t: topUp(amount: 1, idempotencyKey: \"a\") { points } }"
            )
            .is_ok()
        );
    }
}
