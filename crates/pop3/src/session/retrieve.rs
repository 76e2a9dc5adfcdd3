//! RETR and TOP (RFC 1939 §5, §7): the message streamed from the store,
//! byte-stuffed, with bounded memory whatever its size.

use super::{Flow, Session};
use crate::dot::{send_file, SendError, Stuffer};
use crate::reply::{self, Reply};
use crate::OUTPUT_HIGH_WATER;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// RETR n (`top` None) or TOP n lines.
    pub(super) async fn retrieve(&mut self, n: u32, top: Option<u64>) -> Flow {
        let open = match self.open() {
            Ok(open) => open,
            Err(r) => return self.error(r),
        };
        let (blob, size) = match open.maildrop.get(n) {
            Ok(e) => (e.blob.clone(), e.size),
            Err(e) => return self.reply(e.into()),
        };
        let file = match self.ctx.store.open_body(&blob).await {
            Ok(Some(body)) => body,
            // Expunged (by IMAP) since the snapshot was taken.
            Ok(None) => return self.reply(reply::MESSAGE_GONE),
            Err(_) => return self.reply(reply::READ_FAILED),
        };
        let (status, stuffer) = match top {
            None => (format!("{size} octets"), Stuffer::whole()),
            Some(lines) => ("Top of message follows".to_string(), Stuffer::top(lines)),
        };
        self.send(&Reply::ok_owned(status));
        let timeout = self.ctx.idle_timeout;
        match send_file(&mut self.conn, file, stuffer, OUTPUT_HIGH_WATER, timeout).await {
            Ok(()) => Flow::Continue,
            Err(SendError::Read(e)) => {
                // After +OK there is no way to say so: end the session, delete nothing.
                eprintln!("postern: pop3: reading body {blob}: {e}");
                Flow::Close
            }
            Err(SendError::Write(_)) => Flow::Close,
        }
    }
}
