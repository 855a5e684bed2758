//! The standalone worker's `/metrics` endpoint.

use super::metrics;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;

/// Serves `GET /metrics` on `addr` until `shutdown` resolves: the standalone worker's endpoint
/// (the API serves the same registry on its own port).
pub async fn serve(
    addr: SocketAddr,
    users_db: DatabaseConnection,
    missions_db: DatabaseConnection,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let (u, m) = (users_db.clone(), missions_db.clone());
            async move {
                metrics().refresh(&u, &m).await;
                metrics().render()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "worker metrics on /metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
