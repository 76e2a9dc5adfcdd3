//! One IMAP session: the command loop, the state (RFC 3501 §3) and the
//! tagged replies. Each command family lives in its own file.

mod any;
mod append;
mod archive;
mod ascii_envelope;
mod auth;
mod condstore;
mod copy;
mod cross;
mod esearch;
mod fetch;
mod fuzz;
pub(crate) use fetch::encode_envelope;
pub use fuzz::feed_client_bytes;
mod folders;
mod idle;
mod junk;
mod keywords;
mod limits;
mod list_ext;
mod multiappend;
mod policy;
mod quiet;
mod quota;
mod recent;
mod reply;
mod rev2;
mod search;
mod searchres;
mod select;
mod store;
mod subscribed;
mod timing;
mod utf8;

use crate::appends::Appends;
use crate::cache::HeaderCache;
use crate::frame::{self, Frame};
use crate::logins::Logins;
use crate::user_ip::{UserIpSlot, UserIps};
use crate::{IDLE_TIMEOUT, MAX_CONCURRENT_LOGINS, MAX_ERRORS, MAX_LITERAL, MAX_LITERAL_UNAUTH};
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::CommandCodec;
use postern_config::Config;
use postern_directory::UserInfo;
use postern_logs::Logs;
use postern_net::{Conn, MaybeTls};
use postern_store::{MailStore, Store};
use reply::Reply;
use select::Selected;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// What every session shares: the store, the logs, the live config, TLS.
pub struct Context {
    /// Mailboxes and bodies: the only way to stored mail (issue 14 item 1).
    pub store: Arc<dyn MailStore>,
    /// Users and passwords (the directory; still the SQLite store until it
    /// is split out, issue 14 item 2).
    pub directory: Store,
    pub logs: Logs,
    pub config: watch::Receiver<Arc<Config>>,
    pub tls: Option<TlsAcceptor>,
    /// Becomes true when the server stops: sessions then say BYE.
    pub shutdown: watch::Receiver<bool>,
    /// Inactivity before autologout; [`IDLE_TIMEOUT`] in the server.
    pub idle_timeout: Duration,
    /// Headers, envelopes and structures of messages, shared by all sessions.
    pub headers: Arc<HeaderCache>,
    /// Where password checks run ([`MAX_CONCURRENT_LOGINS`] at once).
    pub logins: Logins,
    /// APPENDs waiting for their group commit.
    appends: Appends,
    /// Logged-in sessions per (user, client address), for `imap.max_per_user_ip`.
    user_ips: Arc<UserIps>,
}

impl Context {
    pub fn new(
        store: Store,
        logs: Logs,
        config: watch::Receiver<Arc<Config>>,
        tls: Option<TlsAcceptor>,
        shutdown: watch::Receiver<bool>,
    ) -> Context {
        Context {
            // Auditors also see the archive's period folders (archive_view.rs).
            store: Arc::new(postern_store::archive_view::ArchiveView::new(store.clone())),
            directory: store,
            logs,
            config,
            tls,
            shutdown,
            idle_timeout: IDLE_TIMEOUT,
            headers: Arc::default(),
            logins: Logins::new(MAX_CONCURRENT_LOGINS),
            appends: Appends::default(),
            user_ips: Arc::default(),
        }
    }
}

