//! LOGIN (draft-murchison-sasl-login-00): the server asks "Username:" then
//! "Password:"; an initial response is the user name.

use crate::exchange::{MechServer, Step};
use crate::fields;
use crate::limits::MAX_PASSWORD_LEN;
use crate::{SaslError, Secret};

/// draft-murchison-sasl-login §2: the prompts most clients expect.
const USERNAME_PROMPT: &[u8] = b"Username:";
const PASSWORD_PROMPT: &[u8] = b"Password:";

#[derive(Default)]
pub(crate) struct LoginServer {
    username: Option<String>,
}

impl MechServer for LoginServer {
    fn start(&mut self, initial: Option<&[u8]>) -> Step {
        match initial {
            None => Step::Challenge(USERNAME_PROMPT.to_vec()),
            Some(name) => self.step(name),
        }
    }

    fn step(&mut self, input: &[u8]) -> Step {
        match self.username.take() {
            None => match fields::name(input, "authcid") {
                Ok(name) => {
                    self.username = Some(name);
                    Step::Challenge(PASSWORD_PROMPT.to_vec())
                }
                Err(e) => Step::Failure(e),
            },
            Some(authcid) => match password(input) {
                Ok(password) => Step::VerifyPassword {
                    authcid,
                    authzid: None,
                    password,
                },
                Err(e) => Step::Failure(e),
            },
        }
    }
}

fn password(input: &[u8]) -> Result<Secret<String>, SaslError> {
    let p = fields::text(input, "password", MAX_PASSWORD_LEN)?;
    if p.is_empty() || p.contains('\0') {
        return Err(SaslError::Malformed("password"));
    }
    Ok(Secret::new(p.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::limits::{MAX_NAME_LEN, MAX_PASSWORD_LEN};
    use crate::test_support::*;
    use crate::*;

    fn verify(step: Step) -> (String, String) {
        match step {
            Step::VerifyPassword {
                authcid,
                authzid: None,
                password,
            } => (authcid, password.expose().clone()),
            other => panic!("expected VerifyPassword, got {other:?}"),
        }
    }

    #[test]
    fn two_steps() {
        let mut ex = exchange(Mechanism::Login);
        assert_challenge(ex.start(None), b"Username:");
        assert_challenge(ex.step(b"tim"), b"Password:");
        assert_eq!(
            verify(ex.step(b"tanstaaf")),
            ("tim".into(), "tanstaaf".into())
        );
        assert_success(ex.password_checked(true), "tim", None, None);
    }

    #[test]
    fn user_name_as_initial_response() {
        let mut ex = exchange(Mechanism::Login);
        assert_challenge(ex.start(Some(b"tim")), b"Password:");
        assert_eq!(verify(ex.step(b"pw")), ("tim".into(), "pw".into()));
        assert_failure(ex.password_checked(false), SaslError::AuthenticationFailed);
    }

    #[test]
    fn malformed_fields() {
        let cases: Vec<(&[u8], &[u8], SaslError)> = vec![
            (b"", b"pw", SaslError::Malformed("authcid")),
            (b"t\xffm", b"pw", SaslError::InvalidUtf8("authcid")),
            (
                &[b'a'; MAX_NAME_LEN + 1],
                b"pw",
                SaslError::TooLong {
                    field: "authcid",
                    max: MAX_NAME_LEN,
                },
            ),
            (b"tim", b"", SaslError::Malformed("password")),
            (b"tim", b"p\0w", SaslError::Malformed("password")),
            (b"tim", b"p\xff", SaslError::InvalidUtf8("password")),
            (
                b"tim",
                &[b'p'; MAX_PASSWORD_LEN + 1],
                SaslError::TooLong {
                    field: "password",
                    max: MAX_PASSWORD_LEN,
                },
            ),
        ];
        for (user, pass, error) in cases {
            let mut ex = exchange(Mechanism::Login);
            ex.start(None);
            let step = match ex.step(user) {
                Step::Challenge(_) => ex.step(pass),
                other => other,
            };
            assert_failure(step, error);
        }
    }

    #[test]
    fn step_while_waiting_for_the_password_check() {
        let mut ex = exchange(Mechanism::Login);
        ex.start(Some(b"tim"));
        verify(ex.step(b"pw"));
        assert_failure(ex.step(b"more"), SaslError::OutOfSequence("step"));
    }
}
