use super::*;
use crate::client::{self, DigestMd5Credentials};
use crate::limits::MAX_DIRECTIVE_LEN;
use crate::test_support::*;
use crate::{FixedNonce, Mechanism, ServerExchange};
use base64::{engine::general_purpose::STANDARD, Engine};

const RFC_CHALLENGE: &str = "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA==";
const RFC_RESPONSE: &str = "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\",response=d388dad90d4bbd760a152321f2143af7,qop=auth";
const RFC_RSPAUTH: &str = "cnNwYXV0aD1lYTQwZjYwMzM1YzQyN2I1NTI3Yjg0ZGJhYmNkZmZmZA==";

fn rfc_exchange() -> ServerExchange {
    let config = ServerConfig::new("elwood.innosoft.com", "imap", SERVER_SECRET);
    ServerExchange::new(
        Mechanism::DigestMd5,
        &config,
        &mut FixedNonce::new("OA6MG9tEQGm2hh"),
    )
}

fn chris() -> UserSecrets {
    let digest_md5 = Some(digest_md5_secret("chris", "elwood.innosoft.com", "secret"));
    UserSecrets {
        digest_md5,
        ..Default::default()
    }
}

fn creds<'a>(password: &'a str, authzid: Option<&'a str>) -> DigestMd5Credentials<'a> {
    DigestMd5Credentials {
        username: "chris",
        password,
        service: "imap",
        host: "elwood.innosoft.com",
        cnonce: "OA6MHXh6VqTrRk",
        authzid,
    }
}

/// RFC 2831 §4, the IMAP example, byte for byte.
#[test]
fn rfc2831_example() {
    let mut ex = rfc_exchange();
    let challenge = challenge(ex.start(None));
    assert_eq!(STANDARD.encode(&challenge), RFC_CHALLENGE);
    let (response, rspauth) = client::digest_md5(&challenge, &creds("secret", None)).unwrap();
    assert_eq!(String::from_utf8(response.clone()).unwrap(), RFC_RESPONSE);
    assert_eq!(STANDARD.encode(&rspauth), RFC_RSPAUTH);
    assert_need_secrets(ex.step(&response), "chris", None);
    assert_success(ex.provide(Some(&chris())), "chris", None, Some(&rspauth));
}

#[test]
fn rspauth_as_a_last_challenge() {
    let mut config = ServerConfig::new("elwood.innosoft.com", "imap", SERVER_SECRET);
    config.final_data = crate::FinalData::AsChallenge;
    let mut ex = ServerExchange::new(
        Mechanism::DigestMd5,
        &config,
        &mut FixedNonce::new("OA6MG9tEQGm2hh"),
    );
    ex.start(None);
    ex.step(RFC_RESPONSE.as_bytes());
    let rspauth = STANDARD.decode(RFC_RSPAUTH).unwrap();
    assert_challenge(ex.provide(Some(&chris())), &rspauth);
    assert_success(ex.step(b""), "chris", None, None);
}

#[test]
fn authzid_enters_a1() {
    let mut ex = rfc_exchange();
    let challenge = challenge(ex.start(None));
    let (response, rspauth) =
        client::digest_md5(&challenge, &creds("secret", Some("boss"))).unwrap();
    assert_need_secrets(ex.step(&response), "chris", Some("boss"));
    assert_success(
        ex.provide(Some(&chris())),
        "chris",
        Some("boss"),
        Some(&rspauth),
    );
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let mut ex = rfc_exchange();
    let challenge = challenge(ex.start(None));
    let (response, _) = client::digest_md5(&challenge, &creds("wrong", None)).unwrap();
    ex.step(&response);
    assert_failure(ex.provide(Some(&chris())), SaslError::AuthenticationFailed);
    let mut ex = rfc_exchange();
    ex.start(None);
    ex.step(RFC_RESPONSE.as_bytes());
    assert_failure(ex.provide(None), SaslError::AuthenticationFailed);
}

