//! The HTTP side: one listener serving the MMS ROA paths, the DTS and STS RPC actions and the
//! `/_sim/` admin API. Each request is classified (product, action), authenticated, rate
//! limited, possibly hit by an injected fault, handled against the world, and logged.
//!
//! The connection loop is hyper's own (not `axum::serve`) so that a "drop" fault can close a
//! connection without sending any response.

mod admission;
mod answer;
mod classify;
mod oss;
mod request;
mod respond;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use super::admin;
use super::config::SimConfig;
use super::world::World;

pub use respond::json_response;

/// Largest request body accepted: a DataWorks package upload (30 MB) and its form fields.
const MAX_BODY: usize = 31 * 1024 * 1024;

/// State shared by all connections.
#[derive(Debug)]
pub struct Shared {
    world: Mutex<World>,
}

impl Shared {
    /// Locks the world; a panic in another handler does not make the simulator unusable.
    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The peer of a connection (admin calls are only taken from loopback peers).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Marks a response whose connection must be closed without answering.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Starts simulators in-process.
pub struct Simulator;

impl Simulator {
    /// Binds `config.listen` and serves until [`SimHandle::shutdown`].
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        let world = World::new(&config)?;
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
        });
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let router = axum::Router::new()
            .nest("/_sim", admin::router())
            .fallback(request::cloud)
            .with_state(shared.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, router, rx));
        Ok(SimHandle {
            addr,
            shutdown: tx,
            task,
            shared,
        })
    }
}

/// A running simulator.
pub struct SimHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, the endpoint for every product.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A typed client of the admin API.
    pub fn admin(&self) -> admin::AdminClient {
        admin::AdminClient::new(&self.base_url())
    }

    /// Runs `f` on the world (in-process tests).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.shared.lock())
    }

    /// Stops accepting, lets in-flight requests finish (5 s at most) and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

async fn serve(listener: TcpListener, router: axum::Router, mut stop: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let router = router.clone();
                let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    let router = router.clone();
                    async move {
                        let resp = match router.oneshot(req.map(Body::new)).await {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        if resp.extensions().get::<DropConnection>().is_some() {
                            Err(DropConnection)
                        } else {
                            Ok(resp)
                        }
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}
