use super::*;
use crate::client::ScramClient;
use crate::test_support::*;
use crate::{FinalData, FixedNonce, Mechanism, ServerExchange};

struct Vector {
    hash: ScramHash,
    client_nonce: &'static str,
    server_nonce: &'static str,
    salt: &'static str,
    client_first: &'static str,
    server_first: &'static str,
    client_final: &'static str,
    server_final: &'static str,
}

/// RFC 5802 §5.
const SHA1: Vector = Vector {
    hash: ScramHash::Sha1,
    client_nonce: "fyko+d2lbbFgONRv9qkxdawL",
    server_nonce: "3rfcNHYJY1ZVvWVs7j",
    salt: "QSXCR+Q6sek8bf92",
    client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    client_final:
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

/// RFC 7677 §3.
const SHA256: Vector = Vector {
    hash: ScramHash::Sha256,
    client_nonce: "rOprNGfwEbeRWgbNEkqO",
    server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

fn keys(v: &Vector, password: &str) -> UserSecrets {
    let k = ScramKeys::derive(v.hash, password, &STANDARD.decode(v.salt).unwrap(), 4096).unwrap();
    match v.hash {
        ScramHash::Sha1 => UserSecrets {
            scram_sha1: Some(k),
            ..Default::default()
        },
        ScramHash::Sha256 => UserSecrets {
            scram_sha256: Some(k),
            ..Default::default()
        },
    }
}

fn server(v: &Vector, final_data: FinalData) -> ServerExchange {
    let mut config = config();
    config.final_data = final_data;
    ServerExchange::new(
        v.hash.mechanism(),
        &config,
        &mut FixedNonce::new(v.server_nonce),
    )
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

fn reproduce(v: &Vector) {
    let secrets = keys(v, "pencil");
    let mut client = ScramClient::new(v.hash, "user", "pencil", None, v.client_nonce).unwrap();
    let mut ex = server(v, FinalData::WithSuccess);
    assert_eq!(text(&client.client_first()), v.client_first);
    assert_need_secrets(ex.start(Some(&client.client_first())), "user", None);
    let server_first = challenge(ex.provide(Some(&secrets)));
    assert_eq!(text(&server_first), v.server_first);
    let client_final = client.client_final(&server_first).unwrap();
    assert_eq!(text(&client_final), v.client_final);
    let step = ex.step(&client_final);
    assert_success(step, "user", None, Some(v.server_final.as_bytes()));
    assert_eq!(
        client.verify_server_final(v.server_final.as_bytes()),
        Ok(())
    );
}

#[test]
fn rfc5802_sha1_example() {
    reproduce(&SHA1);
}

#[test]
fn rfc7677_sha256_example() {
    reproduce(&SHA256);
}

#[test]
fn server_final_as_a_last_challenge() {
    let mut ex = server(&SHA256, FinalData::AsChallenge);
    ex.start(None);
    ex.step(SHA256.client_first.as_bytes());
    ex.provide(Some(&keys(&SHA256, "pencil")));
    assert_challenge(
        ex.step(SHA256.client_final.as_bytes()),
        SHA256.server_final.as_bytes(),
    );
    assert_success(ex.step(b""), "user", None, None);
    assert_failure(ex.step(b""), SaslError::TooManySteps);

    let mut ex = server(&SHA256, FinalData::AsChallenge);
    ex.start(Some(SHA256.client_first.as_bytes()));
    ex.provide(Some(&keys(&SHA256, "pencil")));
    ex.step(SHA256.client_final.as_bytes());
    let error = SaslError::Malformed("non-empty response after the final data");
    assert_failure(ex.step(b"v=x"), error);
}

#[test]
fn rfc5803_text_form_round_trips() {
    let k = keys(&SHA1, "pencil").scram_sha1.unwrap();
    let text = k.to_rfc5803();
    // RFC 5803 §4's example for the RFC 5802 user.
    let expected = "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=";
    assert_eq!(text.expose(), expected);
    let back = ScramKeys::from_rfc5803(text.expose()).unwrap();
    assert_eq!(back.stored_key.expose(), k.stored_key.expose());
    assert_eq!(back.server_key.expose(), k.server_key.expose());
    assert_eq!(
        (back.hash, back.iterations, &back.salt),
        (k.hash, 4096, &k.salt)
    );
    for bad in [
        "",
        "SCRAM-SHA-1$4096:QSXC",
        "MD5$1:AA==$AA==:AA==",
        "SCRAM-SHA-1$x:AA==$AA==:AA==",
    ] {
        assert!(ScramKeys::from_rfc5803(bad).is_err(), "{bad}");
    }
    let short = "SCRAM-SHA-256$4096:AA==$AA==:AA==";
    assert_eq!(
        ScramKeys::from_rfc5803(short).err(),
        Some(ScramKeyError::Encoding("lengths or iteration count"))
    );
}

#[test]
fn derivation_limits() {
    let err = ScramKeys::derive(ScramHash::Sha256, "pw", b"salt", 4095).err();
    assert_eq!(err, Some(ScramKeyError::Iterations(4095)));
    let max = crate::limits::MAX_SCRAM_ITERATIONS;
    let err = ScramKeys::derive(ScramHash::Sha256, "pw", b"salt", max + 1).err();
    assert_eq!(err, Some(ScramKeyError::Iterations(max + 1)));
    let err = ScramKeys::derive(ScramHash::Sha256, "pw", b"", 4096).err();
    assert_eq!(err, Some(ScramKeyError::Encoding("salt length")));
    let long_salt = [0u8; crate::limits::MAX_SCRAM_SALT_LEN + 1];
    let err = ScramKeys::derive(ScramHash::Sha256, "pw", &long_salt, 4096).err();
    assert_eq!(err, Some(ScramKeyError::Encoding("salt length")));
    let err = ScramKeys::derive(ScramHash::Sha256, "\u{7}", b"salt", 4096).err();
    assert_eq!(err, Some(ScramKeyError::Saslprep));
    // SASLprep maps the password before hashing (RFC 4013 §2.1).
    let a = ScramKeys::derive(ScramHash::Sha256, "I\u{AD}X", b"salt", 4096).unwrap();
    let b = ScramKeys::derive(ScramHash::Sha256, "IX", b"salt", 4096).unwrap();
    assert_eq!(a.stored_key.expose(), b.stored_key.expose());
}

#[test]
fn authzid_and_escaped_names() {
    let secrets = keys(&SHA256, "pencil");
    let mut client = ScramClient::new(
        ScramHash::Sha256,
        "us,er=1",
        "pencil",
        Some("b=o,ss"),
        "abc",
    )
    .unwrap();
    assert_eq!(
        text(&client.client_first()),
        "n,a=b=3Do=2Css,n=us=2Cer=3D1,r=abc"
    );
    let mut ex = server(&SHA256, FinalData::WithSuccess);
    assert_need_secrets(
        ex.start(Some(&client.client_first())),
        "us,er=1",
        Some("b=o,ss"),
    );
    let server_first = challenge(ex.provide(Some(&secrets)));
    let client_final = client.client_final(&server_first).unwrap();
    match ex.step(&client_final) {
        Step::Success {
            authcid,
            authzid,
            final_data: Some(v),
        } => {
            assert_eq!(
                (authcid.as_str(), authzid.as_deref()),
                ("us,er=1", Some("b=o,ss"))
            );
            assert_eq!(client.verify_server_final(&v), Ok(()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gs2_flag_y_is_accepted() {
    let secrets = keys(&SHA1, "pencil");
    let mut client =
        ScramClient::with_gs2_flag(ScramHash::Sha1, "y", "user", "pencil", None, "abc").unwrap();
    let mut ex = server(&SHA1, FinalData::WithSuccess);
    ex.start(Some(&client.client_first()));
    let server_first = challenge(ex.provide(Some(&secrets)));
    let step = ex.step(&client.client_final(&server_first).unwrap());
    assert!(matches!(step, Step::Success { .. }), "{step:?}");
}

/// Run a whole exchange for "user" with `password`; return the
/// server-first message and the final step.
fn attempt(
    v: &Vector,
    secrets: Option<&UserSecrets>,
    user: &str,
    password: &str,
) -> (String, Step) {
    let mut client = ScramClient::new(v.hash, user, password, None, v.client_nonce).unwrap();
    let mut ex = server(v, FinalData::WithSuccess);
    assert_need_secrets(ex.start(Some(&client.client_first())), user, None);
    let server_first = challenge(ex.provide(secrets));
    let step = ex.step(&client.client_final(&server_first).unwrap());
    (String::from_utf8(server_first).unwrap(), step)
}

#[test]
fn unknown_user_looks_like_a_wrong_password() {
    for v in [&SHA1, &SHA256] {
        let secrets = keys(v, "pencil");
        let (_, wrong) = attempt(v, Some(&secrets), "user", "crayon");
        assert_failure(wrong, SaslError::AuthenticationFailed);
        let (first_a, unknown) = attempt(v, None, "nobody", "crayon");
        assert_failure(unknown, SaslError::AuthenticationFailed);
        let (first_b, _) = attempt(v, None, "nobody", "pencil");
        assert_eq!(
            first_a, first_b,
            "same salt and count for the same unknown name"
        );
        let (first_c, _) = attempt(v, None, "somebody", "pencil");
        assert_ne!(first_a, first_c);
        assert!(first_a.ends_with(",i=4096"));
        let salt = first_a
            .split(",s=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert_eq!(STANDARD.decode(salt).unwrap().len(), SCRAM_SALT_LEN);
        // Keys only for the other hash: same as unknown.
        let other = keys(
            if v.hash == ScramHash::Sha1 {
                &SHA256
            } else {
                &SHA1
            },
            "pencil",
        );
        let (first_d, step) = attempt(v, Some(&other), "nobody", "pencil");
        assert_eq!(first_d, first_a);
        assert_failure(step, SaslError::AuthenticationFailed);
    }
}

fn first_fails(message: &[u8], error: SaslError) {
    let mut ex = server(&SHA256, FinalData::WithSuccess);
    assert_failure(ex.start(Some(message)), error);
}

#[test]
fn malformed_client_first() {
    let long_nonce = format!(
        "n,,n=user,r={}",
        "x".repeat(crate::limits::MAX_NONCE_LEN + 1)
    );
    let long_name = format!("n,,n={},r=abc", "u".repeat(crate::limits::MAX_NAME_LEN + 1));
    first_fails(
        b"p=tls-unique,,n=user,r=abc",
        SaslError::ChannelBindingUnsupported,
    );
    first_fails(b"x,,n=user,r=abc", SaslError::Malformed("gs2-cbind-flag"));
    first_fails(b"n", SaslError::Malformed("gs2-header"));
    first_fails(b"n,n=user,r=abc", SaslError::Malformed("authzid"));
    first_fails(b"n,,r=abc", SaslError::Malformed("username"));
    first_fails(b"n,,n=user", SaslError::Malformed("nonce"));
    first_fails(b"n,,n=user,r=", SaslError::Malformed("nonce"));
    first_fails(b"n,,n=user,r=a\x7fb", SaslError::Malformed("nonce"));
    first_fails(b"n,,n=user,r=a b", SaslError::Malformed("nonce"));
    first_fails(b"n,,m=ext,n=user,r=abc", SaslError::UnsupportedExtension);
    first_fails(b"n,,n=user,r=abc,m=x", SaslError::UnsupportedExtension);
    first_fails(b"n,,n=user,r=abc,bogus", SaslError::Malformed("extension"));
    first_fails(b"n,,n=us=2Xer,r=abc", SaslError::Malformed("username"));
    first_fails(b"n,,n=user=,r=abc", SaslError::Malformed("username"));
    first_fails(b"n,,n=,r=abc", SaslError::Malformed("username"));
    first_fails(b"n,a=,n=user,r=abc", SaslError::Malformed("authzid"));
    first_fails(
        b"n,,n=u\xffser,r=abc",
        SaslError::InvalidUtf8("client-first-message"),
    );
    first_fails(
        "n,,n=\u{627}1,r=abc".as_bytes(),
        SaslError::Saslprep("username"),
    );
    first_fails(
        long_nonce.as_bytes(),
        SaslError::TooLong {
            field: "nonce",
            max: crate::limits::MAX_NONCE_LEN,
        },
    );
    first_fails(
        long_name.as_bytes(),
        SaslError::TooLong {
            field: "username",
            max: crate::limits::MAX_NAME_LEN,
        },
    );
    // SASLprep maps the name: the lookup sees the prepared form.
    let mut ex = server(&SHA256, FinalData::WithSuccess);
    assert_need_secrets(ex.start(Some("n,,n=I\u{AD}X,r=abc".as_bytes())), "IX", None);
}

fn final_fails(client_final: &str, error: SaslError) {
    let mut ex = server(&SHA256, FinalData::WithSuccess);
    ex.start(Some(SHA256.client_first.as_bytes()));
    ex.provide(Some(&keys(&SHA256, "pencil")));
    assert_failure(ex.step(client_final.as_bytes()), error);
}

#[test]
fn malformed_client_final() {
    let good = SHA256.client_final;
    let replace = |from: &str, to: &str| good.replacen(from, to, 1);
    final_fails(&replace("rOprNGfw", "rOprNGfX"), SaslError::NonceMismatch);
    final_fails(&replace("hNlF$k0,", ","), SaslError::NonceMismatch);
    final_fails(
        &replace("c=biws", "c=eSws"),
        SaslError::ChannelBindingMismatch,
    );
    final_fails(
        &replace("c=biws", "c=!!"),
        SaslError::Malformed("channel-binding"),
    );
    final_fails(
        &replace("c=biws,", ""),
        SaslError::Malformed("channel-binding"),
    );
    final_fails(&replace(",p=", ",q="), SaslError::Malformed("proof"));
    final_fails(&replace("p=dHzb", "p=dHz"), SaslError::Malformed("proof"));
    final_fails(
        &replace("p=dHzbZapWIk4jUhN+", "p="),
        SaslError::Malformed("proof"),
    );
    final_fails(&replace("k0,", "k0,m=1,"), SaslError::UnsupportedExtension);
    final_fails(&replace("k0,", "k0,x=1,"), SaslError::AuthenticationFailed);
    final_fails(&replace("k0,", "k0,x,"), SaslError::Malformed("extension"));
    final_fails("", SaslError::Malformed("proof"));
}

#[test]
fn replayed_client_final_fails_on_a_new_nonce() {
    let mut config = config();
    config.final_data = FinalData::WithSuccess;
    let mut ex = ServerExchange::new(
        Mechanism::ScramSha256,
        &config,
        &mut FixedNonce::new("fresh"),
    );
    ex.start(Some(SHA256.client_first.as_bytes()));
    ex.provide(Some(&keys(&SHA256, "pencil")));
    assert_failure(
        ex.step(SHA256.client_final.as_bytes()),
        SaslError::NonceMismatch,
    );
}

#[test]
fn empty_challenge_without_initial_response() {
    let mut ex = exchange(Mechanism::ScramSha1);
    assert_challenge(ex.start(None), b"");
    assert_need_secrets(ex.step(SHA1.client_first.as_bytes()), "user", None);
    assert_failure(ex.step(b"x"), SaslError::OutOfSequence("step"));
}
