//! One SMTP session: the command loop and the state it keeps. Each command
//! family lives in its own file.

mod arc_seal;
mod archive;
mod attachments;
mod auth;
mod autolearn;
mod av;
mod av_clamd;
mod av_notify;
mod body;
mod cross;
mod discipline;
mod dkim;
mod dmarc_row;
mod envelope;
mod forward;
mod greet;
mod greylist;
mod identity;
mod limits;
mod lists;
mod policy;
mod relay;
mod size;
mod space;
mod starttls;
mod verdict;

use crate::reply::{self, Reply};
use crate::MAX_COMMAND_LINE;
use postern_config::Config;
use postern_directory::UserInfo;
use postern_logs::Logs;
use postern_net::cross_protocol::is_http_request;
use postern_net::MaybeTls;
use postern_net::{Conn, Line};
use postern_store::{MailStore, RemoteRecipient, Store, UserId};
use smtp_proto::Request;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Which service a session serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Port 25: mail for local domains from anyone; no AUTH.
    Mx,
    /// Port 587: STARTTLS, then AUTH before MAIL.
    Submission,
    /// Port 465: implicit TLS, AUTH before MAIL (RFC 8314).
    Smtps,
    /// A message fetched from a remote POP3 mailbox (SPEC M7), handed in by
    /// the server itself over an in-process stream: the content filters
    /// (spam, antivirus, rules) apply as on port 25; the checks of the
    /// connecting client (SPF, DMARC, DNS lists of its address, greylisting,
    /// local senders, the greeting delay) do not, since that client is us.
    Fetch,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mx => "smtp",
            Kind::Submission => "submission",
            Kind::Smtps => "smtps",
            Kind::Fetch => "fetch",
        }
    }
}

/// What every session shares: the store, the logs, the live config, TLS.
pub struct Context {
    /// Where accepted mail goes (bodies and commits): the only way to stored mail.
    pub store: Arc<dyn MailStore>,
    /// Domains, users, aliases, limits (the directory; still the SQLite
    /// store until it is split out, issue 14 item 2).
    pub directory: Store,
    pub logs: Logs,
    pub config: watch::Receiver<Arc<Config>>,
    pub tls: Option<TlsAcceptor>,
    /// Becomes true when the server stops: idle sessions then close with 421.
    pub shutdown: watch::Receiver<bool>,
    /// Messages per hour per IP and user, shared by all sessions.
    pub limits: Arc<crate::rate::RateLimits>,
    /// The server's one resolver (SPF, DKIM, DMARC lookups).
    pub resolver: postern_net::dns::SharedResolver,
    /// The learning spam classifier, replaced whole when the model in the
    /// store changes (`postern spam train`).
    pub spam: watch::Receiver<Arc<postern_spam::Classifier>>,
    /// The time greylisting runs on (tests move it by hand).
    pub clock: Arc<dyn postern_net::clock::Clock>,
    /// Antispam counts, flushed to the store by the server (`postern spam stats`).
    pub counters: Arc<postern_store::counters::Tally>,
    /// The custom spam rules in order, replaced whole when they change
    /// (`postern spam rule add|del`).
    pub spam_rules: watch::Receiver<Arc<Vec<postern_spam::rules::Rule>>>,
    /// The integrated antivirus engine, swapped whole on `postern av update`.
    pub av: Arc<postern_av::Handle>,
    /// The attachment filter's rules in order, replaced whole when they
    /// change (`postern attachment rule add|del`).
    pub attachment_rules: watch::Receiver<Arc<Vec<postern_av::attachment::Rule>>>,
}

