//! STLS (RFC 2595 §4): upgrade in place in AUTHORIZATION state, dropping
//! anything the client pipelined after the command (CVE-2011-0411) and any
//! USER given before.

use super::{Flow, Session, State};
use crate::reply;
use crate::HANDSHAKE_TIMEOUT;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn stls(&mut self) -> Flow {
        if !self.is_authorization() {
            return self.error(reply::NOT_IN_TRANSACTION);
        }
        if self.conn.is_tls() {
            return self.error(reply::ALREADY_TLS);
        }
        let Some(acceptor) = self.ctx.tls.clone() else {
            return self.reply(reply::NO_TLS_HERE);
        };
        self.send(&reply::START_TLS);
        let upgraded = self.conn.start_tls(&acceptor, HANDSHAKE_TIMEOUT).await;
        let (Ok(injected) | Err(injected)) = upgraded;
        if injected > 0 {
            self.security_log(
                "starttls-injection",
                &[
                    ("bytes", &injected.to_string()),
                    ("reason", "data pipelined after STLS discarded"),
                ],
            );
        }
        if upgraded.is_err() {
            let (event, reason) = self.conn.tls_failure();
            self.security_log(event, &[("reason", reason)]);
            return Flow::Close;
        }
        // RFC 2595 §4: still AUTHORIZATION state; forget what came before TLS.
        self.state = State::Authorization { user: None };
        Flow::Continue
    }
}
