use super::hash::{nt_proof, ntowf_v2};
use super::*;
use crate::client::{ntlm_authenticate, ntlm_negotiate, NtlmCredentials};
use crate::crypto::hex;
use crate::test_support::*;
use crate::{FixedNonce, Mechanism, ServerExchange};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];

/// [MS-NLMP] §4.2.4.3: the CHALLENGE_MESSAGE of the NTLMv2 example.
const SPEC_CHALLENGE: &str = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef\
    00000000000000002400240044000000060070170000000f530065007200760065007200\
    02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000";

/// [MS-NLMP] §4.2.4.3: the AUTHENTICATE_MESSAGE of the NTLMv2 example.
const SPEC_AUTHENTICATE: &str = "
    4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
    48000000080008005400000010001000 5c00000010001000d8000000358288e2
    0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
    4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
    aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
    00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
    01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
    94ce1ce90bc9d03e";

fn spec_creds() -> NtlmCredentials<'static> {
    NtlmCredentials {
        user: "User",
        domain: "Domain",
        password: "Password",
        workstation: "COMPUTER",
        client_challenge: [0xaa; 8],
        timestamp: 0,
    }
}

fn user_secrets(password: &str) -> UserSecrets {
    UserSecrets {
        nt_hash: Some(nt_hash(password)),
        ..Default::default()
    }
}

/// [MS-NLMP] §4.2.2.1.2 and §4.2.4.1.1.
#[test]
fn spec_one_way_functions() {
    let nt = nt_hash("Password");
    assert_eq!(hex(nt.expose()), "a4f49c406510bdcab6824ee7c30fd852");
    let ntowf = ntowf_v2(&nt, "User", "Domain");
    assert_eq!(hex(ntowf.expose()), "0c868a403bfd7a93a3001ef22ef02e3f");
    // Upper-cased user, case-sensitive domain.
    assert_eq!(ntowf_v2(&nt, "user", "Domain").expose(), ntowf.expose());
    assert_ne!(ntowf_v2(&nt, "User", "domain").expose(), ntowf.expose());
}

/// [MS-NLMP] §4.2.4.2.2: NTProofStr, and the whole NTLMv2 and LMv2
/// responses of §4.2.4.3 as our client builds them from the spec's challenge.
#[test]
fn spec_ntproofstr_and_responses() {
    let spec = unhex(SPEC_AUTHENTICATE);
    let nt_spec = &spec[0x84..0x84 + 0x54];
    let ntowf = ntowf_v2(&nt_hash("Password"), "User", "Domain");
    let proof = nt_proof(&ntowf, &SERVER_CHALLENGE, &nt_spec[16..]);
    assert_eq!(hex(&proof), "68cd0ab851e51c96aabc927bebef6a1c");

    let ours = ntlm_authenticate(&unhex(SPEC_CHALLENGE), &spec_creds()).unwrap();
    let nt_ours = messages::field(&ours, 20, 4096, "nt").unwrap();
    let lm_ours = messages::field(&ours, 12, 4096, "lm").unwrap();
    assert_eq!(hex(nt_ours), hex(nt_spec));
    assert_eq!(
        hex(lm_ours),
        "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"
    );
}

fn spec_exchange() -> ServerExchange {
    let mut nonces = FixedNonce {
        text: "unused".into(),
        challenge: SERVER_CHALLENGE,
    };
    ServerExchange::new(Mechanism::Ntlm, &config(), &mut nonces)
}

/// The server accepts the spec's own AUTHENTICATE_MESSAGE.
#[test]
fn server_accepts_the_spec_authenticate_message() {
    let mut ex = spec_exchange();
    assert_challenge(ex.start(None), b"");
    let challenge = challenge(ex.step(&ntlm_negotiate()));
    assert_eq!(&challenge[24..32], &SERVER_CHALLENGE);
    assert_need_secrets(ex.step(&unhex(SPEC_AUTHENTICATE)), "User", None);
    assert_success(
        ex.provide(Some(&user_secrets("Password"))),
        "User",
        None,
        None,
    );
}

/// Type 1 → Type 2 → Type 3 with our client, Type 1 as initial response.
#[test]
fn full_exchange_with_the_test_client() {
    let mut ex = exchange(Mechanism::Ntlm);
    let type2 = challenge(ex.start(Some(&ntlm_negotiate())));
    let flags = messages::u32_at(&type2, 20);
    assert_eq!(flags & messages::flags::UNICODE, messages::flags::UNICODE);
    assert_eq!(flags & 0x4000_0030, 0, "no KEY_EXCH, SIGN or SEAL");
    let creds = NtlmCredentials {
        user: "alice@example.com",
        domain: "",
        ..spec_creds()
    };
    let type3 = ntlm_authenticate(&type2, &creds).unwrap();
    assert_need_secrets(ex.step(&type3), "alice@example.com", None);
    assert_success(
        ex.provide(Some(&user_secrets("Password"))),
        "alice@example.com",
        None,
        None,
    );
}

