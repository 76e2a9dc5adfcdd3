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

/// Pending connections the kernel holds for us.
const BACKLOG: i32 = 1024;

/// Binds `addr` for `service`, explaining the usual failures. IPv6 sockets are
/// IPv6-only, so `0.0.0.0:25` and `[::]:25` can both be listed.
pub async fn bind(service: &str, addr: SocketAddr) -> Result<TcpListener, BindError> {
    open(addr).map_err(|e| BindError {
        service: service.into(),
        addr,
        reason: explain(&e, addr),
    })
}

fn open(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
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
        let first = super::bind("smtp", "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = first.local_addr().unwrap();
        let err = super::bind("smtp", addr).await.unwrap_err();
        assert!(err.to_string().contains("cannot listen for smtp"), "{err}");
        assert!(err.to_string().contains("already"), "{err}");
    }

    #[tokio::test]
    async fn v4_and_v6_side_by_side() {
        let v4 = super::bind("smtp", "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let port = v4.local_addr().unwrap().port();
        // Only where the machine has IPv6 at all.
        if std::net::TcpListener::bind("[::1]:0").is_ok() {
            super::bind("smtp", format!("[::1]:{port}").parse().unwrap())
                .await
                .unwrap();
        }
    }
}
