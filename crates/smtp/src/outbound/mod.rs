//! The outbound SMTP client (RFC 5321 as a client): greeting, EHLO with
//! fallback to HELO, STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954), and
//! mail transactions with PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME
//! (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461) and CHUNKING (RFC 3030)
//! where the peer offers them. Driven over any stream; the queue dials.

mod auth;
mod caps;
mod reply;
mod transaction;
pub mod wire;

pub use caps::Capabilities;
pub use reply::{Reply, MAX_REPLY_LINE, MAX_REPLY_LINES};
pub use transaction::{Envelope, EnvelopeRecipient, RecipientResult};

use postern_net::tls_client::{TlsClient, TlsInfo};
use reply::ReplyBuilder;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Any byte stream a session can run over (TCP, TLS over TCP, a test pipe).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The stage of a session, for errors and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Rset,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "end of data",
            Stage::Rset => "RSET",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out waiting for the reply to {0}")]
    Timeout(Stage),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("{stage} refused: {reply}")]
    Rejected { stage: Stage, reply: Reply },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the server offers no AUTH mechanism we can use (PLAIN, LOGIN)")]
    NoAuthMechanism,
    #[error("connection closed by the server")]
    Closed,
}

impl ClientError {
    /// Only a 5xx reply is the server's final word.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ClientError::Rejected { reply, .. } if reply.is_permanent())
    }
}

/// Reply timeouts per RFC 5321 §4.5.3.2.
#[derive(Clone, Debug)]
pub struct Timeouts {
    pub greeting: Duration,
    pub command: Duration,
    pub data_init: Duration,
    pub data_block: Duration,
    pub data_done: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let m = |n: u64| Duration::from_secs(60 * n);
        Timeouts { greeting: m(5), command: m(5), data_init: m(2), data_block: m(3), data_done: m(10) }
    }
}

pub struct ClientSession {
    io: Box<dyn Io>,
    /// Bytes read and not yet used.
    buf: Vec<u8>,
    caps: Capabilities,
    greeting: Reply,
    helo_name: String,
    timeouts: Timeouts,
}

impl ClientSession {
    /// Reads the greeting and introduces itself.
    pub async fn connect(io: Box<dyn Io>, helo_name: &str, timeouts: Timeouts) -> Result<ClientSession, ClientError> {
        let mut s = ClientSession {
            io,
            buf: Vec::with_capacity(1024),
            caps: Capabilities::default(),
            greeting: Reply { code: 0, enhanced: None, text: String::new() },
            helo_name: helo_name.to_string(),
            timeouts,
        };
        s.greeting = s.read_reply(Stage::Greeting, s.timeouts.greeting).await?;
        if !s.greeting.is_positive() {
            return Err(ClientError::Rejected { stage: Stage::Greeting, reply: s.greeting.clone() });
        }
        s.hello().await?;
        Ok(s)
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    /// EHLO; HELO when EHLO is refused with 5xx (RFC 5321 §3.2).
    async fn hello(&mut self) -> Result<(), ClientError> {
        let ehlo = self.command(&format!("EHLO {}", self.helo_name), Stage::Ehlo).await?;
        if ehlo.is_positive() {
            self.caps = Capabilities::parse(&ehlo);
            return Ok(());
        }
        if !ehlo.is_permanent() {
            return Err(ClientError::Rejected { stage: Stage::Ehlo, reply: ehlo });
        }
        let helo = self.command(&format!("HELO {}", self.helo_name), Stage::Ehlo).await?;
        self.caps = Capabilities::default();
        match helo.is_positive() {
            true => Ok(()),
            false => Err(ClientError::Rejected { stage: Stage::Ehlo, reply: helo }),
        }
    }

    /// STARTTLS, the handshake, and EHLO again (RFC 3207 §4.2: all knowledge
    /// from before is discarded). A server that sends anything after its 220
    /// is refused: those bytes would be read as if they came over TLS.
    pub async fn starttls(mut self, tls: &TlsClient, server_name: &str, require_verified: bool) -> Result<(ClientSession, TlsInfo), ClientError> {
        let reply = self.command("STARTTLS", Stage::StartTls).await?;
        if reply.code != 220 {
            return Err(ClientError::Rejected { stage: Stage::StartTls, reply });
        }
        if !self.buf.is_empty() {
            return Err(ClientError::Protocol("the server sent data after its STARTTLS reply".into()));
        }
        let (stream, info) = tls.connect(self.io, server_name, require_verified).await.map_err(|e| ClientError::Tls(e.to_string()))?;
        let mut s = ClientSession { io: Box::new(stream), buf: Vec::with_capacity(1024), caps: Capabilities::default(), ..self };
        s.hello().await?;
        Ok((s, info))
    }

    pub async fn rset(&mut self) -> Result<(), ClientError> {
        let reply = self.command("RSET", Stage::Rset).await?;
        match reply.is_positive() {
            true => Ok(()),
            false => Err(ClientError::Rejected { stage: Stage::Rset, reply }),
        }
    }

    /// QUIT, ignoring what happens: the work is done either way.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.command("QUIT", Stage::Rset)).await;
    }

    /// Sends one command line and reads its reply.
    pub(crate) async fn command(&mut self, line: &str, stage: Stage) -> Result<Reply, ClientError> {
        self.send_raw(format!("{line}\r\n").as_bytes()).await?;
        self.read_reply(stage, self.timeouts.command).await
    }

    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.io.write_all(bytes).await?;
        self.io.flush().await?;
        Ok(())
    }

    pub(crate) async fn read_reply(&mut self, stage: Stage, limit: Duration) -> Result<Reply, ClientError> {
        match tokio::time::timeout(limit, self.read_reply_untimed()).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(stage)),
        }
    }

    async fn read_reply_untimed(&mut self) -> Result<Reply, ClientError> {
        let mut builder = ReplyBuilder::default();
        loop {
            let line = self.read_line().await?;
            if let Some(reply) = builder.line(&line)? {
                return Ok(reply);
            }
        }
    }

    /// One line without its line end (CRLF, or a bare LF from a sloppy server).
    async fn read_line(&mut self) -> Result<Vec<u8>, ClientError> {
        loop {
            let found = self.buf.iter().position(|b| *b == b'\n');
            if found.unwrap_or(self.buf.len()) > MAX_REPLY_LINE {
                return Err(ClientError::Protocol(format!("reply line longer than {MAX_REPLY_LINE} octets")));
            }
            if let Some(pos) = found {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            let mut chunk = [0u8; 4096];
            let n = self.io.read(&mut chunk).await?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests;