#[test]
fn target_info_names_the_host() {
    let t = messages::Target::from_hostname("mail.example.com");
    assert_eq!(
        (t.netbios.as_str(), t.dns_domain.as_str()),
        ("MAIL", "example.com")
    );
    let t = messages::Target::from_hostname("averyveryverylonghostname");
    assert_eq!(t.netbios.len(), 15);
}

fn type3_fails(type3: &[u8], error: SaslError) {
    let mut ex = spec_exchange();
    ex.start(Some(&ntlm_negotiate()));
    assert_failure(ex.step(type3), error);
}

/// Rewrites the security buffer at `at` to point at `payload` appended.
fn with_field(msg: &[u8], at: usize, payload: &[u8]) -> Vec<u8> {
    let mut m = msg.to_vec();
    let offset = m.len() as u32;
    m[at..at + 2].copy_from_slice(&(payload.len() as u16).to_le_bytes());
    m[at + 2..at + 4].copy_from_slice(&(payload.len() as u16).to_le_bytes());
    m[at + 4..at + 8].copy_from_slice(&offset.to_le_bytes());
    m.extend_from_slice(payload);
    m
}

#[test]
fn weak_anonymous_and_malformed_authenticate_messages() {
    let spec = unhex(SPEC_AUTHENTICATE);
    type3_fails(
        &with_field(&spec, 20, &[0x11; 24]),
        SaslError::WeakNtlmResponse,
    );
    type3_fails(&with_field(&spec, 20, &[]), SaslError::WeakNtlmResponse);
    type3_fails(
        &with_field(&with_field(&spec, 20, &[]), 36, &[]),
        SaslError::Anonymous,
    );
    type3_fails(
        &with_field(&spec, 20, &[1; 40]),
        SaslError::Malformed("NTLMv2 response"),
    );
    let mut bad_blob = spec[0x84..0x84 + 0x54].to_vec();
    bad_blob[16] = 2;
    type3_fails(
        &with_field(&spec, 20, &bad_blob),
        SaslError::Malformed("NTLMv2 response"),
    );
    let long = vec![0u8; crate::limits::MAX_NTLM_RESPONSE_LEN + 2];
    let max = crate::limits::MAX_NTLM_RESPONSE_LEN;
    type3_fails(
        &with_field(&spec, 20, &long),
        SaslError::TooLong {
            field: "NtChallengeResponse",
            max,
        },
    );
    type3_fails(
        &with_field(&spec, 36, &[0x55]),
        SaslError::Malformed("UserName"),
    );
    type3_fails(
        &with_field(&spec, 36, &[0x00, 0xd8]),
        SaslError::InvalidUtf8("UserName"),
    );
    let max = crate::limits::MAX_NAME_LEN;
    let long_name: Vec<u8> = "u"
        .repeat(max + 1)
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    type3_fails(
        &with_field(&spec, 36, &long_name),
        SaslError::TooLong {
            field: "UserName",
            max,
        },
    );
    let max = crate::limits::MAX_NTLM_FIELD_LEN;
    let long_domain = vec![0x41; max + 2];
    type3_fails(
        &with_field(&spec, 28, &long_domain),
        SaslError::TooLong {
            field: "DomainName",
            max,
        },
    );
    type3_fails(
        &with_field(&spec, 44, &long_domain),
        SaslError::TooLong {
            field: "Workstation",
            max,
        },
    );
    let mut truncated = spec.clone();
    truncated.truncate(0x90);
    type3_fails(&truncated, SaslError::Malformed("NtChallengeResponse"));
    type3_fails(&spec[..40], SaslError::Malformed("NTLM message header"));
    let mut wrong_type = spec.clone();
    wrong_type[8] = 1;
    type3_fails(&wrong_type, SaslError::Malformed("NTLM message type"));
    let mut wrong_sig = spec.clone();
    wrong_sig[0] = b'X';
    type3_fails(&wrong_sig, SaslError::Malformed("NTLM message header"));
}

#[test]
fn malformed_negotiate_messages() {
    for (msg, error) in [
        (
            &b"NTLMSSP\0"[..],
            SaslError::Malformed("NTLM message header"),
        ),
        (
            &b"NTLMSSP\0\x03\0\0\0\0\0\0\0"[..],
            SaslError::Malformed("NTLM message type"),
        ),
        (&[0u8; 40][..], SaslError::Malformed("NTLM message header")),
    ] {
        let mut ex = spec_exchange();
        assert_failure(ex.start(Some(msg)), error);
    }
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let spec = unhex(SPEC_AUTHENTICATE);
    let mut ex = spec_exchange();
    ex.start(Some(&ntlm_negotiate()));
    ex.step(&spec);
    assert_failure(
        ex.provide(Some(&user_secrets("Passw0rd"))),
        SaslError::AuthenticationFailed,
    );
    let mut ex = spec_exchange();
    ex.start(Some(&ntlm_negotiate()));
    ex.step(&spec);
    assert_failure(ex.provide(None), SaslError::AuthenticationFailed);
}
