//! Reply keys in the order the selection asks for them, as the GraphQL spec's response format
//! requires (and snapshot tests and people reading a reply expect). async-graphql 7.2 resolves a
//! query's sibling fields side by side and keeps each object's keys in the order they finish, so
//! a `totalCount` (a count in the database) came after `edges` whatever its place in the query.
//! After execution this puts every object's keys back in its selection's order: fragments
//! expanded where they are spread, aliases as written, the same for each element of a list and
//! for each event of a subscription.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Response, Value};

/// `response`'s data with every object's keys in the selection's order.
pub(super) fn in_selection_order(
    response: &mut Response,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) {
    let operation = match operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => document.operations.iter().next(),
    };
    if let Some((_, operation)) = operation {
        reorder(
            &mut response.data,
            &[&operation.node.selection_set.node],
            document,
        );
    }
}

/// Puts `value`'s keys (and its children's) in the order of the selection sets that made it
/// (several when one key is selected more than once).
fn reorder(value: &mut Value, sets: &[&SelectionSet], document: &ExecutableDocument) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(item, sets, document);
            }
        }
        Value::Object(map) => {
            let mut keys: Vec<(Name, Vec<&SelectionSet>)> = Vec::new();
            for set in sets {
                collect(set, document, &mut keys);
            }
            let mut answered = std::mem::take(map);
            for (key, subsets) in keys {
                if let Some(mut v) = answered.shift_remove(&key) {
                    reorder(&mut v, &subsets, document);
                    map.insert(key, v);
                }
            }
            // Anything the selection does not name (nothing, in practice) keeps its place last.
            map.extend(answered);
        }
        _ => {}
    }
}

/// The response keys `set` selects, in order, each with the selection sets beneath it;
/// fragments are expanded where they stand (validation has refused cycles).
fn collect<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    keys: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                let beneath = &field.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, sets)) => sets.push(beneath),
                    None => keys.push((key, vec![beneath])),
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, document, keys);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, document, keys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, data: serde_json::Value) -> String {
        let document = async_graphql::parser::parse_query(query).expect("query");
        let mut response = Response::new(Value::from_json(data).expect("value"));
        in_selection_order(&mut response, &document, None);
        serde_json::to_string(&response.data).expect("json")
    }

    #[test]
    fn keys_follow_fields_aliases_fragments_and_lists() {
        let query = "query { b: beta { ...F z } alpha { x ... on T { w } y } }
                     fragment F on B { n m }";
        let data = serde_json::json!({
            "alpha": [{ "y": 1, "w": 2, "x": 3 }, { "y": 4, "x": 5 }],
            "b": { "z": 1, "m": 2, "n": 3 },
        });
        assert_eq!(
            ordered(query, data),
            r#"{"b":{"n":3,"m":2,"z":1},"alpha":[{"x":3,"w":2,"y":1},{"x":5,"y":4}]}"#
        );
    }
}
