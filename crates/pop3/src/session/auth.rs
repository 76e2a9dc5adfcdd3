//! Logging in: USER/PASS (RFC 1939 §7), AUTH PLAIN and LOGIN (RFC 5034,
//! RFC 4616; SASL-IR), then opening and locking the maildrop. Credentials are
//! accepted only over TLS unless the policy allows plaintext (RFC 2595 §2.2).
//! APOP is refused: it needs a secret the server can recompute, and Postern
//! keeps only password hashes — so no timestamp in the greeting either.

use super::{Flow, Open, Session, State};
use crate::maildrop::Maildrop;
use crate::reply::{self, Reply};
use crate::MAX_AUTH_LINE;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use postern_net::auth::after_failed_login;
use postern_net::Line;
use postern_store::mailbox::MessageInfo;
use postern_store::{MailboxId, Secret, StoreError, UserInfo};
use tokio::io::{AsyncRead, AsyncWrite};

/// Credentials a client sent.
struct Credentials {
    user: String,
    password: Secret<String>,
}

/// Why a SASL exchange gave no credentials: a reply, or `None` when the client went away.
type SaslError = Option<Reply>;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// USER: remembered for PASS. The reply does not say whether the user exists.
    pub(super) fn user(&mut self, name: String) -> Flow {
        let allowed = self.login_allowed();
        let State::Authorization { user } = &mut self.state else {
            return self.error(reply::NOT_IN_TRANSACTION);
        };
        if !allowed {
            *user = None;
            return self.reply(reply::PLAINTEXT_REFUSED);
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
            return self.reply(reply::PLAINTEXT_REFUSED);
        }
        let Some(user) = user.take() else {
            return self.error(reply::USER_FIRST);
        };
        self.login(Credentials { user, password }).await
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
        if !self.login_allowed() {
            return self.reply(reply::PLAINTEXT_REFUSED);
        }
        let Some(mechanism) = mechanism else {
            self.conn
                .push(b"+OK SASL mechanisms follow\r\nPLAIN\r\nLOGIN\r\n.\r\n");
            return Flow::Continue;
        };
        let creds = match mechanism.as_str() {
            "PLAIN" => self.plain(initial).await,
            "LOGIN" => self.login_exchange(initial).await,
            _ => Err(Some(reply::AUTH_UNSUPPORTED)),
        };
        match creds {
            Ok(c) => self.login(c).await,
            Err(Some(r)) => self.error(r),
            Err(None) => Flow::Close,
        }
    }

    /// RFC 4616 §2: [authzid] NUL authcid NUL passwd.
    async fn plain(&mut self, initial: Option<String>) -> Result<Credentials, SaslError> {
        let data = match initial.as_deref() {
            None => self.challenge("").await?,
            Some("=") => Vec::new(),
            Some(s) => decode(s)?,
        };
        let mut parts = data.split(|&b| b == 0);
        let (Some(authz), Some(user), Some(pass), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Some(reply::AUTH_BAD_BASE64));
        };
        let user = utf8(user)?;
        if !authz.is_empty() && authz != user.as_bytes() {
            // No proxy authorisation: acting as someone else is refused.
            return Err(Some(reply::AUTH_FAILED));
        }
        let password = Secret::new(utf8(pass)?);
        Ok(Credentials { user, password })
    }

    /// The LOGIN mechanism (draft-murchison-sasl-login): user, then password.
    async fn login_exchange(&mut self, initial: Option<String>) -> Result<Credentials, SaslError> {
        let user = match initial.as_deref() {
            None => self.challenge("VXNlcm5hbWU6").await?,
            Some(s) => decode(s)?,
        };
        let pass = self.challenge("UGFzc3dvcmQ6").await?;
        Ok(Credentials {
            user: utf8(&user)?,
            password: Secret::new(utf8(&pass)?),
        })
    }

    /// Sends a "+ " continuation and reads the client's base64 answer; "*" cancels.
    async fn challenge(&mut self, text: &'static str) -> Result<Vec<u8>, SaslError> {
        self.conn.push(format!("+ {text}\r\n").as_bytes());
        let read = self.conn.read_line(MAX_AUTH_LINE);
        let line = match tokio::time::timeout(self.ctx.idle_timeout, read).await {
            Ok(Ok(line)) => line,
            Err(_) | Ok(Err(_)) => return Err(None),
        };
        match line {
            Line::Text(t) if t == b"*" => Err(Some(reply::AUTH_CANCELLED)),
            Line::Text(t) => decode(std::str::from_utf8(&t).map_err(|_| reply::AUTH_BAD_BASE64)?),
            Line::TooLong => Err(Some(reply::LINE_TOO_LONG)),
            Line::Eof => Err(None),
        }
    }

    /// Checks the credentials (Argon2, on a blocking thread) and opens the maildrop.
    async fn login(&mut self, c: Credentials) -> Flow {
        let store = self.ctx.store.clone();
        let user = c.user.clone();
        let result =
            tokio::task::spawn_blocking(move || store.authenticate(&c.user, &c.password)).await;
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
        if after_failed_login(self.auth_failures).await {
            return self.close_with(reply::AUTH_TOO_MANY);
        }
        self.reply(reply::AUTH_FAILED)
    }

    /// Locks the maildrop, then takes the INBOX snapshot (RFC 1939 §4: the
    /// session enters TRANSACTION state only with the maildrop locked).
    async fn open_maildrop(&mut self, user: UserInfo) -> Flow {
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
        let (store, id) = (self.ctx.store.clone(), user.id);
        let task = tokio::task::spawn_blocking(move || {
            let Some(inbox) = store.mailbox(id, "INBOX")? else {
                return Ok(None);
            };
            Ok(Some((inbox, store.messages(inbox)?)))
        });
        task.await.unwrap_or(Err(StoreError::Unavailable))
    }
}

fn decode(s: &str) -> Result<Vec<u8>, SaslError> {
    B64.decode(s.trim())
        .map_err(|_| Some(reply::AUTH_BAD_BASE64))
}

fn utf8(bytes: &[u8]) -> Result<String, SaslError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Some(reply::AUTH_BAD_BASE64))
}
