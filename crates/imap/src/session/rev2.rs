//! IMAP4rev2 (RFC 9051) as a mode a session switches to with
//! `ENABLE IMAP4rev2` (RFC 9051 §6.3.1). What changes from IMAP4rev1
//! (RFC 9051 Appendix E) is decided here; the commands ask.

use super::Session;
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
    pub(super) fn utf8_names(&self) -> bool {
        self.rev2 || self.utf8
    }

    /// RFC 9051 §6.3.2: SELECT and EXAMINE send `* LIST () "/" name`.
    pub(super) fn select_list_line(&mut self, name: &str) {
        if !self.rev2 {
            return;
        }
        let mut line = b"* LIST () \"/\" ".to_vec();
        self.put_mailbox(&mut line, name);
        line.extend_from_slice(b"\r\n");
        self.conn.push(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Context, Session};
    use postern_net::MaybeTls;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The greeting offers IMAP4rev2 beside IMAP4rev1, and SEARCHRES, which
    /// RFC 9051 requires of it; ENABLE needs a login first (RFC 5161 §3.1).
    #[tokio::test]
    async fn greeting_offers_rev2_and_enable_needs_login() {
        let dir = tempfile::tempdir().unwrap();
        let store = postern_store::Store::open(dir.path()).unwrap();
        let logs = postern_logs::Logs::open(dir.path(), false).unwrap();
        let (_c, cfg) = tokio::sync::watch::channel(Arc::new(postern_config::Config::default()));
        let (_s, stop) = tokio::sync::watch::channel(false);
        let ctx = Arc::new(Context::new(store, logs, cfg, None, stop));
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let peer = "127.0.0.1:1".parse().unwrap();
        let task = tokio::spawn(Session::new(ctx, MaybeTls::Plain(server), peer).run());
        let mut buf = vec![0u8; 4096];
        let n = client.read(&mut buf).await.unwrap();
        let greeting = String::from_utf8_lossy(&buf[..n]).into_owned();
        let caps: Vec<&str> = greeting.split([' ', ']']).collect();
        for c in ["IMAP4rev1", "IMAP4rev2", "SEARCHRES", "ENABLE", "ESEARCH"] {
            assert!(caps.contains(&c), "{c} in {greeting}");
        }
        client.write_all(b"a ENABLE IMAP4rev2\r\n").await.unwrap();
        let n = client.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"a BAD"), "{:?}", &buf[..n]);
        drop(client);
        task.await.unwrap();
    }
}
