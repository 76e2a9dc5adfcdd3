//! Cross-protocol junk (ALPACA): a line that is an HTTP request ends the
//! session at once, without a reply a browser could read as HTTP, and is
//! logged to security.log (postern_net::cross_protocol).

use super::{Flow, Session};
use postern_net::cross_protocol::{loggable, EVENT, HTTP_REASON};
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) fn http_request(&mut self, line: &[u8]) -> Flow {
        let head = loggable(line);
        self.security_log(EVENT, &[("reason", HTTP_REASON), ("line", &head)]);
        Flow::Close
    }
}
