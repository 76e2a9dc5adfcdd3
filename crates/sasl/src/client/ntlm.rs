//! An NTLMv2 client ([MS-NLMP] §3.1), for tests and tools.

use crate::crypto::hmac_md5;
use crate::nt_hash;
use crate::ntlm::hash::{nt_proof, ntowf_v2, utf16le};
use crate::ntlm::messages::{check_header, field, flags, push_buffer, SIGNATURE};
use crate::SaslError;

/// What the client knows, plus what it would draw at random or read from
/// its clock (fixed here so test vectors can be reproduced).
#[derive(Debug, Clone, Copy)]
pub struct NtlmCredentials<'a> {
    pub user: &'a str,
    pub domain: &'a str,
    pub password: &'a str,
    pub workstation: &'a str,
    pub client_challenge: [u8; 8],
    /// FILETIME: 100 ns ticks since 1601-01-01.
    pub timestamp: u64,
}

const CLIENT_FLAGS: u32 = flags::UNICODE
    | flags::OEM
    | flags::REQUEST_TARGET
    | flags::NTLM
    | flags::ALWAYS_SIGN
    | flags::EXTENDED_SESSIONSECURITY
    | flags::NEGOTIATE_128;

/// NEGOTIATE_MESSAGE (§2.2.1.1) with empty domain and workstation.
pub fn ntlm_negotiate() -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&CLIENT_FLAGS.to_le_bytes());
    push_buffer(&mut m, 0, 32);
    push_buffer(&mut m, 0, 32);
    m
}

/// AUTHENTICATE_MESSAGE (§2.2.1.3) answering `challenge` with NTLMv2 and
/// LMv2 responses (§3.3.2); no session key, no MIC.
pub fn ntlm_authenticate(challenge: &[u8], creds: &NtlmCredentials) -> Result<Vec<u8>, SaslError> {
    check_header(challenge, 2, 48)?;
    let server_challenge: [u8; 8] = challenge[24..32].try_into().expect("8 bytes");
    let target_info = field(challenge, 40, 4096, "TargetInfo")?;
    let mut temp = vec![1, 1, 0, 0, 0, 0, 0, 0];
    temp.extend_from_slice(&creds.timestamp.to_le_bytes());
    temp.extend_from_slice(&creds.client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(target_info);
    temp.extend_from_slice(&[0; 4]);
    let ntowf = ntowf_v2(&nt_hash(creds.password), creds.user, creds.domain);
    let nt = [&nt_proof(&ntowf, &server_challenge, &temp)[..], &temp].concat();
    let lm_mac = hmac_md5(
        ntowf.expose(),
        &[&server_challenge, &creds.client_challenge],
    );
    let lm = [&lm_mac[..], &creds.client_challenge].concat();
    let payload = [
        utf16le(creds.domain),
        utf16le(creds.user),
        utf16le(creds.workstation),
        lm,
        nt,
    ];
    Ok(authenticate_message(&payload))
}

/// Header of 72 bytes (Version zero), then domain, user, workstation, LM,
/// NT; the empty session key points at the end.
fn authenticate_message(payload: &[Vec<u8>; 5]) -> Vec<u8> {
    let [domain, user, workstation, lm, nt] = payload;
    let mut offset = 72;
    let mut at = |len: usize| {
        let o = offset;
        offset += len;
        o
    };
    let (d, u, w, l, n) = (
        at(domain.len()),
        at(user.len()),
        at(workstation.len()),
        at(lm.len()),
        at(nt.len()),
    );
    let mut m = Vec::new();
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&3u32.to_le_bytes());
    push_buffer(&mut m, lm.len(), l);
    push_buffer(&mut m, nt.len(), n);
    push_buffer(&mut m, domain.len(), d);
    push_buffer(&mut m, user.len(), u);
    push_buffer(&mut m, workstation.len(), w);
    push_buffer(&mut m, 0, offset);
    m.extend_from_slice(&(CLIENT_FLAGS & !flags::OEM).to_le_bytes());
    m.extend_from_slice(&[0; 8]);
    for part in payload {
        m.extend_from_slice(part);
    }
    m
}
