//! One POP3 session: the command loop and the state it keeps (RFC 1939 §3:
//! AUTHORIZATION, TRANSACTION, UPDATE). Each command family has its own file.

mod auth;
mod capa;
mod cross;
mod policy;
mod retrieve;
mod stls;
mod transaction;
mod update;

use crate::command::Command;
use crate::lock::{LockGuard, Locks};
use crate::maildrop::Maildrop;
use crate::reply::{self, Reply};
use crate::{MAX_COMMAND_LINE, MAX_ERRORS};
use postern_config::Config;
use postern_directory::UserInfo;
use postern_logs::Logs;
use postern_net::cross_protocol::is_http_request;
use postern_net::{Conn, Line, MaybeTls};
use postern_store::{MailStore, MailboxId, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// What every POP3 session shares.
pub struct Context {
    /// The maildrops and their bodies: the only way to stored mail.
    pub store: Arc<dyn MailStore>,
    /// Users and passwords (the directory; still the SQLite store until it
    /// is split out, issue 14 item 2).
    pub directory: Store,
    pub logs: Logs,
    /// The live config (`server.hostname`); reloads apply to the next command.
    pub config: watch::Receiver<Arc<Config>>,
    pub tls: Option<TlsAcceptor>,
    /// Becomes true when the server stops: idle sessions then close with
    /// `-ERR [SYS/TEMP]`, deleting nothing.
    pub shutdown: watch::Receiver<bool>,
    /// Idle time before a session is dropped ([`crate::IDLE_TIMEOUT`] in service).
    pub idle_timeout: Duration,
    /// Open maildrops (the IN-USE lock), shared by the POP3 and POP3S listeners.
    pub locks: Locks,
}

/// Whether the command loop goes on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// An open maildrop: the TRANSACTION state.
struct Open {
    user: UserInfo,
    inbox: MailboxId,
    maildrop: Maildrop,
    _lock: LockGuard,
}

enum State {
    /// Before login; `user` is the name a USER command gave.
    Authorization {
        user: Option<String>,
    },
    Transaction(Box<Open>),
}

pub struct Session<S> {
    ctx: Arc<Context>,
    conn: Conn<S>,
    peer: SocketAddr,
    cfg: Arc<Config>,
    state: State,
    /// The greeting's APOP timestamp (RFC 1939 §7), when `auth.apop` is on.
    apop_timestamp: Option<String>,
    auth_failures: u32,
    errors: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub fn new(ctx: Arc<Context>, stream: MaybeTls<S>, peer: SocketAddr) -> Self {
        let cfg = ctx.config.borrow().clone();
        Session {
            ctx,
            conn: Conn::new(stream),
            peer,
            cfg,
            state: State::Authorization { user: None },
            apop_timestamp: None,
            auth_failures: 0,
            errors: 0,
        }
    }

    /// Runs the session to its end. Only QUIT in TRANSACTION state deletes anything.
    pub async fn run(mut self) {
        // RFC 1939 §4; the timestamp only when APOP is on (§7).
        let hostname = &self.cfg.server.hostname;
        let mut greeting = format!("{hostname} POP3 Postern ready");
        if self.cfg.auth.apop {
            let stamp = postern_sasl::apop::timestamp(&mut postern_sasl::OsNonce, hostname);
            greeting = format!("{greeting} {stamp}");
            self.apop_timestamp = Some(stamp);
        }
        self.send(&Reply::ok_owned(greeting));
        while self.next_command().await == Flow::Continue {}
        self.conn.close().await;
    }

    async fn next_command(&mut self) -> Flow {
        self.cfg = self.ctx.config.borrow().clone();
        let mut stop = self.ctx.shutdown.clone();
        if *stop.borrow_and_update() {
            return self.close_with(reply::SHUTTING_DOWN);
        }
        let read =
            tokio::time::timeout(self.ctx.idle_timeout, self.conn.read_line(MAX_COMMAND_LINE));
        let line = tokio::select! {
            r = read => r,
            _ = stop.changed() => return self.close_with(reply::SHUTTING_DOWN),
        };
        match line {
            // RFC 1939 §3: on the autologout timer the server closes without a
            // response, and does not enter the UPDATE state.
            Err(_) => Flow::Close,
            Ok(Err(_)) | Ok(Ok(Line::Eof)) => Flow::Close,
            Ok(Ok(Line::TooLong)) => self.error(reply::LINE_TOO_LONG),
            Ok(Ok(Line::Text(text))) if is_http_request(&text) => self.http_request(&text),
            Ok(Ok(Line::Text(text))) => match crate::command::parse_command(&text) {
                Ok(command) => match self.policy_check(&command) {
                    Ok(()) => self.dispatch(command).await,
                    Err(r) => self.error(r),
                },
                Err(r) => self.error(r),
            },
        }
    }

    async fn dispatch(&mut self, command: Command) -> Flow {
        let _timed = postern_net::metrics::timer(postern_net::metrics::Protocol::Pop3);
        match command {
            Command::Capa => self.capa(),
            Command::Noop => self.reply(reply::OK),
            Command::Quit => self.quit().await,
            Command::User(name) => self.user(name),
            Command::Pass(password) => self.pass(password).await,
            Command::Apop { name, digest } => self.apop(name, digest).await,
            Command::Auth { mechanism, initial } => self.auth(mechanism, initial).await,
            Command::Stls => self.stls().await,
            Command::Stat => self.stat(),
            Command::List(n) => self.list(n),
            Command::Uidl(n) => self.uidl(n),
            Command::Dele(n) => self.dele(n),
            Command::Rset => self.rset(),
            Command::Retr(n) => self.retrieve(n, None).await,
            Command::Top(n, lines) => self.retrieve(n, Some(lines)).await,
        }
    }

    /// The open maildrop, or the reply for a command given before login.
    fn open(&mut self) -> Result<&mut Open, Reply> {
        match &mut self.state {
            State::Transaction(open) => Ok(open),
            State::Authorization { .. } => Err(reply::NOT_IN_AUTHORIZATION),
        }
    }

    fn is_authorization(&self) -> bool {
        matches!(self.state, State::Authorization { .. })
    }

    /// Queues a reply for the client.
    fn send(&mut self, reply: &Reply) {
        self.conn.push(reply.to_wire().as_bytes());
    }

    fn reply(&mut self, reply: Reply) -> Flow {
        self.send(&reply);
        Flow::Continue
    }

    /// Queues a protocol error; too many of them end the session.
    fn error(&mut self, reply: Reply) -> Flow {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            return self.close_with(reply::TOO_MANY_ERRORS);
        }
        self.reply(reply)
    }

    /// Sends a last reply and ends the session without entering UPDATE.
    fn close_with(&mut self, reply: Reply) -> Flow {
        self.send(&reply);
        Flow::Close
    }

    fn client_ip(&self) -> String {
        self.peer.ip().to_canonical().to_string()
    }

    /// One line in the security log, with the session's facts.
    fn security_log(&self, event: &str, fields: &[(&str, &str)]) {
        let ip = self.client_ip();
        let mut all = vec![
            ("event", event),
            ("service", "pop3"),
            ("client", ip.as_str()),
        ];
        all.extend_from_slice(fields);
        self.ctx.logs.security(&all);
    }
}

#[cfg(test)]
mod tests;
