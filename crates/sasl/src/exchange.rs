//! One AUTH attempt: the state every protocol drives the same way.
//!
//! ```text
//! start(initial response?) ─┬─> Challenge(bytes)      → step(client response)
//!                           ├─> NeedSecrets{..}       → provide(Some(secrets) | None)
//!                           ├─> VerifyPassword{..}    → password_checked(bool)
//!                           ├─> Success{..}           (done)
//!                           └─> Failure(error)        (done)
//! ```

use crate::cram_md5::CramMd5Server;
use crate::digest_md5::DigestMd5Server;
use crate::limits::{DEFAULT_SCRAM_ITERATIONS, MAX_MESSAGE_LEN, MAX_STEPS};
use crate::login::LoginServer;
use crate::ntlm::NtlmServer;
use crate::plain::PlainServer;
use crate::scram::{ScramHash, ScramServer};
use crate::{Mechanism, NonceSource, SaslError, Secret, UserSecrets};

/// What the exchange wants next.
#[derive(Debug)]
pub enum Step {
    /// Send these raw bytes to the client (the protocol base64s them) and
    /// pass its answer to [`ServerExchange::step`].
    Challenge(Vec<u8>),
    /// Look the user up and call [`ServerExchange::provide`]; `None` for an
    /// unknown user (the exchange goes on with stand-in secrets).
    NeedSecrets {
        authcid: String,
        authzid: Option<String>,
    },
    /// PLAIN and LOGIN: check the password against the stored hash (and
    /// against a dummy hash for an unknown user, to take the same time),
    /// then call [`ServerExchange::password_checked`].
    VerifyPassword {
        authcid: String,
        authzid: Option<String>,
        password: Secret<String>,
    },
    /// Authenticated as `authcid`. The caller must still check that
    /// `authcid` may act as `authzid` when one is given (RFC 4422 §3.4.1).
    /// `final_data` is the mechanism's additional data with success
    /// (SCRAM's server-final, DIGEST-MD5's rspauth), only with
    /// [`FinalData::WithSuccess`].
    Success {
        authcid: String,
        authzid: Option<String>,
        final_data: Option<Vec<u8>>,
    },
    Failure(SaslError),
}

/// How additional data with success (RFC 4422 §5 item 3f) is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalData {
    /// In [`Step::Success`]; the protocol sends it with its success reply.
    WithSuccess,
    /// As a last [`Step::Challenge`]; the client answers with an empty
    /// response and only then comes [`Step::Success`] (SMTP, RFC 4954 §4).
    AsChallenge,
}

/// What every exchange of one listener shares.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// CRAM-MD5 challenge host, DIGEST-MD5 realm, NTLM target name.
    pub hostname: String,
    /// The RFC 2831 §2.1.2 serv-type expected in DIGEST-MD5's digest-uri:
    /// "smtp", "imap" or "pop".
    pub service: String,
    /// Derives the stand-in secrets of unknown users; keep it stable across
    /// restarts, or an unknown user's SCRAM salt changes.
    pub server_secret: Secret<[u8; 32]>,
    /// Iteration count shown to unknown users; keep it equal to the count
    /// new SCRAM keys are made with.
    pub scram_iterations: u32,
    pub final_data: FinalData,
}

impl ServerConfig {
    pub fn new(hostname: &str, service: &str, server_secret: [u8; 32]) -> Self {
        ServerConfig {
            hostname: hostname.to_string(),
            service: service.to_string(),
            server_secret: Secret::new(server_secret),
            scram_iterations: DEFAULT_SCRAM_ITERATIONS,
            final_data: FinalData::WithSuccess,
        }
    }
}