pub struct Session<S> {
    ctx: Arc<Context>,
    conn: Conn<S>,
    peer: SocketAddr,
    /// The port speaks TLS from the first byte (993).
    implicit_tls: bool,
    user: Option<UserInfo>,
    selected: Option<Selected>,
    auth_failures: u32,
    errors: u32,
    /// Set by a command that ends the session (LOGOUT, too many failures).
    closing: bool,
    /// The tag of the command being run (STARTTLS answers before returning).
    current_tag: String,
    /// The command already sent its tagged reply.
    suppress_reply: bool,
    /// CONDSTORE is on: MODSEQ in FETCH, HIGHESTMODSEQ on SELECT (RFC 7162 §3.1).
    condstore: bool,
    /// QRESYNC is enabled: VANISHED instead of EXPUNGE (RFC 7162 §3.2).
    qresync: bool,
    /// IMAP4rev2 is enabled (RFC 9051 §6.3.1): no \Recent, ESEARCH answers, LIST on SELECT.
    rev2: bool,
    /// UTF8=ACCEPT is enabled: mailbox names in UTF-8 (RFC 6855 §3).
    utf8: bool,
    /// This session's place under `imap.max_per_user_ip`, once logged in.
    user_ip: Option<UserIpSlot>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub fn new(ctx: Arc<Context>, stream: MaybeTls<S>, peer: SocketAddr) -> Self {
        let implicit_tls = stream.is_tls();
        Session {
            ctx,
            conn: Conn::new(stream),
            peer,
            implicit_tls,
            user: None,
            selected: None,
            auth_failures: 0,
            errors: 0,
            closing: false,
            current_tag: String::new(),
            suppress_reply: false,
            condstore: false,
            qresync: false,
            rev2: false,
            utf8: false,
            user_ip: None,
        }
    }

    /// Runs the session to its end.
    pub async fn run(mut self) {
        // RFC 3501 §7.1.1: the greeting carries the capabilities.
        let caps = self.capabilities();
        self.untagged(&format!("OK [CAPABILITY {caps}] Postern IMAP ready"));
        while !self.closing {
            self.next_command().await;
        }
        self.conn.close().await;
    }

    async fn next_command(&mut self) {
        let mut stop = self.ctx.shutdown.clone();
        if *stop.borrow_and_update() {
            return self.bye("Server shutting down");
        }
        let limit = if self.user.is_some() {
            MAX_LITERAL
        } else {
            MAX_LITERAL_UNAUTH
        };
        // After login, APPEND's message literal is streamed to disk (append.rs).
        let streamed = self
            .user
            .is_some()
            .then_some(append::is_message_literal as frame::StreamedLiteral);
        let read = tokio::time::timeout(
            self.inactivity_limit(),
            frame::read_command(&mut self.conn, limit, streamed),
        );
        let frame = tokio::select! {
            r = read => r,
            _ = stop.changed() => return self.bye("Server shutting down"),
        };
        match frame {
            Err(_) if self.user.is_none() => self.login_timed_out(),
            Err(_) => self.bye("Autologout; idle for too long"),
            Ok(Err(_)) | Ok(Ok(Frame::Eof)) => self.closing = true,
            // Answer with the command's own tag, or a client waiting for it hangs.
            Ok(Ok(Frame::LineTooLong { tag })) => self.error(
                tag.as_deref().unwrap_or("*"),
                "[TOOBIG] Command line too long",
            ),
            Ok(Ok(Frame::LiteralTooBig { tag, non_sync })) => self.literal_too_big(&tag, non_sync),
            Ok(Ok(Frame::Command(bytes))) => self.command(&bytes).await,
            Ok(Ok(Frame::Streamed {
                head,
                len,
                non_sync,
            })) => self.streamed_append(head, len, non_sync).await,
        }
    }

    /// A literal over the limit: refused before it is read (RFC 7888 §4;
    /// RFC 9051 §7.1 TOOBIG). A non-synchronising one is already on its way,
    /// so the stream cannot be resynchronised: the session ends.
    fn literal_too_big(&mut self, tag: &str, non_sync: bool) {
        if non_sync {
            self.error(tag, "[TOOBIG] Literal too large");
            return self.bye("Literal too large");
        }
        let text = if self.user.is_some() {
            "[TOOBIG] Literal too large"
        } else {
            "[TOOBIG] Literal too large before login"
        };
        self.error(tag, text);
    }

