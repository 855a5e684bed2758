//! How many mutations one request may carry: at most `MAX_MUTATIONS_PER_REQUEST` top-level
//! mutation fields, and at most one of them a money mutation. Checked on the parsed document,
//! before validation and before anything runs, for every transport (HTTP and the websocket
//! share the schema); an offending request is refused whole with `BAD_USER_INPUT`.

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, Pos, Positioned, ServerError, ServerResult};

/// The mutations that move money or points. Aliases would otherwise let one request place any
/// number of them in one go, each with its own idempotency key.
pub const MONEY_MUTATIONS: &[&str] = &[
    "topUp",
    "confirmTopUp",
    "cancelTopUp",
    "createMission",
    "contribute",
    "withdrawPledge",
    "withdrawMission",
    "placeBet",
    "betOnPrediction",
    "claimDailyPoints",
    "requestPayout",
    "cancelPayout",
];

/// Refuses the document if any of its mutation operations selects too many root fields or more
/// than one money mutation. Every occurrence of a field counts, through inline fragments and
/// each spread of a named fragment: async-graphql executes a repeated response key once per
/// occurrence, it does not merge root mutation fields. `@skip`/`@include` are not evaluated
/// (counting a skipped field is stricter, never looser). The walk stops at the first field past
/// the limit, and a document that needs more than [`WALK_BUDGET`] steps to count (fragments
/// spreading fragments) is refused too.
pub(super) fn check(document: &ExecutableDocument, max_mutations: usize) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        if operation.node.ty != OperationType::Mutation {
            continue;
        }
        let mut walk = Walk {
            document,
            cap: max_mutations,
            budget: WALK_BUDGET,
            path: Vec::new(),
            fields: Vec::new(),
        };
        walk.root_fields(&operation.node.selection_set);
        if walk.fields.len() > max_mutations || walk.budget == 0 {
            return Err(refuse(
                format!("at most {max_mutations} mutations per request"),
                operation.pos,
            ));
        }
        let money = walk
            .fields
            .iter()
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

/// Most selections visited to count one operation's root fields.
pub const WALK_BUDGET: usize = 1_000;

/// Counting the root fields of one mutation operation.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Stop once more than this many fields are found: the request is refused anyway.
    cap: usize,
    /// Selections still allowed to visit; 0 = gave up (refused).
    budget: usize,
    /// The named fragments being expanded, to step over a cycle (which validation refuses).
    path: Vec<&'a str>,
    /// Every root field selected, by field name, one entry per occurrence.
    fields: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn root_fields(&mut self, set: &'a Positioned<SelectionSet>) {
        for item in &set.node.items {
            if self.fields.len() > self.cap || self.budget == 0 {
                return;
            }
            self.budget -= 1;
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if !name.starts_with("__") {
                        self.fields.push(name);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.root_fields(&fragment.node.selection_set);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(fragment) = self.document.fragments.get(name)
                        && !self.path.contains(&name)
                    {
                        self.path.push(name);
                        self.root_fields(&fragment.node.selection_set);
                        self.path.pop();
                    }
                }
            }
        }
    }
}

/// A request refused at parse time as the client's malformed input (`BAD_USER_INPUT`).
pub(super) fn refuse(message: impl Into<String>, pos: Pos) -> ServerError {
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
                sdl.contains(&format!("\t{name}(")) || sdl.contains(&format!("\t{name}: ")),
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
        // The same response key twice executes twice: both count, in fragments too.
        assert!(
            verdict(
                "mutation { t: topUp(amount: 1, idempotencyKey: \"a\") { cash }
                     t: topUp(amount: 1, idempotencyKey: \"b\") { points } }"
            )
            .unwrap_err()
            .contains("money mutation")
        );
        assert!(
            verdict(
                "mutation { t: topUp(amount: 1, idempotencyKey: \"a\") { cash }
                     ... on Mutation { t: topUp(amount: 1, idempotencyKey: \"b\") { cash } } }"
            )
            .unwrap_err()
            .contains("money mutation")
        );
        assert!(
            verdict(
                "mutation { ...F ...F } fragment F on Mutation { t: topUp(amount: 1, idempotencyKey: \"a\") { cash } }"
            )
            .unwrap_err()
            .contains("money mutation")
        );
        // Fragments doubling each other would take 2^20 steps to count: refused, quickly.
        let mut doubling = String::from("mutation { ...F0 }");
        for i in 0..20 {
            doubling.push_str(&format!(
                " fragment F{i} on Mutation {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        doubling.push_str(" fragment F20 on Mutation { __typename }");
        assert!(
            verdict(&doubling)
                .unwrap_err()
                .contains("at most 3 mutations")
        );
    }
}
