//! A SCRAM client (RFC 5802 §3, §7), for other crates' tests and tools.

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::crypto::ct_eq;
use crate::limits::MAX_SCRAM_ITERATIONS;
use crate::scram::messages::encode_saslname;
use crate::{saslprep, SaslError, ScramHash, Secret};

pub struct ScramClient {
    hash: ScramHash,
    password: Secret<String>,
    gs2_header: String,
    bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// A client without channel binding (gs2 flag "n").
    pub fn new(
        hash: ScramHash,
        username: &str,
        password: &str,
        authzid: Option<&str>,
        nonce: &str,
    ) -> Result<Self, SaslError> {
        ScramClient::with_gs2_flag(hash, "n", username, password, authzid, nonce)
    }

    /// Any gs2-cbind-flag ("y", "p=tls-unique"…), to test servers with.
    pub fn with_gs2_flag(
        hash: ScramHash,
        flag: &str,
        username: &str,
        password: &str,
        authzid: Option<&str>,
        nonce: &str,
    ) -> Result<Self, SaslError> {
        let user = encode_saslname(&saslprep(username, "username")?);
        let authzid = authzid
            .map(|z| format!("a={}", encode_saslname(z)))
            .unwrap_or_default();
        Ok(ScramClient {
            hash,
            password: Secret::new(saslprep(password, "password")?),
            gs2_header: format!("{flag},{authzid},"),
            bare: format!("n={user},r={nonce}"),
            nonce: nonce.to_string(),
            server_signature: None,
        })
    }

    /// client-first-message.
    pub fn client_first(&self) -> Vec<u8> {
        format!("{}{}", self.gs2_header, self.bare).into_bytes()
    }

    /// client-final-message for `server_first`.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, SaslError> {
        let text = std::str::from_utf8(server_first)
            .map_err(|_| SaslError::InvalidUtf8("server-first-message"))?;
        let (nonce, salt, iterations) = parse_server_first(text)?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(SaslError::NonceMismatch);
        }
        let h = self.hash;
        let salted = h.salted_password(self.password.expose().as_bytes(), &salt, iterations);
        let client_key = Secret::new(h.hmac(salted.expose(), b"Client Key"));
        let stored_key = h.hash(client_key.expose());
        let without_proof = format!("c={},r={nonce}", STANDARD.encode(&self.gs2_header));
        let auth_message = format!("{},{text},{without_proof}", self.bare);
        let signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .expose()
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = Secret::new(h.hmac(salted.expose(), b"Server Key"));
        self.server_signature = Some(h.hmac(server_key.expose(), auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes())
    }

    /// Checks server-final-message (`v=` the server's signature).
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), SaslError> {
        let expected = self
            .server_signature
            .as_ref()
            .ok_or(SaslError::OutOfSequence("server-final"))?;
        let v = server_final
            .strip_prefix(b"v=")
            .ok_or(SaslError::AuthenticationFailed)?;
        let v = STANDARD
            .decode(v)
            .map_err(|_| SaslError::Malformed("verifier"))?;
        if ct_eq(&v, expected) {
            Ok(())
        } else {
            Err(SaslError::AuthenticationFailed)
        }
    }
}

/// server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count.
fn parse_server_first(text: &str) -> Result<(&str, Vec<u8>, u32), SaslError> {
    let mut attrs = text.split(',');
    let mut next = |prefix: &'static str| {
        attrs
            .next()
            .and_then(|a| a.strip_prefix(prefix))
            .ok_or(SaslError::Malformed(prefix))
    };
    let nonce = next("r=")?;
    let salt = STANDARD
        .decode(next("s=")?)
        .map_err(|_| SaslError::Malformed("s="))?;
    let iterations: u32 = next("i=")?
        .parse()
        .map_err(|_| SaslError::Malformed("i="))?;
    if salt.is_empty() || !(1..=MAX_SCRAM_ITERATIONS).contains(&iterations) {
        return Err(SaslError::Malformed("server-first-message"));
    }
    Ok((nonce, salt, iterations))
}
