//! What the store keeps per user so that the challenge-response mechanisms
//! work without the plaintext password.

use crate::scram::{ScramHash, ScramKeys};
use crate::{cram_md5_secret, digest_md5_secret, nt_hash, Mechanism};
use crate::{CramMd5Secret, DigestMd5Secret, NtHash};

/// One user's mechanism secrets; `None` where not stored. Debug prints
/// no secret material.
#[derive(Debug, Clone, Default)]
pub struct UserSecrets {
    pub scram_sha1: Option<ScramKeys>,
    pub scram_sha256: Option<ScramKeys>,
    /// Depends on the password only.
    pub cram_md5: Option<CramMd5Secret>,
    /// Depends on the user name and realm too: re-derive when either changes.
    pub digest_md5: Option<DigestMd5Secret>,
    /// Depends on the password only.
    pub nt_hash: Option<NtHash>,
}

impl UserSecrets {
    /// Derives the secrets of `mechanisms` when a password is set. PLAIN and
    /// LOGIN need none (the caller keeps its Argon2 hash). SCRAM keys get a
    /// fresh random salt; they are left out if SASLprep refuses the password
    /// (RFC 4013 §2.3), since no conforming client could then use them.
    pub fn for_password(
        password: &str,
        username: &str,
        realm: &str,
        mechanisms: &[Mechanism],
        scram_iterations: u32,
    ) -> UserSecrets {
        let scram = |hash| ScramKeys::generate(hash, password, scram_iterations).ok();
        let mut s = UserSecrets::default();
        for m in mechanisms {
            match m {
                Mechanism::ScramSha1 => s.scram_sha1 = scram(ScramHash::Sha1),
                Mechanism::ScramSha256 => s.scram_sha256 = scram(ScramHash::Sha256),
                Mechanism::CramMd5 => s.cram_md5 = Some(cram_md5_secret(password)),
                Mechanism::DigestMd5 => {
                    s.digest_md5 = Some(digest_md5_secret(username, realm, password))
                }
                Mechanism::Ntlm => s.nt_hash = Some(nt_hash(password)),
                Mechanism::Plain | Mechanism::Login => {}
            }
        }
        s
    }

    /// The SCRAM keys for `hash`, if stored and well-formed.
    pub(crate) fn scram(&self, hash: ScramHash) -> Option<&ScramKeys> {
        let keys = match hash {
            ScramHash::Sha1 => self.scram_sha1.as_ref(),
            ScramHash::Sha256 => self.scram_sha256.as_ref(),
        };
        keys.filter(|k| k.is_usable(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_only_what_is_asked_and_hides_it() {
        let all = UserSecrets::for_password("pw", "u", "r", &Mechanism::ALL, 4096);
        assert!(all.scram_sha1.is_some() && all.scram_sha256.is_some());
        assert!(all.cram_md5.is_some() && all.digest_md5.is_some() && all.nt_hash.is_some());
        let some = UserSecrets::for_password("pw", "u", "r", &[Mechanism::Plain], 4096);
        assert!(some.scram_sha256.is_none() && some.nt_hash.is_none());
        let shown = format!("{all:?}");
        assert!(!shown.contains("pw"));
        let nt = crate::crypto::hex(nt_hash("pw").expose());
        assert!(!shown.contains(&nt));
    }

    #[test]
    fn saslprep_refused_password_gets_no_scram_keys() {
        let s = UserSecrets::for_password("bell\u{0007}", "u", "r", &Mechanism::ALL, 4096);
        assert!(s.scram_sha256.is_none());
        assert!(s.nt_hash.is_some());
    }
}
