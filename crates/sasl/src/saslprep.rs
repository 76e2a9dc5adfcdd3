//! RFC 4013 SASLprep, through the `stringprep` crate (MIT/Apache-2.0): the
//! full profile — mapping (§2.1), NFKC (§2.2), prohibited output (§2.3),
//! bidirectional rules (§2.4) — and unassigned code points refused (§2.5,
//! the "stored strings" rule; RFC 5802 §5.1 lets servers allow them in
//! names, we do not).

use crate::SaslError;

/// `input` prepared with SASLprep; an empty result is refused too.
pub fn saslprep(input: &str, field: &'static str) -> Result<String, SaslError> {
    let prepared = stringprep::saslprep(input).map_err(|_| SaslError::Saslprep(field))?;
    if prepared.is_empty() {
        return Err(SaslError::Saslprep(field));
    }
    Ok(prepared.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4013_section3_examples() {
        // RFC 4013 §3: soft hyphen mapped to nothing, NBSP and ligature mapped.
        assert_eq!(saslprep("I\u{00AD}X", "n").unwrap(), "IX");
        assert_eq!(saslprep("user", "n").unwrap(), "user");
        assert_eq!(saslprep("USER", "n").unwrap(), "USER");
        assert_eq!(saslprep("\u{00AA}", "n").unwrap(), "a");
        assert_eq!(saslprep("\u{2168}", "n").unwrap(), "IX");
        assert_eq!(saslprep("a\u{00A0}b", "n").unwrap(), "a b");
        // Prohibited character, bidi violation, and nothing left.
        assert_eq!(saslprep("\u{0007}", "n"), Err(SaslError::Saslprep("n")));
        assert_eq!(
            saslprep("\u{0627}\u{0031}", "n"),
            Err(SaslError::Saslprep("n"))
        );
        assert_eq!(saslprep("\u{00AD}", "n"), Err(SaslError::Saslprep("n")));
    }
}
