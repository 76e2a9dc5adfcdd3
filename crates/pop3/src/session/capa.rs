//! CAPA (RFC 2449 §5): what this session offers now. Plaintext logins (USER,
//! SASL PLAIN/LOGIN) are offered only over TLS unless the security policy
//! allows them (policy.rs; challenge-response SASL mechanisms also before
//! it, none at all where it wants TLS first); STLS only before TLS.

use super::{Flow, Session};
use crate::reply::Reply;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) fn capa(&mut self) -> Flow {
        let mut out = Reply::ok("Capability list follows").to_wire();
        for cap in self.capabilities() {
            out.push_str(&cap);
            out.push_str("\r\n");
        }
        out.push_str(".\r\n");
        self.conn.push(out.as_bytes());
        Flow::Continue
    }

    /// RFC 2449 §5: the same list in AUTHORIZATION and TRANSACTION state.
    fn capabilities(&self) -> Vec<String> {
        let mut caps: Vec<String> = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
            .map(String::from)
            .to_vec();
        if !self.conn.is_tls() && self.ctx.tls.is_some() {
            caps.push("STLS".into());
        }
        if self.login_allowed() {
            caps.push("USER".into());
        }
        // RFC 5034 §3: the mechanisms AUTH accepts now (auth.rs).
        let mechanisms: Vec<&str> = self.offered_mechanisms().iter().map(|m| m.name()).collect();
        if !mechanisms.is_empty() {
            caps.push(format!("SASL {}", mechanisms.join(" ")));
        }
        caps.push("IMPLEMENTATION Postern".into());
        caps
    }
}
