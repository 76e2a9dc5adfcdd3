//! Local delivery of a fetched message through the normal path: an SMTP
//! session of the server's own (postern_smtp, `Kind::Fetch`) over an
//! in-process stream, so the message meets what mail on port 25 meets but
//! the checks of the connecting client (that is us) — the content filters
//! (spam rules, classifier, URI lists), INBOX or Junk, the durable commit —
//! and the 250 means it is on disk.
//! Nothing here writes into a mailbox.

use postern_net::MaybeTls;
use postern_smtp::{Context, Kind, Session};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// Buffer of the in-process stream each way.
const PIPE: usize = 64 * 1024;
/// Longest reply line read from the session (RFC 5321 §4.5.3.1.5: 512).
const MAX_REPLY_LINE: usize = 512;
/// Time allowed for each reply (the end of data includes the filters).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The address the session sees for its client: this server.
const SELF: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// What the session said to the message.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 250 after DATA: delivered, durably, to these recipients.
    Delivered(Vec<String>),
    /// Refused by policy (a 5.7.x reply, RFC 3463 §3.8: the filters, the
    /// recipient's blacklist): a verdict on this message, kept as final.
    Refused(String),
}

/// A temporary failure: the message stays on the remote.
pub type Temporary = String;

struct Client {
    r: BufReader<tokio::io::ReadHalf<DuplexStream>>,
    w: tokio::io::WriteHalf<DuplexStream>,
}

impl Client {
    /// A whole reply (multi-line replies joined): its code and last line.
    async fn reply(&mut self) -> Result<(u16, String), Temporary> {
        loop {
            let mut line = String::new();
            let mut bounded = (&mut self.r).take(MAX_REPLY_LINE as u64);
            let n = tokio::time::timeout(REPLY_TIMEOUT, bounded.read_line(&mut line))
                .await
                .map_err(|_| "the local SMTP session did not answer".to_string())?
                .map_err(|e| format!("local SMTP session: {e}"))?;
            if n == 0 {
                return Err("the local SMTP session closed".into());
            }
            let line = line.trim_end().to_string();
            let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, line));
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Temporary> {
        self.w
            .write_all(bytes)
            .await
            .map_err(|e| format!("local SMTP session: {e}"))
    }

    async fn ask(&mut self, line: &str) -> Result<(u16, String), Temporary> {
        self.send(format!("{line}\r\n").as_bytes()).await?;
        self.reply().await
    }
}

/// A refusal: final when it is a policy verdict (5xx with 5.7.x); any
/// other (an unknown recipient, a size limit, a local fault) leaves the
/// message on the remote, to be tried again.
fn refusal(code: u16, text: String) -> Result<Outcome, Temporary> {
    let policy = text.get(4..).is_some_and(|t| t.starts_with("5.7."));
    match code {
        500..=599 if policy => Ok(Outcome::Refused(text)),
        _ => Err(text),
    }
}

/// Delivers `message` from `sender` ("" for the null sender) to the first
/// of `choices` that yields any accepted recipient: each choice is a list of
/// addresses (in domain-mailbox mode, the sorted ones, then the fallback).
pub async fn deliver(
    ctx: Arc<Context>,
    helo: &str,
    sender: &str,
    choices: &[Vec<String>],
    message: &[u8],
) -> Result<Outcome, Temporary> {
    let (ours, theirs) = tokio::io::duplex(PIPE);
    let session = tokio::spawn(Session::new(ctx, Kind::Fetch, MaybeTls::Plain(theirs), SELF).run());
    let (r, w) = tokio::io::split(ours);
    let mut c = Client {
        r: BufReader::new(r),
        w,
    };
    let result = transaction(&mut c, helo, sender, choices, message).await;
    let _ = c.ask("QUIT").await;
    drop(c);
    let _ = session.await;
    result
}