/// Whether the command loop goes on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// A mail transaction: from MAIL to the end of data (or RSET).
#[derive(Default)]
struct Transaction {
    sender: String,
    smtputf8: bool,
    env_id: Option<String>,
    ret: Option<String>,
    recipients: Vec<String>,
    local: BTreeSet<UserId>,
    remote: Vec<RemoteRecipient>,
    bdat: Option<body::Bdat>,
    /// The start of the message, up to its header block's end (sender identity checks).
    header: identity::HeaderCapture,
    /// smtp.local_sender = "mark" applied: a warning header goes in.
    marked: bool,
    /// SPF checked at MAIL FROM (a local sender from outside), reused at the end of data.
    spf: Option<postern_filter::SpfOutcome>,
    /// MAIL FROM's SIZE= (RFC 1870), 0 when not declared.
    declared_size: u64,
    /// The smallest of the sender's and the accepted recipients' limits.
    size_limit: size::SizeLimit,
    /// The local domain of the first recipient that forwards to other domains (DKIM, dkim.rs).
    forwarded_by: Option<String>,
    /// Where the sender is white- or blacklisted (lists.rs).
    lists: lists::SenderState,
}

pub struct Session<S> {
    ctx: Arc<Context>,
    kind: Kind,
    conn: Conn<S>,
    peer: SocketAddr,
    cfg: Arc<Config>,
    helo: Option<String>,
    /// The client greeted with EHLO (not HELO): ESMTP extensions, PIPELINING included.
    esmtp: bool,
    auth: Option<UserInfo>,
    auth_failures: u32,
    unknown_recipients: u32,
    tx: Option<Transaction>,
    errors: u32,
    /// The client's DNSBL listing and IP whitelisting (lists.rs).
    lists: lists::ClientLists,
    /// A session inside this process for a user signed in elsewhere (webmail
    /// over HTTPS): its in-memory stream counts as encrypted.
    in_process: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub fn new(ctx: Arc<Context>, kind: Kind, stream: MaybeTls<S>, peer: SocketAddr) -> Self {
        let cfg = ctx.config.borrow().clone();
        Session {
            ctx,
            kind,
            conn: Conn::new(stream),
            peer,
            cfg,
            helo: None,
            esmtp: false,
            auth: None,
            auth_failures: 0,
            unknown_recipients: 0,
            tx: None,
            errors: 0,
            lists: lists::ClientLists::default(),
            in_process: false,
        }
    }

    /// A submission session for `user`, already signed in (issue 20: webmail
    /// sends what its user writes through this), over an in-memory `stream`;
    /// `peer` is the user's client. Everything after AUTH applies as for any
    /// mail client: sender identity, size limits, the verdict, DKIM, the queue.
    pub fn authenticated(
        ctx: Arc<Context>,
        stream: MaybeTls<S>,
        peer: SocketAddr,
        user: UserInfo,
    ) -> Self {
        let mut session = Session::new(ctx, Kind::Submission, stream, peer);
        session.auth = Some(user);
        session.in_process = true;
        session
    }

    /// Runs the session to its end. Errors end the session; nothing is acknowledged that was not committed.
    pub async fn run(mut self) {
        if self.greet().await == Flow::Continue {
            while self.next_command().await == Flow::Continue {}
        }
        self.conn.close().await;
    }

    async fn next_command(&mut self) -> Flow {
        self.cfg = self.ctx.config.borrow().clone();
        let mut stop = self.ctx.shutdown.clone();
        if *stop.borrow_and_update() {
            return self.shutting_down();
        }
        let read = tokio::time::timeout(
            self.cfg.smtp.command_timeout.0,
            self.conn.read_line(MAX_COMMAND_LINE),
        );
        let line = tokio::select! {
            r = read => r,
            _ = stop.changed() => return self.shutting_down(),
        };
        let line = match line {
            Err(_) => return self.timed_out(),
            Ok(Err(_)) | Ok(Ok(Line::Eof)) => return Flow::Close,
            Ok(Ok(line)) => line,
        };
        match line {
            Line::Text(text) if is_http_request(&text) => self.http_request(&text),
            Line::Text(text) => self.command(text).await,
            _ => self.error(reply::LINE_TOO_LONG),
        }
    }

