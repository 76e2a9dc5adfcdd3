//! SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel
//! binding: gs2 flags "n" and "y" are accepted, "p" is refused.
//!
//! An unknown user (or one without keys for this hash) is shown a salt
//! derived from the server secret and the user name, and the configured
//! iteration count, so two attempts look the same; the proof is then
//! checked against stand-in keys and fails like a wrong password.

mod keys;
pub(crate) mod messages;

pub use keys::{ScramHash, ScramKeyError, ScramKeys};

use base64::{engine::general_purpose::STANDARD, Engine};
use subtle::{Choice, ConstantTimeEq};

use self::messages::{parse_client_final, parse_client_first, ClientFirst};
use crate::exchange::{MechServer, ServerConfig, Step};
use crate::fake::fake_bytes;
use crate::limits::SCRAM_SALT_LEN;
use crate::{NonceSource, SaslError, Secret, UserSecrets};

pub(crate) struct ScramServer {
    hash: ScramHash,
    server_nonce: String,
    server_secret: Secret<[u8; 32]>,
    fake_iterations: u32,
    state: State,
}

enum State {
    First,
    Secrets(ClientFirst),
    Final(Box<Pending>),
    Done,
}

/// Everything the proof is checked against.
struct Pending {
    first: ClientFirst,
    server_first: String,
    keys: ScramKeys,
    genuine: bool,
}

impl ScramServer {
    pub(crate) fn new(
        hash: ScramHash,
        config: &ServerConfig,
        nonces: &mut dyn NonceSource,
    ) -> Self {
        ScramServer {
            hash,
            server_nonce: nonces.text(),
            server_secret: config.server_secret.clone(),
            fake_iterations: config.scram_iterations,
            state: State::First,
        }
    }

    fn client_first(&mut self, message: &[u8]) -> Step {
        match parse_client_first(message) {
            Ok(first) => {
                let step = Step::NeedSecrets {
                    authcid: first.username.clone(),
                    authzid: first.authzid.clone(),
                };
                self.state = State::Secrets(first);
                step
            }
            Err(e) => Step::Failure(e),
        }
    }

    /// Stand-in keys: same salt every time for the same name.
    fn fake_keys(&self, username: &str) -> ScramKeys {
        let name = self.hash.mechanism().name();
        let key = |purpose: &str, len| {
            let mut v = vec![0u8; len];
            fake_bytes(
                self.server_secret.expose(),
                &format!("{name} {purpose}"),
                username,
                &mut v,
            );
            v
        };
        ScramKeys {
            hash: self.hash,
            salt: key("salt", SCRAM_SALT_LEN),
            iterations: self.fake_iterations,
            stored_key: Secret::new(key("stored", self.hash.output_len())),
            server_key: Secret::new(key("server", self.hash.output_len())),
        }
    }

    /// RFC 5802 §7: server-first-message = nonce "," salt "," iteration-count.
    fn server_first(&mut self, first: ClientFirst, secrets: Option<&UserSecrets>) -> Step {
        let stored = secrets.and_then(|s| s.scram(self.hash));
        let genuine = stored.is_some();
        let keys = stored
            .cloned()
            .unwrap_or_else(|| self.fake_keys(&first.username));
        let server_first = format!(
            "r={}{},s={},i={}",
            first.nonce,
            self.server_nonce,
            STANDARD.encode(&keys.salt),
            keys.iterations
        );
        let step = Step::Challenge(server_first.clone().into_bytes());
        self.state = State::Final(Box::new(Pending {
            first,
            server_first,
            keys,
            genuine,
        }));
        step
    }

    /// RFC 5802 §3: ClientKey := ClientProof XOR HMAC(StoredKey, AuthMessage);
    /// the proof holds when H(ClientKey) = StoredKey.
    fn client_final(&self, p: &Pending, message: &[u8]) -> Result<Step, SaslError> {
        let nonce = format!("{}{}", p.first.nonce, self.server_nonce);
        let fin = parse_client_final(message, &p.first, &nonce, self.hash.output_len())?;
        let auth_message = format!("{},{},{}", p.first.bare, p.server_first, fin.without_proof);
        let signature = Secret::new(
            self.hash
                .hmac(p.keys.stored_key.expose(), auth_message.as_bytes()),
        );
        let client_key: Secret<Vec<u8>> = Secret::new(
            fin.proof
                .iter()
                .zip(signature.expose())
                .map(|(a, b)| a ^ b)
                .collect(),
        );
        let matches = self
            .hash
            .hash(client_key.expose())
            .ct_eq(p.keys.stored_key.expose());
        if !bool::from(matches & Choice::from(u8::from(p.genuine))) {
            return Err(SaslError::AuthenticationFailed);
        }
        let server_signature = self
            .hash
            .hmac(p.keys.server_key.expose(), auth_message.as_bytes());
        Ok(Step::Success {
            authcid: p.first.username.clone(),
            authzid: p.first.authzid.clone(),
            final_data: Some(format!("v={}", STANDARD.encode(server_signature)).into_bytes()),
        })
    }
}

impl MechServer for ScramServer {
    fn start(&mut self, initial: Option<&[u8]>) -> Step {
        match initial {
            // RFC 4422 §5: a client-first mechanism without an initial
            // response gets an empty challenge.
            None => Step::Challenge(Vec::new()),
            Some(message) => self.client_first(message),
        }
    }

    fn step(&mut self, input: &[u8]) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::First => self.client_first(input),
            State::Final(p) => self.client_final(&p, input).unwrap_or_else(Step::Failure),
            _ => Step::Failure(SaslError::OutOfSequence("step")),
        }
    }

    fn provide(&mut self, secrets: Option<&UserSecrets>) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Secrets(first) => self.server_first(first, secrets),
            _ => Step::Failure(SaslError::OutOfSequence("provide")),
        }
    }
}

#[cfg(test)]
mod tests;
