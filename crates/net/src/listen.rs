//! Binding listeners, with errors that say which listener failed and why.

use std::net::SocketAddr;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
#[error("cannot listen for {service} on {addr}: {reason}")]
pub struct BindError {
    pub service: String,
    pub addr: SocketAddr,
    pub reason: String,
}

/// Binds `addr` for `service`, explaining the usual failures.
pub async fn bind(service: &str, addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|e| BindError { service: service.into(), addr, reason: explain(&e, addr) })
}

fn explain(e: &std::io::Error, addr: SocketAddr) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            format!("{e} (port {} is privileged: run as root, grant CAP_NET_BIND_SERVICE, or choose another port with --listen)", addr.port())
        }
        std::io::ErrorKind::AddrInUse => format!("{e} (another program already listens there)"),
        std::io::ErrorKind::AddrNotAvailable => format!("{e} (this machine has no such address)"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn busy_port_is_explained() {
        let first = super::bind("smtp", "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = first.local_addr().unwrap();
        let err = super::bind("smtp", addr).await.unwrap_err();
        assert!(err.to_string().contains("cannot listen for smtp"), "{err}");
        assert!(err.to_string().contains("already"), "{err}");
    }
}