    /// RFC 5321 §3.8: a server that must stop says 421 to its clients.
    fn shutting_down(&mut self) -> Flow {
        let text = format!(
            "{} Service shutting down, closing connection",
            self.cfg.server.hostname
        );
        self.send(&Reply::owned(421, "4.3.2", text));
        Flow::Close
    }

    /// RFC 5321 §4.5.3.2: a server may close after its timeouts, saying so with 421.
    fn timed_out(&mut self) -> Flow {
        let text = format!(
            "{} Error: timeout exceeded, closing connection",
            self.cfg.server.hostname
        );
        self.send(&Reply::owned(421, "4.4.2", text));
        Flow::Close
    }

    /// Queues an error reply; too many errors end the session with 421.
    fn error(&mut self, reply: Reply) -> Flow {
        self.send(&reply);
        self.errors += 1;
        if self.errors >= self.cfg.smtp.max_errors {
            let text = format!(
                "{} Too many errors, closing connection",
                self.cfg.server.hostname
            );
            self.send(&Reply::owned(421, "4.7.0", text));
            return Flow::Close;
        }
        Flow::Continue
    }

    /// Queues a reply for the client.
    fn send(&mut self, reply: &Reply) {
        self.conn.push(reply.to_wire().as_bytes());
    }

    fn reply(&mut self, reply: Reply) -> Flow {
        if reply.is_error() {
            return self.error(reply);
        }
        self.send(&reply);
        Flow::Continue
    }

    async fn command(&mut self, text: Vec<u8>) -> Flow {
        let _timed = postern_net::metrics::timer(postern_net::metrics::Protocol::Smtp);
        match crate::command::parse_command(&text) {
            Ok(request) => match self.policy_check(&request) {
                Ok(()) if self.check_discipline(&request).await.is_err() => Flow::Close,
                Ok(()) => self.dispatch(request).await,
                Err(r) => self.error(r),
            },
            Err(r) => self.error(r),
        }
    }

    async fn dispatch(&mut self, request: Request<String>) -> Flow {
        match request {
            Request::Ehlo { host } => self.ehlo(host, true),
            Request::Helo { host } => self.ehlo(host, false),
            Request::Mail { from } => self.mail(from).await,
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data().await,
            Request::Bdat { chunk_size, is_last } => self.bdat(chunk_size, is_last).await,
            Request::Auth { mechanism, initial_response } => self.auth(mechanism, initial_response).await,
            Request::StartTls => self.starttls().await,
            Request::Rset => {
                self.tx = None;
                self.reply(reply::OK)
            }
            Request::Noop { .. } => self.reply(reply::OK),
            Request::Quit => {
                let text = format!("{} closing connection", self.cfg.server.hostname);
                self.send(&Reply::owned(221, "2.0.0", text));
                Flow::Close
            }
            Request::Vrfy { .. } => self.reply(reply::VRFY_REPLY),
            Request::Expn { .. } => self.reply(reply::EXPN_DENIED),
            Request::Help { .. } => self.reply(Reply::new(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT STARTTLS AUTH")),
            Request::Lhlo { .. } | Request::Etrn { .. } | Request::Atrn { .. } | Request::Burl { .. } => self.reply(reply::NOT_IMPLEMENTED),
        }
    }

    fn client_ip(&self) -> String {
        self.peer.ip().to_canonical().to_string()
    }

    fn auth_name(&self) -> &str {
        self.auth.as_ref().map(|u| u.address.as_str()).unwrap_or("")
    }

    /// One line in the security log, with the session's facts.
    fn security_log(&self, event: &str, fields: &[(&str, &str)]) {
        let ip = self.client_ip();
        let mut all = vec![
            ("event", event),
            ("service", self.kind.name()),
            ("client", ip.as_str()),
        ];
        all.extend_from_slice(fields);
        self.ctx.logs.security(&all);
    }
}
