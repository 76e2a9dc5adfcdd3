//! One admitted connection on `https` (after TLS, ALPN h2/http1.1) or on
//! `http` (plain): hyper serves the router until the client leaves, stays
//! silent too long, or the server stops. An open event stream (SSE) keeps
//! its connection alive however long it lasts.

use crate::Ctx;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use postern_net::security::Security;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;

/// A client must send a request's headers within this (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A kept-alive connection with no new request (and no open event stream)
/// for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// HTTP/2 streams one connection may have open at once.
pub const MAX_H2_STREAMS: u32 = 32;

/// The connection a request came on: for the login guard, security.log and
/// whether a password may be sent on it.
#[derive(Clone)]
pub struct Peer {
    pub security: Option<Arc<Security>>,
    pub listener: &'static str,
    pub ip: IpAddr,
    pub tls: bool,
}

/// Requests begun, and event streams open, on one connection.
#[derive(Clone, Default)]
pub struct Activity {
    requests: Arc<AtomicU64>,
    streams: Arc<AtomicUsize>,
}

/// Held by an open event stream: the connection is not idle meanwhile.
pub struct StreamGuard(Arc<AtomicUsize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream(&self) -> StreamGuard {
        self.streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard(self.streams.clone())
    }

    /// Returns when a whole period passes with no new request and no stream.
    async fn idle(&self) {
        let mut seen = self.requests.load(Ordering::Relaxed);
        loop {
            let wait = if seen == 0 {
                HEADER_READ_TIMEOUT
            } else {
                IDLE_TIMEOUT
            };
            tokio::time::sleep(wait).await;
            let now = self.requests.load(Ordering::Relaxed);
            if now == seen && self.streams.load(Ordering::Relaxed) == 0 {
                return;
            }
            seen = now;
        }
    }
}

fn peer_of(addr: SocketAddr, tls: bool) -> Peer {
    match postern_net::security::current_connection() {
        Some((security, listener, ip)) => Peer {
            security: Some(security),
            listener,
            ip,
            tls,
        },
        None => Peer {
            security: None,
            listener: if tls { "https" } else { "http" },
            ip: addr.ip(),
            tls,
        },
    }
}

/// Serves webmail on `stream` (already TLS) from `addr`.
pub async fn serve_https<S>(ctx: Ctx, stream: S, addr: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = peer_of(addr, true);
    serve(ctx.clone(), crate::routes::app(ctx), stream, peer).await
}

/// Serves the `http` listener: a redirect to https, or webmail itself for a
/// client in `access.http.exempt`.
pub async fn serve_http<S>(ctx: Ctx, stream: S, addr: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = peer_of(addr, false);
    let router = if crate::redirect::exempt(&ctx, &peer) {
        crate::routes::app(ctx.clone())
    } else {
        crate::redirect::router(ctx.clone())
    };
    let router = crate::acme::with_challenges(router, &ctx);
    serve(ctx, router, stream, peer).await
}

async fn serve<S>(ctx: Ctx, router: Router, stream: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let stop = ctx.shutdown.clone();
    let activity = Activity::default();
    let seen = activity.clone();
    let router = router.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
        seen.request();
        req.extensions_mut().insert(peer.clone());
        req.extensions_mut().insert(seen.clone());
        req
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = activity.idle() => {}
        _ = stopped(stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

/// Returns once the server stops (never, if its sender is gone).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let stopping = stop.wait_for(|s| *s).await.is_ok();
    if !stopping {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_open_stream_keeps_the_connection() {
        let a = Activity::default();
        a.request();
        let guard = a.stream();
        let start = tokio::time::Instant::now();
        let b = a.clone();
        tokio::spawn(async move {
            tokio::time::sleep(IDLE_TIMEOUT * 3).await;
            drop(guard);
            let _ = b;
        });
        a.idle().await;
        assert!(start.elapsed() >= IDLE_TIMEOUT * 3, "{:?}", start.elapsed());
    }
}
