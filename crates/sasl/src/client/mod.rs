//! Client sides of the mechanisms, for tests (here and in the protocol
//! crates) and tools. They produce the raw bytes; base64 is the caller's.

mod ntlm;
mod scram;

pub use self::ntlm::{ntlm_authenticate, ntlm_negotiate, NtlmCredentials};
pub use self::scram::ScramClient;

/// PLAIN (RFC 4616 §2): `[authzid] NUL authcid NUL passwd`.
pub fn plain(authzid: Option<&str>, authcid: &str, password: &str) -> Vec<u8> {
    format!("{}\0{authcid}\0{password}", authzid.unwrap_or_default()).into_bytes()
}

/// CRAM-MD5 (RFC 2195 §2): `user SP hex(HMAC-MD5(password, challenge))`.
pub fn cram_md5(user: &str, password: &str, challenge: &[u8]) -> Vec<u8> {
    crate::cram_md5::response(user, password, challenge)
}

/// What a DIGEST-MD5 client knows.
#[derive(Debug, Clone, Copy)]
pub struct DigestMd5Credentials<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// digest-uri serv-type: "smtp", "imap" or "pop".
    pub service: &'a str,
    /// digest-uri host.
    pub host: &'a str,
    pub cnonce: &'a str,
    pub authzid: Option<&'a str>,
}

/// DIGEST-MD5 (RFC 2831 §2.1.2): the digest-response to `challenge`, and
/// the `rspauth=…` the server must answer with.
pub fn digest_md5(
    challenge: &[u8],
    creds: &DigestMd5Credentials,
) -> Result<(Vec<u8>, Vec<u8>), crate::SaslError> {
    crate::digest_md5::client_response(challenge, creds)
}

/// APOP (RFC 1939 §7): the digest to send for the banner's `timestamp`.
pub fn apop(timestamp: &str, password: &str) -> String {
    crate::apop::digest(timestamp, password)
}
