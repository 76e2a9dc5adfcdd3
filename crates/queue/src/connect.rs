//! Opening a session with one address of a hop: TCP (from the configured
//! source address), implicit TLS or STARTTLS as the plan says, AUTH for a
//! relay. Opportunistic STARTTLS that fails its handshake is retried in clear
//! (RFC 7435 §6: opportunistic security must not make delivery worse).

use crate::route::{Hop, Plan, Security};
use postern_net::tls_client::TlsClient;
use postern_smtp::client::{ClientError, ClientSession, Stage, Timeouts};
use postern_store::Secret;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};

/// An open session and how it is protected, for the log.
pub struct Opened {
    pub session: ClientSession,
    /// "none", "unverified TLSv1.3", "verified TLSv1.3"…
    pub tls: String,
    /// host[address]:port
    pub peer: String,
}

/// What the attempt needs besides the plan.
pub struct Dialer<'a> {
    pub tls: &'a TlsClient,
    pub helo: &'a str,
    pub source: Option<IpAddr>,
    pub connect_timeout: Duration,
    pub timeouts: Timeouts,
}

impl Dialer<'_> {
    pub async fn open(&self, plan: &Plan, hop: &Hop, ip: IpAddr) -> Result<Opened, ClientError> {
        match self.open_with(plan, hop, ip, true).await {
            // A failed handshake or a refused STARTTLS: try again in clear.
            Err(
                ClientError::Tls(_)
                | ClientError::Rejected {
                    stage: Stage::StartTls,
                    ..
                },
            ) if matches!(plan.security, Security::StartTls { require: false, .. }) => {
                self.open_with(plan, hop, ip, false).await
            }
            other => other,
        }
    }

    async fn open_with(
        &self,
        plan: &Plan,
        hop: &Hop,
        ip: IpAddr,
        try_tls: bool,
    ) -> Result<Opened, ClientError> {
        let addr = SocketAddr::new(ip, hop.port);
        let peer = format!("{}[{ip}]:{}", hop.name, hop.port);
        let tcp = self.tcp(addr).await?;
        let name = tls_name(hop, ip);
        let (mut session, tls) = match plan.security {
            Security::Implicit { verify } => {
                let (stream, info) = self
                    .tls
                    .connect(tcp, &name, verify)
                    .await
                    .map_err(|e| ClientError::Tls(e.to_string()))?;
                let s = ClientSession::connect(Box::new(stream), self.helo, self.timeouts.clone())
                    .await?;
                (s, describe(info.verified, &info.version))
            }
            Security::StartTls { require, verify } => {
                let s =
                    ClientSession::connect(Box::new(tcp), self.helo, self.timeouts.clone()).await?;
                if try_tls && s.capabilities().starttls {
                    let (s, info) = s.starttls(self.tls, &name, verify).await?;
                    (s, describe(info.verified, &info.version))
                } else if require {
                    return Err(ClientError::Tls(format!(
                        "{peer} does not offer STARTTLS and TLS is required"
                    )));
                } else {
                    (s, "none".to_string())
                }
            }
            Security::Plain => {
                let s =
                    ClientSession::connect(Box::new(tcp), self.helo, self.timeouts.clone()).await?;
                (s, "none".to_string())
            }
        };
        if let Some((user, password)) = &plan.auth {
            session
                .authenticate(user, &Secret::new(password.clone()))
                .await?;
        }
        Ok(Opened { session, tls, peer })
    }

    async fn tcp(&self, addr: SocketAddr) -> Result<TcpStream, ClientError> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(ClientError::Io)?;
        if let Some(src) = self.source.filter(|s| s.is_ipv4() == addr.is_ipv4()) {
            socket
                .bind(SocketAddr::new(src, 0))
                .map_err(ClientError::Io)?;
        }
        match tokio::time::timeout(self.connect_timeout, socket.connect(addr)).await {
            // No Nagle: the client's last write of a message (".\r\n") must not
            // wait for the previous segment's ACK (~40 ms per message otherwise).
            Ok(r) => r
                .and_then(|s| s.set_nodelay(true).map(|_| s))
                .map_err(ClientError::Io),
            Err(_) => Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("connect to {addr} timed out"),
            ))),
        }
    }
}

/// The name the certificate must carry: the MX host, or the address of a literal.
fn tls_name(hop: &Hop, ip: IpAddr) -> String {
    if hop.name.starts_with('[') {
        ip.to_string()
    } else {
        hop.name.clone()
    }
}

fn describe(verified: bool, version: &str) -> String {
    format!(
        "{} {version}",
        if verified { "verified" } else { "unverified" }
    )
}
