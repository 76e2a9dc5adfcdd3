//! NTLM ([MS-NLMP]) for local accounts: NEGOTIATE → CHALLENGE →
//! AUTHENTICATE, NTLMv2 responses only (LM and NTLMv1 responses are
//! refused). No session security: signing, sealing and key exchange are
//! not offered, so the MIC and the session key are not checked.
//!
//! The user name is looked up as sent; the domain only enters NTOWFv2, so
//! a user may send any domain (or none).

pub(crate) mod hash;
pub(crate) mod messages;

pub use hash::{nt_hash, NtHash};

use self::hash::{nt_proof, ntowf_v2};
use self::messages::{challenge_flags, challenge_message, parse_authenticate, parse_negotiate};
use self::messages::{Authenticate, Target};
use crate::crypto::ct_eq;
use crate::exchange::{MechServer, ServerConfig, Step};
use crate::fake::fake_bytes;
use crate::fields::check_name;
use crate::{NonceSource, SaslError, Secret, UserSecrets};

/// NTProofStr (16) + the smallest blob: 28 fixed bytes and MsvAvEOL (§2.2.2.7).
const MIN_NTLMV2_RESPONSE: usize = 16 + 28 + 4;

/// NTLMv1 responses are exactly 24 bytes (§3.3.1).
const NTLMV1_RESPONSE: usize = 24;

pub(crate) struct NtlmServer {
    challenge: [u8; 8],
    target: Target,
    server_secret: Secret<[u8; 32]>,
    state: State,
}

enum State {
    Negotiate,
    Authenticate,
    Secrets(Authenticate),
    Done,
}

impl NtlmServer {
    pub(crate) fn new(config: &ServerConfig, nonces: &mut dyn NonceSource) -> Self {
        NtlmServer {
            challenge: nonces.challenge(),
            target: Target::from_hostname(&config.hostname),
            server_secret: config.server_secret.clone(),
            state: State::Negotiate,
        }
    }

    fn negotiate(&mut self, msg: &[u8]) -> Result<Step, SaslError> {
        let flags = challenge_flags(parse_negotiate(msg)?);
        self.state = State::Authenticate;
        Ok(Step::Challenge(challenge_message(
            flags,
            &self.challenge,
            &self.target,
        )))
    }

    fn authenticate(&mut self, msg: &[u8]) -> Result<Step, SaslError> {
        let a = parse_authenticate(msg)?;
        check_response(&a)?;
        check_name(&a.user, "UserName")?;
        let step = Step::NeedSecrets {
            authcid: a.user.clone(),
            authzid: None,
        };
        self.state = State::Secrets(a);
        Ok(step)
    }

    fn verify(&self, a: Authenticate, secrets: Option<&UserSecrets>) -> Step {
        let stored = secrets.and_then(|s| s.nt_hash.as_ref());
        let genuine = stored.is_some();
        let nt = stored.cloned().unwrap_or_else(|| self.fake(&a.user));
        let ntowf = ntowf_v2(&nt, &a.user, &a.domain);
        let (proof, temp) = a.nt_response.split_at(16);
        let matches = ct_eq(&nt_proof(&ntowf, &self.challenge, temp), proof);
        if matches && genuine {
            Step::Success {
                authcid: a.user,
                authzid: None,
                final_data: None,
            }
        } else {
            Step::Failure(SaslError::AuthenticationFailed)
        }
    }

    fn fake(&self, user: &str) -> NtHash {
        let mut bytes = [0u8; 16];
        fake_bytes(self.server_secret.expose(), "ntlm", user, &mut bytes);
        NtHash::from_bytes(bytes)
    }
}

/// Anonymous, LM-only and NTLMv1 answers are refused before any lookup;
/// an NTLMv2 blob starts with RespType 1, HiRespType 1 (§2.2.2.7).
fn check_response(a: &Authenticate) -> Result<(), SaslError> {
    let nt = &a.nt_response;
    if a.user.is_empty() {
        return Err(SaslError::Anonymous);
    }
    if nt.is_empty() || nt.len() == NTLMV1_RESPONSE {
        return Err(SaslError::WeakNtlmResponse);
    }
    if nt.len() < MIN_NTLMV2_RESPONSE || nt[16] != 1 || nt[17] != 1 {
        return Err(SaslError::Malformed("NTLMv2 response"));
    }
    Ok(())
}

impl MechServer for NtlmServer {
    fn start(&mut self, initial: Option<&[u8]>) -> Step {
        match initial {
            None => Step::Challenge(Vec::new()),
            Some(msg) => self.step(msg),
        }
    }

    fn step(&mut self, input: &[u8]) -> Step {
        let result = match std::mem::replace(&mut self.state, State::Done) {
            State::Negotiate => self.negotiate(input),
            State::Authenticate => self.authenticate(input),
            _ => Err(SaslError::OutOfSequence("step")),
        };
        result.unwrap_or_else(Step::Failure)
    }

    fn provide(&mut self, secrets: Option<&UserSecrets>) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Secrets(a) => self.verify(a, secrets),
            _ => Step::Failure(SaslError::OutOfSequence("provide")),
        }
    }
}

#[cfg(test)]
mod tests;
