//! SCRAM's per-user keys (RFC 5802 §3) and their RFC 5803 text form.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::limits::{
    MAX_SCRAM_ITERATIONS, MAX_SCRAM_SALT_LEN, MIN_SCRAM_ITERATIONS, SCRAM_SALT_LEN,
};
use crate::{saslprep, Mechanism, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    pub fn mechanism(self) -> Mechanism {
        match self {
            ScramHash::Sha1 => Mechanism::ScramSha1,
            ScramHash::Sha256 => Mechanism::ScramSha256,
        }
    }

    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// H(data).
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// HMAC(key, data).
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        match self {
            ScramHash::Sha1 => mac::<Hmac<Sha1>>(key, data),
            ScramHash::Sha256 => mac::<Hmac<Sha256>>(key, data),
        }
    }

    /// Hi(password, salt, i) = PBKDF2 with HMAC (RFC 5802 §2.2).
    pub(crate) fn salted_password(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Secret<Vec<u8>> {
        let mut out = vec![0u8; self.output_len()];
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out)
            }
        }
        Secret::new(out)
    }
}

/// Why SCRAM keys could not be made or read back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScramKeyError {
    #[error("the password is refused by SASLprep (RFC 4013)")]
    Saslprep,
    #[error("iteration count {0} out of range")]
    Iterations(u32),
    #[error("malformed stored SCRAM keys: {0}")]
    Encoding(&'static str),
}

/// What the server stores for one user and one SCRAM hash: never the
/// password, and not enough to log in as the user (RFC 5802 §3), but
/// enough to impersonate the server: keep it encrypted at rest.
#[derive(Debug, Clone)]
pub struct ScramKeys {
    pub hash: ScramHash,
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Secret<Vec<u8>>,
    pub server_key: Secret<Vec<u8>>,
}

impl ScramKeys {
    /// RFC 5802 §3: SaltedPassword := Hi(SASLprep(password), salt, i),
    /// StoredKey := H(HMAC(SaltedPassword, "Client Key")),
    /// ServerKey := HMAC(SaltedPassword, "Server Key").
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, ScramKeyError> {
        if !(MIN_SCRAM_ITERATIONS..=MAX_SCRAM_ITERATIONS).contains(&iterations) {
            return Err(ScramKeyError::Iterations(iterations));
        }
        if salt.is_empty() || salt.len() > MAX_SCRAM_SALT_LEN {
            return Err(ScramKeyError::Encoding("salt length"));
        }
        let prepared = zeroize::Zeroizing::new(
            saslprep(password, "password").map_err(|_| ScramKeyError::Saslprep)?,
        );
        let salted = hash.salted_password(prepared.as_bytes(), salt, iterations);
        let client_key = Secret::new(hash.hmac(salted.expose(), b"Client Key"));
        Ok(ScramKeys {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: Secret::new(hash.hash(client_key.expose())),
            server_key: Secret::new(hash.hmac(salted.expose(), b"Server Key")),
        })
    }

    /// [`ScramKeys::derive`] with a fresh random salt.
    pub fn generate(
        hash: ScramHash,
        password: &str,
        iterations: u32,
    ) -> Result<Self, ScramKeyError> {
        let salt: [u8; SCRAM_SALT_LEN] = rand::rng().random();
        ScramKeys::derive(hash, password, &salt, iterations)
    }

    /// RFC 5803 §3: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`,
    /// base64 throughout.
    pub fn to_rfc5803(&self) -> Secret<String> {
        Secret::new(format!(
            "{}${}:{}${}:{}",
            self.hash.mechanism().name(),
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(self.stored_key.expose()),
            STANDARD.encode(self.server_key.expose()),
        ))
    }

    /// The inverse of [`ScramKeys::to_rfc5803`] (any iteration count ≥ 1,
    /// so keys imported from elsewhere still work).
    pub fn from_rfc5803(text: &str) -> Result<Self, ScramKeyError> {
        let mut parts = text.split('$');
        let (Some(name), Some(params), Some(keys), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ScramKeyError::Encoding(
                "expected three '$'-separated parts",
            ));
        };
        let hash = match Mechanism::from_name(name) {
            Ok(Mechanism::ScramSha1) => ScramHash::Sha1,
            Ok(Mechanism::ScramSha256) => ScramHash::Sha256,
            _ => return Err(ScramKeyError::Encoding("mechanism")),
        };
        let (iterations, salt) = params
            .split_once(':')
            .ok_or(ScramKeyError::Encoding("iterations:salt"))?;
        let (stored, server) = keys
            .split_once(':')
            .ok_or(ScramKeyError::Encoding("StoredKey:ServerKey"))?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| ScramKeyError::Encoding("iterations"))?;
        let b64 = |s: &str, what| {
            STANDARD
                .decode(s)
                .map_err(|_| ScramKeyError::Encoding(what))
        };
        let keys = ScramKeys {
            hash,
            salt: b64(salt, "salt")?,
            iterations,
            stored_key: Secret::new(b64(stored, "StoredKey")?),
            server_key: Secret::new(b64(server, "ServerKey")?),
        };
        if !keys.is_usable(hash) {
            return Err(ScramKeyError::Encoding("lengths or iteration count"));
        }
        Ok(keys)
    }

    /// Right hash, key lengths and a sane salt and count.
    pub(crate) fn is_usable(&self, hash: ScramHash) -> bool {
        self.hash == hash
            && self.stored_key.expose().len() == hash.output_len()
            && self.server_key.expose().len() == hash.output_len()
            && !self.salt.is_empty()
            && self.salt.len() <= MAX_SCRAM_SALT_LEN
            && (1..=MAX_SCRAM_ITERATIONS).contains(&self.iterations)
    }
}
