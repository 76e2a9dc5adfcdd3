//! POP3 status lines: `+OK text` or `-ERR [CODE] text`, with the response
//! codes of RFC 2449 §8 (`IN-USE`, `LOGIN-DELAY`) and RFC 3206 (`SYS/TEMP`,
//! `SYS/PERM`, `AUTH`). Every error a session can meet becomes one of these.

use std::borrow::Cow;

/// An RFC 2449 / RFC 3206 response code, shown in brackets after `-ERR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// RFC 2449 §8.1.1: the maildrop is locked by another session.
    InUse,
    /// RFC 3206 §4: a temporary problem on the server; try again later.
    SysTemp,
    /// RFC 3206 §4: a permanent problem on the server.
    SysPerm,
    /// RFC 3206 §5: the credentials or the way they were given were refused.
    Auth,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InUse => "IN-USE",
            Code::SysTemp => "SYS/TEMP",
            Code::SysPerm => "SYS/PERM",
            Code::Auth => "AUTH",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub ok: bool,
    pub code: Option<Code>,
    pub text: Cow<'static, str>,
}

impl Reply {
    pub const fn ok(text: &'static str) -> Reply {
        Reply {
            ok: true,
            code: None,
            text: Cow::Borrowed(text),
        }
    }

    pub const fn err(text: &'static str) -> Reply {
        Reply {
            ok: false,
            code: None,
            text: Cow::Borrowed(text),
        }
    }

    pub const fn coded(code: Code, text: &'static str) -> Reply {
        Reply {
            ok: false,
            code: Some(code),
            text: Cow::Borrowed(text),
        }
    }

    pub fn ok_owned(text: String) -> Reply {
        Reply {
            ok: true,
            code: None,
            text: Cow::Owned(text),
        }
    }

    pub fn err_owned(code: Option<Code>, text: String) -> Reply {
        Reply {
            ok: false,
            code,
            text: Cow::Owned(text),
        }
    }

    /// The status line on the wire, CR LF included. Text never holds a line break.
    pub fn to_wire(&self) -> String {
        let status = if self.ok { "+OK" } else { "-ERR" };
        let text: String = self.text.chars().filter(|c| !c.is_control()).collect();
        match (self.code, text.is_empty()) {
            (Some(code), _) => format!("{status} [{}] {text}\r\n", code.as_str()),
            (None, true) => format!("{status}\r\n"),
            (None, false) => format!("{status} {text}\r\n"),
        }
    }
}

// RFC 1939 leaves the text free; RFC 2449 §8 and RFC 3206 give the codes.
pub const OK: Reply = Reply::ok("");
pub const LINE_TOO_LONG: Reply = Reply::err("Line too long (RFC 2449: 255 octets at most)");
pub const BAD_CHARACTERS: Reply = Reply::err("Syntax error: NUL or invalid UTF-8 in command");
pub const UNKNOWN_COMMAND: Reply = Reply::err("Unknown command");
pub const SYNTAX: Reply = Reply::err("Syntax error in arguments");
pub const BAD_NUMBER: Reply = Reply::err("Invalid message number");
pub const NO_SUCH_MESSAGE: Reply = Reply::err("No such message");
pub const ALREADY_DELETED: Reply = Reply::err("Message already deleted");
pub const NOT_IN_AUTHORIZATION: Reply =
    Reply::err("Command not valid in AUTHORIZATION state: log in first");
pub const NOT_IN_TRANSACTION: Reply =
    Reply::err("Command not valid in TRANSACTION state: already logged in");
pub const USER_FIRST: Reply = Reply::err("Send USER first");
pub const USER_OK: Reply = Reply::ok("Send PASS");
/// USER/PASS without PLAIN or LOGIN in `auth.mechanisms` (issue 6): TLS
/// would not change it, so no [AUTH] code that suggests other credentials.
pub const USER_DISABLED: Reply = Reply::err("USER/PASS is disabled here: use AUTH");
pub const PLAINTEXT_REFUSED: Reply = Reply::coded(
    Code::Auth,
    "Plaintext authentication is not allowed without TLS: use STLS first",
);
/// The security policy wants TLS for every command (SPEC X4; RFC 2449 §8.1.2).
pub const TLS_REQUIRED: Reply = Reply::coded(
    Code::SysPerm,
    "TLS required by the security policy: use STLS first",
);
pub const AUTH_FAILED: Reply = Reply::coded(Code::Auth, "Invalid credentials");
pub const AUTH_TOO_MANY: Reply = Reply::coded(
    Code::Auth,
    "Invalid credentials; too many failures, closing connection",
);
pub const AUTH_TEMP: Reply = Reply::coded(Code::SysTemp, "Temporary authentication failure");
pub const AUTH_CANCELLED: Reply = Reply::err("Authentication cancelled");
pub const AUTH_BAD_BASE64: Reply = Reply::err("Invalid base64 or SASL message");
pub const AUTH_UNSUPPORTED: Reply = Reply::err("Unsupported authentication mechanism");
pub const APOP_UNSUPPORTED: Reply = Reply::err("APOP is not supported");
pub const IN_USE: Reply = Reply::coded(
    Code::InUse,
    "Mailbox is locked by another POP3 session; try again later",
);
pub const MAILDROP_TEMP: Reply = Reply::coded(Code::SysTemp, "Cannot open the mailbox now");
pub const MAILDROP_MISSING: Reply = Reply::coded(Code::SysPerm, "The mailbox has no INBOX");
pub const START_TLS: Reply = Reply::ok("Begin TLS negotiation");
pub const ALREADY_TLS: Reply = Reply::err("Command not permitted when TLS active");
pub const NO_TLS_HERE: Reply = Reply::coded(Code::SysTemp, "TLS not available");
pub const MESSAGE_GONE: Reply = Reply::err("Message was removed by another session");
pub const READ_FAILED: Reply = Reply::coded(Code::SysTemp, "Cannot read the message now");
pub const UPDATE_FAILED: Reply = Reply::coded(
    Code::SysTemp,
    "Some deleted messages not removed: nothing was deleted",
);
pub const SHUTTING_DOWN: Reply = Reply::coded(Code::SysTemp, "server shutting down");
pub const TOO_MANY_ERRORS: Reply = Reply::err("Too many errors, closing connection");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        assert_eq!(OK.to_wire(), "+OK\r\n");
        assert_eq!(USER_OK.to_wire(), "+OK Send PASS\r\n");
        assert_eq!(UNKNOWN_COMMAND.to_wire(), "-ERR Unknown command\r\n");
        assert_eq!(
            IN_USE.to_wire(),
            "-ERR [IN-USE] Mailbox is locked by another POP3 session; try again later\r\n"
        );
        assert_eq!(
            SHUTTING_DOWN.to_wire(),
            "-ERR [SYS/TEMP] server shutting down\r\n"
        );
    }

    #[test]
    fn text_cannot_break_the_line() {
        let r = Reply::ok_owned("a\r\nb".into());
        assert_eq!(r.to_wire(), "+OK ab\r\n");
    }
}
