//! For every mechanism: an unknown user, a user without the mechanism's
//! secret and a wrong password walk the same steps and end with the same
//! error; the right password succeeds.

use crate::client::{self, DigestMd5Credentials, NtlmCredentials, ScramClient};
use crate::test_support::exchange;
use crate::{Mechanism, ScramHash, ServerExchange, Step, UserSecrets};

const RIGHT: &str = "correct horse";

/// Who the server knows, as the caller would look them up.
enum Known {
    Nobody,
    WithoutSecrets,
    Alice,
}

/// A caller that plays the store: looks "alice" up, checks PLAIN/LOGIN
/// passwords; returns the trace of step kinds and the final step.
struct Caller {
    known: Known,
    trace: Vec<&'static str>,
}

impl Caller {
    fn drive(&mut self, ex: &mut ServerExchange, mut step: Step) -> Step {
        loop {
            step = match step {
                Step::NeedSecrets { .. } => {
                    self.trace.push("need-secrets");
                    let secrets = self.secrets();
                    ex.provide(secrets.as_ref())
                }
                Step::VerifyPassword { password, .. } => {
                    self.trace.push("verify-password");
                    let ok = matches!(self.known, Known::Alice) && password.expose() == RIGHT;
                    ex.password_checked(ok)
                }
                other => return other,
            };
        }
    }

    fn secrets(&self) -> Option<UserSecrets> {
        match self.known {
            Known::Nobody => None,
            Known::WithoutSecrets => Some(UserSecrets::default()),
            Known::Alice => Some(UserSecrets::for_password(
                RIGHT,
                "alice",
                "mail.example.com",
                &Mechanism::ALL,
                4096,
            )),
        }
    }

    /// The challenge, recorded; panics on anything else.
    fn challenge(&mut self, ex: &mut ServerExchange, step: Step) -> Vec<u8> {
        match self.drive(ex, step) {
            Step::Challenge(c) => {
                self.trace.push("challenge");
                c
            }
            other => panic!("expected a challenge, got {other:?}"),
        }
    }
}

fn run(mechanism: Mechanism, known: Known, password: &str) -> (Vec<&'static str>, String) {
    let mut c = Caller {
        known,
        trace: Vec::new(),
    };
    let mut ex = exchange(mechanism);
    let end = match mechanism {
        Mechanism::Plain => {
            let s = ex.start(Some(&client::plain(None, "alice", password)));
            c.drive(&mut ex, s)
        }
        Mechanism::Login => {
            let s = ex.start(Some(b"alice"));
            c.challenge(&mut ex, s);
            let s = ex.step(password.as_bytes());
            c.drive(&mut ex, s)
        }
        Mechanism::CramMd5 => {
            let s = ex.start(None);
            let ch = c.challenge(&mut ex, s);
            let s = ex.step(&client::cram_md5("alice", password, &ch));
            c.drive(&mut ex, s)
        }
        Mechanism::DigestMd5 => {
            let s = ex.start(None);
            let ch = c.challenge(&mut ex, s);
            let creds = DigestMd5Credentials {
                username: "alice",
                password,
                service: "imap",
                host: "mail.example.com",
                cnonce: "cnonce",
                authzid: None,
            };
            let s = ex.step(&client::digest_md5(&ch, &creds).unwrap().0);
            c.drive(&mut ex, s)
        }
        Mechanism::ScramSha1 | Mechanism::ScramSha256 => {
            let hash = if mechanism == Mechanism::ScramSha1 {
                ScramHash::Sha1
            } else {
                ScramHash::Sha256
            };
            let mut client = ScramClient::new(hash, "alice", password, None, "cnonce").unwrap();
            let s = ex.start(Some(&client.client_first()));
            let server_first = c.challenge(&mut ex, s);
            let s = ex.step(&client.client_final(&server_first).unwrap());
            c.drive(&mut ex, s)
        }
        Mechanism::Ntlm => {
            let s = ex.start(Some(&client::ntlm_negotiate()));
            let type2 = c.challenge(&mut ex, s);
            let creds = NtlmCredentials {
                user: "alice",
                domain: "EXAMPLE",
                password,
                workstation: "PC",
                client_challenge: [9; 8],
                timestamp: 0,
            };
            let s = ex.step(&client::ntlm_authenticate(&type2, &creds).unwrap());
            c.drive(&mut ex, s)
        }
    };
    assert!(ex.is_done());
    let end = match end {
        Step::Success { authcid, .. } => format!("success {authcid}"),
        Step::Failure(e) => format!("failure {e:?}"),
        other => format!("unexpected {other:?}"),
    };
    (c.trace, end)
}

#[test]
fn unknown_user_missing_secret_and_wrong_password_are_indistinguishable() {
    for m in Mechanism::ALL {
        let (trace, end) = run(m, Known::Alice, RIGHT);
        assert_eq!(end, "success alice", "{m}");
        let wrong = run(m, Known::Alice, "wrong horse");
        assert_eq!(wrong.0, trace, "{m}: same steps");
        assert_eq!(wrong.1, "failure AuthenticationFailed", "{m}");
        assert_eq!(
            run(m, Known::Nobody, "wrong horse"),
            wrong,
            "{m}: unknown user"
        );
        assert_eq!(
            run(m, Known::Nobody, RIGHT),
            wrong,
            "{m}: unknown user, any password"
        );
        assert_eq!(
            run(m, Known::WithoutSecrets, RIGHT),
            wrong,
            "{m}: no secret stored"
        );
    }
}

#[test]
fn exchanges_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<ServerExchange>();
    send::<Step>();
}
