//! SMTP replies: code, enhanced status code (RFC 3463) and text. Every error a
//! session can meet is turned into one of these in one place.

use std::borrow::Cow;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Enhanced status code ("5.1.1"); empty for the greeting-style replies without one.
    pub enhanced: &'static str,
    pub text: Cow<'static, str>,
}

impl Reply {
    pub const fn new(code: u16, enhanced: &'static str, text: &'static str) -> Reply {
        Reply {
            code,
            enhanced,
            text: Cow::Borrowed(text),
        }
    }

    pub fn owned(code: u16, enhanced: &'static str, text: String) -> Reply {
        Reply {
            code,
            enhanced,
            text: Cow::Owned(text),
        }
    }

    pub fn is_error(&self) -> bool {
        self.code >= 400
    }

    /// The reply on the wire; `lines` of text become a multi-line reply (RFC 5321 §4.2.1).
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        let lines: Vec<&str> = self.text.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            let _ = write!(out, "{}{}", self.code, sep);
            if !self.enhanced.is_empty() {
                let _ = write!(out, "{} ", self.enhanced);
            }
            let _ = write!(out, "{}\r\n", line.trim_end_matches('\r'));
        }
        out
    }

    /// "550 5.1.1" — what the logs record.
    pub fn status(&self) -> String {
        format!("{} {}", self.code, self.enhanced)
            .trim()
            .to_string()
    }
}

// Replies used in several places. RFC 5321 §4.2 codes, RFC 3463 enhanced codes.
pub const OK: Reply = Reply::new(250, "2.0.0", "OK");
pub const LINE_TOO_LONG: Reply = Reply::new(500, "5.5.2", "Line too long");
pub const BAD_CHARACTERS: Reply = Reply::new(
    501,
    "5.5.2",
    "Syntax error: NUL or invalid UTF-8 in command",
);
pub const UNKNOWN_COMMAND: Reply = Reply::new(500, "5.5.1", "Command unrecognized");
pub const BAD_SEQUENCE: Reply = Reply::new(503, "5.5.1", "Bad sequence of commands");
pub const NEED_MAIL: Reply = Reply::new(503, "5.5.1", "Need MAIL command first");
pub const NEED_RCPT: Reply = Reply::new(503, "5.5.1", "Need RCPT command first");
pub const NEED_HELO: Reply = Reply::new(503, "5.5.1", "Send EHLO or HELO first");
/// RFC 4954 §4: AUTH is an ESMTP extension, announced in the EHLO reply.
pub const NEED_EHLO: Reply = Reply::new(503, "5.5.1", "Send EHLO first");
pub const NESTED_MAIL: Reply = Reply::new(503, "5.5.1", "Sender already given");
pub const AUTH_REQUIRED: Reply = Reply::new(530, "5.7.0", "Authentication required");
pub const TLS_REQUIRED: Reply = Reply::new(530, "5.7.0", "Must issue a STARTTLS command first");
pub const AUTH_FAILED: Reply = Reply::new(535, "5.7.8", "Authentication credentials invalid");
pub const AUTH_OK: Reply = Reply::new(235, "2.7.0", "Authentication successful");
pub const ALREADY_AUTH: Reply = Reply::new(503, "5.5.1", "Already authenticated");
pub const AUTH_CANCELLED: Reply = Reply::new(501, "5.0.0", "Authentication cancelled");
pub const AUTH_BAD_BASE64: Reply = Reply::new(501, "5.5.2", "Invalid base64 or SASL message");
pub const AUTH_UNSUPPORTED: Reply =
    Reply::new(504, "5.5.4", "Authentication mechanism not supported");
pub const AUTH_NOT_HERE: Reply = Reply::new(502, "5.5.1", "AUTH is not offered on this service");
pub const USER_UNKNOWN: Reply = Reply::new(550, "5.1.1", "User unknown");
pub const RELAY_DENIED: Reply = Reply::new(554, "5.7.1", "Relay access denied");
/// SPEC X3: the client or user sent their hourly allowance.
pub const RATE_LIMITED: Reply =
    Reply::new(452, "4.7.0", "Too many messages this hour, try again later");
