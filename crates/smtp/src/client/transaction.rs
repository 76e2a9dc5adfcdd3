//! One mail transaction (RFC 5321 §3.3): MAIL, RCPT for each recipient,
//! then the content. With PIPELINING (RFC 2920) the envelope commands and
//! DATA go in one write and the replies are read afterwards; without it,
//! each command waits for its reply. Every recipient ends with the reply
//! that decided its fate.

use super::body::Body;
use super::envelope::{mail_command, rcpt_command};
use super::{ClientError, ClientSession, Envelope, RecipientResult, Reply, Stage};
use std::time::Duration;
use tokio::io::AsyncRead;

/// Commands per write when pipelining (RFC 2920 §3.1). The replies to one
/// group are read before the next is sent, so neither side's buffers can
/// fill up while the other waits.
pub const PIPELINE_GROUP: usize = 100;

struct Command {
    line: String,
    stage: Stage,
    limit: Duration,
}

/// The replies to the envelope (and to a pipelined DATA).
struct Opening {
    mail: Reply,
    rcpts: Vec<Reply>,
    data: Option<Reply>,
    /// A 421 (RFC 5321 §3.8): the server is closing, and this reply stands
    /// for every reply it will never send.
    closing: Option<Reply>,
}

impl ClientSession {
    /// Sends one message. `Ok` holds one result per recipient, in order: the
    /// MAIL reply for all if MAIL was refused, a recipient's RCPT reply if it
    /// was refused, else the reply after the content. `Err` is a transport or
    /// protocol failure: whatever has no final reply yet must be retried.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        body: &mut (dyn AsyncRead + Unpin + Send),
        body_size: u64,
    ) -> Result<Vec<RecipientResult>, ClientError> {
        self.chan.check()?;
        if envelope.recipients.is_empty() {
            return Ok(Vec::new());
        }
        let commands = self.envelope_commands(envelope, body_size)?;
        let group = if self.caps.pipelining {
            PIPELINE_GROUP
        } else {
            1
        };
        let replies = self.exchange(&commands, group).await?;
        let opening = opening(replies, envelope.recipients.len(), self.pipelined_data())?;
        let replies = self.conclude(opening, body).await?;
        let results = envelope.recipients.iter().zip(replies);
        Ok(results
            .map(|(r, reply)| RecipientResult {
                address: r.address.clone(),
                reply,
            })
            .collect())
    }

    /// DATA goes with the envelope when pipelining (RFC 2920 §3.1); BDAT
    /// waits until a recipient is known to be accepted.
    fn pipelined_data(&self) -> bool {
        self.caps.pipelining && !self.caps.chunking
    }

    fn envelope_commands(&self, env: &Envelope, size: u64) -> Result<Vec<Command>, ClientError> {
        let t = &self.timeouts;
        let command = |line, stage, limit| Command { line, stage, limit };
        let mut commands = vec![command(
            mail_command(env, &self.caps, size)?,
            Stage::Mail,
            t.mail,
        )];
        for r in &env.recipients {
            commands.push(command(rcpt_command(r, &self.caps)?, Stage::Rcpt, t.rcpt));
        }
        if self.pipelined_data() {
            commands.push(command("DATA".into(), Stage::Data, t.data_init));
        }
        Ok(commands)
    }

    /// Sends `commands` in groups of `group` per write, reading each group's
    /// replies before the next. Stops after a refused MAIL or a 421.
    async fn exchange(
        &mut self,
        commands: &[Command],
        group: usize,
    ) -> Result<Vec<Reply>, ClientError> {
        let mut replies: Vec<Reply> = Vec::with_capacity(commands.len());
        'groups: for cmds in commands.chunks(group) {
            let batch: String = cmds.iter().map(|c| format!("{}\r\n", c.line)).collect();
            let first = &cmds[0];
            self.chan
                .write(batch.as_bytes(), first.stage, first.limit)
                .await?;
            for c in cmds {
                let reply = self.chan.read_reply(c.stage, c.limit).await?;
                let reply = self.check_reply(reply, c.stage)?;
                let closing = reply.code == 421;
                replies.push(reply);
                if closing {
                    break 'groups;
                }
            }
            if !replies[0].is_positive() {
                break;
            }
        }
        Ok(replies)
    }

    /// What follows the envelope: nothing, RSET, or the content.
    async fn conclude(&mut self, o: Opening, body: Body<'_>) -> Result<Vec<Reply>, ClientError> {
        if !o.mail.is_positive() {
            self.end_unwanted_data(o.data.as_ref()).await?;
            return Ok(vec![o.mail; o.rcpts.len()]);
        }
        if let Some(closing) = o.closing {
            return Ok(replace_accepted(o.rcpts, &closing));
        }
        if !o.rcpts.iter().any(Reply::is_positive) {
            match o.data.as_ref().is_some_and(|d| d.code == 354) {
                true => self.end_unwanted_data(o.data.as_ref()).await?,
                false => self.reset_quietly().await,
            }
            return Ok(o.rcpts);
        }
        let last = self.content(o.data, body).await?;
        Ok(replace_accepted(o.rcpts, &last))
    }

    /// DATA (unless pipelined) and the body, or BDAT; the reply that ends it.
    async fn content(&mut self, data: Option<Reply>, body: Body<'_>) -> Result<Reply, ClientError> {
        if self.caps.chunking {
            return self.send_bdat(body).await;
        }
        let data = match data {
            Some(reply) => reply,
            None => {
                let t = self.timeouts.data_init;
                let reply = self.chan.command("DATA", Stage::Data, t).await?;
                self.check_reply(reply, Stage::Data)?
            }
        };
        if data.code != 354 {
            self.reset_quietly().await;
            return Ok(data);
        }
        self.send_data(body).await
    }

    /// A 354 with nothing to send (the server accepted a pipelined DATA
    /// though MAIL or every RCPT failed): end the data at once. The server
    /// must refuse a message without recipients; its reply changes nothing.
    async fn end_unwanted_data(&mut self, data: Option<&Reply>) -> Result<(), ClientError> {
        if data.is_some_and(|d| d.code == 354) {
            let t = self.timeouts.data_done;
            self.chan
                .write(b".\r\n", Stage::Body, self.timeouts.data_block)
                .await?;
            self.chan.read_reply(Stage::DataDone, t).await?;
        }
        Ok(())
    }

    /// Replies out of turn (a 354 to RCPT, a 250 to DATA) are protocol errors.
    pub(super) fn check_reply(&mut self, reply: Reply, stage: Stage) -> Result<Reply, ClientError> {
        let fits = match stage {
            Stage::Data => reply.code == 354 || reply.is_transient() || reply.is_permanent(),
            _ => !reply.is_intermediate(),
        };
        match fits {
            true => Ok(reply),
            false => Err(self.chan.fail(ClientError::Protocol(format!(
                "\"{reply}\" is not a reply to {stage}"
            )))),
        }
    }
}

/// Splits the replies; those the server never sent (after a refused MAIL
/// or a 421) are taken to be the one that stopped it.
fn opening(
    replies: Vec<Reply>,
    recipients: usize,
    with_data: bool,
) -> Result<Opening, ClientError> {
    let closing = replies.last().filter(|r| r.code == 421).cloned();
    let mut replies = replies.into_iter();
    let mail = replies
        .next()
        .ok_or_else(|| ClientError::Protocol("no reply to MAIL FROM".into()))?;
    let filler = closing.clone().unwrap_or_else(|| mail.clone());
    let mut next = || replies.next().unwrap_or_else(|| filler.clone());
    let rcpts = (0..recipients).map(|_| next()).collect();
    let data = with_data.then(next);
    Ok(Opening {
        mail,
        rcpts,
        data,
        closing,
    })
}

/// Every accepted recipient gets `reply`; refused ones keep their own.
fn replace_accepted(rcpts: Vec<Reply>, reply: &Reply) -> Vec<Reply> {
    rcpts
        .into_iter()
        .map(|r| if r.is_positive() { reply.clone() } else { r })
        .collect()
}
