//! IDLE (RFC 2177): the client waits, the server tells it at once what
//! changes in the selected mailbox (deliveries, other sessions' flag changes
//! and expunges arrive through the store's change broadcast), until DONE.

use super::reply::Reply;
use super::Session;
use postern_net::Line;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::RecvError;

/// "DONE" and its line ending, with room to spare.
const MAX_DONE_LINE: usize = 64;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn idle(&mut self, _tag: &str) -> Reply {
        if let Err(r) = self.need_auth() {
            return r;
        }
        let me = self.user.as_ref().map(|u| u.id);
        let mut changes = self.ctx.store.subscribe();
        let mut stop = self.ctx.shutdown.clone();
        self.conn.push(b"+ idling\r\n");
        if let Err(r) = self.sync(true).await {
            return r;
        }
        let deadline = tokio::time::Instant::now() + self.ctx.idle_timeout;
        loop {
            // Flushed before waiting, so the read below never holds unsent
            // output and can be cancelled without losing anything.
            if self.conn.flush().await.is_err() {
                return self.end();
            }
            // Issue 18 item 3: thousands of sessions wait here; none keeps
            // an empty read buffer meanwhile.
            self.conn.release_idle_buffers();
            let selected = self.selected.as_ref().map(|s| s.id);
            tokio::select! {
                line = self.conn.read_line(MAX_DONE_LINE) => return self.idle_done(line),
                change = changes.recv() => match change {
                    Ok(c) if Some(c.user) == me && Some(c.mailbox) == selected => {
                        if let Err(r) = self.sync(true).await { return r; }
                    }
                    Ok(_) => {}
                    // Missed some: look anyway.
                    Err(RecvError::Lagged(_)) => { if let Err(r) = self.sync(true).await { return r; } }
                    Err(RecvError::Closed) => {}
                },
                _ = stop.changed() => { self.bye("Server shutting down"); return self.end(); }
                _ = tokio::time::sleep_until(deadline) => { self.bye("Autologout; idle for too long"); return self.end(); }
            }
        }
    }

    fn idle_done(&mut self, line: std::io::Result<Line>) -> Reply {
        match line {
            Ok(Line::Text(t)) if t.eq_ignore_ascii_case(b"DONE") => Reply::ok("IDLE terminated"),
            Ok(Line::Text(_)) | Ok(Line::TooLong) => Reply::bad("Expected DONE"),
            _ => self.end(),
        }
    }
}
