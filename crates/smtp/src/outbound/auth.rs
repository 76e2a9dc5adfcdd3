//! AUTH as a client (RFC 4954): PLAIN (RFC 4616) with an initial response, or
//! LOGIN where only that is offered. The password never appears in an error.

use super::{ClientError, ClientSession, Stage};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use postern_store::Secret;

impl ClientSession {
    pub async fn authenticate(&mut self, user: &str, password: &Secret<String>) -> Result<(), ClientError> {
        let offered = |m: &str| self.caps.auth.iter().any(|a| a == m);
        let reply = if offered("PLAIN") {
            let token = Secret::new(B64.encode(format!("\0{user}\0{}", password.expose())));
            self.command(&format!("AUTH PLAIN {}", token.expose()), Stage::Auth).await?
        } else if offered("LOGIN") {
            self.login(user, password).await?
        } else {
            return Err(ClientError::NoAuthMechanism);
        };
        match reply.code {
            235 => Ok(()),
            _ => Err(ClientError::Rejected { stage: Stage::Auth, reply }),
        }
    }

    async fn login(&mut self, user: &str, password: &Secret<String>) -> Result<super::Reply, ClientError> {
        let r = self.command("AUTH LOGIN", Stage::Auth).await?;
        if r.code != 334 {
            return Ok(r);
        }
        let r = self.command(&B64.encode(user), Stage::Auth).await?;
        if r.code != 334 {
            return Ok(r);
        }
        let pass = Secret::new(B64.encode(password.expose()));
        self.command(pass.expose(), Stage::Auth).await
    }
}
