//! Binding the listeners and accepting connections.

use super::kind_of;
use postern_config::{Config, SERVICES};
use postern_net::MaybeTls;
use postern_smtp::{Context, Kind, Session};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// Time allowed for the TLS handshake on implicit-TLS ports.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds every enabled listener of the services this build serves. Any
/// failure names the listener and stops the start.
pub async fn bind_all(config: &Config) -> Result<Vec<(Kind, TcpListener)>, String> {
    let mut out = Vec::new();
    for (name, _) in SERVICES {
        let Some(kind) = kind_of(name) else { continue };
        let addrs = config
            .listeners
            .get(name)
            .addrs()
            .map_err(|e| format!("listeners.{name}: {e}"))?;
        for addr in addrs {
            let l = postern_net::listen::bind(name, addr)
                .await
                .map_err(|e| e.to_string())?;
            out.push((kind, l));
        }
    }
    Ok(out)
}

/// Tells whoever started us where we listen: `listening NAME ADDR` lines, then `ready`.
pub fn announce(listeners: &[(Kind, TcpListener)]) {
    let mut out = std::io::stdout().lock();
    for (kind, l) in listeners {
        if let Ok(addr) = l.local_addr() {
            let _ = writeln!(out, "listening {} {}", kind.name(), addr);
        }
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
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

    pub async fn wait_idle(&self, grace: Duration) {
        let _ = tokio::time::timeout(grace, async {
            while self.live.load(Ordering::SeqCst) > 0 {
                self.idle.notified().await;
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

pub async fn accept_loop(
    listener: TcpListener,
    kind: Kind,
    ctx: Arc<Context>,
    mut stop: watch::Receiver<bool>,
    sessions: Sessions,
) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => return,
        };
        let (socket, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                eprintln!("postern: accept on {}: {e}", kind.name());
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let ctx = ctx.clone();
        let guard = sessions.enter();
        tokio::spawn(async move {
            let _guard = guard;
            let stream = match (kind, ctx.tls.clone()) {
                (Kind::Smtps, Some(acceptor)) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                        Ok(Ok(tls)) => MaybeTls::Tls(Box::new(tls)),
                        _ => return,
                    }
                }
                (Kind::Smtps, None) => return,
                _ => MaybeTls::Plain(socket),
            };
            Session::new(ctx, kind, stream, peer).run().await;
        });
    }
}
