//! STARTTLS (RFC 3207): the command, the handshake, and EHLO again.

use super::channel::Channel;
use super::session::rejected;
use super::{Capabilities, ClientError, ClientSession, Stage, TlsInfo};
use postern_net::tls_client::TlsClient;

impl ClientSession {
    /// Upgrades the connection to TLS. What the server said before is
    /// forgotten and EHLO is sent again (RFC 3207 §4.2). Bytes that came after
    /// the server's 220 are refused: they were sent in clear but would be read
    /// as if they came over TLS (CVE-2011-0411, seen from the client side).
    /// With `require_verified` an unverifiable certificate is an error;
    /// without, [`TlsInfo::verified`] tells (RFC 7435).
    pub async fn starttls(
        mut self,
        tls: &TlsClient,
        server_name: &str,
        require_verified: bool,
    ) -> Result<(ClientSession, TlsInfo), ClientError> {
        self.chan.check()?;
        let limit = self.timeouts.ehlo;
        let reply = self
            .chan
            .command("STARTTLS", Stage::StartTls, limit)
            .await?;
        if reply.code != 220 {
            return Err(rejected(Stage::StartTls, reply));
        }
        if self.chan.pending() > 0 {
            let n = self.chan.pending();
            return Err(ClientError::Protocol(format!(
                "the server sent {n} octets after its STARTTLS reply, before the TLS handshake"
            )));
        }
        let ClientSession {
            chan,
            greeting,
            helo_name,
            timeouts,
            ..
        } = self;
        let handshake = tls.connect(chan.into_io(), server_name, require_verified);
        let (stream, info) = match tokio::time::timeout(limit, handshake).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return Err(ClientError::Tls(e.to_string())),
            Err(_) => return Err(ClientError::Timeout(Stage::TlsHandshake)),
        };
        let mut s = ClientSession {
            chan: Channel::new(Box::new(stream)),
            caps: Capabilities::default(),
            greeting,
            helo_name,
            timeouts,
        };
        s.hello().await?;
        Ok((s, info))
    }
}
