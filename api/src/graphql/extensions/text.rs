//! Refuses text the databases cannot store, for the whole request, before anything runs.
//!
//! PostgreSQL's `text` cannot hold U+0000 (NUL): such a string reaching a query is an internal
//! error after some work may already have happened. The request checks look at every string of a
//! request, the query's literals (arguments, directive arguments, variable defaults) and every
//! variable, and refuses the request with `BAD_USER_INPUT` if one holds such a character. They
//! run in the schema, so they cover HTTP and the websocket alike.

use async_graphql::parser::types::{Directive, ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{
    ErrorExtensionValues, Name, Pos, Positioned, ServerError, ServerResult, Variables,
};
use serde::Serialize;

/// Whether a database cannot store `c` in text. Rust strings are valid Unicode already (no lone
/// surrogates), so on PostgreSQL only NUL remains; SQLite stores anything PostgreSQL does.
pub fn unstorable(c: char) -> bool {
    c == '\0'
}

fn has_unstorable(s: &str) -> bool {
    s.chars().any(unstorable)
}

/// Refuses a request whose query text, a variable's name or a variable's value holds such a
/// character: before the text is parsed.
pub(super) fn check_request(query: &str, variables: &Variables) -> ServerResult<()> {
    if has_unstorable(query) {
        return Err(refusal("the query text", None, None));
    }
    for (name, value) in variables.iter() {
        if has_unstorable(name) {
            return Err(refusal("a variable's name", None, None));
        }
        if has_unstorable_value(value) {
            return Err(refusal(
                &format!("variable ${name}"),
                None,
                Some(name.as_str()),
            ));
        }
    }
    Ok(())
}

/// Refuses a document with a string literal holding such a character.
pub(super) fn check_document(document: &ExecutableDocument) -> ServerResult<()> {
    match literal_with_unstorable(document) {
        Some(pos) => Err(refusal("a string in the query", Some(pos), None)),
        None => Ok(()),
    }
}

/// The refusal; `field` is the variable's name when a variable holds the character.
fn refusal(place: &str, pos: Option<Pos>, field: Option<&str>) -> ServerError {
    let mut error = ServerError::new(
        format!(
            "{place} contains the NUL character (U+0000), which cannot be stored; remove it \
             and send the request again"
        ),
        pos,
    );
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "BAD_USER_INPUT");
    if let Some(field) = field {
        extensions.set("field", field);
    }
    error.extensions = Some(extensions);
    error
}

/// Whether any string (or object key) in `value` holds an unstorable character. Literals and
/// variables are read through their JSON form: one walk for both value types of the parser.
fn has_unstorable_value(value: &impl Serialize) -> bool {
    fn walk(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => has_unstorable(s),
            serde_json::Value::Array(items) => items.iter().any(walk),
            serde_json::Value::Object(fields) => {
                fields.iter().any(|(k, v)| has_unstorable(k) || walk(v))
            }
            _ => false,
        }
    }
    serde_json::to_value(value).is_ok_and(|v| walk(&v))
}

/// Where the first string literal holding an unstorable character is, if any.
fn literal_with_unstorable(document: &ExecutableDocument) -> Option<Pos> {
    let operations = document.operations.iter().find_map(|(_, operation)| {
        let operation = &operation.node;
        operation
            .variable_definitions
            .iter()
            .find_map(|definition| {
                let default = definition.node.default_value.as_ref()?;
                has_unstorable_value(&default.node).then_some(default.pos)
            })
            .or_else(|| in_directives(&operation.directives))
            .or_else(|| in_selection_set(&operation.selection_set))
    });
    operations.or_else(|| {
        document.fragments.values().find_map(|fragment| {
            in_directives(&fragment.node.directives)
                .or_else(|| in_selection_set(&fragment.node.selection_set))
        })
    })
}

fn in_arguments<V: Serialize>(arguments: &[(Positioned<Name>, Positioned<V>)]) -> Option<Pos> {
    arguments
        .iter()
        .find_map(|(_, value)| has_unstorable_value(&value.node).then_some(value.pos))
}

fn in_directives(directives: &[Positioned<Directive>]) -> Option<Pos> {
    directives
        .iter()
        .find_map(|directive| in_arguments(&directive.node.arguments))
}

fn in_selection_set(set: &Positioned<SelectionSet>) -> Option<Pos> {
    set.node.items.iter().find_map(|item| match &item.node {
        Selection::Field(field) => in_field(&field.node),
        Selection::FragmentSpread(spread) => in_directives(&spread.node.directives),
        Selection::InlineFragment(fragment) => in_directives(&fragment.node.directives)
            .or_else(|| in_selection_set(&fragment.node.selection_set)),
    })
}

fn in_field(field: &Field) -> Option<Pos> {
    in_arguments(&field.arguments)
        .or_else(|| in_directives(&field.directives))
        .or_else(|| in_selection_set(&field.selection_set))
}
