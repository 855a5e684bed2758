//! The served schema against the committed SDL and the frontend contract.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema.graphql")
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
        "api/schema.graphql differs from the served schema; run `UPDATE_SCHEMA=1 cargo test -p missionlink-api --test it schema` and commit it"
    );
}

/// The parts of `shared/contract.graphql` that exist so far, with their exact types.
#[test]
fn the_identity_and_wallet_parts_of_the_contract_are_served_exactly() {
    let sdl = missionlink_api::graphql::sdl();
    let squashed: String = sdl.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "enum Role { VIEWER STREAMER }",
        "id: ID!",
        "handle: String!",
        "displayName: String!",
        "role: Role!",
        "cash: Int!",
        "points: Int!",
        "earnings: Int!",
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
