//! IMAP4rev2 (RFC 9051) as a mode a session switches to with
//! `ENABLE IMAP4rev2` (RFC 9051 §6.3.1). What changes from IMAP4rev1
//! (RFC 9051 Appendix E) is decided here; the commands ask.

use super::Session;
use crate::wire;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// RFC 9051 Appendix E (item 7): no \Recent flag, no RECENT response.
    /// The session then claims no message as recent, so \Recent is never
    /// shown and SEARCH RECENT/NEW match nothing, OLD everything.
    pub(super) fn shows_recent(&self) -> bool {
        !self.rev2
    }

    /// RFC 9051 §6.4.4: a SEARCH without RETURN is answered as RETURN (ALL),
    /// with ESEARCH rather than the IMAP4rev1 SEARCH response.
    pub(super) fn answers_esearch(&self) -> bool {
        self.rev2
    }

    /// Mailbox names are UTF-8 on the wire (RFC 9051 §5.1, RFC 6855 §3)
    /// once IMAP4rev2 (or UTF8=ACCEPT) is enabled. The name handling itself
    /// lives with UTF8=ACCEPT; this is the one flag it asks.
    #[allow(dead_code)]
    pub(super) fn utf8_names(&self) -> bool {
        self.rev2
    }

    /// RFC 9051 §6.3.2: SELECT and EXAMINE send `* LIST () "/" name`.
    pub(super) fn select_list_line(&mut self, name: &str) {
        if !self.rev2 {
            return;
        }
        let mut line = b"* LIST () \"/\" ".to_vec();
        wire::mailbox(&mut line, name);
        line.extend_from_slice(b"\r\n");
        self.conn.push(&line);
    }
}
