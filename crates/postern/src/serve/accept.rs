//! Binding the listeners and accepting connections.

use postern_config::{Config, SERVICES};
use postern_net::security::Security;
use postern_net::{MaybeTls, QuickAck};
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsAcceptor;

/// Time allowed for the TLS handshake on implicit-TLS ports.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves one accepted connection.
pub type Handler = Arc<
    dyn Fn(MaybeTls<QuickAck>, SocketAddr) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// A bound listener and how its connections are served.
pub struct Bound {
    pub name: &'static str,
    pub listener: TcpListener,
    pub implicit_tls: bool,
    pub handler: Handler,
}

/// Binds every enabled listener of the services this build serves. Any
/// failure names the listener and stops the start.
pub async fn bind_all(
    config: &Config,
    service: impl Fn(&str) -> Option<(bool, Handler)>,
) -> Result<Vec<Bound>, String> {
    let mut out = Vec::new();
    for (name, _) in SERVICES {
        let Some((implicit_tls, handler)) = service(name) else {
            continue;
        };
        let addrs = config
            .listeners
            .get(name)
            .addrs()
            .map_err(|e| format!("listeners.{name}: {e}"))?;
        for addr in addrs {
            let listener = postern_net::listen::bind(name, addr)
                .await
                .map_err(|e| e.to_string())?;
            out.push(Bound {
                name,
                listener,
                implicit_tls,
                handler: handler.clone(),
            });
        }
    }
    Ok(out)
}

/// Tells whoever started us where we listen: `listening NAME ADDR` lines, then `ready`.
pub fn announce(listeners: &[Bound]) {
    let mut out = std::io::stdout().lock();
    for b in listeners {
        if let Ok(addr) = b.listener.local_addr() {
            let _ = writeln!(out, "listening {} {}", b.name, addr);
        }
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
}

/// `(name, address)` of each bound listener.
pub fn addresses(listeners: &[Bound]) -> Vec<(String, String)> {
    let addr = |b: &Bound| {
        b.listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    };
    listeners
        .iter()
        .map(|b| (b.name.to_string(), addr(b)))
        .collect()
}

/// Counts live sessions so shutdown can wait for them.
#[derive(Clone, Default)]
pub struct Sessions {
    live: Arc<AtomicUsize>,
    idle: Arc<Notify>,
}

impl Sessions {
    fn enter(&self) -> SessionGuard {
        self.live.fetch_add(1, Ordering::SeqCst);
        SessionGuard(self.clone())
    }

    pub async fn wait_idle(&self, deadline: tokio::time::Instant) {
        let _ = tokio::time::timeout_at(deadline, async {
            while self.live.load(Ordering::SeqCst) > 0 {
                let notified = self.idle.notified();
                if self.live.load(Ordering::SeqCst) == 0 {
                    break;
                }
                notified.await;
            }
        })
        .await;
    }
}

struct SessionGuard(Sessions);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Accepts until `stop`; each connection is admitted or refused by
/// `security` (IP group, connection limits, blocks) before its protocol sees it.
pub async fn accept_loop(
    bound: Bound,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
    sessions: Sessions,
    security: Arc<Security>,
) {
    loop {
        let accepted = tokio::select! {
            r = bound.listener.accept() => r,
            _ = stop.changed() => return,
        };
        let (socket, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                eprintln!("postern: accept on {}: {e}", bound.name);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let (handler, implicit, tls) = (bound.handler.clone(), bound.implicit_tls, tls.clone());
        let admitted = security.admit(bound.name, peer.ip());
        if over_limit_on_http(bound.name, &admitted) {
            continue;
        }
        let (name, security) = (bound.name, security.clone());
        let guard = sessions.enter();
        tokio::spawn(async move {
            let _guard = guard;
            let Some(stream) = open(socket, implicit, tls, name, &security).await else {
                return;
            };
            match admitted {
                Ok(ticket) => ticket.serve(handler(stream, peer)).await,
                // HTTPS has no greeting to refuse in: closed after the handshake.
                Err(_) if is_http(name) => drop(stream),
                Err(refusal) => security.refuse(name, &refusal, stream).await,
            }
        });
    }
}

/// A connection over a connection limit on an HTTP listener: closed at once,
/// before its TLS handshake, so a flood of slow clients holds no descriptor
/// or task beyond the limit (issue 19, "10,000 slow connections (bounded)").
fn over_limit_on_http<T>(name: &str, admitted: &Result<T, postern_net::security::Refusal>) -> bool {
    use postern_net::security::Refusal as R;
    let over = matches!(admitted, Err(R::TooMany { .. } | R::TooManyFromIp { .. }));
    over && is_http(name)
}

/// Listeners that speak HTTP (admin, webmail), where a refusal is a close.
fn is_http(name: &str) -> bool {
    use postern_config::{ADMIN_LISTENER, HTTPS_LISTENER, HTTP_LISTENER};
    [ADMIN_LISTENER, HTTPS_LISTENER, HTTP_LISTENER].contains(&name)
}

/// The connection as its protocol sees it: plain, or after the handshake on
/// an implicit-TLS port.
/// A handshake refused for its ALPN offer (ALPACA) goes to security.log.
async fn open(
    socket: TcpStream,
    implicit: bool,
    tls: Option<TlsAcceptor>,
    name: &str,
    security: &Security,
) -> Option<MaybeTls<QuickAck>> {
    use postern_net::cross_protocol::{is_alpn_refusal, ALPN_REASON, EVENT};
    let peer = socket.peer_addr().ok();
    let socket = QuickAck::new(socket);
    match (implicit, tls) {
        (false, _) => Some(MaybeTls::Plain(socket)),
        (true, Some(acceptor)) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                Ok(Ok(s)) => Some(MaybeTls::Tls(Box::new(s))),
                Ok(Err(e)) if is_alpn_refusal(&e) => {
                    if let Some(peer) = peer {
                        security.security_log(EVENT, name, peer.ip(), &[("reason", ALPN_REASON)]);
                    }
                    None
                }
                _ => None,
            }
        }
        (true, None) => None,
    }
}
