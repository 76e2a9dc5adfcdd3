//! Saying no in each protocol's own words, in place of the greeting:
//! SMTP 554 5.7.1 (RFC 5321 §3.1) or 421 4.7.0 (§3.8, temporary), IMAP
//! `* BYE` (RFC 9051 §7.1.5), POP3 `-ERR` with an RFC 3206 code.

use super::{Refusal, Security};
use crate::{Conn, Line, MaybeTls};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Time allowed to send the refusal.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// After a 554 greeting, how long we wait for QUIT (RFC 5321 §3.1).
const QUIT_WAIT: Duration = Duration::from_secs(10);
/// Commands answered with 503 while waiting for QUIT.
const MAX_COMMANDS_AFTER_554: usize = 10;

/// The protocol a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    Imap,
    Pop3,
}

impl Protocol {
    pub fn of(listener: &str) -> Protocol {
        match listener {
            "imap" | "imaps" => Protocol::Imap,
            "pop3" | "pop3s" => Protocol::Pop3,
            _ => Protocol::Smtp,
        }
    }
}

/// The line sent instead of the greeting, CRLF included.
pub fn refusal_line(protocol: Protocol, refusal: &Refusal, host: &str) -> String {
    let why = match refusal {
        Refusal::Blocked { .. } => "too many failed logins from your address, try again later",
        Refusal::BlockedByAdmin { .. } => "your address is blocked, try again later",
        Refusal::BlockedForProbing { .. } => {
            "too many unknown recipients from your address, try again later"
        }
        Refusal::NotAllowed { .. } => "access denied for your address",
        Refusal::TooMany { .. } => "too many connections, try again later",
        Refusal::TooManyFromIp { .. } => "too many connections from your address, try again later",
    };
    let temporary = refusal.is_temporary();
    match protocol {
        Protocol::Smtp if temporary => format!("421 4.7.0 {host} {why}\r\n"),
        Protocol::Smtp => format!("554 5.7.1 {host} {why}\r\n"),
        // RFC 5530 §3: UNAVAILABLE is a temporary failure.
        Protocol::Imap if temporary => format!("* BYE [UNAVAILABLE] {why}\r\n"),
        Protocol::Imap => format!("* BYE {why}\r\n"),
        Protocol::Pop3 if temporary => format!("-ERR [SYS/TEMP] {why}\r\n"),
        Protocol::Pop3 => format!("-ERR [SYS/PERM] {why}\r\n"),
    }
}

impl Security {
    /// Answers a refused connection and closes it.
    pub async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        listener: &str,
        refusal: &Refusal,
        stream: MaybeTls<S>,
    ) {
        let protocol = Protocol::of(listener);
        let host = self.config.borrow().server.hostname.clone();
        let mut conn = Conn::new(stream);
        conn.push(refusal_line(protocol, refusal, &host).as_bytes());
        if tokio::time::timeout(SEND_TIMEOUT, conn.flush())
            .await
            .is_err()
        {
            return;
        }
        if protocol == Protocol::Smtp && !refusal.is_temporary() {
            let _ = tokio::time::timeout(QUIT_WAIT, wait_for_quit(&mut conn, &host)).await;
        }
        let _ = tokio::time::timeout(SEND_TIMEOUT, conn.close()).await;
    }
}

/// RFC 5321 §3.1: after a 554 greeting the server waits for QUIT and
/// answers anything else with 503.
async fn wait_for_quit<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut Conn<S>, host: &str) {
    for _ in 0..MAX_COMMANDS_AFTER_554 {
        match conn.read_line(512).await {
            Ok(Line::Text(t)) if t.trim_ascii().eq_ignore_ascii_case(b"QUIT") => {
                conn.push(format!("221 2.0.0 {host} closing connection\r\n").as_bytes());
                return;
            }
            Ok(Line::Text(_)) | Ok(Line::TooLong) => {
                conn.push(b"503 5.5.1 Bad sequence of commands\r\n");
            }
            Ok(Line::Eof) | Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_its_words() {
        let denied = Refusal::NotAllowed {
            group: "lan".into(),
        };
        let busy = Refusal::TooManyFromIp { limit: 2 };
        let blocked = Refusal::Blocked { until: 0 };
        let line = |p, r: &Refusal| refusal_line(p, r, "mx.test");
        assert!(line(Protocol::Smtp, &denied).starts_with("554 5.7.1 mx.test "));
        assert!(line(Protocol::Smtp, &busy).starts_with("421 4.7.0 mx.test too many connections"));
        assert!(line(Protocol::Smtp, &blocked).starts_with("421 4.7.0 "));
        assert!(line(Protocol::Imap, &denied).starts_with("* BYE access denied"));
        assert!(line(Protocol::Imap, &busy).starts_with("* BYE [UNAVAILABLE] "));
        assert!(line(Protocol::Pop3, &denied).starts_with("-ERR [SYS/PERM] "));
        assert!(line(Protocol::Pop3, &busy).starts_with("-ERR [SYS/TEMP] "));
        assert!(line(Protocol::Pop3, &blocked).ends_with("\r\n"));
        assert_eq!(Protocol::of("submission"), Protocol::Smtp);
        assert_eq!(Protocol::of("imaps"), Protocol::Imap);
        assert_eq!(Protocol::of("pop3s"), Protocol::Pop3);
    }
}
