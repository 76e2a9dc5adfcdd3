//! AUTH PLAIN and LOGIN (RFC 4954, RFC 4616), offered only on submission and
//! SMTPS, and only over TLS.

use super::{Flow, Kind, Session};
use crate::reply::{self, Reply};
use crate::MAX_AUTH_LINE;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use postern_net::auth::after_failed_login;
use postern_net::Line;
use postern_store::Secret;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};
use tokio::io::{AsyncRead, AsyncWrite};

/// Credentials a client sent.
struct Credentials {
    user: String,
    password: Secret<String>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn auth(&mut self, mechanism: u64, initial: String) -> Flow {
        if self.kind == Kind::Mx {
            return self.error(reply::AUTH_NOT_HERE);
        }
        if !self.conn.is_tls() {
            return self.error(reply::TLS_REQUIRED);
        }
        if self.auth.is_some() {
            return self.error(reply::ALREADY_AUTH);
        }
        if self.tx.is_some() {
            return self.error(reply::BAD_SEQUENCE);
        }
        let creds = match mechanism {
            AUTH_PLAIN => self.plain(initial).await,
            AUTH_LOGIN => self.login(initial).await,
            _ => Err(Some(reply::AUTH_UNSUPPORTED)),
        };
        match creds {
            Ok(c) => self.check(c).await,
            Err(Some(r)) => self.error(r),
            Err(None) => Flow::Close,
        }
    }

    async fn plain(&mut self, initial: String) -> Result<Credentials, Option<Reply>> {
        let data = match initial.as_str() {
            "" => self.challenge("").await?,
            "=" => Vec::new(),
            s => decode(s)?,
        };
        // RFC 4616 §2: [authzid] NUL authcid NUL passwd
        let mut parts = data.split(|&b| b == 0);
        let (Some(authz), Some(user), Some(pass), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Some(reply::AUTH_BAD_BASE64));
        };
        let user = String::from_utf8(user.to_vec()).map_err(|_| Some(reply::AUTH_BAD_BASE64))?;
        if !authz.is_empty() && authz != user.as_bytes() {
            return Err(Some(reply::AUTH_FAILED));
        }
        let password = Secret::new(
            String::from_utf8(pass.to_vec()).map_err(|_| Some(reply::AUTH_BAD_BASE64))?,
        );
        Ok(Credentials { user, password })
    }

    async fn login(&mut self, initial: String) -> Result<Credentials, Option<Reply>> {
        let user = match initial.as_str() {
            "" => self.challenge("VXNlcm5hbWU6").await?,
            s => decode(s)?,
        };
        let pass = self.challenge("UGFzc3dvcmQ6").await?;
        let user = String::from_utf8(user).map_err(|_| Some(reply::AUTH_BAD_BASE64))?;
        let password =
            Secret::new(String::from_utf8(pass).map_err(|_| Some(reply::AUTH_BAD_BASE64))?);
        Ok(Credentials { user, password })
    }

    /// Sends a 334 challenge and reads the client's base64 answer; "*" cancels.
    async fn challenge(&mut self, text: &'static str) -> Result<Vec<u8>, Option<Reply>> {
        self.send(&Reply::new(334, "", text));
        let line = match tokio::time::timeout(
            self.cfg.smtp.command_timeout.0,
            self.conn.read_line(MAX_AUTH_LINE),
        )
        .await
        {
            Err(_) => {
                self.timed_out();
                return Err(None);
            }
            Ok(Ok(l)) => l,
            Ok(Err(_)) => return Err(None),
        };
        match line {
            Line::Text(t) if t == b"*" => Err(Some(reply::AUTH_CANCELLED)),
            Line::Text(t) => {
                decode(std::str::from_utf8(&t).map_err(|_| Some(reply::AUTH_BAD_BASE64))?)
            }
            Line::TooLong => Err(Some(reply::LINE_TOO_LONG)),
            Line::Eof => Err(None),
        }
    }

    async fn check(&mut self, c: Credentials) -> Flow {
        let store = self.ctx.store.clone();
        let user = c.user.clone();
        let result =
            tokio::task::spawn_blocking(move || store.authenticate(&c.user, &c.password)).await;
        match result {
            Ok(Ok(Some(info))) => {
                self.auth = Some(info);
                self.reply(reply::AUTH_OK)
            }
            Ok(Ok(None)) => {
                self.auth_failures += 1;
                self.security_log(
                    "auth-failed",
                    &[("user", &user), ("reason", "invalid credentials")],
                );
                if after_failed_login(self.auth_failures).await {
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
            _ => self.error(Reply::new(454, "4.7.0", "Temporary authentication failure")),
        }
    }
}

fn decode(s: &str) -> Result<Vec<u8>, Option<Reply>> {
    B64.decode(s.trim())
        .map_err(|_| Some(reply::AUTH_BAD_BASE64))
}
