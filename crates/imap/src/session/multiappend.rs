//! APPEND as the framer hands it over (its first message literal announced,
//! not read), with MULTIAPPEND (RFC 3502): after each message the command
//! line may go on with ` [flags] [date-time] literal` for another one. Every
//! message is checked before it is invited, streamed into its own body file,
//! and all are committed in one transaction — all kept or none (RFC 3502
//! §6.3.11) — answered with every UID (RFC 4315 §3 APPENDUID).

use super::append::{parse_head, Args, Target};
use super::copy::uid_set;
use super::reply::Reply;
use super::utf8::after_utf8_literal;
use super::Session;
use crate::frame::{literal_at_end, tag_of};
use postern_store::append::Upload;
use postern_store::{MailboxId, StoreError};
use tokio::io::{AsyncRead, AsyncWrite};

/// Most messages one APPEND command may carry.
pub const MAX_MULTIAPPEND: usize = 1000;

/// What the session knows of the command while its messages arrive.
struct Batch {
    name: String,
    mailbox: MailboxId,
    uploads: Vec<Upload>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// An APPEND whose message literal has been announced but not read
    /// ([`crate::frame::Frame::Streamed`]). Answers with its own tagged reply.
    pub(super) async fn streamed_append(&mut self, head: Vec<u8>, len: u64, non_sync: bool) {
        let tag = tag_of(&head).unwrap_or_else(|| "*".into());
        self.current_tag = tag.clone();
        if !self.literal_within_limit(&tag, len, non_sync) {
            return;
        }
        let first = match parse_head(&head, self.utf8) {
            Some(a) => {
                let name = a.mailbox.as_ref().ok().cloned().unwrap_or_default();
                self.append_check(a, len).await.map(|t| (name, t))
            }
            None => Err(Reply::bad("Syntax error in APPEND")),
        };
        let reply = match first {
            Ok((name, t)) => {
                let batch = Batch {
                    name,
                    mailbox: t.mailbox,
                    uploads: Vec::new(),
                };
                match self.receive_all(batch, t, len, non_sync).await {
                    Some(r) => r,
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

    /// RFC 7888 §4: a non-synchronising literal over APPENDLIMIT is already
    /// on its way; rather than read it all, the session ends.
    fn literal_within_limit(&mut self, tag: &str, len: u64, non_sync: bool) -> bool {
        if non_sync && len > self.append_limit() {
            self.finish(tag, Reply::bad("Literal too large").code("TOOBIG"));
            self.bye("Literal too large");
            return false;
        }
        true
    }

    /// Receives the first message and every one that follows on the
    /// command, then commits them. None when the session must end.
    async fn receive_all(
        &mut self,
        mut b: Batch,
        mut t: Target,
        mut len: u64,
        mut non_sync: bool,
    ) -> Option<Reply> {
        loop {
            let w = match self.ctx.store.create_blob().await {
                Ok(w) => Ok(w),
                Err(e) => Err(Reply::from_store(&e)),
            };
            let received = match w {
                Ok(w) => self.receive(w, len, non_sync, t.literal8).await?,
                Err(r) if non_sync => return self.skip_command(len).await.then_some(r),
                Err(r) => return self.abandon(r).await,
            };
            let body = match received {
                Ok(w) => w.finish_inline().await.map_err(|e| Reply::from_store(&e)),
                Err(r) => Err(r),
            };
            match body {
                Ok(body) => b.uploads.push(Upload {
                    body,
                    flags: std::mem::take(&mut t.flags),
                    internal_date: t.date,
                }),
                Err(r) => return self.abandon(r).await,
            }
            self.nudge_ack().await;
            let line = self.line_in_time().await?;
            let rest = match t.utf8 {
                true => match after_utf8_literal(&line) {
                    Ok(rest) => rest,
                    Err(r) => return self.skip_rest(line).await.then_some(r),
                },
                false => &line[..],
            };
            if rest.is_empty() {
                break;
            }
            match self.next_message(&b, rest).await {
                Ok((next, n, ns)) => (t, len, non_sync) = (next, n, ns),
                Err(r) => return self.skip_rest(line).await.then_some(r),
            }
        }
        Some(self.commit_all(b).await)
    }

    /// The next message of a MULTIAPPEND, from the rest of the command line
    /// (` [flags] [date-time] {n}`), checked; a synchronising literal is invited.
    async fn next_message(&mut self, b: &Batch, line: &[u8]) -> Result<(Target, u64, bool), Reply> {
        if b.uploads.len() >= MAX_MULTIAPPEND {
            return Err(Reply::no("Too many messages in one APPEND").code("LIMIT"));
        }
        let (len, non_sync) =
            literal_at_end(line).ok_or_else(|| Reply::bad("Syntax error in APPEND"))?;
        let mut head = b"t APPEND x".to_vec();
        head.extend_from_slice(line);
        head.extend_from_slice(b"\r\n");
        let a = parse_head(&head, self.utf8).ok_or_else(|| Reply::bad("Syntax error in APPEND"))?;
        let args = Args {
            mailbox: Ok(b.name.clone()),
            ..a
        };
        let t = self.append_check(args, len).await?;
        Ok((t, len, non_sync))
    }

    /// A refused message: the rest of the command (further messages sent
    /// without waiting) is read and dropped. None when the session must end.
    async fn abandon(&mut self, r: Reply) -> Option<Reply> {
        let line = self.line_in_time().await?;
        self.skip_rest(line).await.then_some(r)
    }

    /// Makes every message durable at once and answers with their UIDs.
    async fn commit_all(&mut self, b: Batch) -> Reply {
        let ctx = self.ctx.clone();
        let learn: Vec<_> = b.uploads.iter().map(|u| u.body.id().clone()).collect();
        let done = ctx.appends.commit(&ctx.store, b.mailbox, b.uploads).await;
        match done {
            Ok((validity, uids)) => {
                // Into Junk: learned as spam, before the tagged OK (junk.rs).
                self.learn_from_append(b.mailbox, learn).await;
                // RFC 3501 §6.3.11: the selected mailbox's new messages are announced.
                if let Err(r) = self.sync(true).await {
                    return r;
                }
                let set = uid_set(uids);
                Reply::ok("APPEND completed").code(format!("APPENDUID {validity} {set}"))
            }
            Err(StoreError::NotFound(_)) => Reply::no("Mailbox does not exist").code("TRYCREATE"),
            Err(e) => Reply::from_store(&e),
        }
    }
}
