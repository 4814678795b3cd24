//! Serving connections: HTTP/1.1 with read deadlines, so a slow or silent client cannot hold a connection
//! (and its task) forever.
//!
//! `axum::serve` gives hyper no timer, so hyper's header read timeout never fires: a client that opens a
//! connection and sends nothing, or trickles a header a byte at a time, keeps it open for as long as it
//! likes. Here each connection is served by hyper's HTTP/1 connection builder with tokio's timer:
//! - the request head must arrive within [`HEADER_READ_TIMEOUT`] of the first byte — or, on a kept-alive
//!   connection, of the previous response;
//! - the body must arrive within `protocol::BODY_READ_TIMEOUT` (`read_body` answers HTTP 408
//!   `RequestTimeoutException`).
//!
//! Graceful shutdown: stop accepting, let the requests in flight finish (hyper's graceful shutdown closes
//! idle kept-alive connections at once), then return.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt as _;

/// Longest wait for a request's head (the request line and headers).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the requests in flight.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: the listener stays usable; back off a moment.
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(
            router
                .clone()
                .map_request(|r: axum::http::Request<hyper::body::Incoming>| r.map(axum::body::Body::new)),
        );
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection closed: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
