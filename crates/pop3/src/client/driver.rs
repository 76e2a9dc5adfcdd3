//! The thin driver: one run against one remote account over TCP (plain,
//! STLS or implicit TLS through rustls), every step under a timeout. The
//! protocol decisions are the sans-I/O parts' (reply.rs, plan.rs); the
//! caller's [`Sink`] delivers and records.
//!
//! Crash safety: a message is recorded as fetched (`Sink::mark_seen`) only
//! after `Sink::deliver` says its local delivery is durable, and DELE is sent
//! only after that record; deletions take effect only at QUIT (RFC 1939 §6).
//! A connection lost mid-RETR delivers nothing and records nothing: the
//! next run retrieves the message again, once.

use super::command::{self, apop_timestamp};
use super::listing::pairs;
use super::plan::{plan, Listed, Policy};
use super::reply::{ClientError, Reply, ReplyParser};
use super::{CONNECT_TIMEOUT, MAX_LISTING, MAX_MESSAGE, REPLY_TIMEOUT};
use postern_net::tls_client::TlsClient;
use postern_sasl::Secret;
use std::collections::HashMap;
use std::path::PathBuf;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Implicit,
    Starttls,
    None,
}

/// One remote account, password opened.
pub struct Account {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// Refuse a certificate that does not verify (the default).
    pub verify: bool,
    /// Extra trust anchors (PEM).
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password: Secret<String>,
    pub apop: bool,
}

/// What a local delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Durably delivered.
    Yes,
    /// Refused for good (a filter's 5xx): recorded as fetched, not delivered.
    Refused(String),
    /// Not delivered this time: left on the remote, not recorded.
    Failed(String),
}

/// Where fetched messages go. `mark_seen` and `forget` errors end the run.
#[allow(async_fn_in_trait)]
pub trait Sink {
    /// True when the run should end after the message in hand (shutdown):
    /// what was recorded is still deleted at QUIT, the rest waits.
    fn stopping(&self) -> bool {
        false
    }
    async fn deliver(&mut self, message: &[u8]) -> Delivered;
    async fn mark_seen(&mut self, uidl: &str) -> Result<(), String>;
    async fn forget(&mut self, uidls: &[String]) -> Result<(), String>;
}

