//! Per-user secrets of the challenge-response mechanisms (SPEC X5): made
//! from the password whenever it is set, sealed with the server key
//! (`Store::seal`, the user and mechanism as associated data so a row cannot be
//! moved to another user), never plaintext on disk.
//!
//! SCRAM-SHA-256 keys are always made (RFC 5803 text form inside the seal);
//! the others only for the mechanisms the admin enabled at that moment. A
//! user without a mechanism's secret fails with it exactly like a wrong
//! password (postern-sasl stands in fake secrets). Opening them for a
//! login is sasl_users.rs.

use postern_sasl::{Mechanism, ScramKeys, UserSecrets};
use postern_store::{Store, StoreError, UserId};
use rusqlite::{params, Connection};
use zeroize::Zeroizing;

/// The name APOP's secret (the password itself) is kept under.
pub const APOP: &str = "APOP";

/// What to make when a password is set: `config.auth` in the server.
#[derive(Clone, Debug)]
pub struct SecretSpec {
    /// Enabled mechanisms; SCRAM-SHA-256 is made whether listed or not.
    pub mechanisms: Vec<Mechanism>,
    /// Keep the password itself, sealed, for POP3 APOP.
    pub apop: bool,
    pub scram_iterations: u32,
    /// The DIGEST-MD5 realm: the server's host name (`server.hostname`).
    pub realm: String,
}

impl Default for SecretSpec {
    fn default() -> Self {
        SecretSpec {
            mechanisms: vec![Mechanism::ScramSha256],
            apop: false,
            scram_iterations: postern_sasl::limits::DEFAULT_SCRAM_ITERATIONS,
            realm: "localhost".into(),
        }
    }
}

/// One mechanism's secret before sealing.
pub(crate) type Plain = (&'static str, Zeroizing<Vec<u8>>);

/// Derives the secrets `spec` asks for (PBKDF2 for SCRAM: call it before
/// taking the database lock).
pub(crate) fn derive(address: &str, password: &str, spec: &SecretSpec) -> Vec<Plain> {
    let mut mechs = spec.mechanisms.clone();
    mechs.push(Mechanism::ScramSha256);
    let s = UserSecrets::for_password(
        password,
        address,
        &spec.realm,
        &mechs,
        spec.scram_iterations,
    );
    let scram = |k: &ScramKeys| Zeroizing::new(k.to_rfc5803().expose().as_bytes().to_vec());
    let mut out: Vec<Plain> = Vec::new();
    let mut push = |m: Mechanism, bytes: Option<Zeroizing<Vec<u8>>>| {
        if let Some(b) = bytes {
            out.push((m.name(), b));
        }
    };
    push(Mechanism::ScramSha256, s.scram_sha256.as_ref().map(scram));
    push(Mechanism::ScramSha1, s.scram_sha1.as_ref().map(scram));
    push(
        Mechanism::CramMd5,
        s.cram_md5.map(|c| Zeroizing::new(c.expose().to_vec())),
    );
    push(
        Mechanism::DigestMd5,
        s.digest_md5.map(|d| Zeroizing::new(d.expose().to_vec())),
    );
    push(
        Mechanism::Ntlm,
        s.nt_hash.map(|n| Zeroizing::new(n.expose().to_vec())),
    );
    if spec.apop {
        out.push((APOP, Zeroizing::new(password.as_bytes().to_vec())));
    }
    out
}

/// One mechanism's secret, sealed.
pub(crate) type Sealed = (&'static str, Vec<u8>);

/// Seals each of `plain` for `address` (before taking the database lock).
pub(crate) fn seal_all(
    store: &Store,
    address: &str,
    plain: &[Plain],
) -> Result<Vec<Sealed>, StoreError> {
    plain
        .iter()
        .map(|(mechanism, bytes)| Ok((*mechanism, store.seal(&aad(address, mechanism), bytes)?)))
        .collect()
}

/// Replaces the user's secrets with `sealed`, inside the caller's transaction.
pub(crate) fn replace(
    conn: &Connection,
    user: UserId,
    sealed: &[Sealed],
) -> Result<(), StoreError> {
    conn.execute("DELETE FROM user_mech_secrets WHERE user_id = ?1", [user.0])?;
    for (mechanism, sealed) in sealed {
        conn.execute(
            "INSERT INTO user_mech_secrets (user_id, mechanism, sealed) VALUES (?1, ?2, ?3)",
            params![user.0, mechanism, sealed],
        )?;
    }
    Ok(())
}

/// Binds a sealed secret to its user and mechanism.
pub(crate) fn aad(address: &str, mechanism: &str) -> Vec<u8> {
    format!(
        "postern-mech-secret-v1\0{}\0{mechanism}",
        address.to_lowercase()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