    async fn command(&mut self, bytes: &[u8]) {
        let _timed = timing::command_timer(bytes);
        if self.refuse_http(bytes) {
            return;
        }
        let tag_text = frame::tag_of(bytes).unwrap_or_else(|| "*".into());
        // The security policy may want TLS first (SPEC X4, policy.rs).
        if let Err(reply) = self.policy_check(bytes) {
            return self.tagged(&tag_text, &reply);
        }
        // SEARCHRES (RFC 5182): `$` written out before imap-codec sees it.
        let rewritten = match self.dollar(bytes) {
            Ok(r) => r,
            Err(done) => return self.tagged(&tag_text, &done),
        };
        let bytes = rewritten.as_deref().unwrap_or(bytes);
        match CommandCodec::default().decode(bytes) {
            Ok((b"", cmd)) => {
                let tag = cmd.tag.inner().to_string();
                self.current_tag = tag.clone();
                let reply = self.dispatch(cmd).await;
                if reply.is_bad() {
                    self.errors += 1;
                }
                if !std::mem::take(&mut self.suppress_reply) {
                    self.tagged(&tag, &reply);
                }
                if self.errors >= MAX_ERRORS {
                    self.bye("Too many errors");
                }
            }
            // A SEARCH with RETURN options (RFC 4731), parsed apart.
            _ if esearch::parse(bytes).is_some() => self.esearch(bytes, &tag_text).await,
            // A LIST imap-codec does not parse may be an extended one (RFC 5258).
            _ => match list_ext::parse(bytes) {
                Some(Ok((tag, list))) => {
                    self.current_tag = tag.clone();
                    let reply = self.list_extended(list).await;
                    self.tagged(&tag, &reply);
                }
                Some(Err(reply)) => self.error(&tag_text, reply.text()),
                None => self.error(&tag_text, "Syntax error or unknown command"),
            },
        }
    }

    /// `SEARCH RETURN (…)`: the options taken off, the rest parsed by imap-codec.
    async fn esearch(&mut self, bytes: &[u8], tag: &str) {
        let parsed = esearch::parse(bytes);
        // RFC 5182 §2.1: a saving SEARCH that fails leaves `$` empty.
        if matches!(parsed, Some(Ok((w, _))) if w.save) {
            self.save_result(Vec::new());
        }
        let reply = match parsed {
            Some(Ok((want, rest))) => match CommandCodec::default().decode(&rest) {
                Ok((
                    b"",
                    Command {
                        body:
                            CommandBody::Search {
                                charset,
                                criteria,
                                uid,
                            },
                        ..
                    },
                )) => {
                    self.current_tag = tag.to_string();
                    self.search(charset.as_ref(), criteria.as_ref(), uid, Some(want))
                        .await
                }
                _ => Reply::bad("Syntax error in SEARCH"),
            },
            Some(Err(r)) => r,
            None => Reply::bad("Syntax error or unknown command"),
        };
        if reply.is_bad() {
            self.errors += 1;
        }
        self.tagged(tag, &reply);
        if self.errors >= MAX_ERRORS {
            self.bye("Too many errors");
        }
    }

