//! Command latency for `GET /metrics` (issue 19 item 5): every command is
//! timed but IDLE, whose duration is the client's wait for news (RFC 2177),
//! not the server's work, and would swamp the histogram.

use postern_net::metrics::{timer, Protocol, Timer};

/// A timer for the command in `bytes`, none for IDLE.
pub(super) fn command_timer(bytes: &[u8]) -> Option<Timer> {
    (!is_idle(bytes)).then(|| timer(Protocol::Imap))
}

/// `TAG IDLE` (any case, with or without CRLF).
fn is_idle(bytes: &[u8]) -> bool {
    let mut words = bytes.split(|b| *b == b' ');
    let _tag = words.next();
    let verb = words.next().unwrap_or_default();
    let verb = verb.strip_suffix(b"\r\n").unwrap_or(verb);
    verb.eq_ignore_ascii_case(b"IDLE") && words.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_is_not_timed_other_commands_are() {
        assert!(is_idle(b"a1 IDLE\r\n"));
        assert!(is_idle(b"a1 idle"));
        assert!(!is_idle(b"a1 NOOP\r\n"));
        assert!(!is_idle(b"a1 IDLEX\r\n"));
        assert!(!is_idle(b"a1 SELECT IDLE\r\n"));
        assert!(command_timer(b"a1 IDLE\r\n").is_none());
        assert!(command_timer(b"a1 NOOP\r\n").is_some());
    }
}
