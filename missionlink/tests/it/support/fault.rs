//! A TCP proxy whose faults a test switches on and off.

use std::net::SocketAddr;

/// What a [`FaultProxy`] does to the traffic through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwards both ways.
    Pass,
    /// Forwards requests but holds every answer until the mode changes: the server did the
    /// work, the client does not hear of it.
    Stall,
    /// Cuts every open connection and refuses new ones, as a crashed server would.
    Down,
}

/// A TCP proxy on loopback in front of a real server (PostgreSQL, moto), whose faults a test
/// switches on and off.
pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: tokio::sync::watch::Sender<Fault>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (mode, _) = tokio::sync::watch::channel(Fault::Pass);
        let modes = mode.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *modes.borrow() == Fault::Down {
                    continue; // dropped: the connection is refused
                }
                tokio::spawn(Self::relay(client, upstream, modes.subscribe()));
            }
        });
        Self { addr, mode, task }
    }

    pub fn set(&self, fault: Fault) {
        self.mode.send_replace(fault);
    }

    async fn relay(
        client: tokio::net::TcpStream,
        upstream: SocketAddr,
        mode: tokio::sync::watch::Receiver<Fault>,
    ) {
        let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
            return;
        };
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let mut down = mode.clone();
        tokio::select! {
            _ = Self::pipe(client_read, server_write, mode.clone(), false) => {}
            _ = Self::pipe(server_read, client_write, mode, true) => {}
            _ = down.wait_for(|m| *m == Fault::Down) => {}
        }
    }

    /// Copies `from` to `to`; answers (`holds`) wait while the proxy stalls.
    async fn pipe(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        mut mode: tokio::sync::watch::Receiver<Fault>,
        holds: bool,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if holds && mode.wait_for(|m| *m != Fault::Stall).await.is_err() {
                return;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