async fn transaction(
    c: &mut Client,
    helo: &str,
    sender: &str,
    choices: &[Vec<String>],
    message: &[u8],
) -> Result<Outcome, Temporary> {
    let (code, text) = c.reply().await?;
    if code != 220 {
        return refusal(code, text);
    }
    let (code, text) = c.ask(&format!("EHLO {helo}")).await?;
    if code != 250 {
        return refusal(code, text);
    }
    let utf8 = if sender.is_ascii() { "" } else { " SMTPUTF8" };
    let (code, text) = c
        .ask(&format!("MAIL FROM:<{sender}> BODY=8BITMIME{utf8}"))
        .await?;
    if code != 250 {
        return refusal(code, text);
    }
    let (accepted, refused, last) = recipients(c, choices).await?;
    if accepted.is_empty() {
        return match refused {
            Some((code, text)) => refusal(code, text),
            None => Err(last.unwrap_or_else(|| "no recipient".into())),
        };
    }
    let (code, text) = c.ask("DATA").await?;
    if code != 354 {
        return refusal(code, text);
    }
    c.send(&dot_stuffed(message)).await?;
    match c.reply().await? {
        (250, _) => Ok(Outcome::Delivered(accepted)),
        (code, text) => refusal(code, text),
    }
}

/// RCPT for each address of the first choice that yields any: the accepted
/// ones, a policy refusal (5.7.x) if one came, the last other refusal. A choice where such a
/// refusal came is the last: the message does not go on to the fallback
/// because a named recipient refused it (their blacklist, say), while the
/// others it names still get it.
async fn recipients(
    c: &mut Client,
    choices: &[Vec<String>],
) -> Result<(Vec<String>, Option<(u16, String)>, Option<String>), Temporary> {
    let (mut accepted, mut refused, mut last) = (Vec::new(), None, None);
    for choice in choices {
        for to in choice {
            match c.ask(&format!("RCPT TO:<{to}>")).await? {
                (250 | 251, _) => accepted.push(to.clone()),
                (code, text) if refusal(code, text.clone()).is_ok() => refused = Some((code, text)),
                (_, text) => last = Some(text),
            }
        }
        if !accepted.is_empty() || refused.is_some() {
            break;
        }
    }
    Ok((accepted, refused, last))
}

/// RFC 5321 §4.5.2: a line starting with "." gets another; CR LF . CR LF ends.
fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The envelope sender: the message's Return-Path (RFC 5321 §4.4, added by
/// the remote's final delivery), or the null sender.
pub fn return_path(message: &[u8]) -> String {
    let head_end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    let head = String::from_utf8_lossy(&message[..head_end]);
    head.split("\r\n")
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("return-path")
                .then(|| value.trim())
        })
        .map(|v| v.trim_start_matches('<').trim_end_matches('>').to_string())
        .filter(|v| {
            !v.is_empty()
                && v.contains('@')
                && !v.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffs_dots_and_terminates() {
        assert_eq!(dot_stuffed(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(dot_stuffed(b".\r\nx"), b"..\r\nx\r\n.\r\n");
    }

    #[test]
    fn only_policy_refusals_are_final() {
        let refused = refusal(550, "550 5.7.1 Spam".into()).unwrap();
        assert_eq!(refused, Outcome::Refused("550 5.7.1 Spam".into()));
        assert!(refusal(554, "554 5.7.1 Client blacklisted".into()).is_ok());
        assert!(refusal(550, "550 5.1.1 User unknown".into()).is_err());
        assert!(refusal(552, "552 5.3.4 Too big".into()).is_err());
        assert!(refusal(451, "451 4.7.1 Greylisted".into()).is_err());
    }

    #[test]
    fn return_path_or_null() {
        assert_eq!(
            return_path(b"Return-Path: <a@b.example>\r\nX: y\r\n\r\n"),
            "a@b.example"
        );
        assert_eq!(return_path(b"Return-Path: <>\r\n\r\n"), "");
        assert_eq!(return_path(b"Subject: x\r\n\r\nReturn-Path: <a@b>\r\n"), "");
        assert_eq!(return_path(b"Return-Path: <a@b> <c@d>\r\n\r\n"), "");
    }
}
