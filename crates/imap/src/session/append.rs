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
//! MULTIAPPEND (RFC 3502) is not offered: imap-codec does not parse it.
//!
//! [`Frame::Streamed`]: crate::frame::Frame::Streamed

use super::folders::folder_name;
use super::reply::Reply;
use super::Session;
use crate::frame::{literal_at_end, tag_of};
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
struct Target {
    mailbox: MailboxId,
    flags: Vec<String>,
    date: i64,
    /// `~{N}` (RFC 3516): NUL is allowed on the wire, but not storable here.
    literal8: bool,
}

/// The arguments of an APPEND as the session uses them.
struct Args {
    mailbox: Result<String, Reply>,
    flags: Vec<String>,
    date: Option<i64>,
    literal8: bool,
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
    parse_head(head).is_some()
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

/// The arguments of an APPEND command cut before its message literal.
fn parse_head(head: &[u8]) -> Option<Args> {
    let full = with_placeholder(head)?;
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
        )) => Some(args(
            &mailbox,
            &flags,
            date.as_ref(),
            matches!(message, LiteralOrLiteral8::Literal8(_)),
        )),
        _ => None,
    }
}

fn args(
    mailbox: &Mailbox<'_>,
    flags: &[Flag<'_>],
    date: Option<&DateTime>,
    literal8: bool,
) -> Args {
    Args {
        mailbox: folder_name(mailbox),
        flags: flags.iter().map(|f| f.to_string()).collect(),
        date: date.map(|d| d.as_ref().timestamp()),
        literal8,
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

    /// An APPEND whose message literal has been announced but not read
    /// ([`crate::frame::Frame::Streamed`]). Answers with its own tagged reply.
    pub(super) async fn streamed_append(&mut self, head: Vec<u8>, len: u64, non_sync: bool) {
        let tag = tag_of(&head).unwrap_or_else(|| "*".into());
        self.current_tag = tag.clone();
        // RFC 7888 §4: a non-synchronising literal over APPENDLIMIT is already
        // on its way; rather than read it all, the session ends.
        if non_sync && len > self.append_limit() {
            self.finish(&tag, Reply::bad("Literal too large").code("TOOBIG"));
            return self.bye("Literal too large");
        }
        let prepared = match parse_head(&head) {
            Some(a) => self.append_check(a, len),
            None => Err(Reply::bad("Syntax error in APPEND")),
        };
        let writer = match prepared {
            Ok(t) => match self.ctx.store.create_blob().await {
                Ok(w) => Ok((t, w)),
                Err(e) => Err(Reply::from_store(&e)),
            },
            Err(r) => Err(r),
        };
        let reply = match writer {
            Ok((target, writer)) => {
                match self.receive(writer, len, non_sync, target.literal8).await {
                    Some(Ok(w)) => self.append_commit(target, w).await,
                    Some(Err(r)) => r,
                    None => return self.closed(),
                }
            }
            Err(r) => {
                if non_sync && !self.skip_command(len).await {
                    return self.closed();
                }
                r
            }
        };
        self.finish(&tag, reply);
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
        let target =
            match self.append_check(args(mailbox, flags, date, literal8), data.len() as u64) {
                Ok(t) => t,
                Err(r) => return r,
            };
        if literal8 && data.contains(&0) {
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
    fn append_check(&mut self, a: Args, len: u64) -> Result<Target, Reply> {
        let user = self.need_auth()?.id;
        let name = a.mailbox?;
        if a.flags.iter().any(|f| f.eq_ignore_ascii_case("\\Recent")) {
            return Err(Reply::bad("\\Recent cannot be stored"));
        }
        let store = &self.ctx.store;
        let mailbox = match store.mailbox(user, &name) {
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
        let (used, quota) = store.usage(user).map_err(|e| Reply::from_store(&e))?;
        if quota > 0 && used.saturating_add(len) > quota {
            return Err(Reply::no("Mailbox quota exceeded").code("OVERQUOTA"));
        }
        Ok(Target {
            mailbox,
            flags: a.flags,
            date: a.date.unwrap_or_else(now),
            literal8: a.literal8,
        })
    }

    /// Invites the literal (when synchronising) and copies its `len` octets
    /// into `w`, then the end of the command line. `None` when the client
    /// went away mid-way; `Some(Err)` when the command is refused after all.
    async fn receive(
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
        while left > 0 {
            if self.conn.buffered().is_empty() && !self.fill_in_time().await {
                return None;
            }
            let take = (left as usize).min(self.conn.buffered().len());
            let chunk = &self.conn.buffered()[..take];
            nul |= chunk.contains(&0);
            if failed.is_none() {
                // A write failure still reads the rest, to stay in step with the client.
                failed = w.write(chunk).await.err();
            }
            self.conn.consume(take);
            left -= take as u64;
        }
        let rest = self.end_of_command().await?;
        Some(match (rest, failed) {
            (Err(r), _) => Err(r),
            (Ok(()), Some(e)) => Err(Reply::from_store(&e)),
            // RFC 3516 §4.4: binary content this server cannot keep.
            (Ok(()), None) if nul && literal8 => {
                Err(Reply::no("Binary content cannot be stored").code("UNKNOWN-CTE"))
            }
            // RFC 3501 §4.3: a literal is CHAR8, no NUL.
            (Ok(()), None) if nul => Err(Reply::bad("NUL in message literal")),
            (Ok(()), None) => Ok(w),
        })
    }

    /// Reads what follows the message literal: the CR LF ending the command.
    /// Anything else (a MULTIAPPEND's next message) is refused and skipped.
    async fn end_of_command(&mut self) -> Option<Result<(), Reply>> {
        let line = self.line_in_time().await?;
        if line.is_empty() {
            return Some(Ok(()));
        }
        if !self.skip_rest(line).await {
            return None;
        }
        Some(Err(Reply::bad("Only one message per APPEND")))
    }

    /// Skips a command's further lines and non-synchronising literals (a
    /// synchronising one is never sent: no "+" is given). False when the
    /// session must end.
    async fn skip_rest(&mut self, mut line: Vec<u8>) -> bool {
        while let Some((n, non_sync)) = literal_at_end(&line) {
            if !non_sync {
                return true;
            }
            if n > MAX_LITERAL {
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
    async fn skip_command(&mut self, len: u64) -> bool {
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

    async fn line_in_time(&mut self) -> Option<Vec<u8>> {
        match tokio::time::timeout(self.ctx.idle_timeout, self.conn.read_line(MAX_LINE)).await {
            Ok(Ok(Line::Text(t))) => Some(t),
            _ => None,
        }
    }

    /// Makes the message durable and answers with its UID (RFC 4315 §3).
    async fn append_commit(&mut self, t: Target, w: BlobWriter) -> Reply {
        let blob = match w.finish().await {
            Ok(b) => b,
            Err(e) => return Reply::from_store(&e),
        };
        let store = self.ctx.store.clone();
        let done =
            tokio::task::spawn_blocking(move || store.append(t.mailbox, blob, &t.flags, t.date))
                .await
                .unwrap_or(Err(StoreError::Unavailable));
        match done {
            Ok((validity, uid)) => {
                // RFC 3501 §6.3.11: the selected mailbox's new message is announced.
                if let Err(r) = self.sync(true) {
                    return r;
                }
                Reply::ok("APPEND completed").code(format!("APPENDUID {validity} {uid}"))
            }
            Err(StoreError::NotFound(_)) => Reply::no("Mailbox does not exist").code("TRYCREATE"),
            Err(e) => Reply::from_store(&e),
        }
    }

    /// The tagged reply of a streamed command, counted like the others.
    fn finish(&mut self, tag: &str, reply: Reply) {
        if reply.is_bad() {
            self.errors += 1;
        }
        self.tagged(tag, &reply);
        if self.errors >= MAX_ERRORS {
            self.bye("Too many errors");
        }
    }

    /// The client went away or stalled mid-command: the session ends quietly.
    fn closed(&mut self) {
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
        let a =
            parse_head(b"t APPEND Sent (\\Seen) \"05-Jan-2024 10:00:00 +0100\" {9}\r\n").unwrap();
        assert_eq!(a.mailbox.unwrap(), "Sent");
        assert_eq!(a.flags, vec!["\\Seen"]);
        assert_eq!(a.date, Some(1_704_445_200));
        assert!(!a.literal8);
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
