//! CRAM-MD5 (RFC 2195): the server sends `<unique@host>`, the client answers
//! `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! Stored secret: the two MD5 chaining states after the HMAC key block,
//! MD5-compress(IV, K ⊕ ipad) ‖ MD5-compress(IV, K ⊕ opad), 32 bytes, each
//! state as four little-endian words (the idea of Dovecot's `{CRAM-MD5}`
//! scheme; byte compatibility with it is not tested). It verifies CRAM-MD5
//! without the plaintext, but is password-equivalent for CRAM-MD5 itself:
//! keep it encrypted at rest.
//!
//! Resuming MD5 from a stored state goes through md-5's `SerializableState`
//! (state words, then the block count); the key-length test below pins it.

use md5::block_api::Md5Core;
use md5::digest::block_api::{CoreProxy, UpdateCore};
use md5::digest::common::hazmat::SerializableState;
use md5::{Digest, Md5};

use crate::crypto::{ct_eq, hex, md5, unhex16};
use crate::exchange::{MechServer, ServerConfig, Step};
use crate::fake::fake_bytes;
use crate::{fields, NonceSource, SaslError, Secret, UserSecrets};
use zeroize::{Zeroize, Zeroizing};

/// The HMAC-MD5 inner and outer states for one password.
#[derive(Debug, Clone)]
pub struct CramMd5Secret(Secret<[u8; 32]>);

impl CramMd5Secret {
    /// From storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        CramMd5Secret(Secret::new(bytes))
    }

    /// For storage.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose()
    }

    /// HMAC-MD5(password, message), resumed from the stored states.
    pub(crate) fn hmac(&self, message: &[u8]) -> [u8; 16] {
        let (inner, outer) = self.expose().split_at(16);
        let inner_hash = md5_resume(inner, message);
        md5_resume(outer, &inner_hash)
    }
}

/// RFC 2104 §2: the key is the password, or MD5(password) when longer
/// than the 64-byte block; zero-padded, XORed with ipad / opad.
pub fn cram_md5_secret(password: &str) -> CramMd5Secret {
    let mut key = Zeroizing::new([0u8; 64]);
    let p = password.as_bytes();
    if p.len() > 64 {
        key[..16].copy_from_slice(&md5(&[p]));
    } else {
        key[..p.len()].copy_from_slice(p);
    }
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&state_after(&key, 0x36));
    out[16..].copy_from_slice(&state_after(&key, 0x5c));
    CramMd5Secret::from_bytes(out)
}

/// The MD5 chaining state after one block `key ⊕ pad`.
fn state_after(key: &[u8; 64], pad: u8) -> [u8; 16] {
    let block = Zeroizing::new(key.map(|b| b ^ pad));
    let mut core = Md5Core::default();
    core.update_blocks(&[(*block).into()]);
    let mut serialized = core.serialize();
    let state = serialized[..16].try_into().expect("16-byte state");
    serialized.as_mut_slice().zeroize();
    state
}

/// MD5 of (one 64-byte block already hashed into `state`) ‖ `data`.
fn md5_resume(state: &[u8], data: &[u8]) -> [u8; 16] {
    let mut serialized = [0u8; 24];
    serialized[..16].copy_from_slice(state);
    serialized[16..].copy_from_slice(&1u64.to_le_bytes());
    let core = Md5Core::deserialize(&serialized.into()).expect("any state is valid");
    let mut h = Md5::compose(core, Default::default());
    h.update(data);
    h.finalize().into()
}

pub(crate) struct CramMd5Server {
    challenge: String,
    server_secret: [u8; 32],
    pending: Option<(String, [u8; 16])>,
}

impl CramMd5Server {
    /// RFC 2195 §2: the challenge is a msg-id, `<unique@hostname>`.
    pub(crate) fn new(config: &ServerConfig, nonces: &mut dyn NonceSource) -> Self {
        CramMd5Server {
            challenge: format!("<{}@{}>", nonces.text(), config.hostname),
            server_secret: *config.server_secret.expose(),
            pending: None,
        }
    }
}

impl MechServer for CramMd5Server {
    fn start(&mut self, _initial: Option<&[u8]>) -> Step {
        Step::Challenge(self.challenge.as_bytes().to_vec())
    }

    fn step(&mut self, input: &[u8]) -> Step {
        match parse_response(input) {
            Ok((user, digest)) => {
                self.pending = Some((user.clone(), digest));
                Step::NeedSecrets {
                    authcid: user,
                    authzid: None,
                }
            }
            Err(e) => Step::Failure(e),
        }
    }

    /// A missing user or secret is checked against a stand-in secret, so
    /// the work and the answer are the same as for a wrong password.
    fn provide(&mut self, secrets: Option<&UserSecrets>) -> Step {
        let Some((user, digest)) = self.pending.take() else {
            return Step::Failure(SaslError::OutOfSequence("provide"));
        };
        let stored = secrets.and_then(|s| s.cram_md5.as_ref());
        let genuine = stored.is_some();
        let secret = stored.cloned().unwrap_or_else(|| self.fake(&user));
        let matches = ct_eq(&secret.hmac(self.challenge.as_bytes()), &digest);
        if matches && genuine {
            Step::Success {
                authcid: user,
                authzid: None,
                final_data: None,
            }
        } else {
            Step::Failure(SaslError::AuthenticationFailed)
        }
    }
}

