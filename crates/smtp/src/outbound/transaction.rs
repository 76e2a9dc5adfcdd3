//! One mail transaction: MAIL, RCPT for each recipient, then the body by
//! DATA or BDAT. With PIPELINING (RFC 2920 §3.1) the commands up to DATA go
//! in one write and the replies are read in order afterwards.

use super::wire::BodyEncoder;
use super::{ClientError, ClientSession, Reply, Stage};
use smtp_proto::{RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Size of a BDAT chunk and of a DATA write.
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub recipients: Vec<EnvelopeRecipient>,
    /// The message needs SMTPUTF8 (the caller checked the peer has it).
    pub smtputf8: bool,
    /// The body has 8-bit octets (BODY=8BITMIME when the peer has 8BITMIME).
    pub eight_bit: bool,
    pub env_id: Option<String>,
    /// "FULL" or "HDRS".
    pub ret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvelopeRecipient {
    pub address: String,
    /// RCPT flags as smtp-proto defines them; the NOTIFY bits are used.
    pub notify: u64,
    /// The original recipient (an RFC 822 address), passed as ORCPT=rfc822;…
    pub orcpt: Option<String>,
}

/// The server's last word on one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientResult {
    pub address: String,
    pub reply: Reply,
}

impl ClientSession {
    /// Runs one transaction; see the module docs. A transport failure is an
    /// error (nothing is known); replies, good or bad, are results.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        body: &mut (dyn AsyncRead + Unpin + Send),
        body_size: u64,
    ) -> Result<Vec<RecipientResult>, ClientError> {
        let mail = self.mail_command(envelope, body_size);
        let rcpts: Vec<String> = envelope.recipients.iter().map(|r| self.rcpt_command(r)).collect();
        let use_bdat = self.caps.chunking;
        let (mail_reply, rcpt_replies, data_reply) = if self.caps.pipelining {
            self.pipelined(&mail, &rcpts, !use_bdat).await?
        } else {
            self.lockstep(&mail, &rcpts, !use_bdat).await?
        };
        let results = |reply_for: &dyn Fn(usize) -> Reply| {
            envelope.recipients.iter().enumerate().map(|(i, r)| RecipientResult { address: r.address.clone(), reply: reply_for(i) }).collect::<Vec<_>>()
        };
        if !mail_reply.is_positive() {
            self.reset_quietly(data_reply.is_some()).await?;
            return Ok(results(&|_| mail_reply.clone()));
        }
        let accepted = rcpt_replies.iter().any(Reply::is_positive);
        if !accepted {
            // The pipelined DATA got its 503/554; nothing to send.
            self.reset_quietly(false).await?;
            return Ok(results(&|i| rcpt_replies[i].clone()));
        }
        let final_reply = match data_reply {
            Some(r) if r.code != 354 => r,
            _ => self.body(body, use_bdat).await?,
        };
        Ok(results(&|i| if rcpt_replies[i].is_positive() { final_reply.clone() } else { rcpt_replies[i].clone() }))
    }

    async fn pipelined(&mut self, mail: &str, rcpts: &[String], data: bool) -> Result<(Reply, Vec<Reply>, Option<Reply>), ClientError> {
        let mut batch = format!("{mail}\r\n");
        for r in rcpts {
            batch.push_str(r);
            batch.push_str("\r\n");
        }
        if data {
            batch.push_str("DATA\r\n");
        }
        self.send_raw(batch.as_bytes()).await?;
        let mail_reply = self.read_reply(Stage::Mail, self.timeouts.command).await?;
        let mut rcpt_replies = Vec::with_capacity(rcpts.len());
        for _ in rcpts {
            rcpt_replies.push(self.read_reply(Stage::Rcpt, self.timeouts.command).await?);
        }
        let data_reply = match data {
            true => Some(self.read_reply(Stage::Data, self.timeouts.data_init).await?),
            false => None,
        };
        Ok((mail_reply, rcpt_replies, data_reply))
    }

    async fn lockstep(&mut self, mail: &str, rcpts: &[String], data: bool) -> Result<(Reply, Vec<Reply>, Option<Reply>), ClientError> {
        let mail_reply = self.command(mail, Stage::Mail).await?;
        if !mail_reply.is_positive() {
            return Ok((mail_reply, vec![], None));
        }
        let mut rcpt_replies = Vec::with_capacity(rcpts.len());
        for r in rcpts {
            rcpt_replies.push(self.command(r, Stage::Rcpt).await?);
        }
        let data_reply = match data && rcpt_replies.iter().any(Reply::is_positive) {
            true => {
                self.send_raw(b"DATA\r\n").await?;
                Some(self.read_reply(Stage::Data, self.timeouts.data_init).await?)
            }
            false => None,
        };
        Ok((mail_reply, rcpt_replies, data_reply))
    }

    /// After a refused transaction: if DATA was accepted anyway (354), end it
    /// empty-handed is impossible, so the session is abandoned; else RSET.
    async fn reset_quietly(&mut self, data_sent: bool) -> Result<(), ClientError> {
        let _ = data_sent;
        self.rset().await
    }

    /// Streams the body as DATA (after 354) or BDAT chunks; returns the final reply.
    async fn body(&mut self, body: &mut (dyn AsyncRead + Unpin + Send), bdat: bool) -> Result<Reply, ClientError> {
        let mut enc = if bdat { BodyEncoder::bdat() } else { BodyEncoder::data() };
        let mut input = vec![0u8; CHUNK];
        let mut out = Vec::with_capacity(CHUNK + CHUNK / 8);
        loop {
            let n = body.read(&mut input).await?;
            if n == 0 {
                break;
            }
            enc.feed(&input[..n], &mut out);
            if out.len() >= CHUNK {
                self.write_body(&out, bdat, false).await?;
                out.clear();
            }
        }
        enc.finish(&mut out);
        self.write_body(&out, bdat, true).await?;
        self.read_reply(Stage::Data, self.timeouts.data_done).await
    }

    async fn write_body(&mut self, bytes: &[u8], bdat: bool, last: bool) -> Result<(), ClientError> {
        if !bdat {
            return tokio::time::timeout(self.timeouts.data_block, self.send_raw(bytes)).await.map_err(|_| ClientError::Timeout(Stage::Data))?;
        }
        let head = format!("BDAT {}{}\r\n", bytes.len(), if last { " LAST" } else { "" });
        let mut frame = Vec::with_capacity(head.len() + bytes.len());
        frame.extend_from_slice(head.as_bytes());
        frame.extend_from_slice(bytes);
        tokio::time::timeout(self.timeouts.data_block, self.send_raw(&frame)).await.map_err(|_| ClientError::Timeout(Stage::Data))??;
        if !last {
            // RFC 3030 §2: each chunk is answered; a refusal ends the transaction.
            let r = self.read_reply(Stage::Data, self.timeouts.data_block).await?;
            if !r.is_positive() {
                return Err(ClientError::Rejected { stage: Stage::Data, reply: r });
            }
        }
        Ok(())
    }

    fn mail_command(&self, e: &Envelope, size: u64) -> String {
        let mut cmd = format!("MAIL FROM:<{}>", e.from);
        if self.caps.size.is_some() {
            cmd.push_str(&format!(" SIZE={size}"));
        }
        if e.eight_bit && self.caps.eight_bit_mime {
            cmd.push_str(" BODY=8BITMIME");
        }
        if e.smtputf8 && self.caps.smtputf8 {
            cmd.push_str(" SMTPUTF8");
        }
        if self.caps.dsn {
            if let Some(ret) = e.ret.as_deref().filter(|r| r.eq_ignore_ascii_case("FULL") || r.eq_ignore_ascii_case("HDRS")) {
                cmd.push_str(&format!(" RET={}", ret.to_ascii_uppercase()));
            }
            if let Some(id) = &e.env_id {
                cmd.push_str(&format!(" ENVID={}", xtext(id)));
            }
        }
        cmd
    }

    fn rcpt_command(&self, r: &EnvelopeRecipient) -> String {
        let mut cmd = format!("RCPT TO:<{}>", r.address);
        if self.caps.dsn {
            if let Some(n) = notify(r.notify) {
                cmd.push_str(&format!(" NOTIFY={n}"));
            }
            if let Some(o) = &r.orcpt {
                cmd.push_str(&format!(" ORCPT=rfc822;{}", xtext(o)));
            }
        }
        cmd
    }
}

/// RFC 3461 §4.1 NOTIFY value from the flag bits.
fn notify(bits: u64) -> Option<String> {
    if bits & RCPT_NOTIFY_NEVER != 0 {
        return Some("NEVER".into());
    }
    let words: Vec<&str> = [(RCPT_NOTIFY_SUCCESS, "SUCCESS"), (RCPT_NOTIFY_FAILURE, "FAILURE"), (RCPT_NOTIFY_DELAY, "DELAY")]
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, w)| *w)
        .collect();
    (!words.is_empty()).then(|| words.join(","))
}

/// RFC 3461 §4: xtext — "+", "=", controls, space and non-ASCII as +HH.
pub fn xtext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}
