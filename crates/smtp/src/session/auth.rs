//! AUTH (RFC 4954) with every mechanism the admin enabled (`auth.mechanisms`),
//! driven by the shared SASL exchange (postern_net::sasl). Never on the MX
//! port; PLAIN and LOGIN without TLS only where the security policy allows
//! it (SPEC X4, policy.rs), challenge-response mechanisms also before it. Additional data with success (SCRAM's server-final,
//! DIGEST-MD5's rspauth) goes as a last 334 challenge (RFC 4954 §4).

use super::{Flow, Kind, Session};
use crate::reply::{self, Reply};
use crate::MAX_AUTH_LINE;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use postern_net::auth::after_failed_login;
use postern_net::sasl::{self, Outcome, SaslIo};
use postern_net::Line;
use postern_sasl::{Mechanism, OsNonce, SaslError, ServerExchange};
use smtp_proto::{
    AUTH_CRAM_MD5, AUTH_DIGEST_MD5, AUTH_LOGIN, AUTH_NTLM, AUTH_PLAIN, AUTH_SCRAM_SHA_1,
    AUTH_SCRAM_SHA_256,
};
use std::future::Future;
use tokio::io::{AsyncRead, AsyncWrite};

const AUTH_TEMP: Reply = Reply::new(454, "4.7.0", "Temporary authentication failure");

/// Why an exchange stopped early: the reply, or `None` when the client went away.
type Abort = Option<Reply>;

/// smtp-proto's mechanism bit → ours.
fn mechanism(bit: u64) -> Option<Mechanism> {
    Some(match bit {
        AUTH_PLAIN => Mechanism::Plain,
        AUTH_LOGIN => Mechanism::Login,
        AUTH_CRAM_MD5 => Mechanism::CramMd5,
        AUTH_DIGEST_MD5 => Mechanism::DigestMd5,
        AUTH_SCRAM_SHA_1 => Mechanism::ScramSha1,
        AUTH_SCRAM_SHA_256 => Mechanism::ScramSha256,
        AUTH_NTLM => Mechanism::Ntlm,
        _ => return None,
    })
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The mechanisms EHLO advertises now; empty where AUTH is not offered.
    pub(super) fn offered_mechanisms(&self) -> Vec<Mechanism> {
        if self.kind == Kind::Mx || self.auth.is_some() {
            return Vec::new();
        }
        sasl::offered(&self.cfg.auth, self.gate())
    }

    pub(super) async fn auth(&mut self, bit: u64, initial: String) -> Flow {
        let mech = match self.may_auth(bit) {
            Ok(m) => m,
            Err(r) => return self.error(r),
        };
        // RFC 4954 §4: "=" is an empty initial response.
        let initial = match initial.as_str() {
            "" => None,
            "=" => Some(Vec::new()),
            text => match B64.decode(text) {
                Ok(bytes) => Some(bytes),
                Err(_) => return self.error(reply::AUTH_BAD_BASE64),
            },
        };
        let store = self.ctx.directory.clone();
        let hostname = self.cfg.server.hostname.clone();
        let config = match sasl::server_config(&store, &hostname, "smtp", &self.cfg.auth) {
            Ok(c) => c,
            Err(_) => return self.error(AUTH_TEMP),
        };
        let exchange = ServerExchange::new(mech, &config, &mut OsNonce);
        let outcome = sasl::authenticate(self, &store, exchange, initial.as_deref()).await;
        self.auth_outcome(mech, outcome).await
    }

    /// RFC 4954 §4: no AUTH on the MX port, none before EHLO (AUTH is an
    /// extension EHLO announces), none twice, none inside a transaction;
    /// the mechanism must be offered now.
    fn may_auth(&self, bit: u64) -> Result<Mechanism, Reply> {
        if self.kind == Kind::Mx {
            return Err(reply::AUTH_NOT_HERE);
        }
        if !self.esmtp {
            return Err(reply::NEED_EHLO);
        }
        if self.auth.is_some() {
            return Err(reply::ALREADY_AUTH);
        }
        if self.tx.is_some() {
            return Err(reply::BAD_SEQUENCE);
        }
        let mech = mechanism(bit).ok_or(reply::AUTH_UNSUPPORTED)?;
        if self.offered_mechanisms().contains(&mech) {
            Ok(mech)
        } else if self.cfg.auth.enabled(mech.name()) {
            // RFC 3207 §4: the policy wants TLS for this mechanism.
            let command = format!("AUTH {}", mech.name());
            self.policy_refused(&command, self.gate().auth_reason());
            Err(reply::TLS_REQUIRED)
        } else {
            Err(reply::AUTH_UNSUPPORTED)
        }
    }

    async fn auth_outcome(&mut self, mech: Mechanism, outcome: Outcome<Abort>) -> Flow {
        match outcome {
            Outcome::Success(user) => {
                self.auth = Some(user);
                self.reply(reply::AUTH_OK)
            }
            Outcome::Failed { authcid } => self.auth_failed(mech, &authcid).await,
            Outcome::Malformed(_) => self.error(reply::AUTH_BAD_BASE64),
            Outcome::Refused(e) => self.error(refused(&e)),
            Outcome::Aborted(Some(r)) => self.error(r),
            Outcome::Aborted(None) => Flow::Close,
            Outcome::Unavailable => self.error(AUTH_TEMP),
        }
    }

    /// Unknown user and wrong password alike: logged, answered after the
    /// shared delay, and the session closed after too many.
    async fn auth_failed(&mut self, mech: Mechanism, user: &str) -> Flow {
        self.auth_failures += 1;
        self.security_log(
            "auth-failed",
            &[
                ("user", user),
                ("mechanism", mech.name()),
                ("reason", "invalid credentials"),
            ],
        );
        if after_failed_login(self.auth_failures, user).await {
            self.send(&reply::AUTH_FAILED);
            let text = format!(
                "{} Too many failed authentications, closing connection",
                self.cfg.server.hostname
            );
            self.send(&Reply::owned(421, "4.7.0", text));
            return Flow::Close;
        }
        self.error(reply::AUTH_FAILED)
    }

    /// Reads one continuation line; `*` cancels (RFC 4954 §4).
    async fn auth_line(&mut self) -> Result<Vec<u8>, Abort> {
        let read = self.conn.read_line(MAX_AUTH_LINE);
        let line = match tokio::time::timeout(self.cfg.smtp.command_timeout.0, read).await {
            Err(_) => {
                self.timed_out();
                return Err(None);
            }
            Ok(Ok(l)) => l,
            Ok(Err(_)) => return Err(None),
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
}

/// Well-formed but refused: an unknown mechanism is 504, the rest 535.
fn refused(e: &SaslError) -> Reply {
    match e {
        SaslError::UnknownMechanism => reply::AUTH_UNSUPPORTED,
        e => Reply::owned(535, "5.7.8", format!("Authentication refused: {e}")),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> SaslIo for Session<S> {
    type Abort = Abort;

    /// A 334 with the base64 challenge, then the client's answer.
    async fn challenge(&mut self, challenge: Vec<u8>) -> Result<Vec<u8>, Abort> {
        self.send(&Reply::owned(334, "", B64.encode(challenge)));
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
