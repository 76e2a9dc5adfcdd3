//! Checks shared by every mechanism's parser: lengths, UTF-8, names.

use crate::limits::MAX_NAME_LEN;
use crate::SaslError;

/// `bytes` as UTF-8, at most `max` bytes long.
pub(crate) fn text<'a>(
    bytes: &'a [u8],
    field: &'static str,
    max: usize,
) -> Result<&'a str, SaslError> {
    if bytes.len() > max {
        return Err(SaslError::TooLong { field, max });
    }
    std::str::from_utf8(bytes).map_err(|_| SaslError::InvalidUtf8(field))
}

/// An identity: non-empty UTF-8, at most [`MAX_NAME_LEN`] bytes, no
/// control characters.
pub(crate) fn name(bytes: &[u8], field: &'static str) -> Result<String, SaslError> {
    let s = text(bytes, field, MAX_NAME_LEN)?;
    check_name(s, field)?;
    Ok(s.to_string())
}

pub(crate) fn check_name(s: &str, field: &'static str) -> Result<(), SaslError> {
    if s.len() > MAX_NAME_LEN {
        return Err(SaslError::TooLong {
            field,
            max: MAX_NAME_LEN,
        });
    }
    if s.is_empty() {
        return Err(SaslError::Malformed(field));
    }
    if s.chars().any(char::is_control) {
        return Err(SaslError::Malformed(field));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_clean() {
        assert_eq!(name(b"alice", "authcid"), Ok("alice".into()));
        assert_eq!(name(b"", "authcid"), Err(SaslError::Malformed("authcid")));
        assert_eq!(
            name(b"a\rb", "authcid"),
            Err(SaslError::Malformed("authcid"))
        );
        assert_eq!(
            name(&[0xff], "authcid"),
            Err(SaslError::InvalidUtf8("authcid"))
        );
        let long = vec![b'a'; MAX_NAME_LEN + 1];
        let err = SaslError::TooLong {
            field: "authcid",
            max: MAX_NAME_LEN,
        };
        assert_eq!(name(&long, "authcid"), Err(err));
        assert!(name(&long[1..], "authcid").is_ok());
    }
}