/// SPEC X3 HELO checks (as Postfix's reject_non_fqdn_helo_hostname).
pub const BAD_HELO: Reply = Reply::new(
    504,
    "5.5.2",
    "HELO/EHLO needs a fully-qualified host name or an address literal",
);
/// SPEC X8: unauthenticated mail from outside claiming a local sender.
pub const LOCAL_SENDER_NEEDS_AUTH: Reply = Reply::new(
    550,
    "5.7.1",
    "Sender address in a local domain requires authentication",
);
/// SPEC X8: an authenticated user sending as an address that is not theirs.
pub const NOT_YOUR_ADDRESS: Reply = Reply::new(
    553,
    "5.7.1",
    "Sender address not owned by the authenticated user",
);
pub const TOO_MANY_RCPTS: Reply = Reply::new(452, "4.5.3", "Too many recipients");
pub const MAILBOX_FULL: Reply = Reply::new(452, "4.2.2", "Mailbox full");
pub const TOO_BIG: Reply = Reply::new(
    552,
    "5.3.4",
    "Message size exceeds fixed maximum message size",
);
/// Issue 6 item 6: the authenticated sender's own (or their domain's) limit.
pub const TOO_BIG_FOR_SENDER: Reply = Reply::new(
    552,
    "5.3.4",
    "Message size exceeds the sender's maximum message size",
);
/// Issue 6 item 6: a local recipient's own (or their domain's) limit.
pub const TOO_BIG_FOR_RECIPIENT: Reply = Reply::new(
    552,
    "5.3.4",
    "Message size exceeds the recipient's maximum message size",
);
pub const NEED_SMTPUTF8: Reply = Reply::new(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
pub const BAD_ADDRESS: Reply = Reply::new(501, "5.1.3", "Bad recipient address syntax");
/// RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
pub const LOCAL_PART_TOO_LONG: Reply = Reply::new(501, "5.1.3", "Local part longer than 64 octets");
pub const BAD_SENDER: Reply = Reply::new(501, "5.1.7", "Bad sender address syntax");
pub const START_DATA: Reply = Reply::new(354, "", "End data with <CR><LF>.<CR><LF>");
pub const START_TLS: Reply = Reply::new(220, "2.0.0", "Ready to start TLS");
pub const NO_TLS_HERE: Reply = Reply::new(454, "4.7.0", "TLS not available");
pub const ALREADY_TLS: Reply = Reply::new(503, "5.5.1", "TLS already active");
pub const TEMP_FAILURE: Reply =
    Reply::new(451, "4.3.0", "Temporary failure, please try again later");
pub const PERM_FAILURE: Reply = Reply::new(554, "5.3.0", "Message could not be stored");
pub const VRFY_REPLY: Reply = Reply::new(
    252,
    "2.5.0",
    "Cannot VRFY user, but will accept message and attempt delivery",
);
pub const EXPN_DENIED: Reply = Reply::new(502, "5.5.1", "EXPN not available");
pub const NOT_IMPLEMENTED: Reply = Reply::new(502, "5.5.1", "Command not implemented");
pub const BDAT_MIXED: Reply = Reply::new(
    503,
    "5.5.1",
    "DATA and BDAT cannot be mixed in one transaction",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        assert_eq!(USER_UNKNOWN.to_wire(), "550 5.1.1 User unknown\r\n");
        assert_eq!(
            START_DATA.to_wire(),
            "354 End data with <CR><LF>.<CR><LF>\r\n"
        );
        let multi = Reply::owned(250, "", "mx\nPIPELINING\nSIZE 10".into());
        assert_eq!(
            multi.to_wire(),
            "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n"
        );
        assert_eq!(TOO_BIG.status(), "552 5.3.4");
    }
}
