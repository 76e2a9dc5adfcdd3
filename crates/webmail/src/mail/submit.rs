//! Sending (issue 20 item 3): a message the user wrote goes through a
//! submission session of this server's SMTP service
//! (`postern_smtp::Session::authenticated`) over an in-memory stream, so it
//! meets exactly what a mail client's would: sender-identity rules, size
//! limits, the verdict, DKIM signing, local delivery and the queue. This
//! file is the client side of that conversation, nothing more.

use crate::conn::Peer;
use crate::error::{WebError, WebResult};
use crate::Ctx;
use postern_directory::UserInfo;
use postern_net::MaybeTls;
use postern_smtp::client::{Reply, ReplyReader};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Buffer of the in-memory stream between this client and the session.
const PIPE_BYTES: usize = 64 * 1024;

struct Client {
    io: DuplexStream,
    replies: ReplyReader,
}

impl Client {
    async fn reply(&mut self) -> WebResult<Reply> {
        let mut buf = [0u8; 4096];
        loop {
            match self.replies.next_reply() {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(_) => return Err(refused("the submission session answered garbage")),
            }
            let n = self
                .io
                .read(&mut buf)
                .await
                .map_err(|_| refused("closed"))?;
            if n == 0 {
                return Err(refused("the submission session closed"));
            }
            self.replies.push(&buf[..n]);
        }
    }

    /// Sends `line` and wants a reply of class `want` (2 or 3).
    async fn command(&mut self, line: &str, want: u16) -> WebResult<Reply> {
        self.io
            .write_all(line.as_bytes())
            .await
            .map_err(|_| refused("closed"))?;
        let r = self.reply().await?;
        if r.code / 100 != want {
            return Err(WebError::Invalid(reply_text(&r)));
        }
        Ok(r)
    }
}

fn refused(why: &str) -> WebError {
    WebError::Invalid(format!("not sent: {why}"))
}

/// The SMTP reply as the user reads it: "550 5.7.1 text".
fn reply_text(r: &Reply) -> String {
    let text: Vec<&str> = r.lines().collect();
    format!("not sent: {} {}", r.code, text.join(" "))
}

/// RFC 5321 §4.5.2: a line starting with "." gets another; CRLF line ends
/// and a final CRLF before the end-of-data dot.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Submits `message` of `user`, with envelope sender `from`, to `recipients`; Ok once the server has
/// taken responsibility for it (the 250 after the end of data).
pub async fn submit(
    ctx: &Ctx,
    peer: &Peer,
    user: UserInfo,
    from: &str,
    recipients: &[String],
    message: &[u8],
) -> WebResult<()> {
    let (client, server) = tokio::io::duplex(PIPE_BYTES);
    let addr = SocketAddr::new(peer.ip, 0);
    let session =
        postern_smtp::Session::authenticated(ctx.smtp.clone(), MaybeTls::Plain(server), addr, user);
    let running = tokio::spawn(session.run());
    let mut c = Client {
        io: client,
        replies: ReplyReader::default(),
    };
    let result = conversation(&mut c, from, recipients, message).await;
    let _ = c.io.write_all(b"QUIT\r\n").await;
    drop(c);
    let _ = running.await;
    result
}

async fn conversation(
    c: &mut Client,
    from: &str,
    recipients: &[String],
    message: &[u8],
) -> WebResult<()> {
    let greeting = c.reply().await?;
    if greeting.code != 220 {
        return Err(WebError::Invalid(reply_text(&greeting)));
    }
    c.command("EHLO webmail\r\n", 2).await?;
    let utf8 = !from.is_ascii() || recipients.iter().any(|r| !r.is_ascii());
    let param = if utf8 { " SMTPUTF8" } else { "" };
    c.command(&format!("MAIL FROM:<{from}>{param}\r\n"), 2)
        .await?;
    for r in recipients {
        c.command(&format!("RCPT TO:<{r}>\r\n"), 2).await?;
    }
    c.command("DATA\r\n", 3).await?;
    c.io.write_all(&dot_stuff(message))
        .await
        .map_err(|_| refused("closed"))?;
    let done = c.reply().await?;
    if done.code / 100 != 2 {
        return Err(WebError::Invalid(reply_text(&done)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_starting_with_a_dot_are_stuffed() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n..\r\n"), b"a\r\n..b\r\n...\r\n.\r\n");
        assert_eq!(dot_stuff(b".x"), b"..x\r\n.\r\n");
    }
}
