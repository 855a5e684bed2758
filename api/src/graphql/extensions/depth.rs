//! How deep a query may nest: `GRAPHQL_MAX_DEPTH` ([`MAX_DEPTH`] by default) for the API's own
//! fields, and
//! [`MAX_INTROSPECTION_DEPTH`] inside `__schema` and `__type`, where the standard introspection
//! query — what GraphiQL, graphql-codegen, Apollo and the Relay compiler send — nests its type
//! references (`ofType { ofType { ... } }`) 13 to 15 levels deep. async-graphql's own depth limit
//! is set to the larger bound for everything; the request checks hold everything outside
//! introspection to the smaller one, on the parsed document, before validation.

use super::mutation_limits::refuse;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Positioned, ServerResult};

/// Deepest query accepted outside introspection by default (`GRAPHQL_MAX_DEPTH`).
pub const MAX_DEPTH: usize = 10;
/// Deepest introspection query accepted: the graphql-js introspection query with type
/// references nine `ofType` levels deep (what current tools send) and no deeper.
pub const MAX_INTROSPECTION_DEPTH: usize = 15;
/// Most selections visited to measure one operation (fragments spread into fragments multiply
/// them); a document needing more is refused as too complex.
pub const WALK_BUDGET: usize = 10_000;

/// Refuses a document nesting the API's own fields deeper than `max`.
pub(super) fn check(document: &ExecutableDocument, max: usize) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        let mut walk = Walk {
            document,
            budget: WALK_BUDGET,
            path: Vec::new(),
        };
        let depth = walk.depth(&operation.node.selection_set);
        if walk.budget == 0 {
            return Err(refuse("Query is too complex.", operation.pos));
        }
        if depth > max {
            let message = format!(
                "Query is nested too deep: {depth} levels, more than the {max} allowed \
                 (GRAPHQL_MAX_DEPTH)."
            );
            return Err(refuse(message, operation.pos));
        }
    }
    Ok(())
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    budget: usize,
    /// The named fragments being expanded, to step over a cycle (which validation refuses).
    path: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    /// The depth of `set` counting fields, not counting anything under `__schema`/`__type`.
    fn depth(&mut self, set: &'a Positioned<SelectionSet>) -> usize {
        let mut deepest = 0;
        for item in &set.node.items {
            if self.budget == 0 {
                return deepest;
            }
            self.budget -= 1;
            let depth = match &item.node {
                Selection::Field(field) => match field.node.name.node.as_str() {
                    "__schema" | "__type" => 0,
                    _ => 1 + self.depth(&field.node.selection_set),
                },
                Selection::InlineFragment(fragment) => self.depth(&fragment.node.selection_set),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.document.fragments.get(name) {
                        Some(fragment) if !self.path.contains(&name) => {
                            self.path.push(name);
                            let depth = self.depth(&fragment.node.selection_set);
                            self.path.pop();
                            depth
                        }
                        _ => 0,
                    }
                }
            };
            deepest = deepest.max(depth);
        }
        deepest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(query: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        check(&document, MAX_DEPTH).map_err(|e| e.message)
    }

    fn nested(levels: usize, leaf: &str) -> String {
        (0..levels).fold(leaf.to_owned(), |inner, i| format!("f{i} {{ {inner} }}"))
    }

    #[test]
    fn the_api_s_own_fields_nest_at_most_max_depth() {
        assert!(verdict(&format!("{{ {} }}", nested(MAX_DEPTH - 1, "id"))).is_ok());
        assert!(
            verdict(&format!("{{ {} }}", nested(MAX_DEPTH, "id")))
                .unwrap_err()
                .contains("nested too deep")
        );
        // Through fragments too.
        assert!(
            verdict(&format!(
                "{{ ...A }} fragment A on Query {{ ... on Query {{ {} }} }}",
                nested(MAX_DEPTH, "id")
            ))
            .unwrap_err()
            .contains("nested too deep")
        );
    }

    #[test]
    fn introspection_is_measured_by_the_schema_s_own_limit_only() {
        let type_ref = nested(9, "kind name");
        assert!(
            verdict(&format!(
                "{{ __schema {{ types {{ fields {{ args {{ type {{ {type_ref} }} }} }} }} }} }}"
            ))
            .is_ok()
        );
        // Fragments doubling each other are refused, quickly.
        let mut doubling = String::from("{ ...F0 }");
        for i in 0..20 {
            doubling.push_str(&format!(
                " fragment F{i} on Query {{ a: me {{ ...F{} }} b: me {{ ...F{} }} }}",
                i + 1,
                i + 1
            ));
        }
        doubling.push_str(" fragment F20 on User { id }");
        assert!(verdict(&doubling).is_err());
    }
}
