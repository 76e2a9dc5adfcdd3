//! APPEND (RFC 3501 §6.3.11) with APPENDUID (UIDPLUS, RFC 4315 §3), the
//! APPENDLIMIT capability (RFC 7889) and OVERQUOTA (RFC 9208 §4.3).
//!
//! The message is never held whole in memory: the framer stops at the
//! message literal's announcement ([`Frame::Streamed`]), the arguments before
//! it are checked (mailbox, size against APPENDLIMIT and the quota), and only
//! then is the client invited to send, the octets going straight into a
//! body file. Refused before the "+", a synchronising literal is never sent
//! (RFC 3501 §7.5), so nothing needs reading.
//!
//! Streamed APPENDs, with MULTIAPPEND (RFC 3502), are run by `multiappend.rs`.
//!
//! [`Frame::Streamed`]: crate::frame::Frame::Streamed

use super::reply::Reply;
use super::utf8::{folder_name_as, strip_utf8_open};
use super::Session;
use crate::frame::literal_at_end;
use crate::{MAX_ERRORS, MAX_LINE, MAX_LITERAL};
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::CommandCodec;
use postern_net::Line;
use postern_store::{BlobWriter, MailboxId, StoreError};
use tokio::io::{AsyncRead, AsyncWrite};

/// A checked APPEND whose message is still to come.
pub(super) struct Target {
    pub mailbox: MailboxId,
    pub flags: Vec<String>,
    pub date: i64,
    /// `~{N}` (RFC 3516): NUL is allowed on the wire; parts holding it are
    /// stored re-encoded as base64 (`crate::message::reencode`).
    pub literal8: bool,
    /// `UTF8 (~{N}…)` (RFC 6855 §4): a `)` follows the message.
    pub utf8: bool,
}

/// How long the end of an APPEND's command line may lag behind its message
/// before the server speaks first (see `nudge_ack`).
const ACK_NUDGE: std::time::Duration = std::time::Duration::from_millis(1);

/// The largest `~{N}` message held in memory to be re-encoded when it
/// carries NUL octets; a larger one with NUL is refused with UNKNOWN-CTE.
pub const MAX_BINARY_APPEND: u64 = 8 * 1024 * 1024;

/// The arguments of an APPEND as the session uses them.
pub(super) struct Args {
    pub mailbox: Result<String, Reply>,
    pub flags: Vec<String>,
    pub date: Option<i64>,
    pub literal8: bool,
    /// The message came as RFC 6855 §4 UTF8 data.
    pub utf8: bool,
}

/// Whether the literal announced at the end of `head` is an APPEND's message
/// (and not, say, its mailbox name); the framer then leaves it to the session.
pub(super) fn is_message_literal(head: &[u8]) -> bool {
    let mut words = head.splitn(3, |&b| b == b' ');
    let _tag = words.next();
    if !words
        .next()
        .is_some_and(|c| c.eq_ignore_ascii_case(b"APPEND"))
    {
        return false;
    }
    parse_head(head, false).is_some()
}

/// `head` with its final literal replaced by a one-octet stand-in, so that
/// imap-codec can parse the arguments before it.
fn with_placeholder(head: &[u8]) -> Option<Vec<u8>> {
    let line = head.strip_suffix(b"\r\n")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let mut out = head[..=open].to_vec();
    out.extend_from_slice(b"1}\r\nx\r\n");
    Some(out)
}

/// The arguments of an APPEND command cut before its message literal;
/// mailbox names in UTF-8 when `utf8_names` (UTF8=ACCEPT is on).
pub(super) fn parse_head(head: &[u8], utf8_names: bool) -> Option<Args> {
    let utf8 = strip_utf8_open(head);
    let full = with_placeholder(utf8.as_deref().unwrap_or(head))?;
    match CommandCodec::default().decode(&full) {
        Ok((
            b"",
            imap_codec::imap_types::command::Command {
                body:
                    CommandBody::Append {
                        mailbox,
                        flags,
                        date,
                        message,
                    },
                ..
            },
        )) => Some(Args {
            utf8: utf8.is_some(),
            ..args(
                &mailbox,
                &flags,
                date.as_ref(),
                matches!(message, LiteralOrLiteral8::Literal8(_)),
                utf8_names,
            )
        }),
        _ => None,
    }
}

