//! What can go wrong talking to a server, and at which step.

use super::Reply;
use std::fmt;

/// The step of a session, for errors and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    TlsHandshake,
    Auth,
    Mail,
    Rcpt,
    /// The DATA command (its 354 or refusal).
    Data,
    /// Sending the message content.
    Body,
    /// The reply after the end of data or the last BDAT chunk.
    DataDone,
    Bdat,
    Rset,
    Quit,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Helo => "HELO",
            Stage::StartTls => "STARTTLS",
            Stage::TlsHandshake => "TLS handshake",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Body => "message body",
            Stage::DataDone => "end of data",
            Stage::Bdat => "BDAT",
            Stage::Rset => "RSET",
            Stage::Quit => "QUIT",
        })
    }
}

/// A session failure. Display is one line fit for a queue's "last error".
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure (the message says at which stage), or a local one
    /// such as reading the message body.
    #[error("{0}")]
    Io(std::io::Error),
    #[error("connection closed by the server at {0}")]
    Closed(Stage),
    #[error("timed out at {0}")]
    Timeout(Stage),
    /// The server's bytes are not SMTP: unparseable, over-long, out of turn.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered, and said no.
    #[error("{reply} (in reply to {stage})")]
    Rejected { stage: Stage, reply: Reply },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the server offers no AUTH mechanism we support (PLAIN, LOGIN)")]
    NoAuthMechanism,
    /// An argument that cannot go on the wire (a line break in an address).
    #[error("refusing to send: {0}")]
    Invalid(String),
    /// An earlier transport or protocol failure left the session in an
    /// unknown state; only dropping it is safe.
    #[error("the connection is unusable after an earlier error")]
    Unusable,
}

impl ClientError {
    /// Only a 5xx reply is the server's final word; everything else may
    /// go better on another attempt.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ClientError::Rejected { reply, .. } if reply.is_permanent())
    }

    /// The server's reply, when the error is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            ClientError::Rejected { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// A transport error, with the stage in its message and its kind kept.
    pub(super) fn io(stage: Stage, e: std::io::Error) -> ClientError {
        ClientError::Io(std::io::Error::new(e.kind(), format!("{stage}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_5xx_rejection_is_permanent() {
        let rejected = |code| ClientError::Rejected {
            stage: Stage::Rcpt,
            reply: Reply::new(code, None, "x"),
        };
        assert!(rejected(550).is_permanent());
        assert!(!rejected(450).is_permanent());
        assert!(!ClientError::Timeout(Stage::Mail).is_permanent());
        assert!(!ClientError::Protocol("x".into()).is_permanent());
        assert!(!ClientError::Invalid("x".into()).is_permanent());
    }

    #[test]
    fn display_is_one_line_with_the_reply() {
        let e = ClientError::Rejected {
            stage: Stage::Rcpt,
            reply: Reply::new(550, Some("5.1.1"), "no such user\nreally"),
        };
        assert_eq!(
            e.to_string(),
            "550 5.1.1 no such user / really (in reply to RCPT TO)"
        );
        let io = ClientError::io(Stage::Body, std::io::ErrorKind::BrokenPipe.into());
        assert!(io.to_string().starts_with("message body: "), "{io}");
        assert_eq!(
            ClientError::Timeout(Stage::DataDone).to_string(),
            "timed out at end of data"
        );
    }
}
