//! STLS (RFC 2595 §4): upgrade in place in AUTHORIZATION state, dropping
//! anything the client pipelined after the command (CVE-2011-0411) and any
//! USER given before.

use super::{Flow, Session, State};
use crate::reply;
use crate::HANDSHAKE_TIMEOUT;
use postern_net::MaybeTls;
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
        if self.conn.flush().await.is_err() {
            return Flow::Close;
        }
        let injected = self.conn.discard_buffered();
        if injected > 0 {
            self.security_log(
                "starttls-injection",
                &[
                    ("bytes", &injected.to_string()),
                    ("reason", "data pipelined after STLS discarded"),
                ],
            );
        }
        let Some(MaybeTls::Plain(plain)) = self.conn.take_stream() else {
            return Flow::Close;
        };
        let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(plain)).await
        else {
            self.security_log(
                "tls-failed",
                &[("reason", "TLS handshake failed or timed out")],
            );
            return Flow::Close;
        };
        self.conn.put_stream(MaybeTls::Tls(Box::new(tls)));
        // RFC 2595 §4: still AUTHORIZATION state; forget what came before TLS.
        self.state = State::Authorization { user: None };
        Flow::Continue
    }
}
