//! Logging in: USER/PASS (RFC 1939 §7), AUTH (RFC 5034, SASL-IR) with the
//! mechanisms in `auth.mechanisms` through the shared SASL exchange
//! (postern_net::sasl), and APOP (RFC 1939 §7) when `auth.apop` is on; then
//! opening and locking the maildrop. Passwords in the clear (USER/PASS,
//! PLAIN, LOGIN) only over TLS unless the policy allows them (RFC 2595
//! §2.2); challenge-response mechanisms and APOP also before it.

use super::{Flow, Open, Session, State};
use crate::maildrop::Maildrop;
use crate::reply::{self, Reply};
use crate::MAX_AUTH_LINE;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use postern_directory::prelude::*;
use postern_directory::UserInfo;
use postern_net::auth::after_failed_login;
use postern_net::sasl::{self, Outcome, SaslIo};
use postern_net::Line;
use postern_sasl::{Mechanism, OsNonce, ServerExchange};
use postern_store::mailbox::MessageInfo;
use postern_store::{MailboxId, Secret, StoreError};
use std::future::Future;
use tokio::io::{AsyncRead, AsyncWrite};

/// Why an exchange stopped early: the reply, or `None` when the client went away.
type Abort = Option<Reply>;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// USER: remembered for PASS. The reply does not say whether the user exists.
    pub(super) fn user(&mut self, name: String) -> Flow {
        let allowed = self.login_allowed();
        let State::Authorization { user } = &mut self.state else {
            return self.error(reply::NOT_IN_TRANSACTION);
        };
        if !allowed {
            *user = None;
            let refusal = self.plaintext_refused("USER");
            return self.reply(refusal);
        }
        *user = Some(name);
        self.reply(reply::USER_OK)
    }

    /// PASS: only right after a USER that was accepted (RFC 1939 §7).
    pub(super) async fn pass(&mut self, password: Secret<String>) -> Flow {
        let allowed = self.login_allowed();
        let State::Authorization { user } = &mut self.state else {
            return self.error(reply::NOT_IN_TRANSACTION);
        };
        if !allowed {
            let refusal = self.plaintext_refused("PASS");
            return self.reply(refusal);
        }
        let Some(user) = user.take() else {
            return self.error(reply::USER_FIRST);
        };
        self.login(user, password).await
    }

    /// The mechanisms AUTH and CAPA offer now.
    pub(super) fn offered_mechanisms(&self) -> Vec<Mechanism> {
        sasl::offered(&self.cfg.auth, self.gate())
    }

    /// AUTH (RFC 5034 §4). Without a mechanism, lists those offered now.
    pub(super) async fn auth(
        &mut self,
        mechanism: Option<String>,
        initial: Option<String>,
    ) -> Flow {
        let State::Authorization { user } = &mut self.state else {
            return self.error(reply::NOT_IN_TRANSACTION);
        };
        *user = None;
        let Some(name) = mechanism else {
            return self.list_mechanisms();
        };
        let mech = match self.may_use(&name) {
            Ok(m) => m,
            Err(r) => return self.reply(r),
        };
        // RFC 5034 §4: "=" is an empty initial response.
        let initial = match initial.as_deref() {
            None => None,
            Some("=") => Some(Vec::new()),
            Some(text) => match B64.decode(text) {
                Ok(bytes) => Some(bytes),
                Err(_) => return self.error(reply::AUTH_BAD_BASE64),
            },
        };
        let store = self.ctx.directory.clone();
        let hostname = self.cfg.server.hostname.clone();
        let Ok(config) = sasl::server_config(&store, &hostname, "pop", &self.cfg.auth) else {
            return self.reply(reply::AUTH_TEMP);
        };
        let exchange = ServerExchange::new(mech, &config, &mut OsNonce);
        let outcome = sasl::authenticate(self, &store, exchange, initial.as_deref()).await;
        self.auth_outcome(outcome).await
    }

    fn list_mechanisms(&mut self) -> Flow {
        let mut out = String::from("+OK SASL mechanisms follow\r\n");
        for m in self.offered_mechanisms() {
            out.push_str(m.name());
            out.push_str("\r\n");
        }
        out.push_str(".\r\n");
        self.conn.push(out.as_bytes());
        Flow::Continue
    }

    fn may_use(&self, name: &str) -> Result<Mechanism, Reply> {
        let mech = Mechanism::from_name(name).map_err(|_| reply::AUTH_UNSUPPORTED)?;
        if self.offered_mechanisms().contains(&mech) {
            Ok(mech)
        } else if self.cfg.auth.enabled(mech.name()) {
            Err(self.plaintext_refused(&format!("AUTH {}", mech.name())))
        } else {
            Err(reply::AUTH_UNSUPPORTED)
        }
    }

    /// APOP (RFC 1939 §7): only when the greeting carried a timestamp.
    pub(super) async fn apop(&mut self, name: String, digest: String) -> Flow {
        if !self.is_authorization() {
            return self.error(reply::NOT_IN_TRANSACTION);
        }
        let Some(timestamp) = self.apop_timestamp.clone() else {
            return self.reply(reply::APOP_UNSUPPORTED);
        };
        let store = self.ctx.directory.clone();
        let outcome = sasl::apop(self, &store, &timestamp, &name, &digest).await;
        self.auth_outcome(outcome).await
    }

    async fn auth_outcome(&mut self, outcome: Outcome<Abort>) -> Flow {
        match outcome {
            Outcome::Success(user) => self.open_maildrop(user).await,
            Outcome::Failed { authcid } => self.failed_login(&authcid).await,
            Outcome::Malformed(_) => self.error(reply::AUTH_BAD_BASE64),
            Outcome::Refused(_) => self.reply(reply::AUTH_FAILED),
            Outcome::Aborted(Some(r)) => self.error(r),
            Outcome::Aborted(None) => Flow::Close,
            Outcome::Unavailable => self.reply(reply::AUTH_TEMP),
        }
    }

    /// Reads one continuation line; "*" cancels (RFC 5034 §4).
    async fn auth_line(&mut self) -> Result<Vec<u8>, Abort> {
        let read = self.conn.read_line(MAX_AUTH_LINE);
        let line = match tokio::time::timeout(self.ctx.idle_timeout, read).await {
            Ok(Ok(line)) => line,
            Err(_) | Ok(Err(_)) => return Err(None),
        };
        match line {
            Line::Text(t) if t == b"*" => Err(Some(reply::AUTH_CANCELLED)),
            Line::Text(t) => B64
                .decode(t.trim_ascii())
                .map_err(|_| Some(reply::AUTH_BAD_BASE64)),
            Line::TooLong => Err(Some(reply::LINE_TOO_LONG)),
            Line::Eof => Err(None),
        }
    }

    /// USER/PASS: checks the password (Argon2, on a blocking thread) and opens the maildrop.
    async fn login(&mut self, user: String, password: Secret<String>) -> Flow {
        let store = self.ctx.directory.clone();
        let name = user.clone();
        let result =
            tokio::task::spawn_blocking(move || store.authenticate(&name, &password)).await;
        match result {
            Ok(Ok(Some(info))) => self.open_maildrop(info).await,
            Ok(Ok(None)) => self.failed_login(&user).await,
            _ => self.reply(reply::AUTH_TEMP),
        }
    }

    /// A wrong user or password: logged, answered after a delay, and the
    /// session closed after [`postern_net::auth::MAX_AUTH_FAILURES`].
    async fn failed_login(&mut self, user: &str) -> Flow {
        self.auth_failures += 1;
        self.security_log(
            "auth-failed",
            &[("user", user), ("reason", "invalid credentials")],
        );
        if after_failed_login(self.auth_failures, user).await {
            return self.close_with(reply::AUTH_TOO_MANY);
        }
        self.reply(reply::AUTH_FAILED)
    }

    /// Locks the maildrop, then takes the INBOX snapshot (RFC 1939 §4: the
    /// session enters TRANSACTION state only with the maildrop locked).
    async fn open_maildrop(&mut self, user: UserInfo) -> Flow {
        postern_net::auth::after_mailbox_login();
        let Some(lock) = self.ctx.locks.try_lock(user.id) else {
            return self.reply(reply::IN_USE);
        };
        let (inbox, messages) = match self.snapshot(&user).await {
            Ok(Some(s)) => s,
            Ok(None) => return self.reply(reply::MAILDROP_MISSING),
            Err(_) => return self.reply(reply::MAILDROP_TEMP),
        };
        let maildrop = Maildrop::new(messages);
        let (count, octets) = maildrop.stat();
        self.state = State::Transaction(Box::new(Open {
            user,
            inbox,
            maildrop,
            _lock: lock,
        }));
        self.reply(Reply::ok_owned(format!(
            "Logged in, maildrop has {count} messages ({octets} octets)"
        )))
    }

    async fn snapshot(
        &self,
        user: &UserInfo,
    ) -> Result<Option<(MailboxId, Vec<MessageInfo>)>, StoreError> {
        let store = &self.ctx.store;
        let Some(inbox) = store.mailbox(user.id, "INBOX").await? else {
            return Ok(None);
        };
        Ok(Some((inbox, store.messages(inbox).await?)))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> SaslIo for Session<S> {
    type Abort = Abort;

    /// A "+" continuation with the base64 challenge (RFC 5034 §4).
    async fn challenge(&mut self, challenge: Vec<u8>) -> Result<Vec<u8>, Abort> {
        self.conn
            .push(format!("+ {}\r\n", B64.encode(challenge)).as_bytes());
        self.auth_line().await
    }

    fn blocking<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Option<R>> + Send + 'static {
        let handle = tokio::task::spawn_blocking(job);
        async move { handle.await.ok() }
    }
}
