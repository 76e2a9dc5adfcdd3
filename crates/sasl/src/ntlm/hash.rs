//! NTLMv2's one-way functions ([MS-NLMP] §3.3.1, §3.3.2).

use md4::{Digest, Md4};

use crate::crypto::hmac_md5;
use crate::Secret;

/// MD4(UNICODE(password)): what Windows calls the NT hash. It does not
/// depend on the user name, but it is password-equivalent for NTLM (and
/// for anything else that accepts NT hashes): keep it encrypted at rest.
#[derive(Debug, Clone)]
pub struct NtHash(Secret<[u8; 16]>);

impl NtHash {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        NtHash(Secret::new(bytes))
    }

    pub fn expose(&self) -> &[u8; 16] {
        self.0.expose()
    }
}

/// [MS-NLMP] §3.3.1: NTOWFv1 = MD4(UNICODE(Passwd)).
pub fn nt_hash(password: &str) -> NtHash {
    let unicode = zeroize::Zeroizing::new(utf16le(password));
    NtHash::from_bytes(Md4::digest(&*unicode).into())
}

/// [MS-NLMP] §3.3.2: NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(User) ‖ UserDom)).
pub(crate) fn ntowf_v2(nt: &NtHash, user: &str, domain: &str) -> Secret<[u8; 16]> {
    let identity = utf16le(&format!("{}{domain}", uppercase(user)));
    Secret::new(hmac_md5(nt.expose(), &[&identity]))
}

/// [MS-NLMP] §3.3.2: NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge ‖ temp).
pub(crate) fn nt_proof(
    ntowf: &Secret<[u8; 16]>,
    server_challenge: &[u8; 8],
    temp: &[u8],
) -> [u8; 16] {
    hmac_md5(ntowf.expose(), &[server_challenge, temp])
}

/// Windows upper-cases character by character (no "ß" → "SS").
fn uppercase(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

pub(crate) fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}
