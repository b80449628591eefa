//! The connection loop: hyper's HTTP/1 server with a timer, so that a slow or silent client is
//! cut, and a cap on open connections below the process's file-descriptor limit.
//!
//! axum's own `serve` runs hyper without a timer, which turns hyper's header-read timeout off:
//! 200 connections each sending half a request head stayed open for as long as their senders
//! liked, and with a low `ulimit -n` the server ran out of descriptors for real uploads. Here:
//! - the request head must arrive within `header_timeout`, counted from the moment a connection
//!   is idle (hyper ≥ 1.6 starts the timer between keep-alive requests too, so that is also the
//!   idle timeout);
//! - at most `max_connections` are open; the rest wait in the kernel's accept queue, and are
//!   let in as timed-out ones are cut;
//! - running out of descriptors pauses accepting instead of spinning on the error.
//!
//! Bodies have their own idle and total limits, enforced where they are read (`receive`).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::Intake;

/// Descriptors kept back from connections: the database, its WAL, upload files, the listener.
const FD_RESERVE: u64 = 64;

/// The running server ([`serve`]): `.await` it, or `.with_graceful_shutdown(signal).await`.
pub struct Serving {
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    max_connections: usize,
}

/// Serves the intake on `listener`, with `TCP_NODELAY`: tus requests are small writes (a head,
/// then a body), and Nagle's algorithm against delayed ACKs would add ~40 ms to each.
pub fn serve(listener: TcpListener, intake: Arc<Intake>) -> Serving {
    Serving {
        listener,
        header_timeout: intake.config.header_timeout,
        max_connections: connection_cap(intake.config.max_connections),
        router: super::router(intake),
    }
}

/// The configured cap, lowered to what the descriptor limit allows.
fn connection_cap(configured: usize) -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let allowed = soft.saturating_sub(FD_RESERVE).max(1);
    configured.min(usize::try_from(allowed).unwrap_or(usize::MAX))
}

impl Serving {
    /// Serves until `signal` completes, then lets open connections finish.
    pub async fn with_graceful_shutdown(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .keep_alive(true);
        tokio::pin!(signal);
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.map_err(std::io::Error::other)?,
                () = &mut signal => break,
            };
            let tcp = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((tcp, _address)) => tcp,
                    Err(e) => {
                        // EMFILE/ENFILE and the like: wait for descriptors to come back rather
                        // than spin. The address is never logged.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut signal => break,
            };
            let _ = tcp.set_nodelay(true);
            let service = TowerToHyperService::new(self.router.clone());
            let connection = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
            tokio::spawn(async move {
                // Errors here are the client's (timeouts, resets): nothing to report.
                let _ = connection.await;
                drop(slot);
            });
        }
        drop(self.listener);
        graceful.shutdown().await;
        Ok(())
    }
}

impl IntoFuture for Serving {
    type Output = std::io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.with_graceful_shutdown(std::future::pending()))
    }
}
