//! The HTTP server on a thread of its own, for the synchronous commands (`replay`,
//! `run`), and waiting for a stop signal.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::Shared;

/// An HTTP server running on its own thread.
pub struct BackgroundServer {
    /// The bound address.
    pub address: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Its runtime could not be made.
    #[error("starting the HTTP runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The address could not be bound.
    #[error("binding `{address}`: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped before it said where it listens.
    #[error("binding `{address}`: the server stopped before it was bound")]
    Stopped {
        /// The address asked for.
        address: SocketAddr,
    },
}

impl BackgroundServer {
    /// Binds `listen` and serves `shared`.
    pub fn start(listen: SocketAddr, shared: Arc<Shared>) -> Result<BackgroundServer, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(crate::serve(listen, shared, bound_tx, async {
            // Either a stop request or the sender dropped: both mean stop.
            stop_rx.await.ok();
        }));
        let Ok(address) = runtime.block_on(bound_rx) else {
            // The task ended before binding: its error says why.
            let reason = runtime.block_on(task);
            return Err(match reason {
                Ok(Err(source)) => StartError::Bind {
                    address: listen,
                    source,
                },
                _ => StartError::Stopped { address: listen },
            });
        };
        Ok(BackgroundServer {
            address,
            runtime,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// Sets `stop` when Ctrl-C or SIGTERM arrives.
    pub fn on_stop_signal(&self, stop: Arc<AtomicBool>) {
        self.runtime.spawn(async move {
            wait_for_stop_signal().await;
            stop.store(true, Ordering::Relaxed);
        });
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub fn wait_for_stop_signal(&self) {
        self.runtime.block_on(wait_for_stop_signal());
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already have stopped on its own.
            stop.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            self.runtime.block_on(task).ok();
        }
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// The lines that say where the server can be reached.
pub fn urls(address: SocketAddr) -> String {
    format!(
        "  status page   http://{address}/   (Hebrew: http://{address}/?lang=he)\n  \
         metrics       http://{address}/metrics\n  \
         health        http://{address}/healthz  http://{address}/readyz"
    )
}
