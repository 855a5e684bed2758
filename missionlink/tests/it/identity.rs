//! Every authenticated request proves its user exists: a correctly signed token for an id that
//! was never registered, or whose user was deleted, moves no money and opens nothing; and reads
//! never fail because a user they mention is gone.

use crate::support::{Gql, TestApp, TestDatabases, signed_token};
use missionlink_entities::missions::mission;
use missionlink_entities::users::{refresh_token, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::time::Duration;

async fn top_up(app: &TestApp, token: &str, key: &str) -> Gql {
    app.gql(
        Some(token),
        "mutation($k: String!) { topUp(amount: 50000, idempotencyKey: $k) { cash } }",
        json!({ "k": key }),
    )
    .await
}

async fn create_mission(app: &TestApp, token: &str, streamer_id: &str) -> Gql {
    app.gql(
        Some(token),
        "mutation($input: CreateMissionInput!) { createMission(input: $input, idempotencyKey: \"m1\") { id } }",
        json!({ "input": { "streamerId": streamer_id, "title": "Phantom", "amount": 1000, "durationSeconds": 3600 } }),
    )
    .await
}

async fn wallet(app: &TestApp, token: &str) -> Gql {
    app.gql(Some(token), "{ wallet { cash points } }", json!({}))
        .await
}

async fn missions_rows(app: &TestApp) -> u64 {
    mission::Entity::find()
        .count(&app.db.missions)
        .await
        .expect("count missions")
}

async fn a_phantom_token_is_unauthenticated_and_changes_nothing(app: TestApp) {
    let streamer = app.register_as("phantomstreamer", "STREAMER").await;
    let phantom = signed_token(&uuid::Uuid::now_v7().to_string(), "VIEWER", 600);
    let before = app.snapshot().await;

    for (what, r) in [
        ("topUp", top_up(&app, &phantom, "free").await),
        (
            "createMission",
            create_mission(&app, &phantom, &streamer.user_id).await,
        ),
        ("wallet", wallet(&app, &phantom).await),
        (
            "me",
            app.gql(Some(&phantom), "{ me { id } }", json!({})).await,
        ),
    ] {
        assert_eq!(r.code(), "UNAUTHENTICATED", "{what}: {}", r.0);
    }
    assert_eq!(app.snapshot().await, before, "no account, transfer or key");
    assert_eq!(missions_rows(&app).await, 0);
}

#[tokio::test]
async fn a_signed_token_for_a_user_that_never_existed_is_unauthenticated_on_postgres() {
    a_phantom_token_is_unauthenticated_and_changes_nothing(TestApp::spawn().await).await;
}

#[tokio::test]
async fn a_signed_token_for_a_user_that_never_existed_is_unauthenticated_on_sqlite() {
    let app = TestApp::spawn_with(TestDatabases::sqlite(), &[]).await;
    a_phantom_token_is_unauthenticated_and_changes_nothing(app).await;
}

async fn delete_user(app: &TestApp, id: &str) {
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::UserId.eq(id))
        .exec(&app.db.users)
        .await
        .expect("delete refresh tokens");
    let deleted = user::Entity::delete_by_id(id.to_owned())
        .exec(&app.db.users)
        .await
        .expect("delete user");
    assert_eq!(deleted.rows_affected, 1);
}

#[tokio::test]
async fn a_user_deleted_while_its_token_lives_stops_acting_within_the_cache_time() {
    let app = TestApp::spawn_with(
        TestDatabases::postgres().await,
        &[("USER_CACHE_SECONDS", "1")],
    )
    .await;
    let viewer = app.register("shortlived").await;
    top_up(&app, &viewer.access, "before").await.data("topUp");

    delete_user(&app, &viewer.user_id).await;
    // The cache may still vouch for the user for USER_CACHE_SECONDS; then it must ask again.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let before = app.snapshot().await;
    let r = top_up(&app, &viewer.access, "after").await;
    assert_eq!(r.code(), "UNAUTHENTICATED", "{}", r.0);
    assert_eq!(wallet(&app, &viewer.access).await.code(), "UNAUTHENTICATED");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn a_mission_whose_creator_and_backer_were_deleted_still_reads_with_a_placeholder() {
    let app = TestApp::spawn().await;
    let streamer = app.register_as("stays", "STREAMER").await;
    let creator = app.register("leaves").await;
    app.top_up(&creator, 100_000, "t").await.data("topUp");
    let id = app.new_mission(&creator, &streamer.user_id, 10_000).await;
    delete_user(&app, &creator.user_id).await;

    let placeholder =
        json!({ "id": creator.user_id, "handle": "deleted-user", "displayName": "Deleted user" });
    // Anyone, signed in or not, still reads the public list and the mission.
    let listed = app
        .gql(
            None,
            "{ missions { nodes { id creator { id handle displayName } streamer { id handle } } } }",
            json!({}),
        )
        .await
        .data("missions");
    assert_eq!(listed["nodes"][0]["id"], id.as_str());
    assert_eq!(listed["nodes"][0]["creator"], placeholder);
    assert_eq!(listed["nodes"][0]["streamer"]["handle"], "stays");

    let one = app
        .gql(
            Some(&streamer.access),
            "query($id: ID!) { mission(id: $id) { creator { id handle displayName }
               pledges { nodes { amount backer { id handle displayName } } } } }",
            json!({ "id": id }),
        )
        .await
        .data("mission");
    assert_eq!(one["creator"], placeholder);
    assert_eq!(one["pledges"]["nodes"][0]["backer"], placeholder);
    assert_eq!(one["pledges"]["nodes"][0]["amount"], 10_000);
}
