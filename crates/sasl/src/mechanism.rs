//! The mechanism names (RFC 4422 §3.1), as advertised and as requested.

use crate::SaslError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Login,
    CramMd5,
    DigestMd5,
    ScramSha1,
    ScramSha256,
    Ntlm,
}

impl Mechanism {
    /// Strongest first, the order to advertise them in.
    pub const ALL: [Mechanism; 7] = [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::DigestMd5,
        Mechanism::CramMd5,
        Mechanism::Ntlm,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// RFC 4422 §3.1: mechanism names are case-insensitive on the wire.
    pub fn from_name(name: &str) -> Result<Mechanism, SaslError> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or(SaslError::UnknownMechanism)
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::DigestMd5 => "DIGEST-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::Ntlm => "NTLM",
        }
    }

    /// The password crosses the wire (only over TLS under the
    /// "require secure authentication" policy).
    pub fn sends_plaintext(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }

    /// The server speaks first (RFC 4422 §5 item 2b); an initial response
    /// is refused unless it is empty.
    pub fn server_first(self) -> bool {
        matches!(self, Mechanism::CramMd5 | Mechanism::DigestMd5)
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Ok(m));
            assert_eq!(Mechanism::from_name(&m.name().to_lowercase()), Ok(m));
        }
        assert_eq!(
            Mechanism::from_name("scram-sha-256"),
            Ok(Mechanism::ScramSha256)
        );
        assert_eq!(
            Mechanism::from_name("GSSAPI"),
            Err(SaslError::UnknownMechanism)
        );
        assert_eq!(Mechanism::from_name(""), Err(SaslError::UnknownMechanism));
    }
}
