//! APOP (RFC 1939 §7): the POP3 greeting carries a timestamp, the client
//! sends MD5(timestamp ‖ password) in hex. It needs the password itself
//! (the caller keeps it encrypted at rest).

use crate::crypto::{ct_eq, hex, md5, unhex16};
use crate::{NonceSource, SaslError, Secret};

/// Stand-in password for unknown users, so the work is the same.
const NO_PASSWORD: &str = "\0postern: no such user\0";

/// RFC 1939 §7: a msg-id style `<unique@hostname>` for the greeting; keep
/// it for the session and pass it to [`verify`].
pub fn timestamp(nonces: &mut dyn NonceSource, hostname: &str) -> String {
    format!("<{}@{}>", nonces.text(), hostname)
}

/// The lowercase hex digest a client sends.
pub fn digest(timestamp: &str, password: &str) -> String {
    hex(&md5(&[timestamp.as_bytes(), password.as_bytes()]))
}

/// Checks `APOP name digest`. `password` is `None` for an unknown user
/// (or one whose password is not kept): the answer is then the same
/// [`SaslError::AuthenticationFailed`] as for a wrong digest.
pub fn verify(
    timestamp: &str,
    password: Option<&Secret<String>>,
    client_digest: &str,
) -> Result<(), SaslError> {
    let client = unhex16(client_digest.as_bytes()).ok_or(SaslError::Malformed("APOP digest"))?;
    let known = password.is_some();
    let password = password.map_or(NO_PASSWORD, |p| p.expose().as_str());
    let expected = md5(&[timestamp.as_bytes(), password.as_bytes()]);
    if ct_eq(&expected, &client) && known {
        Ok(())
    } else {
        Err(SaslError::AuthenticationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedNonce;

    const TIMESTAMP: &str = "<1896.697170952@dbc.mtview.ca.us>";

    /// RFC 1939 §7's example.
    #[test]
    fn rfc1939_example() {
        assert_eq!(
            digest(TIMESTAMP, "tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb"
        );
        let password = Secret::new("tanstaaf".to_string());
        assert_eq!(
            verify(
                TIMESTAMP,
                Some(&password),
                "c4c9334bac560ecc979e58001b3e22fb"
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                TIMESTAMP,
                Some(&password),
                "C4C9334BAC560ECC979E58001B3E22FB"
            ),
            Ok(())
        );
    }

    #[test]
    fn wrong_password_and_unknown_user_fail_alike() {
        let wrong = Secret::new("tanstaafl".to_string());
        let d = "c4c9334bac560ecc979e58001b3e22fb";
        assert_eq!(
            verify(TIMESTAMP, Some(&wrong), d),
            Err(SaslError::AuthenticationFailed)
        );
        assert_eq!(
            verify(TIMESTAMP, None, d),
            Err(SaslError::AuthenticationFailed)
        );
        // Not even the stand-in password logs an unknown user in.
        let fake = digest(TIMESTAMP, NO_PASSWORD);
        assert_eq!(
            verify(TIMESTAMP, None, &fake),
            Err(SaslError::AuthenticationFailed)
        );
    }

    #[test]
    fn malformed_digests() {
        let p = Secret::new("x".to_string());
        for bad in [
            "",
            "c4c9",
            "c4c9334bac560ecc979e58001b3e22fbc4",
            "g4c9334bac560ecc979e58001b3e22fb",
        ] {
            assert_eq!(
                verify(TIMESTAMP, Some(&p), bad),
                Err(SaslError::Malformed("APOP digest"))
            );
        }
    }

    #[test]
    fn greeting_timestamp() {
        let mut n = FixedNonce::new("1896.697170952");
        assert_eq!(timestamp(&mut n, "dbc.mtview.ca.us"), TIMESTAMP);
    }
}
