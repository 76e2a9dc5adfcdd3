//! STARTTLS (RFC 3501 §6.2.1), LOGIN (§6.2.3) and AUTHENTICATE PLAIN
//! (RFC 4616, with SASL-IR, RFC 4959). Passwords are accepted only over TLS
//! (LOGINDISABLED before it); failures are logged, delayed and limited.

use super::reply::Reply;
use super::Session;
use crate::MAX_AUTH_LINE;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use imap_codec::imap_types::auth::AuthMechanism;
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::secret::Secret as WireSecret;
use postern_net::auth::after_failed_login;
use postern_net::Line;
use postern_store::Secret;
use std::borrow::Cow;
use tokio::io::{AsyncRead, AsyncWrite};

/// Time allowed for the TLS handshake after STARTTLS.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn starttls(&mut self) -> Reply {
        if self.conn.is_tls() || self.user.is_some() {
            return Reply::bad("TLS already active or not allowed now");
        }
        let Some(acceptor) = self.ctx.tls.clone() else {
            return Reply::no("TLS not available");
        };
        // The tagged OK goes out in the clear, then the handshake (RFC 3501 §6.2.1).
        let tag_reply = Reply::ok("Begin TLS negotiation now");
        self.pending_tagged_for_starttls(&tag_reply);
        let upgraded = self.conn.start_tls(&acceptor, HANDSHAKE_TIMEOUT).await;
        let (Ok(injected) | Err(injected)) = upgraded;
        if injected > 0 {
            // CVE-2011-0411: commands pipelined after STARTTLS are dropped.
            let n = injected.to_string();
            self.security_log(
                "starttls-injection",
                &[
                    ("bytes", &n),
                    ("reason", "data pipelined after STARTTLS discarded"),
                ],
            );
        }
        if upgraded.is_err() {
            self.security_log(
                "tls-failed",
                &[("reason", "TLS handshake failed or timed out")],
            );
            self.closing = true;
        }
        Reply::ok("")
    }

    pub(super) async fn login(
        &mut self,
        user: AString<'_>,
        pass: WireSecret<AString<'_>>,
    ) -> Reply {
        if let Err(r) = self.may_authenticate() {
            return r;
        }
        let Ok(user) = String::from_utf8(user.as_ref().to_vec()) else {
            return Reply::bad("User name is not UTF-8");
        };
        let Ok(password) = String::from_utf8(pass.declassify().as_ref().to_vec()) else {
            return self.failed(&user).await;
        };
        self.check(user, Secret::new(password)).await
    }

    pub(super) async fn authenticate(
        &mut self,
        mechanism: AuthMechanism<'_>,
        initial: Option<WireSecret<Cow<'_, [u8]>>>,
    ) -> Reply {
        if let Err(r) = self.may_authenticate() {
            return r;
        }
        if mechanism != AuthMechanism::Plain {
            return Reply::no("Unsupported mechanism").code("CANNOT");
        }
        let data = match initial {
            Some(d) => d.declassify().to_vec(),
            None => match self.challenge().await {
                Ok(d) => d,
                Err(r) => return r,
            },
        };
        // RFC 4616 §2: [authzid] NUL authcid NUL passwd
        let mut parts = data.split(|&b| b == 0);
        let (Some(authz), Some(user), Some(pass), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Reply::bad("Malformed PLAIN message");
        };
        let (Ok(user), Ok(pass)) = (
            String::from_utf8(user.to_vec()),
            String::from_utf8(pass.to_vec()),
        ) else {
            return Reply::bad("Malformed PLAIN message");
        };
        if !authz.is_empty() && authz != user.as_bytes() {
            return self.failed(&user).await;
        }
        self.check(user, Secret::new(pass)).await
    }

    fn may_authenticate(&self) -> Result<(), Reply> {
        if self.user.is_some() {
            return Err(Reply::wrong_state());
        }
        if !self.conn.is_tls() {
            return Err(Reply::no("Use STARTTLS first").code("PRIVACYREQUIRED"));
        }
        Ok(())
    }

    /// An empty "+" challenge and the client's base64 answer; "*" cancels (RFC 3501 §6.2.2).
    async fn challenge(&mut self) -> Result<Vec<u8>, Reply> {
        self.conn.push(b"+ \r\n");
        let line =
            tokio::time::timeout(self.ctx.idle_timeout, self.conn.read_line(MAX_AUTH_LINE)).await;
        match line {
            Ok(Ok(Line::Text(t))) if t == b"*" => Err(Reply::bad("Authentication cancelled")),
            Ok(Ok(Line::Text(t))) => B64
                .decode(t.trim_ascii())
                .map_err(|_| Reply::bad("Invalid base64")),
            Ok(Ok(Line::TooLong)) => Err(Reply::bad("Line too long").code("TOOBIG")),
            _ => {
                self.closing = true;
                Err(Reply::bad("Connection closed"))
            }
        }
    }

    async fn check(&mut self, user: String, password: Secret<String>) -> Reply {
        let store = self.ctx.store.clone();
        let name = user.clone();
        let result =
            tokio::task::spawn_blocking(move || store.authenticate(&name, &password)).await;
        match result {
            Ok(Ok(Some(info))) => {
                self.user = Some(info);
                let caps = self.capabilities();
                Reply::ok("Logged in").code(format!("CAPABILITY {caps}"))
            }
            Ok(Ok(None)) => self.failed(&user).await,
            _ => Reply::no("Temporary authentication failure").code("UNAVAILABLE"),
        }
    }

    /// A failed login: logged, answered after a pause, and after
    /// [`postern_net::auth::MAX_AUTH_FAILURES`] the session ends.
    async fn failed(&mut self, user: &str) -> Reply {
        self.auth_failures += 1;
        self.security_log(
            "auth-failed",
            &[("user", user), ("reason", "invalid credentials")],
        );
        if after_failed_login(self.auth_failures).await {
            self.bye("Too many authentication failures");
        }
        Reply::no("Authentication failed").code("AUTHENTICATIONFAILED")
    }

    /// STARTTLS answers before the upgrade; the loop must not answer again.
    fn pending_tagged_for_starttls(&mut self, reply: &Reply) {
        let tag = self.current_tag.clone();
        self.tagged(&tag, reply);
        self.suppress_reply = true;
    }
}
