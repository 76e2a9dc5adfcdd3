//! The TRANSACTION state's listing and marking commands (RFC 1939 §5, §7):
//! STAT, LIST, UIDL, DELE, RSET. Sizes are the stored sizes (see lib.rs).

use super::{Flow, Session};
use crate::maildrop::{Entry, Maildrop};
use crate::reply::Reply;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) fn stat(&mut self) -> Flow {
        match self.open() {
            Ok(open) => {
                let (count, octets) = open.maildrop.stat();
                self.reply(Reply::ok_owned(format!("{count} {octets}")))
            }
            Err(r) => self.error(r),
        }
    }

    /// LIST: "n size" per message (RFC 1939 §5 scan listing).
    pub(super) fn list(&mut self, n: Option<u32>) -> Flow {
        self.listing(n, |e| e.size.to_string())
    }

    /// UIDL: "n unique-id" per message (RFC 1939 §7); the id is the GUID.
    pub(super) fn uidl(&mut self, n: Option<u32>) -> Flow {
        self.listing(n, |e| e.guid.clone())
    }

    /// One message's line as a status line, or all of them as a multi-line
    /// response; deleted messages are left out (RFC 1939 §5).
    fn listing(&mut self, n: Option<u32>, field: fn(&Entry) -> String) -> Flow {
        let open = match self.open() {
            Ok(open) => open,
            Err(r) => return self.error(r),
        };
        let out = match n {
            Some(n) => match open.maildrop.get(n) {
                Ok(e) => Reply::ok_owned(format!("{n} {}", field(e))).to_wire(),
                Err(e) => Reply::from(e).to_wire(),
            },
            None => multi_listing(&open.maildrop, field),
        };
        self.conn.push(out.as_bytes());
        Flow::Continue
    }

    /// DELE: marks the message; nothing is removed before QUIT (RFC 1939 §6).
    pub(super) fn dele(&mut self, n: u32) -> Flow {
        let open = match self.open() {
            Ok(open) => open,
            Err(r) => return self.error(r),
        };
        match open.maildrop.delete(n) {
            Ok(()) => self.reply(Reply::ok_owned(format!("Message {n} deleted"))),
            Err(e) => self.reply(e.into()),
        }
    }

    /// RSET: unmarks every message (RFC 1939 §5).
    pub(super) fn rset(&mut self) -> Flow {
        let open = match self.open() {
            Ok(open) => open,
            Err(r) => return self.error(r),
        };
        open.maildrop.reset();
        let (count, octets) = open.maildrop.stat();
        self.reply(Reply::ok_owned(format!(
            "Maildrop has {count} messages ({octets} octets)"
        )))
    }
}

fn multi_listing(maildrop: &Maildrop, field: fn(&Entry) -> String) -> String {
    let (count, octets) = maildrop.stat();
    let mut out = Reply::ok_owned(format!("{count} messages ({octets} octets)")).to_wire();
    for (n, e) in maildrop.live() {
        out.push_str(&format!("{n} {}\r\n", field(e)));
    }
    out.push_str(".\r\n");
    out
}
