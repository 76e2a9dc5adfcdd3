//! Helpers for the unit tests of every mechanism.

use crate::{FixedNonce, Mechanism, ServerConfig, ServerExchange, Step};

pub(crate) const SERVER_SECRET: [u8; 32] = [42; 32];

pub(crate) fn config() -> ServerConfig {
    ServerConfig::new("mail.example.com", "imap", SERVER_SECRET)
}

/// An exchange with fixed nonces (text "ServerNonce0123", challenge 1..=8).
pub(crate) fn exchange(mechanism: Mechanism) -> ServerExchange {
    let mut nonces = FixedNonce {
        text: "ServerNonce0123".into(),
        challenge: [1, 2, 3, 4, 5, 6, 7, 8],
    };
    ServerExchange::new(mechanism, &config(), &mut nonces)
}

#[track_caller]
pub(crate) fn challenge(step: Step) -> Vec<u8> {
    match step {
        Step::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn assert_challenge(step: Step, expected: &[u8]) {
    let got = challenge(step);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

#[track_caller]
pub(crate) fn assert_need_secrets(step: Step, user: &str, zid: Option<&str>) {
    match step {
        Step::NeedSecrets { authcid, authzid } => {
            assert_eq!((authcid.as_str(), authzid.as_deref()), (user, zid));
        }
        other => panic!("expected NeedSecrets, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn assert_success(step: Step, user: &str, zid: Option<&str>, data: Option<&[u8]>) {
    match step {
        Step::Success {
            authcid,
            authzid,
            final_data,
        } => {
            assert_eq!((authcid.as_str(), authzid.as_deref()), (user, zid));
            assert_eq!(final_data.as_deref(), data);
        }
        other => panic!("expected Success, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn assert_failure(step: Step, expected: crate::SaslError) {
    match step {
        Step::Failure(e) => assert_eq!(e, expected),
        other => panic!("expected Failure({expected:?}), got {other:?}"),
    }
}