    async fn dispatch(&mut self, cmd: Command<'_>) -> Reply {
        use CommandBody as C;
        let tag = cmd.tag.inner().to_string();
        match cmd.body {
            C::Capability => self.capability(),
            C::Noop | C::Check => self.noop().await,
            C::Logout => self.logout(),
            C::StartTLS => self.starttls().await,
            C::Login { username, password } => self.login(username, password).await,
            C::Authenticate {
                mechanism,
                initial_response,
            } => self.authenticate(mechanism, initial_response).await,
            C::Id { .. } => self.id(),
            C::Enable { capabilities } => self.enable(capabilities.as_ref()),
            C::Namespace => self.namespace(),
            C::List {
                reference,
                mailbox_wildcard,
            } => self.list(&reference, &mailbox_wildcard, false).await,
            C::Lsub {
                reference,
                mailbox_wildcard,
            } => self.list(&reference, &mailbox_wildcard, true).await,
            C::Create { mailbox } => self.create(&mailbox).await,
            C::Delete { mailbox } => self.delete(&mailbox).await,
            C::Rename { from, to } => self.rename(&from, &to).await,
            C::Subscribe { mailbox } => self.subscribe(&mailbox, true).await,
            C::Unsubscribe { mailbox } => self.subscribe(&mailbox, false).await,
            C::Status {
                mailbox,
                item_names,
            } => self.status(&mailbox, &item_names).await,
            C::Select {
                mailbox,
                parameters,
            } => self.select(&mailbox, false, &parameters).await,
            C::Examine {
                mailbox,
                parameters,
            } => self.select(&mailbox, true, &parameters).await,
            C::Close => self.close().await,
            C::Unselect => self.unselect(),
            C::Expunge => self.expunge(None).await,
            C::ExpungeUid { sequence_set } => self.expunge(Some(&sequence_set)).await,
            C::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
                modifiers,
            } => {
                self.fetch(&sequence_set, macro_or_item_names, uid, &modifiers)
                    .await
            }
            C::Store {
                sequence_set,
                kind,
                response,
                flags,
                uid,
                modifiers,
            } => {
                self.store(&sequence_set, kind, response, &flags, uid, &modifiers)
                    .await
            }
            C::Idle => self.idle(&tag).await,
            C::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                self.append_parsed(&mailbox, &flags, date.as_ref(), &message)
                    .await
            }
            C::Copy {
                sequence_set,
                mailbox,
                uid,
            } => self.copy(&sequence_set, &mailbox, uid, false).await,
            C::Move {
                sequence_set,
                mailbox,
                uid,
            } => self.copy(&sequence_set, &mailbox, uid, true).await,
            C::Search {
                charset,
                criteria,
                uid,
            } => {
                self.search(charset.as_ref(), criteria.as_ref(), uid, None)
                    .await
            }
            C::GetQuota { root } => self.getquota(&root).await,
            C::GetQuotaRoot { mailbox } => self.getquotaroot(&mailbox).await,
            C::SetQuota { .. } => self.setquota(),
            _ => Reply::bad("Command not implemented"),
        }
    }

    /// Queues an untagged response line (`* ` and CR LF added).
    fn untagged(&mut self, text: &str) {
        self.conn.push(b"* ");
        self.conn.push(text.as_bytes());
        self.conn.push(b"\r\n");
    }

    fn tagged(&mut self, tag: &str, reply: &Reply) {
        let line = reply.to_wire(tag);
        self.conn.push(line.as_bytes());
    }

    /// A BAD to a command we could not parse or frame.
    fn error(&mut self, tag: &str, text: &str) {
        self.errors += 1;
        let line = format!("{tag} BAD {text}\r\n");
        self.conn.push(line.as_bytes());
        if self.errors >= MAX_ERRORS {
            self.bye("Too many errors");
        }
    }

    /// Untagged BYE and the end of the session (RFC 3501 §7.1.5).
    fn bye(&mut self, text: &str) {
        self.untagged(&format!("BYE {text}"));
        self.closing = true;
    }

    fn client_ip(&self) -> String {
        self.peer.ip().to_canonical().to_string()
    }

    /// One line in the security log, with the session's facts.
    fn security_log(&self, event: &str, fields: &[(&str, &str)]) {
        let ip = self.client_ip();
        let service = if self.implicit_tls { "imaps" } else { "imap" };
        let mut all = vec![
            ("event", event),
            ("service", service),
            ("client", ip.as_str()),
        ];
        all.extend_from_slice(fields);
        self.ctx.logs.security(&all);
    }

    /// Ends the session without a tagged reply (EOF, failed TLS, BYE already sent).
    fn end(&mut self) -> Reply {
        self.closing = true;
        self.suppress_reply = true;
        Reply::ok("")
    }

    fn need_auth(&self) -> Result<&UserInfo, Reply> {
        self.user.as_ref().ok_or_else(Reply::wrong_state)
    }

    fn need_selected(&mut self) -> Result<&mut Selected, Reply> {
        self.selected.as_mut().ok_or_else(Reply::wrong_state)
    }
}

#[cfg(test)]
mod tests;
