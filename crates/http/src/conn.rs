//! One admitted connection: TLS with ALPN `h2` and `http/1.1`, then hyper
//! serves the router until the client leaves, a header read times out, or
//! the server stops.

use crate::Ctx;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use postern_net::security::Security;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::idle::{Activity, HEADER_READ_TIMEOUT};
/// HTTP/2 streams one connection may have open at once.
pub const MAX_H2_STREAMS: u32 = 32;

/// The connection a request came on, for the login guard and security.log.
#[derive(Clone)]
pub struct Peer {
    pub security: Option<Arc<Security>>,
    pub listener: &'static str,
    pub ip: IpAddr,
}

/// The server's certificate offering HTTP/2 and HTTP/1.1 (RFC 7301), and
/// `acme-tls/1` for an ACME CA's TLS-ALPN-01 validation (RFC 8737 §3).
pub fn tls_acceptor(base: &TlsAcceptor) -> TlsAcceptor {
    let mut config = (**base.config()).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"acme-tls/1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// Serves HTTP on `stream` (already TLS) from `addr`. Run inside the
/// connection's admission ticket, so the login guard finds it.
pub async fn serve_connection<S>(ctx: Ctx, stream: S, addr: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = match postern_net::security::current_connection() {
        Some((security, listener, ip)) => Peer {
            security: Some(security),
            listener,
            ip,
        },
        None => Peer {
            security: None,
            listener: "admin",
            ip: addr.ip(),
        },
    };
    let stop = ctx.shutdown.clone();
    let activity = Activity::default();
    let seen = activity.clone();
    let router = crate::api::router(ctx).map_request(
        move |mut req: axum::http::Request<hyper::body::Incoming>| {
            seen.request();
            req.extensions_mut().insert(peer.clone());
            // A live stream (the log tail) keeps its connection from idling out.
            req.extensions_mut().insert(seen.clone());
            req
        },
    );
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
