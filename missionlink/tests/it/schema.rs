//! The served schema against the committed SDL and the frontend contract.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api/schema.graphql")
}

#[test]
fn the_committed_sdl_matches_the_served_schema() {
    let served = missionlink_api::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(committed_path(), &served).expect("write api/schema.graphql");
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == served,
        "api/schema.graphql differs from the served schema; run `UPDATE_SCHEMA=1 scripts/test -p missionlink --test it schema` and commit it"
    );
}

/// The parts of `shared/contract.graphql` that exist so far, with their exact types.
#[test]
fn the_identity_and_wallet_parts_of_the_contract_are_served_exactly() {
    let sdl = missionlink_api::graphql::sdl();
    let squashed: String = sdl.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "enum Role { VIEWER STREAMER OPERATOR }",
        "id: ID!",
        "handle: String!",
        "displayName: String!",
        "role: Role!",
        "cash: Won!",
        "points: Points!",
        "earnings: Won!",
        "accessToken: String!",
        "refreshToken: String!",
        "user: User!",
        "email: String!",
        "password: String!",
        "displayName: String",
        "locale: String",
        "me: User!",
        "wallet: Wallet!",
        "register(input: RegisterInput!): AuthPayload!",
        "login(email: String!, password: String!): AuthPayload!",
        "refresh(refreshToken: String!): AuthPayload!",
        "topUp(amount: Int!, idempotencyKey: String!): Wallet!",
    ] {
        assert!(
            squashed.contains(needle),
            "served schema lacks `{needle}`:\n{sdl}"
        );
    }
}

/// Every type, field, argument, input field, enum value, interface and implementation of a
/// schema, with its exact type, as `Type.field(arg): Type` lines.
fn coordinates(sdl: &str) -> std::collections::BTreeSet<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let doc = async_graphql::parser::parse_schema(sdl).expect("valid SDL");
    let mut out = std::collections::BTreeSet::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let t = t.node;
        let name = t.name.node.to_string();
        match t.kind {
            TypeKind::Scalar => {
                out.insert(format!("scalar {name}"));
            }
            TypeKind::Object(o) => {
                out.insert(format!("type {name}"));
                for i in o.implements {
                    out.insert(format!("{name} implements {}", i.node));
                }
                for f in o.fields {
                    let f = f.node;
                    out.insert(format!("{name}.{}: {}", f.name.node, f.ty.node));
                    for a in f.arguments {
                        out.insert(format!(
                            "{name}.{}({}: {})",
                            f.name.node, a.node.name.node, a.node.ty.node
                        ));
                    }
                }
            }
            TypeKind::InputObject(i) => {
                out.insert(format!("input {name}"));
                for f in i.fields {
                    out.insert(format!("{name}.{}: {}", f.node.name.node, f.node.ty.node));
                }
            }
            TypeKind::Interface(i) => {
                out.insert(format!("interface {name}"));
                for f in i.fields {
                    out.insert(format!("{name}.{}: {}", f.node.name.node, f.node.ty.node));
                }
            }
            TypeKind::Enum(e) => {
                for v in e.values {
                    out.insert(format!("enum {name}.{}", v.node.value.node));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_element_of_the_frontend_contract_is_served() {
    let contract = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/contract.graphql"),
    )
    .expect("docs/contract.graphql");
    let served = coordinates(&missionlink_api::graphql::sdl());
    let missing: Vec<String> = coordinates(&contract)
        .into_iter()
        .filter(|c| !served.contains(c))
        .collect();
    assert!(missing.is_empty(), "the served schema lacks: {missing:#?}");
}
