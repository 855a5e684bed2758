//! `missionlink serve`: the GraphQL/HTTP API alone (also run by `all`).

use anyhow::Context;
use missionlink_api::db::Databases;
use missionlink_api::http::Server;
use missionlink_api::state::AppState;
use missionlink_config::Config;

/// Serves until Ctrl-C or SIGTERM. The API's state gets the API's settings, not `config`.
pub async fn run(config: Config, db: Databases) -> anyhow::Result<()> {
    let addr = config.http.addr;
    let state = AppState::new(config.api(), db)?;
    let server = Server::bind(state, addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = server.local_addr()?;
    tracing::info!("GraphQL API on http://{bound}/graphql");
    server.run(crate::shutdown::signal()).await
}
