//! STARTTLS (RFC 3207): upgrade in place, dropping anything the client
//! pipelined after the command (CVE-2011-0411) and all prior session state.

use super::{Flow, Kind, Session};
use crate::reply;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn starttls(&mut self) -> Flow {
        if self.conn.is_tls() || self.kind == Kind::Smtps {
            return self.error(reply::ALREADY_TLS);
        }
        let Some(acceptor) = self.ctx.tls.clone() else {
            return self.error(reply::NO_TLS_HERE);
        };
        self.send(&reply::START_TLS);
        let upgraded = self
            .conn
            .start_tls(&acceptor, self.cfg.smtp.command_timeout.0)
            .await;
        let (Ok(injected) | Err(injected)) = upgraded;
        if injected > 0 {
            self.security_log(
                "starttls-injection",
                &[
                    ("bytes", &injected.to_string()),
                    ("reason", "data pipelined after STARTTLS discarded"),
                ],
            );
        }
        if upgraded.is_err() {
            let (event, reason) = self.conn.tls_failure();
            self.security_log(event, &[("reason", reason)]);
            return Flow::Close;
        }
        // RFC 3207 §4.2: forget everything learned before TLS.
        self.helo = None;
        self.esmtp = false;
        self.tx = None;
        self.auth = None;
        Flow::Continue
    }
}