#[test]
fn latin1_names_hash_in_latin1() {
    let latin1 = digest_md5_secret("jos\u{e9}", "r", "pw");
    let expected = md5(&[b"jos\xe9:r:pw"]);
    assert_eq!(latin1.expose(), &expected);
    let wide = digest_md5_secret("\u{4e2d}", "r", "pw");
    assert_eq!(wide.expose(), &md5(&["\u{4e2d}:r:pw".as_bytes()]));
}

fn replace(from: &str, to: &str) -> Vec<u8> {
    assert!(RFC_RESPONSE.contains(from), "{from}");
    RFC_RESPONSE.replacen(from, to, 1).into_bytes()
}

#[test]
fn malformed_and_refused_responses() {
    let long_nonce = format!("nonce=\"{}\"", "n".repeat(MAX_DIRECTIVE_LEN + 1));
    let cases = vec![
        (
            replace("nonce=\"OA6MG9tEQGm2hh\"", "nonce=\"OtherNonce\""),
            SaslError::NonceMismatch,
        ),
        (
            replace("nc=00000001", "nc=00000002"),
            SaslError::NonceMismatch,
        ),
        (
            replace("qop=auth", "qop=auth-conf"),
            SaslError::UnsupportedQop,
        ),
        (
            replace("realm=\"elwood.innosoft.com\"", "realm=\"other\""),
            SaslError::Malformed("realm"),
        ),
        (
            replace("realm=\"elwood.innosoft.com\",", ""),
            SaslError::Malformed("realm"),
        ),
        (
            replace("imap/", "smtp/"),
            SaslError::Malformed("digest-uri"),
        ),
        (
            replace("imap/elwood.innosoft.com", "imap"),
            SaslError::Malformed("digest-uri"),
        ),
        (
            replace("cnonce=\"OA6MHXh6VqTrRk\"", "cnonce=\"\""),
            SaslError::Malformed("cnonce"),
        ),
        (
            replace("username=\"chris\",", ""),
            SaslError::Malformed("username"),
        ),
        (
            replace(",cnonce=\"OA6MHXh6VqTrRk\"", ""),
            SaslError::Malformed("cnonce"),
        ),
        (
            replace("response=d388", "response=x388"),
            SaslError::Malformed("response"),
        ),
        (
            replace("charset=utf-8", "charset=koi8-r"),
            SaslError::Malformed("charset"),
        ),
        (
            replace("\"chris\"", "\"ch\u{7}ris\""),
            SaslError::Malformed("username"),
        ),
        (
            replace("\"chris\"", "\"chris\",username=\"x\""),
            SaslError::Malformed("repeated directive"),
        ),
        (
            replace("nonce=\"OA6MG9tEQGm2hh\"", &long_nonce),
            SaslError::TooLong {
                field: "nonce",
                max: MAX_DIRECTIVE_LEN,
            },
        ),
        (b"\xff".to_vec(), SaslError::Malformed("directive name")),
        (
            vec![b'a'; MAX_DIGEST_RESPONSE_LEN],
            SaslError::TooLong {
                field: "digest-response",
                max: MAX_DIGEST_RESPONSE_LEN,
            },
        ),
    ];
    for (input, error) in cases {
        let mut ex = rfc_exchange();
        ex.start(None);
        assert_failure(ex.step(&input), error);
    }
}

#[test]
fn names_are_utf8_with_charset_and_latin1_without() {
    let utf8 = replace("\"chris\"", "\"chr\u{ee}s\"");
    let mut ex = rfc_exchange();
    ex.start(None);
    assert_need_secrets(ex.step(&utf8), "chr\u{ee}s", None);
    // Without charset=utf-8 the same bytes are ISO 8859-1.
    let latin1 = String::from_utf8(utf8)
        .unwrap()
        .replacen("charset=utf-8,", "", 1);
    let mut ex = rfc_exchange();
    ex.start(None);
    assert_need_secrets(ex.step(latin1.as_bytes()), "chr\u{c3}\u{ae}s", None);
    let bad = [
        b"charset=utf-8,username=\"chr\xffs\"",
        &RFC_RESPONSE.as_bytes()[30..],
    ]
    .concat();
    let mut ex = rfc_exchange();
    ex.start(None);
    assert_failure(ex.step(&bad), SaslError::InvalidUtf8("username"));
}
