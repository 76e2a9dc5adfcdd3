//! CAPA (RFC 2449 §5): what this session offers now. Plaintext logins are
//! offered only over TLS unless the policy allows them; STLS only before TLS.

use super::{Flow, Session};
use crate::reply::Reply;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) fn capa(&mut self) -> Flow {
        let mut out = Reply::ok("Capability list follows").to_wire();
        for cap in self.capabilities() {
            out.push_str(cap);
            out.push_str("\r\n");
        }
        out.push_str(".\r\n");
        self.conn.push(out.as_bytes());
        Flow::Continue
    }

    /// RFC 2449 §5: the same list in AUTHORIZATION and TRANSACTION state.
    fn capabilities(&self) -> Vec<&'static str> {
        let mut caps = vec!["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
        if !self.conn.is_tls() && self.ctx.tls.is_some() {
            caps.push("STLS");
        }
        if self.login_allowed() {
            caps.push("USER");
            caps.push("SASL PLAIN LOGIN");
        }
        caps.push("IMPLEMENTATION Postern");
        caps
    }

    /// Whether credentials may be sent on this connection now.
    pub(super) fn login_allowed(&self) -> bool {
        self.conn.is_tls() || self.ctx.plaintext_auth
    }
}