/// One mechanism's server side; the exchange checks the sequence for it.
pub(crate) trait MechServer: Send {
    fn start(&mut self, initial: Option<&[u8]>) -> Step;
    fn step(&mut self, input: &[u8]) -> Step;
    fn provide(&mut self, _secrets: Option<&UserSecrets>) -> Step {
        Step::Failure(SaslError::OutOfSequence("provide"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Response,
    Secrets,
    Password,
    FinalAck,
    Done,
}

/// One authentication attempt with one mechanism.
pub struct ServerExchange {
    mechanism: Mechanism,
    mech: Box<dyn MechServer>,
    phase: Phase,
    steps: usize,
    final_data: FinalData,
    identity: Option<(String, Option<String>)>,
}

impl ServerExchange {
    /// Draws whatever nonces the mechanism needs from `nonces` right away.
    pub fn new(mechanism: Mechanism, config: &ServerConfig, nonces: &mut dyn NonceSource) -> Self {
        let mech: Box<dyn MechServer> = match mechanism {
            Mechanism::Plain => Box::new(PlainServer),
            Mechanism::Login => Box::new(LoginServer::default()),
            Mechanism::CramMd5 => Box::new(CramMd5Server::new(config, nonces)),
            Mechanism::DigestMd5 => Box::new(DigestMd5Server::new(config, nonces)),
            Mechanism::ScramSha1 => Box::new(ScramServer::new(ScramHash::Sha1, config, nonces)),
            Mechanism::ScramSha256 => Box::new(ScramServer::new(ScramHash::Sha256, config, nonces)),
            Mechanism::Ntlm => Box::new(NtlmServer::new(config, nonces)),
        };
        ServerExchange {
            mechanism,
            mech,
            phase: Phase::Start,
            steps: 0,
            final_data: config.final_data,
            identity: None,
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Success or failure has been returned.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Begins the exchange, with the client's initial response if the
    /// command carried one (RFC 4422 §5 item 2a; `Some(b"")` for SMTP's `=`).
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Step {
        if self.phase != Phase::Start {
            return self.fail(SaslError::OutOfSequence("start"));
        }
        let initial = match initial_response {
            Some(ir) if self.mechanism.server_first() && !ir.is_empty() => {
                return self.fail(SaslError::UnexpectedInitialResponse);
            }
            Some(_) if self.mechanism.server_first() => None,
            other => other,
        };
        if let Some(ir) = initial {
            if let Err(e) = self.count(ir) {
                return self.fail(e);
            }
        }
        let step = self.mech.start(initial);
        self.after(step)
    }

    /// The client's (base64-decoded) answer to the last challenge.
    pub fn step(&mut self, response: &[u8]) -> Step {
        match self.phase {
            Phase::Response => {}
            Phase::FinalAck => return self.final_ack(response),
            Phase::Done => return self.fail(SaslError::TooManySteps),
            _ => return self.fail(SaslError::OutOfSequence("step")),
        }
        if let Err(e) = self.count(response) {
            return self.fail(e);
        }
        let step = self.mech.step(response);
        self.after(step)
    }

    /// The user's stored secrets after [`Step::NeedSecrets`]; `None` when
    /// there is no such user. A user without the secret this mechanism
    /// needs is treated exactly like an unknown user.
    pub fn provide(&mut self, secrets: Option<&UserSecrets>) -> Step {
        if self.phase != Phase::Secrets {
            return self.fail(SaslError::OutOfSequence("provide"));
        }
        let step = self.mech.provide(secrets);
        self.after(step)
    }

    /// The outcome of the caller's password check after [`Step::VerifyPassword`].
    pub fn password_checked(&mut self, ok: bool) -> Step {
        let identity = self.identity.take();
        let (Phase::Password, Some((authcid, authzid))) = (self.phase, identity) else {
            return self.fail(SaslError::OutOfSequence("password_checked"));
        };
        if !ok {
            return self.fail(SaslError::AuthenticationFailed);
        }
        self.after(Step::Success {
            authcid,
            authzid,
            final_data: None,
        })
    }

    fn count(&mut self, message: &[u8]) -> Result<(), SaslError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(SaslError::TooManySteps);
        }
        if message.len() > MAX_MESSAGE_LEN {
            return Err(SaslError::TooLong {
                field: "client message",
                max: MAX_MESSAGE_LEN,
            });
        }
        Ok(())
    }

    /// RFC 4422 §5 item 3f: the client acknowledges additional data sent
    /// as a challenge with an empty response.
    fn final_ack(&mut self, response: &[u8]) -> Step {
        if let Err(e) = self.count(response) {
            return self.fail(e);
        }
        if !response.is_empty() {
            return self.fail(SaslError::Malformed(
                "non-empty response after the final data",
            ));
        }
        match self.identity.take() {
            Some((authcid, authzid)) => self.after(Step::Success {
                authcid,
                authzid,
                final_data: None,
            }),
            None => self.fail(SaslError::OutOfSequence("final acknowledgement")),
        }
    }

    fn after(&mut self, step: Step) -> Step {
        self.phase = match &step {
            Step::Challenge(_) => Phase::Response,
            Step::NeedSecrets { .. } => Phase::Secrets,
            Step::VerifyPassword {
                authcid, authzid, ..
            } => {
                self.identity = Some((authcid.clone(), authzid.clone()));
                Phase::Password
            }
            Step::Success {
                authcid,
                authzid,
                final_data: Some(data),
            } if self.final_data == FinalData::AsChallenge => {
                self.identity = Some((authcid.clone(), authzid.clone()));
                self.phase = Phase::FinalAck;
                return Step::Challenge(data.clone());
            }
            Step::Success { .. } | Step::Failure(_) => Phase::Done,
        };
        step
    }

    fn fail(&mut self, error: SaslError) -> Step {
        self.phase = Phase::Done;
        Step::Failure(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;

    #[test]
    fn messages_longer_than_the_limit_are_refused() {
        let too_long = vec![b'a'; MAX_MESSAGE_LEN + 1];
        let error = SaslError::TooLong {
            field: "client message",
            max: MAX_MESSAGE_LEN,
        };
        for m in Mechanism::ALL {
            let mut ex = exchange(m);
            let step = if m.server_first() {
                ex.start(None);
                ex.step(&too_long)
            } else {
                ex.start(Some(&too_long))
            };
            assert_failure(step, error.clone());
            assert!(ex.is_done());
        }
        // One byte less reaches the mechanism (and fails there, on syntax).
        let mut ex = exchange(Mechanism::Plain);
        let step = ex.start(Some(&too_long[1..]));
        assert!(matches!(step, Step::Failure(e) if e.class() == crate::ErrorClass::Syntax));
    }

    #[test]
    fn calls_out_of_sequence() {
        let mut ex = exchange(Mechanism::ScramSha256);
        assert_failure(ex.provide(None), SaslError::OutOfSequence("provide"));
        let mut ex = exchange(Mechanism::ScramSha256);
        assert_failure(ex.step(b"n,,n=a,r=b"), SaslError::OutOfSequence("step"));
        let mut ex = exchange(Mechanism::ScramSha256);
        ex.start(None);
        assert_failure(ex.start(None), SaslError::OutOfSequence("start"));
        let mut ex = exchange(Mechanism::CramMd5);
        ex.start(None);
        assert_failure(
            ex.password_checked(true),
            SaslError::OutOfSequence("password_checked"),
        );
        let mut ex = exchange(Mechanism::Login);
        ex.start(Some(b"tim"));
        assert_failure(ex.provide(None), SaslError::OutOfSequence("provide"));
    }

    #[test]
    fn every_failure_ends_the_exchange() {
        let mut ex = exchange(Mechanism::Ntlm);
        assert_failure(
            ex.start(Some(b"junk")),
            SaslError::Malformed("NTLM message header"),
        );
        assert!(ex.is_done());
        assert_failure(ex.step(b"again"), SaslError::TooManySteps);
    }

    #[test]
    fn error_classes() {
        assert_eq!(
            SaslError::AuthenticationFailed.class(),
            crate::ErrorClass::Credentials
        );
        assert_eq!(SaslError::Malformed("x").class(), crate::ErrorClass::Syntax);
        assert_eq!(
            SaslError::WeakNtlmResponse.class(),
            crate::ErrorClass::Refused
        );
        assert_eq!(
            SaslError::OutOfSequence("x").class(),
            crate::ErrorClass::Internal
        );
    }

    #[test]
    fn config_debug_hides_the_server_secret() {
        let shown = format!("{:?}", config());
        assert!(!shown.contains("42"), "{shown}");
    }
}
