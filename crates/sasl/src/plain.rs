//! PLAIN (RFC 4616): one message, `[authzid] NUL authcid NUL passwd`.

use crate::exchange::{MechServer, Step};
use crate::fields;
use crate::limits::MAX_PASSWORD_LEN;
use crate::{SaslError, Secret};

pub(crate) struct PlainServer;

impl MechServer for PlainServer {
    fn start(&mut self, initial: Option<&[u8]>) -> Step {
        match initial {
            // RFC 4616 §2: no initial response → empty challenge.
            None => Step::Challenge(Vec::new()),
            Some(message) => parse(message),
        }
    }

    fn step(&mut self, input: &[u8]) -> Step {
        parse(input)
    }
}

fn parse(message: &[u8]) -> Step {
    match fields_of(message) {
        Ok((authzid, authcid, password)) => Step::VerifyPassword {
            authcid,
            authzid,
            password,
        },
        Err(e) => Step::Failure(e),
    }
}

/// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
/// The password is passed on unprepared: the stored hash is of the
/// password as it was typed.
fn fields_of(message: &[u8]) -> Result<(Option<String>, String, Secret<String>), SaslError> {
    let mut parts = message.splitn(3, |&b| b == 0);
    let (Some(authzid), Some(authcid), Some(passwd)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed("PLAIN needs two NUL separators"));
    };
    if passwd.contains(&0) {
        return Err(SaslError::Malformed(
            "PLAIN has more than two NUL separators",
        ));
    }
    let authzid = match authzid {
        [] => None,
        z => Some(fields::name(z, "authzid")?),
    };
    let authcid = fields::name(authcid, "authcid")?;
    let passwd = fields::text(passwd, "password", MAX_PASSWORD_LEN)?;
    if passwd.is_empty() {
        return Err(SaslError::Malformed("password"));
    }
    Ok((authzid, authcid, Secret::new(passwd.to_string())))
}

#[cfg(test)]
mod tests {
    use crate::limits::{MAX_NAME_LEN, MAX_PASSWORD_LEN};
    use crate::test_support::*;
    use crate::*;

    fn verify(step: Step) -> (String, Option<String>, String) {
        match step {
            Step::VerifyPassword {
                authcid,
                authzid,
                password,
            } => (authcid, authzid, password.expose().clone()),
            other => panic!("expected VerifyPassword, got {other:?}"),
        }
    }

    #[test]
    fn without_authzid_in_the_initial_response() {
        let mut ex = exchange(Mechanism::Plain);
        let step = ex.start(Some(&client::plain(None, "tim", "tanstaaftanstaaf")));
        let expected = ("tim".to_string(), None, "tanstaaftanstaaf".to_string());
        assert_eq!(verify(step), expected);
        let step = ex.password_checked(true);
        assert_success(step, "tim", None, None);
        assert!(ex.is_done());
    }

    #[test]
    fn with_authzid_after_an_empty_challenge() {
        let mut ex = exchange(Mechanism::Plain);
        assert_challenge(ex.start(None), b"");
        let (c, z, p) = verify(ex.step(b"admin\0tim\0s3cr\xc3\xa9t"));
        assert_eq!(
            (c.as_str(), z.as_deref(), p.as_str()),
            ("tim", Some("admin"), "s3crét")
        );
        assert_success(ex.password_checked(true), "tim", Some("admin"), None);
    }

    #[test]
    fn wrong_password_fails_with_the_credentials_error() {
        let mut ex = exchange(Mechanism::Plain);
        verify(ex.start(Some(b"\0tim\0wrong")));
        assert_failure(ex.password_checked(false), SaslError::AuthenticationFailed);
    }

    #[test]
    fn malformed_messages() {
        let long_name = [vec![0], vec![b'a'; MAX_NAME_LEN + 1], b"\0pw".to_vec()].concat();
        let long_pw = [b"\0tim\0".to_vec(), vec![b'p'; MAX_PASSWORD_LEN + 1]].concat();
        let cases: Vec<(&[u8], SaslError)> = vec![
            (
                b"tim",
                SaslError::Malformed("PLAIN needs two NUL separators"),
            ),
            (
                b"\0tim",
                SaslError::Malformed("PLAIN needs two NUL separators"),
            ),
            (
                b"\0tim\0pw\0",
                SaslError::Malformed("PLAIN has more than two NUL separators"),
            ),
            (b"\0\0pw", SaslError::Malformed("authcid")),
            (b"\0tim\0", SaslError::Malformed("password")),
            (b"\0t\xffm\0pw", SaslError::InvalidUtf8("authcid")),
            (b"\xff\0tim\0pw", SaslError::InvalidUtf8("authzid")),
            (b"\0tim\0p\xff", SaslError::InvalidUtf8("password")),
            (b"\0t\nm\0pw", SaslError::Malformed("authcid")),
            (
                &long_name,
                SaslError::TooLong {
                    field: "authcid",
                    max: MAX_NAME_LEN,
                },
            ),
            (
                &long_pw,
                SaslError::TooLong {
                    field: "password",
                    max: MAX_PASSWORD_LEN,
                },
            ),
        ];
        for (message, error) in cases {
            let mut ex = exchange(Mechanism::Plain);
            assert_failure(ex.start(Some(message)), error);
        }
    }

    #[test]
    fn password_check_before_asked_is_out_of_sequence() {
        let mut ex = exchange(Mechanism::Plain);
        assert_failure(
            ex.password_checked(true),
            SaslError::OutOfSequence("password_checked"),
        );
        assert_failure(ex.step(b"x"), SaslError::TooManySteps);
    }

    #[test]
    fn no_step_after_success() {
        let mut ex = exchange(Mechanism::Plain);
        verify(ex.start(Some(b"\0tim\0pw")));
        assert_success(ex.password_checked(true), "tim", None, None);
        assert_failure(ex.step(b"\0tim\0pw"), SaslError::TooManySteps);
    }
}
