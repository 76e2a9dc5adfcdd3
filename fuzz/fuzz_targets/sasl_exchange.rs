//! A SASL exchange (postern-sasl) driven by arbitrary client messages, for
//! every mechanism: it must never panic, must end within a bounded number of
//! steps, and must never succeed for a user the caller did not know (except
//! PLAIN/LOGIN, where the caller's own password check decides). Also feeds the
//! RFC 5803 stored-key parser and the APOP verifier.
//!
//! Input: byte 0 picks the mechanism (low 3 bits, mod 7) and flags (0x08 the
//! first message is an initial response, 0x10 the user is known, 0x20 the
//! caller's password check passes, 0x40 final data as a last challenge); the
//! rest is the client's messages, separated by 0xff bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use postern_sasl::{
    apop, FinalData, FixedNonce, Mechanism, ScramKeys, ServerConfig, ServerExchange, Step,
    UserSecrets,
};

fn secrets() -> &'static UserSecrets {
    static SECRETS: OnceLock<UserSecrets> = OnceLock::new();
    SECRETS.get_or_init(|| {
        UserSecrets::for_password("pencil", "user", "fuzz.example", &Mechanism::ALL, 4096)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mechanism = Mechanism::ALL[usize::from(control & 7) % Mechanism::ALL.len()];
    let known = control & 0x10 != 0;
    let mut config = ServerConfig::new("fuzz.example", "imap", [7; 32]);
    if control & 0x40 != 0 {
        config.final_data = FinalData::AsChallenge;
    }
    let mut nonces = FixedNonce::new("fuzznonce");
    let mut ex = ServerExchange::new(mechanism, &config, &mut nonces);
    let mut messages = rest.split(|&b| b == 0xff);
    let initial = if control & 0x08 != 0 { messages.next() } else { None };
    let mut step = ex.start(initial);
    for _ in 0..16 {
        step = match step {
            Step::Challenge(_) => match messages.next() {
                Some(m) => ex.step(m),
                None => return,
            },
            Step::NeedSecrets { .. } => ex.provide(known.then(secrets)),
            Step::VerifyPassword { .. } => ex.password_checked(control & 0x20 != 0),
            Step::Success { .. } | Step::Failure(_) => break,
        };
    }
    assert!(ex.is_done(), "exchange still running after 16 steps");
    if let Step::Success { .. } = step {
        assert!(known || mechanism.sends_plaintext(), "{mechanism} let an unknown user in");
    }
    assert!(matches!(ex.step(b""), Step::Failure(_)));

    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = ScramKeys::from_rfc5803(text);
        let _ = apop::verify("<1.2@fuzz.example>", None, text);
    }
});
