//! Why an exchange failed, and how a protocol layer should answer.

use thiserror::Error;

/// How a protocol should answer a [`SaslError`] (the reply lines are the
/// protocol layer's; these are the usual ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Wrong password, unknown user, or no secret stored for the mechanism
    /// (all the same on purpose): SMTP `535 5.7.8`, IMAP
    /// `NO [AUTHENTICATIONFAILED]`, POP3 `-ERR [AUTH]`. Counts as a failed login.
    Credentials,
    /// The client broke the mechanism's syntax or limits: SMTP `501 5.5.2`,
    /// IMAP `BAD`, POP3 `-ERR`.
    Syntax,
    /// Well-formed but refused (channel binding, NTLMv1, qop, mandatory
    /// extension, anonymous): SMTP `535 5.7.8` or `504 5.5.4`, IMAP `NO`.
    Refused,
    /// The caller drove the exchange out of sequence (a bug in the caller).
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SaslError {
    /// Wrong password, unknown user or missing per-user secret: one variant
    /// so that they cannot be told apart.
    #[error("authentication failed")]
    AuthenticationFailed,
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    #[error("{field} is longer than {max} bytes")]
    TooLong { field: &'static str, max: usize },
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    #[error("{0} is refused by SASLprep (RFC 4013)")]
    Saslprep(&'static str),
    #[error("channel binding is not supported")]
    ChannelBindingUnsupported,
    #[error("channel binding data does not match the first message")]
    ChannelBindingMismatch,
    #[error("nonce does not match this exchange")]
    NonceMismatch,
    #[error("unsupported mandatory extension")]
    UnsupportedExtension,
    #[error("only qop=auth is supported")]
    UnsupportedQop,
    #[error("LM and NTLMv1 responses are refused")]
    WeakNtlmResponse,
    #[error("anonymous authentication is refused")]
    Anonymous,
    #[error("this mechanism takes no initial response")]
    UnexpectedInitialResponse,
    #[error("too many steps")]
    TooManySteps,
    #[error("unknown mechanism")]
    UnknownMechanism,
    #[error("exchange driven out of sequence: {0}")]
    OutOfSequence(&'static str),
}

impl SaslError {
    pub fn class(&self) -> ErrorClass {
        use SaslError::*;
        match self {
            AuthenticationFailed => ErrorClass::Credentials,
            Malformed(_) | TooLong { .. } | InvalidUtf8(_) | Saslprep(_) => ErrorClass::Syntax,
            NonceMismatch | ChannelBindingMismatch | TooManySteps => ErrorClass::Syntax,
            UnexpectedInitialResponse => ErrorClass::Syntax,
            ChannelBindingUnsupported | UnsupportedExtension | UnsupportedQop => {
                ErrorClass::Refused
            }
            WeakNtlmResponse | Anonymous | UnknownMechanism => ErrorClass::Refused,
            OutOfSequence(_) => ErrorClass::Internal,
        }
    }
}
