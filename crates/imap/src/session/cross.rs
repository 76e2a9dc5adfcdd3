//! Cross-protocol junk (ALPACA): a command whose first line is an HTTP
//! request ends the session at once, without a reply a browser could read
//! as HTTP, and is logged to security.log (postern_net::cross_protocol).

use super::Session;
use postern_net::cross_protocol::{is_http_request, loggable, EVENT, HTTP_REASON};
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// True (and the session closing) when `command` starts with an HTTP request line.
    pub(super) fn refuse_http(&mut self, command: &[u8]) -> bool {
        let end = command
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(command.len());
        let line = command[..end]
            .strip_suffix(b"\r")
            .unwrap_or(&command[..end]);
        if !is_http_request(line) {
            return false;
        }
        let head = loggable(line);
        self.security_log(EVENT, &[("reason", HTTP_REASON), ("line", &head)]);
        self.closing = true;
        true
    }
}