/// One run's counts, for `postern fetch run` and the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub fetched: u32,
    pub refused: u32,
    pub deleted: u32,
    pub too_big: u32,
    /// Not delivered this time (left on the remote), and the last reason.
    pub failed: u32,
    pub failure: Option<String>,
    /// Listed on the remote and left there after this run.
    pub left: u32,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok: fetched {}, refused {}, failed {}, deleted {}, too big {}, left {}",
            self.fetched, self.refused, self.failed, self.deleted, self.too_big, self.left
        )?;
        match &self.failure {
            Some(why) => write!(f, " (last failure: {why})"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("timed out at {0}")]
    Timeout(&'static str),
    #[error("connection lost at {stage}: {source}")]
    Io {
        stage: &'static str,
        source: std::io::Error,
    },
    #[error("the server closed the connection at {0}")]
    Closed(&'static str),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the server refused {stage}: -ERR {text}")]
    Refused { stage: &'static str, text: String },
    #[error("protocol error at {stage}: {source}")]
    Protocol {
        stage: &'static str,
        source: ClientError,
    },
    #[error("the server's greeting has no APOP timestamp")]
    NoApop,
    #[error("the server sent data after its STLS reply (RFC 2595 §4)")]
    StlsInjection,
    #[error("{0}")]
    Setting(&'static str),
    #[error("local delivery: {0}")]
    Local(String),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection: the stream and the octets received but not yet parsed.
struct Conn {
    stream: Box<dyn Io>,
    buf: Vec<u8>,
}

impl Conn {
    async fn reply(
        &mut self,
        multi: bool,
        max: usize,
        stage: &'static str,
    ) -> Result<Reply, FetchError> {
        let mut parser = ReplyParser::new(multi, max);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            if !self.buf.is_empty() {
                let (used, reply) = parser
                    .feed(&self.buf)
                    .map_err(|source| FetchError::Protocol { stage, source })?;
                self.buf.drain(..used);
                if let Some(r) = reply {
                    return Ok(r);
                }
            }
            let n = timeout(REPLY_TIMEOUT, self.stream.read(&mut chunk))
                .await
                .map_err(|_| FetchError::Timeout(stage))?
                .map_err(|source| FetchError::Io { stage, source })?;
            if n == 0 {
                return Err(FetchError::Closed(stage));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and reads its reply; a -ERR is an error.
    async fn ask(
        &mut self,
        line: Vec<u8>,
        multi: bool,
        max: usize,
        stage: &'static str,
    ) -> Result<Reply, FetchError> {
        let write = async {
            self.stream.write_all(&line).await?;
            self.stream.flush().await
        };
        timeout(REPLY_TIMEOUT, write)
            .await
            .map_err(|_| FetchError::Timeout(stage))?
            .map_err(|source| FetchError::Io { stage, source })?;
        let r = self.reply(multi, max, stage).await?;
        match r.ok {
            true => Ok(r),
            false => Err(FetchError::Refused {
                stage,
                text: r.text,
            }),
        }
    }
}

fn cmd(verb: &str, args: &[&str]) -> Result<Vec<u8>, FetchError> {
    command::line(verb, args).map_err(FetchError::Setting)
}

async fn handshake(stream: Box<dyn Io>, a: &Account) -> Result<Box<dyn Io>, FetchError> {
    let client =
        TlsClient::new(a.ca_file.as_deref()).map_err(|e| FetchError::Tls(e.to_string()))?;
    let (tls, _info) = timeout(CONNECT_TIMEOUT, client.connect(stream, &a.host, a.verify))
        .await
        .map_err(|_| FetchError::Timeout("TLS handshake"))?
        .map_err(|e| FetchError::Tls(e.to_string()))?;
    Ok(Box::new(tls))
}

/// Connects, protects and greets; returns the connection and the greeting.
async fn open(a: &Account) -> Result<(Conn, String), FetchError> {
    let addr = format!("{}:{}", a.host, a.port);
    let tcp = timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| FetchError::Timeout("connect"))?
        .map_err(|source| FetchError::Connect { addr, source })?;
    let mut stream: Box<dyn Io> = Box::new(tcp);
    if a.tls == Tls::Implicit {
        stream = handshake(stream, a).await?;
    }
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
    };
    let greeting = conn.reply(false, 0, "greeting").await?;
    if !greeting.ok {
        return Err(FetchError::Refused {
            stage: "greeting",
            text: greeting.text,
        });
    }
    if a.tls == Tls::Starttls {
        conn.ask(cmd("STLS", &[])?, false, 0, "STLS").await?;
        if !conn.buf.is_empty() {
            return Err(FetchError::StlsInjection);
        }
        conn.stream = handshake(conn.stream, a).await?;
    }
    Ok((conn, greeting.text))
}

async fn login(conn: &mut Conn, a: &Account, greeting: &str) -> Result<(), FetchError> {
    if a.apop {
        let ts = apop_timestamp(greeting).ok_or(FetchError::NoApop)?;
        let line = command::apop(&a.user, ts, &a.password).map_err(FetchError::Setting)?;
        conn.ask(line, false, 0, "APOP").await?;
        return Ok(());
    }
    conn.ask(cmd("USER", &[&a.user])?, false, 0, "USER").await?;
    conn.ask(cmd("PASS", &[a.password.expose()])?, false, 0, "PASS")
        .await?;
    Ok(())
}

/// UIDL joined with LIST's sizes (RFC 1939 §5, §7).
async fn listing(conn: &mut Conn) -> Result<Vec<Listed>, FetchError> {
    let bad = |e: String| FetchError::Refused {
        stage: "listing",
        text: e,
    };
    let uidl = conn
        .ask(cmd("UIDL", &[])?, true, MAX_LISTING, "UIDL")
        .await?;
    let list = conn
        .ask(cmd("LIST", &[])?, true, MAX_LISTING, "LIST")
        .await?;
    let sizes: HashMap<u32, u64> = pairs(&list.data)
        .map_err(bad)?
        .into_iter()
        .map(|(n, s)| (n, s.parse().unwrap_or(u64::MAX)))
        .collect();
    Ok(pairs(&uidl.data)
        .map_err(bad)?
        .into_iter()
        .map(|(msg, uidl)| Listed {
            msg,
            size: sizes.get(&msg).copied().unwrap_or(u64::MAX),
            uidl,
        })
        .collect())
}

/// One run: log in, retrieve what is new, delete what is due, QUIT.
pub async fn fetch(
    a: &Account,
    seen: &HashMap<String, i64>,
    policy: Policy,
    sink: &mut impl Sink,
) -> Result<Summary, FetchError> {
    let (mut conn, greeting) = open(a).await?;
    login(&mut conn, a, &greeting).await?;
    let listed = listing(&mut conn).await?;
    let work = plan(&listed, seen, &policy);
    let mut sum = Summary {
        too_big: work.too_big.len() as u32,
        ..Summary::default()
    };
    for m in &work.retrieve {
        if sink.stopping() {
            break;
        }
        let n = m.msg.to_string();
        let r = conn
            .ask(cmd("RETR", &[&n])?, true, MAX_MESSAGE, "RETR")
            .await?;
        match sink.deliver(&r.data).await {
            Delivered::Yes => sum.fetched += 1,
            Delivered::Refused(_) => sum.refused += 1,
            Delivered::Failed(why) => {
                sum.failed += 1;
                sum.failure = Some(why);
                continue;
            }
        }
        sink.mark_seen(&m.uidl).await.map_err(FetchError::Local)?;
        if policy.delete_due(policy.now) {
            conn.ask(cmd("DELE", &[&n])?, false, 0, "DELE").await?;
            sum.deleted += 1;
        }
    }
    for m in &work.delete {
        conn.ask(cmd("DELE", &[&m.msg.to_string()])?, false, 0, "DELE")
            .await?;
        sum.deleted += 1;
    }
    // RFC 1939 §6: the deletions happen only now.
    conn.ask(cmd("QUIT", &[])?, false, 0, "QUIT").await?;
    sink.forget(&work.forget).await.map_err(FetchError::Local)?;
    sum.left = listed.len() as u32 - sum.deleted;
    Ok(sum)
}
