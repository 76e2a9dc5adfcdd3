//! STARTTLS (RFC 3501 §6.2.1), LOGIN (§6.2.3) and AUTHENTICATE with the
//! mechanisms in `auth.mechanisms` (with SASL-IR, RFC 4959). Passwords are
//! accepted without TLS only where the security policy allows it (SPEC X4,
//! policy.rs: LOGINDISABLED, and no AUTH=PLAIN otherwise); challenge-response
//! mechanisms also before it. Failures are logged, delayed and limited.

use super::policy::privacy_required;
use super::reply::Reply;
use super::Session;
use crate::MAX_AUTH_LINE;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use imap_codec::imap_types::auth::AuthMechanism;
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::secret::Secret as WireSecret;
use postern_directory::prelude::*;
use postern_directory::UserInfo;
use postern_net::auth::after_failed_login;
use postern_net::sasl::{self, Outcome, SaslIo};
use postern_net::Line;
use postern_sasl::{Mechanism, OsNonce, ServerExchange};
use postern_store::Secret;
use std::borrow::Cow;
use std::future::Future;
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
            let (event, reason) = self.conn.tls_failure();
            self.security_log(event, &[("reason", reason)]);
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

    /// AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR RFC 4959) with any offered
    /// mechanism, driven by the shared SASL exchange (postern_net::sasl).
    pub(super) async fn authenticate(
        &mut self,
        mechanism: AuthMechanism<'_>,
        initial: Option<WireSecret<Cow<'_, [u8]>>>,
    ) -> Reply {
        let mech = match self.may_use(mechanism.as_ref()) {
            Ok(m) => m,
            Err(r) => return r,
        };
        let initial = initial.map(|d| d.declassify().to_vec());
        let store = self.ctx.directory.clone();
        let cfg = self.ctx.config.borrow().clone();
        let config = sasl::server_config(&store, &cfg.server.hostname, "imap", &cfg.auth);
        let Ok(config) = config else {
            return Reply::no("Temporary authentication failure").code("UNAVAILABLE");
        };
        let exchange = ServerExchange::new(mech, &config, &mut OsNonce);
        match sasl::authenticate(self, &store, exchange, initial.as_deref()).await {
            Outcome::Success(info) => self.logged_in(info),
            Outcome::Failed { authcid } => self.failed(&authcid).await,
            Outcome::Malformed(_) => Reply::bad("Malformed SASL message"),
            Outcome::Refused(_) => Reply::no("Authentication refused").code("AUTHENTICATIONFAILED"),
            Outcome::Aborted(r) => r,
            Outcome::Unavailable => {
                Reply::no("Temporary authentication failure").code("UNAVAILABLE")
            }
        }
    }

    /// The mechanisms offered now: enabled, and allowed by the security policy.
    fn offered_mechanisms(&self) -> Vec<Mechanism> {
        if self.user.is_some() {
            return Vec::new();
        }
        sasl::offered(&self.ctx.config.borrow().auth, self.gate())
    }

    /// `AUTH=…` capabilities (RFC 9051 §6.2.2).
    pub(super) fn auth_capabilities(&self) -> Vec<String> {
        let offered = self.offered_mechanisms().into_iter();
        offered.map(|m| format!("AUTH={}", m.name())).collect()
    }

    fn may_use(&self, name: &str) -> Result<Mechanism, Reply> {
        if self.user.is_some() {
            return Err(Reply::wrong_state());
        }
        let unsupported = || Reply::no("Unsupported mechanism").code("CANNOT");
        let mech = Mechanism::from_name(name).map_err(|_| unsupported())?;
        if self.offered_mechanisms().contains(&mech) {
            Ok(mech)
        } else if self.ctx.config.borrow().auth.enabled(mech.name()) {
            let command = format!("AUTHENTICATE {}", mech.name());
            self.policy_refused(&command, self.gate().auth_reason());
            Err(privacy_required("Use STARTTLS first"))
        } else {
            Err(unsupported())
        }
    }

    fn may_authenticate(&self) -> Result<(), Reply> {
        if self.user.is_some() {
            return Err(Reply::wrong_state());
        }
        // RFC 9051 §6.2.3: LOGIN is refused where LOGINDISABLED is advertised.
        // Without PLAIN or LOGIN in `auth.mechanisms` it never can succeed:
        // CANNOT (RFC 5530 §3), whatever TLS would change.
        if !self.ctx.config.borrow().auth.plaintext_login() {
            self.policy_refused("LOGIN", "no plaintext mechanism enabled");
            return Err(Reply::no("LOGIN is disabled, use AUTHENTICATE").code("CANNOT"));
        }
        let gate = self.gate();
        if !gate.plaintext_auth() {
            self.policy_refused("LOGIN", gate.auth_reason());
            return Err(privacy_required("Use STARTTLS first"));
        }
        Ok(())
    }

    /// A "+" continuation with the base64 challenge, and the client's base64
    /// answer; "*" cancels (RFC 9051 §6.2.2).
    async fn sasl_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, Reply> {
        self.conn
            .push(format!("+ {}\r\n", B64.encode(challenge)).as_bytes());
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
        let store = self.ctx.directory.clone();
        let name = user.clone();
        // On the login threads: bounded in number and in memory (logins.rs).
        let result = self
            .ctx
            .logins
            .run(move || store.authenticate(&name, &password))
            .await;
        match result {
            Some(Ok(Some(info))) => self.logged_in(info),
            Some(Ok(None)) => self.failed(&user).await,
            _ => Reply::no("Temporary authentication failure").code("UNAVAILABLE"),
        }
    }

    fn logged_in(&mut self, info: UserInfo) -> Reply {
        postern_net::auth::after_mailbox_login();
        if let Err(refused) = self.count_user_ip(&info) {
            return refused;
        }
        self.user = Some(info);
        let caps = self.capabilities();
        Reply::ok("Logged in").code(format!("CAPABILITY {caps}"))
    }

    /// A failed login: logged, answered after a pause, and after
    /// [`postern_net::auth::MAX_AUTH_FAILURES`] the session ends.
    async fn failed(&mut self, user: &str) -> Reply {
        self.auth_failures += 1;
        self.security_log(
            "auth-failed",
            &[("user", user), ("reason", "invalid credentials")],
        );
        if after_failed_login(self.auth_failures, user).await {
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

impl<S: AsyncRead + AsyncWrite + Unpin + Send> SaslIo for Session<S> {
    type Abort = Reply;

    async fn challenge(&mut self, challenge: Vec<u8>) -> Result<Vec<u8>, Reply> {
        self.sasl_challenge(&challenge).await
    }

    /// On the login threads, like LOGIN's password check.
    fn blocking<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Option<R>> + Send + 'static {
        let ctx = self.ctx.clone();
        async move { ctx.logins.run(job).await }
    }
}
