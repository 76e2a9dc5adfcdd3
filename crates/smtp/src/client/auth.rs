//! AUTH (RFC 4954) as a client: PLAIN (RFC 4616) when offered, else LOGIN.
//! Credentials only ever sit in [`Secret`]s (wiped on drop) and never reach
//! an error or a log: errors carry the server's reply, not what we sent.

use super::session::rejected;
use super::{ClientError, ClientSession, Reply, Stage};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use postern_store::Secret;

/// Longest "AUTH PLAIN <initial response>" line we send; longer credentials
/// go on a line of their own after the 334 (RFC 4954 §4), since not every
/// server takes command lines beyond RFC 5321's 512 octets.
const MAX_INITIAL_RESPONSE_LINE: usize = 500;

impl ClientSession {
    /// Authenticates with PLAIN (preferred) or LOGIN, whichever is offered.
    pub async fn authenticate(
        &mut self,
        user: &str,
        password: &Secret<String>,
    ) -> Result<(), ClientError> {
        self.chan.check()?;
        if self.caps.offers_auth("PLAIN") {
            self.auth_plain(user, password).await
        } else if self.caps.offers_auth("LOGIN") {
            self.auth_login(user, password).await
        } else {
            Err(ClientError::NoAuthMechanism)
        }
    }

    async fn auth_plain(
        &mut self,
        user: &str,
        password: &Secret<String>,
    ) -> Result<(), ClientError> {
        let response = plain_response(user, password);
        let line = secret_line(&["AUTH PLAIN ", response.expose()]);
        if line.expose().len() <= MAX_INITIAL_RESPONSE_LINE {
            let reply = self.auth_step(line.expose()).await?;
            return self.auth_done(reply).await;
        }
        let reply = self.auth_step("AUTH PLAIN\r\n").await?;
        self.auth_challenge(reply)?;
        let reply = self
            .auth_step(secret_line(&[response.expose()]).expose())
            .await?;
        self.auth_done(reply).await
    }

    /// LOGIN: the user name and the password, each asked for by a 334.
    async fn auth_login(
        &mut self,
        user: &str,
        password: &Secret<String>,
    ) -> Result<(), ClientError> {
        let reply = self.auth_step("AUTH LOGIN\r\n").await?;
        self.auth_challenge(reply)?;
        let reply = self
            .auth_step(&format!("{}\r\n", STANDARD.encode(user)))
            .await?;
        self.auth_challenge(reply)?;
        let encoded = Secret::new(STANDARD.encode(password.expose()));
        let reply = self
            .auth_step(secret_line(&[encoded.expose()]).expose())
            .await?;
        self.auth_done(reply).await
    }

    async fn auth_step(&mut self, line: &str) -> Result<Reply, ClientError> {
        let limit = self.timeouts.ehlo;
        self.chan.write(line.as_bytes(), Stage::Auth, limit).await?;
        self.chan.read_reply(Stage::Auth, limit).await
    }

    /// The server must ask for the next piece with a 334.
    fn auth_challenge(&mut self, reply: Reply) -> Result<(), ClientError> {
        match reply.code {
            334 => Ok(()),
            _ if reply.is_transient() || reply.is_permanent() => Err(rejected(Stage::Auth, reply)),
            _ => Err(self.chan.fail(out_of_turn(&reply))),
        }
    }

    /// After the last piece: 235 (any 2xx) is success. A 334 asks for more
    /// than the mechanism has: cancel it with "*" (RFC 4954 §4).
    async fn auth_done(&mut self, reply: Reply) -> Result<(), ClientError> {
        if reply.is_positive() {
            return Ok(());
        }
        if reply.is_transient() || reply.is_permanent() {
            return Err(rejected(Stage::Auth, reply));
        }
        if reply.code == 334 {
            self.auth_step("*\r\n").await?;
        }
        Err(self.chan.fail(out_of_turn(&reply)))
    }
}

fn out_of_turn(reply: &Reply) -> ClientError {
    ClientError::Protocol(format!("unexpected reply during AUTH: {reply}"))
}

/// RFC 4616: authzid NUL authcid NUL passwd (no authzid), base64.
fn plain_response(user: &str, password: &Secret<String>) -> Secret<String> {
    let password = password.expose().as_bytes();
    let mut raw = Vec::with_capacity(user.len() + password.len() + 2);
    raw.push(0);
    raw.extend_from_slice(user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(password);
    let raw = Secret::new(raw);
    Secret::new(STANDARD.encode(raw.expose()))
}

/// The parts and CR LF in one buffer, sized once so no copy is left behind.
fn secret_line(parts: &[&str]) -> Secret<String> {
    let mut line = String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 2);
    for p in parts {
        line.push_str(p);
    }
    line.push_str("\r\n");
    Secret::new(line)
}