impl CramMd5Server {
    fn fake(&self, user: &str) -> CramMd5Secret {
        let mut bytes = [0u8; 32];
        fake_bytes(&self.server_secret, "cram-md5", user, &mut bytes);
        CramMd5Secret::from_bytes(bytes)
    }
}

/// RFC 2195 §2: "the user name, a space, and the digest" as 32 lowercase
/// hex digits (either case accepted). The name may itself contain spaces.
fn parse_response(input: &[u8]) -> Result<(String, [u8; 16]), SaslError> {
    let Some(space) = input.iter().rposition(|&b| b == b' ') else {
        return Err(SaslError::Malformed("CRAM-MD5 response needs a space"));
    };
    let user = fields::name(&input[..space], "authcid")?;
    let digest = unhex16(&input[space + 1..]).ok_or(SaslError::Malformed("CRAM-MD5 digest"))?;
    Ok((user, digest))
}

/// The client's answer (also used by [`crate::client::cram_md5`]).
pub(crate) fn response(user: &str, password: &str, challenge: &[u8]) -> Vec<u8> {
    let digest = cram_md5_secret(password).hmac(challenge);
    format!("{user} {}", hex(&digest)).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hmac_md5;
    use crate::test_support::*;
    use crate::{client, FixedNonce, Mechanism, ServerExchange};

    fn rfc2195_exchange() -> ServerExchange {
        let config = ServerConfig::new("postoffice.reston.mci.net", "imap", SERVER_SECRET);
        let mut nonces = FixedNonce::new("1896.697170952");
        ServerExchange::new(Mechanism::CramMd5, &config, &mut nonces)
    }

    #[test]
    fn rfc2195_example() {
        let mut ex = rfc2195_exchange();
        let challenge = challenge(ex.start(None));
        assert_eq!(challenge, b"<1896.697170952@postoffice.reston.mci.net>");
        let answer = client::cram_md5("tim", "tanstaaftanstaaf", &challenge);
        assert_eq!(answer, b"tim b913a602c7eda7a495b4e6e7334d3890");
        assert_need_secrets(ex.step(&answer), "tim", None);
        let secrets = UserSecrets {
            cram_md5: Some(cram_md5_secret("tanstaaftanstaaf")),
            ..Default::default()
        };
        assert_success(ex.provide(Some(&secrets)), "tim", None, None);
    }

    #[test]
    fn stored_states_match_plain_hmac_for_every_key_length() {
        for len in [0, 1, 63, 64, 65, 200] {
            let password = "p".repeat(len);
            let secret = cram_md5_secret(&password);
            let expected = if len > 64 {
                hmac_md5(&md5(&[password.as_bytes()]), &[b"<x@y>"])
            } else {
                hmac_md5(password.as_bytes(), &[b"<x@y>"])
            };
            assert_eq!(secret.hmac(b"<x@y>"), expected, "length {len}");
        }
    }

    #[test]
    fn uppercase_hex_and_spaces_in_names() {
        let mut ex = rfc2195_exchange();
        ex.start(None);
        let step = ex.step(b"tim smith B913A602C7EDA7A495B4E6E7334D3890");
        assert_need_secrets(step, "tim smith", None);
    }

    #[test]
    fn malformed_responses() {
        let long = [
            vec![b'a'; 256],
            b" b913a602c7eda7a495b4e6e7334d3890".to_vec(),
        ]
        .concat();
        let cases: Vec<(&[u8], SaslError)> = vec![
            (
                b"timb913a602c7eda7a495b4e6e7334d3890",
                SaslError::Malformed("CRAM-MD5 response needs a space"),
            ),
            (b"tim b913a602", SaslError::Malformed("CRAM-MD5 digest")),
            (
                b"tim b913a602c7eda7a495b4e6e7334d389g",
                SaslError::Malformed("CRAM-MD5 digest"),
            ),
            (
                b" b913a602c7eda7a495b4e6e7334d3890",
                SaslError::Malformed("authcid"),
            ),
            (
                b"t\xffm b913a602c7eda7a495b4e6e7334d3890",
                SaslError::InvalidUtf8("authcid"),
            ),
            (
                &long,
                SaslError::TooLong {
                    field: "authcid",
                    max: 255,
                },
            ),
        ];
        for (input, error) in cases {
            let mut ex = exchange(Mechanism::CramMd5);
            ex.start(None);
            assert_failure(ex.step(input), error);
        }
    }

    #[test]
    fn initial_response_refused() {
        let mut ex = exchange(Mechanism::CramMd5);
        assert_failure(
            ex.start(Some(b"tim x")),
            SaslError::UnexpectedInitialResponse,
        );
        let mut ex = exchange(Mechanism::CramMd5);
        assert!(matches!(ex.start(Some(b"")), Step::Challenge(_)));
    }
}
