//! Websockets to an app's `/graphql/ws`, speaking graphql-transport-ws.

use super::TestApp;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A websocket to an app's `/graphql/ws`, speaking graphql-transport-ws.
pub type WsSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql/ws` on `app` with the graphql-transport-ws subprotocol.
pub async fn ws_connect(app: &TestApp) -> Result<WsSocket, tokio_tungstenite::tungstenite::Error> {
    ws_connect_at(app.addr).await
}

/// Opens `/graphql/ws` on the API at `addr`.
pub async fn ws_connect_at(
    addr: SocketAddr,
) -> Result<WsSocket, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

/// A socket that has sent an anonymous `connection_init` (its acknowledgement not read yet).
pub async fn ws_open(app: &TestApp) -> WsSocket {
    ws_open_at(app.addr).await
}

/// [`ws_open`] on the API at `addr`.
pub async fn ws_open_at(addr: SocketAddr) -> WsSocket {
    use futures::SinkExt;
    let mut ws = ws_connect_at(addr).await.expect("connect");
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({ "type": "connection_init" }).to_string(),
    ))
    .await
    .expect("init");
    ws
}

/// The socket's next text message as JSON (pings and the like skipped); fails the test after
/// 15 s of silence.
pub async fn ws_next_json(ws: &mut WsSocket) -> Value {
    use futures::StreamExt;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s")
            .expect("socket open")
            .expect("message");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = msg {
            return serde_json::from_str(&text).expect("json");
        }
    }
}