fn args(
    mailbox: &Mailbox<'_>,
    flags: &[Flag<'_>],
    date: Option<&DateTime>,
    literal8: bool,
    utf8_names: bool,
) -> Args {
    Args {
        mailbox: folder_name_as(mailbox, utf8_names),
        flags: flags.iter().map(|f| f.to_string()).collect(),
        date: date.map(|d| d.as_ref().timestamp()),
        literal8,
        utf8: false,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The largest message APPEND takes: the largest SMTP accepts.
    pub(super) fn append_limit(&self) -> u64 {
        self.ctx.config.borrow().smtp.max_message_size.0
    }

    /// APPEND parsed whole by imap-codec (only when the framer did not stream
    /// its literal: small messages from unusual command shapes).
    pub(super) async fn append_parsed(
        &mut self,
        mailbox: &Mailbox<'_>,
        flags: &[Flag<'_>],
        date: Option<&DateTime>,
        message: &LiteralOrLiteral8<'_>,
    ) -> Reply {
        let (data, literal8) = match message {
            LiteralOrLiteral8::Literal(l) => (l.data(), false),
            LiteralOrLiteral8::Literal8(l) => (l.data.as_ref(), true),
        };
        let target = match self
            .append_check(
                args(mailbox, flags, date, literal8, self.utf8),
                data.len() as u64,
            )
            .await
        {
            Ok(t) => t,
            Err(r) => return r,
        };
        let reencoded = literal8
            .then(|| crate::message::reencode::binary_to_base64(data))
            .flatten();
        let data = reencoded.as_deref().unwrap_or(data);
        if data.contains(&0) {
            return Reply::no("Binary content cannot be stored").code("UNKNOWN-CTE");
        }
        let mut w = match self.ctx.store.create_blob().await {
            Ok(w) => w,
            Err(e) => return Reply::from_store(&e),
        };
        if let Err(e) = w.write(data).await {
            return Reply::from_store(&e);
        }
        self.append_commit(target, w).await
    }

    /// Everything that can be refused before the message is sent.
    pub(super) async fn append_check(&mut self, a: Args, len: u64) -> Result<Target, Reply> {
        let user = self.need_auth()?.id;
        let name = a.mailbox?;
        // RFC 6855 §4: 8-bit headers (UTF8 data) only once UTF8=ACCEPT is enabled.
        if a.utf8 && !self.utf8 {
            return Err(Reply::no("ENABLE UTF8=ACCEPT first").code("CANNOT"));
        }
        if a.flags.iter().any(|f| f.eq_ignore_ascii_case("\\Recent")) {
            return Err(Reply::bad("\\Recent cannot be stored"));
        }
        let store = &self.ctx.store;
        let mailbox = match store.mailbox(user, &name).await {
            Ok(Some(id)) => id,
            // RFC 3501 §6.3.11: TRYCREATE tells the client it may CREATE and retry.
            Ok(None) => return Err(Reply::no("Mailbox does not exist").code("TRYCREATE")),
            Err(e) => return Err(Reply::from_store(&e)),
        };
        if len > self.append_limit() {
            // RFC 7889 §4: larger than APPENDLIMIT.
            return Err(Reply::no("Message larger than APPENDLIMIT").code("TOOBIG"));
        }
        if len == 0 {
            return Err(Reply::no("Empty message").code("CANNOT"));
        }
        let (used, quota) = store.usage(user).await.map_err(|e| Reply::from_store(&e))?;
        if quota > 0 && used.saturating_add(len) > quota {
            return Err(Reply::no("Mailbox quota exceeded").code("OVERQUOTA"));
        }
        Ok(Target {
            mailbox,
            flags: a.flags,
            date: a.date.unwrap_or_else(now),
            literal8: a.literal8,
            utf8: a.utf8,
        })
    }

    /// Invites the literal (when synchronising) and copies its `len` octets
    /// into `w`. `None` when the client went away mid-way; `Some(Err)` when
    /// the command is refused after all (the rest of its line is still unread).
    pub(super) async fn receive(
        &mut self,
        mut w: BlobWriter,
        len: u64,
        non_sync: bool,
        literal8: bool,
    ) -> Option<Result<BlobWriter, Reply>> {
        if !non_sync {
            self.conn.push(b"+ Ready for literal data\r\n");
        }
        let (mut left, mut nul, mut failed) = (len, false, None);
        // A small binary message is held, to be re-encoded if it needs to be.
        let mut held = (literal8 && len <= MAX_BINARY_APPEND).then(Vec::new);
        while left > 0 {
            if self.conn.buffered().is_empty() && !self.fill_in_time().await {
                return None;
            }
            let take = (left as usize).min(self.conn.buffered().len());
            let chunk = &self.conn.buffered()[..take];
            nul |= chunk.contains(&0);
            if let Some(h) = held.as_mut() {
                h.extend_from_slice(chunk);
            } else if failed.is_none() {
                // A write failure still reads the rest, to stay in step with the client.
                failed = w.write(chunk).await.err();
            }
            self.conn.consume(take);
            left -= take as u64;
        }
        if let Some(h) = held.take() {
            // NUL left after re-encoding (in a header) is refused below.
            let data = crate::message::reencode::binary_to_base64(&h).unwrap_or(h);
            nul = data.contains(&0);
            if !nul {
                failed = w.write(&data).await.err();
            }
        }
        Some(match failed {
            Some(e) => Err(Reply::from_store(&e)),
            // RFC 3516 §4.4: binary content too large to re-encode, or NUL in a header.
            None if nul && literal8 => {
                Err(Reply::no("Binary content cannot be stored").code("UNKNOWN-CTE"))
            }
            // RFC 3501 §4.3: a literal is CHAR8, no NUL.
            None if nul => Err(Reply::bad("NUL in message literal")),
            None => Ok(w),
        })
    }

    /// A client that writes the CR LF ending the command apart from the
    /// literal, without TCP_NODELAY (Python's imaplib does), holds it back
    /// (Nagle) until the literal is acknowledged; with nothing to send, our
    /// kernel delays that ACK (40 ms on Linux) and every APPEND waits. When
    /// the line end has not come within [`ACK_NUDGE`], an untagged OK —
    /// allowed at any time (RFC 3501 §7.1) — carries the ACK at once.
    pub(super) async fn nudge_ack(&mut self) {
        if self.conn.buffered().contains(&b'\n') {
            return;
        }
        if tokio::time::timeout(ACK_NUDGE, self.conn.fill())
            .await
            .is_err()
        {
            self.conn.push(b"* OK Message received\r\n");
            let _ = self.conn.flush().await;
        }
    }

    /// Skips a command's further lines and non-synchronising literals (a
    /// synchronising one is never sent: no "+" is given); these may be
    /// messages of a refused MULTIAPPEND, up to APPENDLIMIT. False when the
    /// session must end.
    pub(super) async fn skip_rest(&mut self, mut line: Vec<u8>) -> bool {
        let limit = self.append_limit().max(MAX_LITERAL);
        while let Some((n, non_sync)) = literal_at_end(&line) {
            if !non_sync {
                return true;
            }
            if n > limit {
                self.bye("Literal too large");
                return false;
            }
            if !self.skip_literal(n).await {
                return false;
            }
            match self.line_in_time().await {
                Some(l) => line = l,
                None => return false,
            }
        }
        true
    }

    /// Reads and drops the non-synchronising message literal of a refused
    /// APPEND, and the rest of that command. False when the session must end.
    pub(super) async fn skip_command(&mut self, len: u64) -> bool {
        if !self.skip_literal(len).await {
            return false;
        }
        match self.line_in_time().await {
            Some(line) => self.skip_rest(line).await,
            None => false,
        }
    }

    /// Reads and drops `left` octets. False when the session must end.
    async fn skip_literal(&mut self, mut left: u64) -> bool {
        while left > 0 {
            if self.conn.buffered().is_empty() && !self.fill_in_time().await {
                return false;
            }
            let take = (left as usize).min(self.conn.buffered().len());
            self.conn.consume(take);
            left -= take as u64;
        }
        true
    }

    /// More input within the inactivity limit; false at EOF, error or timeout.
    async fn fill_in_time(&mut self) -> bool {
        matches!(
            tokio::time::timeout(self.ctx.idle_timeout, self.conn.fill()).await,
            Ok(Ok(true))
        )
    }

    pub(super) async fn line_in_time(&mut self) -> Option<Vec<u8>> {
        match tokio::time::timeout(self.ctx.idle_timeout, self.conn.read_line(MAX_LINE)).await {
            Ok(Ok(Line::Text(t))) => Some(t),
            _ => None,
        }
    }

    /// Makes the message durable and answers with its UID (RFC 4315 §3).
    async fn append_commit(&mut self, t: Target, w: BlobWriter) -> Reply {
        let blob = match w.finish_inline().await {
            Ok(b) => b,
            Err(e) => return Reply::from_store(&e),
        };
        let upload = postern_store::append::Upload {
            body: blob,
            flags: t.flags,
            internal_date: t.date,
        };
        let ctx = self.ctx.clone();
        let learn = vec![upload.body.id().clone()];
        let done = ctx
            .appends
            .commit(&ctx.store, t.mailbox, vec![upload])
            .await;
        match done {
            Ok((validity, uids)) => {
                // Into Junk: learned as spam, before the tagged OK (junk.rs).
                self.learn_from_append(t.mailbox, learn).await;
                let uid = uids.first().copied().unwrap_or(0);
                // RFC 3501 §6.3.11: the selected mailbox's new message is announced.
                if let Err(r) = self.sync(true).await {
                    return r;
                }
                Reply::ok("APPEND completed").code(format!("APPENDUID {validity} {uid}"))
            }
            Err(StoreError::NotFound(_)) => Reply::no("Mailbox does not exist").code("TRYCREATE"),
            Err(e) => Reply::from_store(&e),
        }
    }

    /// The tagged reply of a streamed command, counted like the others.
    pub(super) fn finish(&mut self, tag: &str, reply: Reply) {
        if reply.is_bad() {
            self.errors += 1;
        }
        self.tagged(tag, &reply);
        if self.errors >= MAX_ERRORS {
            self.bye("Too many errors");
        }
    }

    /// The client went away or stalled mid-command: the session ends quietly.
    pub(super) fn closed(&mut self) {
        self.closing = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_literals_are_told_from_mailbox_literals() {
        assert!(is_message_literal(b"a APPEND INBOX {12}\r\n"));
        assert!(is_message_literal(
            b"a append INBOX (\\Seen $X) \"05-Jan-2024 10:00:00 +0100\" {12+}\r\n"
        ));
        assert!(is_message_literal(b"a APPEND {5}\r\nDraft {310}\r\n"));
        assert!(is_message_literal(b"a APPEND INBOX ~{3}\r\n"));
        assert!(!is_message_literal(b"a APPEND {5}\r\n"), "mailbox literal");
        assert!(!is_message_literal(b"a LOGIN {5}\r\n"));
        assert!(
            !is_message_literal(b"a APPEND INBOX (\\Seen {5}\r\n"),
            "syntax error"
        );
        let a = parse_head(
            b"t APPEND Sent (\\Seen) \"05-Jan-2024 10:00:00 +0100\" {9}\r\n",
            false,
        )
        .unwrap();
        assert_eq!(a.mailbox.unwrap(), "Sent");
        assert_eq!(a.flags, vec!["\\Seen"]);
        assert_eq!(a.date, Some(1_704_445_200));
        assert!(!a.literal8);
        let a = parse_head(b"t APPEND \"Gr\xc3\xbc\xc3\x9fe\" UTF8 (~{9+}\r\n", true).unwrap();
        assert_eq!(a.mailbox.unwrap(), "Grüße");
        assert!(a.utf8 && a.literal8);
        assert!(is_message_literal(b"a APPEND INBOX utf8 (~{3}\r\n"));
    }

    /// The framer stops at the message literal: nothing of it is read, no "+" sent.
    #[tokio::test]
    async fn framer_leaves_the_message_literal_unread() {
        use crate::frame::{read_command, Frame};
        use postern_net::{Conn, MaybeTls};
        use tokio::io::AsyncWriteExt;
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        client
            .write_all(b"a APPEND {5}\r\nDraft (\\Seen) {4000000000}\r\nFrom:")
            .await
            .unwrap();
        let f = read_command(&mut conn, 100, Some(is_message_literal))
            .await
            .unwrap();
        assert_eq!(
            f,
            Frame::Streamed {
                head: b"a APPEND {5}\r\nDraft (\\Seen) {4000000000}\r\n".to_vec(),
                len: 4_000_000_000,
                non_sync: false
            }
        );
        assert_eq!(
            conn.queued(),
            b"+ Ready for literal data\r\n".len(),
            "one continuation: the mailbox name's, not the message's"
        );
        assert!(conn.buffered().starts_with(b"From:"));
    }
}
