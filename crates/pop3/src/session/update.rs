//! QUIT (RFC 1939 §4, §6). In TRANSACTION state it enters UPDATE: the
//! messages marked deleted are expunged from INBOX in one store transaction —
//! all or nothing — and the maildrop lock is released before the reply is
//! sent, so a client may reconnect at once.

use super::{Flow, Open, Session, State};
use crate::reply::{self, Reply};
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn quit(&mut self) -> Flow {
        let state = std::mem::replace(&mut self.state, State::Authorization { user: None });
        let reply = match state {
            State::Authorization { .. } => self.signing_off(None),
            State::Transaction(open) => self.update(*open).await,
        };
        self.close_with(reply)
    }

    /// The UPDATE state. The lock in `open` is released when this returns.
    async fn update(&mut self, open: Open) -> Reply {
        let uids = open.maildrop.deleted_uids();
        let (left, _) = open.maildrop.stat();
        if uids.is_empty() {
            return self.signing_off(Some(left));
        }
        let wanted = uids.len();
        match self.ctx.store.expunge(open.inbox, &uids).await {
            Ok(removed) => {
                self.ctx.logs.mail(&[
                    ("event", "pop3-deleted"),
                    ("user", &open.user.address),
                    ("client", &self.client_ip()),
                    ("marked", &wanted.to_string()),
                    ("removed", &removed.len().to_string()),
                ]);
                self.signing_off(Some(left))
            }
            Err(e) => {
                eprintln!("postern: pop3: expunge for {}: {e}", open.user.address);
                reply::UPDATE_FAILED
            }
        }
    }

    fn signing_off(&self, left: Option<usize>) -> Reply {
        let host = &self.cfg.server.hostname;
        Reply::ok_owned(match left {
            Some(n) => format!("{host} POP3 server signing off ({n} messages left)"),
            None => format!("{host} POP3 server signing off"),
        })
    }
}
