//! Server-side SASL (RFC 4422) for SMTP AUTH (RFC 4954), IMAP AUTHENTICATE
//! (RFC 9051) and POP3 AUTH (RFC 5034), plus the POP3 APOP verifier (RFC 1939).
//!
//! Sans-I/O: a [`ServerExchange`] is fed the client's decoded responses and
//! answers with a [`Step`]. The protocol layer base64-encodes challenges,
//! looks users up when asked ([`Step::NeedSecrets`]), checks plaintext
//! passwords itself ([`Step::VerifyPassword`]) and decides whether the
//! authenticated identity may act as the requested authorisation identity.
//!
//! Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login),
//! CRAM-MD5 (RFC 2195), DIGEST-MD5 (RFC 2831, qop=auth only),
//! SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802 / RFC 7677, no channel binding) and
//! NTLM (NTLMv2 responses only, [MS-NLMP]).
//!
//! Per-user secrets for the challenge-response mechanisms are derived from
//! the password when it is set ([`UserSecrets::for_password`]); none of them
//! is the plaintext password except APOP's, which needs the password itself.

pub mod apop;
pub mod client;
mod cram_md5;
mod crypto;
mod digest_md5;
mod error;
mod exchange;
mod fake;
mod fields;
#[cfg(test)]
mod indistinguishable;
pub mod limits;
mod login;
mod mechanism;
mod nonce;
mod ntlm;
mod plain;
mod saslprep;
mod scram;
mod secret;
mod secrets;
#[cfg(test)]
mod test_support;

pub use cram_md5::{cram_md5_secret, CramMd5Secret};
pub use digest_md5::{digest_md5_secret, DigestMd5Secret};
pub use error::{ErrorClass, SaslError};
pub use exchange::{FinalData, ServerConfig, ServerExchange, Step};
pub use mechanism::Mechanism;
pub use nonce::{FixedNonce, NonceSource, OsNonce};
pub use ntlm::{nt_hash, NtHash};
pub use saslprep::saslprep;
pub use scram::{ScramHash, ScramKeyError, ScramKeys};
pub use secret::Secret;
pub use secrets::UserSecrets;
